"""The review desk: a server-rendered Starlette app over the ledger.

``create_app`` only builds the routes and the middleware; the handlers live in
``review.handlers`` and read what they need from the ``Desk`` in ``app.state.desk``.

Security by construction rather than by care in each handler:
- every route except sign-in and static files goes through ``desk.page`` (signed-in GET)
  or ``desk.action`` (signed-in POST with a valid CSRF token and a same-origin ``Origin``);
- templates autoescape every value; the CSP allows scripts, styles and images only from
  this origin, so even a missed escape cannot run injected script;
- URLs carry ledger ids (claim pk, attempt id, batch id) and codes, never PHI, and the
  access log records the path without its query string;
- evidence is looked up by attempt id and kind in the ledger, never by a client path, and
  must resolve inside the evidence directory;
- every view of a claim or its evidence writes an audit row (who, which claim, when).
"""

from __future__ import annotations

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from portalbot.review.config import LOOPBACK_HOSTS, ReviewConfig
from portalbot.review.desk import Desk, action, page
from portalbot.review.handlers import batches, evidence, review, signin
from portalbot.review.middleware import CSP, SecurityMiddleware

__all__ = ["CSP", "LOOPBACK_HOSTS", "ReviewConfig", "create_app"]


async def not_found(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("not found", status_code=404)


def create_app(engine: sa.Engine, config: ReviewConfig) -> Starlette:
    """The review app over ``engine`` (the ledger's); ``config`` holds everything injectable."""
    routes = [
        Route("/signin", signin.signin_get, methods=["GET"]),
        Route("/signin", signin.signin_post, methods=["POST"]),
        Route("/signout", action(signin.signout), methods=["POST"]),
        Route("/", page(review.queue_page), methods=["GET"]),
        Route("/attempts/{attempt_id}", page(review.attempt_page), methods=["GET"]),
        Route("/attempts/{attempt_id}/verdict", action(review.verdict_post), methods=["POST"]),
        Route("/verify-matched", action(review.verify_matched), methods=["POST"]),
        Route("/evidence/{attempt_id}/{kind}", page(evidence.evidence), methods=["GET"]),
        Route("/batches", page(batches.batches_page), methods=["GET"]),
        Route("/batches/{batch_id}", page(batches.batch_page), methods=["GET"]),
        Route("/flagged", page(batches.flagged_page), methods=["GET"]),
        Route("/static/{name}", evidence.static, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found})
    app.state.desk = Desk.build(engine, config)
    app.add_middleware(SecurityMiddleware, config=config)
    return app
