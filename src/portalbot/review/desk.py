"""The desk's context and the two doors every handler goes through.

``Desk`` holds what handlers need (the engine, the ledger, the config, the templates); the
app keeps one in ``app.state.desk``. Handlers are plain module-level functions wrapped by

- ``page``: a signed-in GET with sane query and path values, and
- ``action``: a signed-in POST with a valid CSRF token and a same-origin ``Origin``,

so security is by construction rather than by care in each handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jinja2
import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from portalbot.ledger import Ledger
from portalbot.review import auth, store
from portalbot.review.config import ReviewConfig
from portalbot.text import control_characters, visible

MAX_FORM_BYTES = 64 * 1024
MAX_PARAM_CHARS = 1000
MAX_NUMBER_DIGITS = 12
# Whole-number query values: keyset cursors (claim pks) and the old page number.
NUMERIC_PARAMS = ("after", "before", "page")
# Multi-line text a person types (a note) may hold line breaks and tabs; nothing else may.
MULTILINE_FIELDS = frozenset({"note"})


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("portalbot.review", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = lambda value: value.strftime("%Y-%m-%d %H:%M UTC") if value else ""
    env.filters["qs"] = qs
    return env


@dataclass(frozen=True)
class Desk:
    """What every handler reads: one per app, in ``request.app.state.desk``."""

    engine: sa.Engine
    config: ReviewConfig
    ledger: Ledger
    env: jinja2.Environment

    @classmethod
    def build(cls, engine: sa.Engine, config: ReviewConfig) -> Desk:
        return cls(engine, config, Ledger(engine, clock=config.clock), templates())

    def now(self) -> datetime:
        return self.config.clock()

    def render(self, request: Request, name: str, status: int = 200,
               **context: Any) -> HTMLResponse:
        session: store.Session | None = getattr(request.state, "session", None)
        context.setdefault("reviewer", session.reviewer_name if session else None)
        context.setdefault("csrf_token", session.csrf_token if session else "")
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status)

    async def db(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking ledger call off the event loop."""
        return await run_in_threadpool(function, *args, **kwargs)

    async def current_session(self, request: Request) -> store.Session | None:
        token = request.cookies.get(self.config.session_cookie)
        if not token or len(token) > 128:
            return None
        session: store.Session | None = await self.db(
            store.touch_session, self.engine, auth.token_digest(token), self.now()
        )
        return session


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


async def read_form(request: Request) -> FormData | None:
    length = request.headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > MAX_FORM_BYTES:
        return None
    return await request.form(max_files=0, max_fields=20)


PageHandler = Callable[[Request, Desk, store.Session], Awaitable[Response]]
ActionHandler = Callable[[Request, Desk, store.Session, FormData], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def page(handler: PageHandler) -> Endpoint:
    """A signed-in GET; otherwise to the sign-in page (or 401 for non-pages)."""
    async def wrapped(request: Request) -> Response:
        problem = bad_request_values(request)
        if problem:
            return PlainTextResponse(problem, status_code=400)
        desk = desk_of(request)
        session = await desk.current_session(request)
        if session is None:
            if request.url.path.startswith("/evidence/"):
                return PlainTextResponse("sign in first", status_code=401)
            return RedirectResponse("/signin", status_code=303)
        request.state.session = session
        return await handler(request, desk, session)
    return wrapped


def action(handler: ActionHandler) -> Endpoint:
    """A signed-in POST carrying the session's CSRF token, from this origin."""
    async def wrapped(request: Request) -> Response:
        desk = desk_of(request)
        session = await desk.current_session(request)
        if session is None:
            return PlainTextResponse("sign in first", status_code=401)
        form = await read_form(request)
        if form is None:
            return PlainTextResponse("form missing or too large", status_code=413)
        token = form.get("csrf_token")
        if not same_origin(request) or not auth.tokens_match(
            token if isinstance(token, str) else None, session.csrf_token
        ):
            return PlainTextResponse("invalid or missing CSRF token", status_code=403)
        problem = bad_form_values(form)
        if problem:
            return PlainTextResponse(problem, status_code=400)
        request.state.session = session
        return await handler(request, desk, session, form)
    return wrapped


def bad_request_values(request: Request) -> str | None:
    """Why the query or path is refused (400), or None. Values are data for the ledger's
    queries: a NUL or an endless number must be a clear refusal, not a 500."""
    values = [*request.query_params.multi_items(), *request.path_params.items()]
    for key, value in values:
        if not isinstance(value, str):
            continue
        if len(value) > MAX_PARAM_CHARS or control_characters(key + value):
            return f"the parameter {visible(key[:32])} is too long or holds control characters"
    for name in NUMERIC_PARAMS:
        number = request.query_params.get(name)
        if number and not (number.isascii() and number.isdigit()
                           and len(number) <= MAX_NUMBER_DIGITS):
            return f"{name} must be a whole number of at most {MAX_NUMBER_DIGITS} digits"
    return None


def bad_form_values(form: FormData) -> str | None:
    """Why a form is refused (400), or None: no control characters (NUL above all, which
    PostgreSQL cannot store) except line breaks and tabs in a note."""
    for key, value in form.multi_items():
        if not isinstance(value, str):
            continue
        allow = "\t\n\r" if key in MULTILINE_FIELDS else ""
        if control_characters(value, allow=allow):
            field_name = "the note" if key in MULTILINE_FIELDS else f"the field {visible(key[:32])}"
            return f"{field_name} holds a control character (such as NUL); remove it and try again"
    return None


def qs(params: dict[str, str]) -> str:
    return ("?" + urlencode(params)) if params else ""


def parse_params(query: str) -> dict[str, str]:
    pairs = parse_qsl(query[:MAX_PARAM_CHARS])
    return {k: v for k, v in pairs if not control_characters(k + v)}
