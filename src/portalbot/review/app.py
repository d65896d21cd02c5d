"""The review desk: a server-rendered Starlette app over the ledger.

Security by construction rather than by care in each handler:
- every route except sign-in and static files goes through ``_page`` (signed-in GET) or
  ``_action`` (signed-in POST with a valid CSRF token and a same-origin ``Origin``);
- templates autoescape every value; the CSP allows scripts, styles and images only from
  this origin, so even a missed escape cannot run injected script;
- URLs carry ledger ids (claim pk, attempt id, batch id) and codes, never PHI, and the
  access log records the path without its query string;
- evidence is looked up by attempt id and kind in the ledger, never by a client path, and
  must resolve inside the evidence directory;
- every view of a claim or its evidence writes an audit row (who, which claim, when).
"""

from __future__ import annotations

import time as monotonic_time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portalbot.evidence import region_path
from portalbot.ledger import Ledger, utcnow
from portalbot.logs import get_logger
from portalbot.review import auth, crosscheck, store
from portalbot.review.views import summarize
from portalbot.text import control_characters, visible

log = get_logger("portalbot.review")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_FORM_BYTES = 64 * 1024
MAX_PARAM_CHARS = 1000
MAX_PAGE_DIGITS = 6
# Multi-line text a person types (a note) may hold line breaks and tabs; nothing else may.
MULTILINE_FIELDS = frozenset({"note"})
MAX_BULK = 500
BULK_NOTE = "verified with the machine cross-check: the page shows the ledger's values"
STATIC_FILES = {"review.js": "text/javascript", "review.css": "text/css"}

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Stored portal pages are hostile content: shown sandboxed (no script, opaque origin).
EVIDENCE_HTML_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'"
)


@dataclass(frozen=True)
class ReviewConfig:
    evidence_dir: Path
    secure_cookies: bool = False
    hsts: bool = False
    # Host headers accepted; None accepts any. Loopback by default, against DNS rebinding.
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS
    clock: Callable[[], datetime] = utcnow
    name_policy: auth.ThrottlePolicy = field(default_factory=lambda: auth.NAME_POLICY)
    address_policy: auth.ThrottlePolicy = field(default_factory=lambda: auth.ADDRESS_POLICY)
    # Rows per queue page: a month of a busy practice is thousands of attempts.
    page_size: int = 100

    @property
    def session_cookie(self) -> str:
        return "__Host-portalbot_review" if self.secure_cookies else "portalbot_review"

    @property
    def signin_cookie(self) -> str:
        return "__Host-portalbot_signin" if self.secure_cookies else "portalbot_signin"


# --- middleware -----------------------------------------------------------------------------

def _host_only(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class SecurityMiddleware:
    """Security headers on every response, the Host check, and a PHI-free access log."""

    def __init__(self, app: ASGIApp, config: ReviewConfig):
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        allowed = self.config.allowed_hosts
        if allowed is not None and _host_only(headers.get("host", "")).lower() not in allowed:
            response = PlainTextResponse("unknown host", status_code=400)
            await response(scope, receive, self._wrap(send, scope))
            return
        started: list[bool] = []

        async def send_tracking(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.append(True)
            await send(message)

        try:
            await self.app(scope, receive, self._wrap(send_tracking, scope))
        except Exception as exc:  # noqa: BLE001 - the last stop: no traceback, no request data
            # A traceback here would print SQL parameters (a note's text) or form values
            # outside the redaction; the type is enough to find the bug.
            log.error("request failed", method=scope["method"], path=visible(scope["path"]),
                      error=type(exc).__name__)
            if not started:
                response = PlainTextResponse("internal error", status_code=500)
                await response(scope, receive, self._wrap(send, scope))

    def _wrap(self, send: Send, scope: Scope) -> Send:
        started = monotonic_time.monotonic()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = {
                    b"content-security-policy": CSP.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"same-origin",
                    b"cache-control": b"no-store",
                    b"cross-origin-opener-policy": b"same-origin",
                    b"cross-origin-resource-policy": b"same-origin",
                    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
                }
                if self.config.hsts:
                    extra[b"strict-transport-security"] = b"max-age=31536000"
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in extra.items() if k not in present
                ]
                # Path only: ids, never the query string or a form field.
                log.info(
                    "request", method=scope["method"], path=visible(scope["path"]),
                    status=message["status"],
                    ms=round((monotonic_time.monotonic() - started) * 1000),
                )
            await send(message)

        return send_with_headers


# --- the app --------------------------------------------------------------------------------

def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("portalbot.review", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = lambda value: value.strftime("%Y-%m-%d %H:%M UTC") if value else ""
    env.filters["qs"] = lambda params: ("?" + urlencode(params)) if params else ""
    return env


Handler = Callable[..., Awaitable[Response]]


def create_app(engine: sa.Engine, config: ReviewConfig) -> Starlette:
    """The review app over ``engine`` (the ledger's); ``config`` holds everything injectable."""
    env = _templates()
    ledger = Ledger(engine, clock=config.clock)

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        session: store.Session | None = getattr(request.state, "session", None)
        context.setdefault("reviewer", session.reviewer_name if session else None)
        context.setdefault("csrf_token", session.csrf_token if session else "")
        return HTMLResponse(env.get_template(name).render(**context), status_code=status)

    def now() -> datetime:
        return config.clock()

    async def db(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(function, *args, **kwargs)

    async def current_session(request: Request) -> store.Session | None:
        token = request.cookies.get(config.session_cookie)
        if not token or len(token) > 128:
            return None
        session: store.Session | None = await db(
            store.touch_session, engine, auth.token_digest(token), now()
        )
        return session

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

    def page(handler: Handler) -> Handler:
        """A signed-in GET; otherwise to the sign-in page (or 401 for non-pages)."""
        async def wrapped(request: Request) -> Response:
            problem = _bad_request_values(request)
            if problem:
                return PlainTextResponse(problem, status_code=400)
            session = await current_session(request)
            if session is None:
                if request.url.path.startswith("/evidence/"):
                    return PlainTextResponse("sign in first", status_code=401)
                return RedirectResponse("/signin", status_code=303)
            request.state.session = session
            return await handler(request, session)
        return wrapped

    def action(handler: Handler) -> Handler:
        """A signed-in POST carrying the session's CSRF token, from this origin."""
        async def wrapped(request: Request) -> Response:
            session = await current_session(request)
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
            problem = _bad_form_values(form)
            if problem:
                return PlainTextResponse(problem, status_code=400)
            request.state.session = session
            return await handler(request, session, form)
        return wrapped

    # --- sign-in -------------------------------------------------------------------------
    def signin_page(request: Request, status: int = 200, message: str | None = None,
                    retry_after: int | None = None) -> Response:
        token = request.cookies.get(config.signin_cookie)
        fresh = not token or len(token) > 128
        if fresh:
            token = auth.new_token()
        response = render(request, "signin.html", status, signin_token=token, message=message)
        if fresh:
            response.set_cookie(
                config.signin_cookie, token or "", httponly=True, samesite="strict",
                secure=config.secure_cookies, path="/", max_age=3600,
            )
        if retry_after is not None:
            response.headers["retry-after"] = str(retry_after)
        return response

    async def signin_get(request: Request) -> Response:
        if await current_session(request) is not None:
            return RedirectResponse("/", status_code=303)
        return signin_page(request)

    async def signin_post(request: Request) -> Response:
        form = await read_form(request)
        if form is None:
            return PlainTextResponse("form missing or too large", status_code=413)
        given = form.get("csrf_token")
        if not same_origin(request) or not auth.tokens_match(
            given if isinstance(given, str) else None, request.cookies.get(config.signin_cookie)
        ):
            return PlainTextResponse("invalid or missing CSRF token", status_code=403)
        problem = _bad_form_values(form)
        if problem:
            return PlainTextResponse(problem, status_code=400)
        name = str(form.get("name") or "").strip()[:64]
        password = str(form.get("password") or "")[:1024]
        address = request.client.host if request.client else "unknown"
        keys = {"name:" + name.lower(): config.name_policy, "addr:" + address: config.address_policy}
        moment = now()
        for key in keys:
            until = await db(store.locked_until, engine, key, moment)
            if until is not None:
                wait = max(1, int((until - moment).total_seconds()))
                log.warning("sign-in refused while throttled", wait_s=wait)
                return signin_page(
                    request, 429, f"Too many failed sign-ins. Try again in {wait} seconds.", wait
                )
        reviewer = await db(store.reviewer_by_name, engine, name) if name else None
        if reviewer is None or reviewer.disabled:
            await db(auth.burn_time, password)
            ok = False
        else:
            ok = await db(auth.verify_password, password, reviewer.password_hash)
        if not ok or reviewer is None:
            for key, policy in keys.items():
                await db(store.record_signin_failure, engine, key, policy, moment)
            log.warning("sign-in failed")
            return signin_page(request, 401, "Wrong name or password.")
        await db(store.clear_signin_failures, engine, "name:" + name.lower())
        token = auth.new_token()
        await db(store.create_session, engine, auth.token_digest(token), reviewer.id,
                 auth.new_token(), moment)
        log.info("signed in", reviewer=reviewer.name)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            config.session_cookie, token, httponly=True, samesite="strict",
            secure=config.secure_cookies, path="/",
        )
        response.delete_cookie(config.signin_cookie, path="/")
        return response

    async def signout(request: Request, session: store.Session, form: FormData) -> Response:
        await db(store.delete_session, engine, session.token_hash)
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(config.session_cookie, path="/")
        return response

    # --- queue and detail ----------------------------------------------------------------
    async def queue_page(request: Request, session: store.Session) -> Response:
        wanted = store.QueueFilter.from_params(request.query_params)
        items = await db(store.queue, engine, wanted)
        choices = await db(store.queue_choices, engine)
        batches = list(reversed(await db(ledger.batches)))
        at = request.query_params.get("at", "")
        shown = _page_of(items, config.page_size, request.query_params.get("page"), at)
        checks = {item.attempt_id: _check_item(item) for item in shown.items}
        matched = [item.attempt_id for item in shown.items
                   if checks[item.attempt_id].matched and item.verdict is None]
        return render(
            request, "queue.html", items=shown.items, total=len(items), shown=shown,
            checks=checks, matched=matched, regions=_regions(shown.items),
            verified=request.query_params.get("verified", ""),
            wanted=wanted, params=wanted.to_params(), selected=at, choices=choices,
            batches=batches, verdict_choices=(*store.VERDICTS, store.NO_VERDICT),
            done=request.query_params.get("done") == "1",
        )

    async def attempt_page(request: Request, session: store.Session) -> Response:
        attempt_id = request.path_params["attempt_id"]
        attempt = await db(store.attempt_row, engine, attempt_id) if attempt_id.isalnum() else None
        if attempt is None:
            return render(request, "error.html", 404, message="No such attempt.")
        claim_pk = attempt["claim_pk"]
        await db(store.record_audit, engine, session.reviewer_id, "view", now(),
                 claim_pk=claim_pk, attempt_id=attempt_id)
        wanted = store.QueueFilter.from_params(request.query_params)
        items = await db(store.queue, engine, wanted)
        previous, following = _neighbours(items, attempt_id)
        record = await db(ledger.claim, claim_pk)
        attempts = await db(ledger.attempts, claim_pk)
        checks = {a["id"]: crosscheck.check_attempt(a, record.confirmation, record.portal_key)
                  for a in attempts}
        return render(
            request, "attempt.html", checks=checks, check=checks[attempt_id],
            region=bool(attempt.get("screenshot"))
            and region_path(Path(attempt["screenshot"])).is_file(),
            attempt=attempt, claim=record, summary=summarize(record.payload),
            attempts=attempts,
            events=await db(ledger.events, claim_pk),
            verdicts=await db(store.verdicts, engine, claim_pk),
            previous=previous, following=following, params=wanted.to_params(),
            position=_position(items, attempt_id), total=len(items),
        )

    async def verdict_post(request: Request, session: store.Session, form: FormData) -> Response:
        attempt_id = request.path_params["attempt_id"]
        verdict = str(form.get("verdict") or "")
        note = str(form.get("note") or "").strip()
        if verdict not in store.VERDICTS:
            return PlainTextResponse("unknown verdict", status_code=400)
        if verdict == store.FLAGGED and not note:
            return PlainTextResponse("a flag needs a note", status_code=400)
        if not attempt_id.isalnum() or await db(store.attempt_row, engine, attempt_id) is None:
            return render(request, "error.html", 404, message="No such attempt.")
        wanted = store.QueueFilter.from_params(_parse_params(str(form.get("params") or "")))
        # The next attempt is found before the verdict, so "not reviewed" filters still advance.
        items = await db(store.queue, engine, wanted)
        _, following = _neighbours(items, attempt_id)
        claim_pk = await db(store.add_verdict, engine, attempt_id, session.reviewer_id, verdict,
                            note, now())
        await db(store.record_audit, engine, session.reviewer_id, f"verdict:{verdict}", now(),
                 claim_pk=claim_pk, attempt_id=attempt_id)
        params = wanted.to_params()
        if following is None:
            return RedirectResponse("/" + _qs({**params, "done": "1"}), status_code=303)
        return RedirectResponse(f"/attempts/{following}{_qs(params)}", status_code=303)

    async def verify_matched(request: Request, session: store.Session,
                             form: FormData) -> Response:
        """Verify, at once, every listed attempt whose cross-check matches and that has no
        verdict yet: checked again here, never taken on the page's word."""
        wanted = store.QueueFilter.from_params(_parse_params(str(form.get("params") or "")))
        listed = set(str(form.get("attempts") or "").split()[:MAX_BULK])
        items = [i for i in await db(store.queue, engine, wanted) if i.attempt_id in listed]
        chosen = [i.attempt_id for i in items if i.verdict is None and _check_item(i).matched]
        done = await db(store.add_verdicts, engine, chosen, session.reviewer_id,
                        store.VERIFIED, BULK_NOTE, now())
        for attempt_id, claim_pk in done:
            await db(store.record_audit, engine, session.reviewer_id, "verdict:verified", now(),
                     claim_pk=claim_pk, attempt_id=attempt_id)
        log.info("bulk verified", reviewer=session.reviewer_name, attempts=len(done))
        return RedirectResponse(
            "/" + _qs({**wanted.to_params(), "verified": str(len(done))}), status_code=303
        )

    async def evidence(request: Request, session: store.Session) -> Response:
        attempt_id = request.path_params["attempt_id"]
        kind = request.path_params["kind"]
        path = await db(store.evidence_file, engine, attempt_id, kind, config.evidence_dir)
        if path is None:
            return PlainTextResponse("not found", status_code=404)
        attempt = await db(store.attempt_row, engine, attempt_id)
        action_name = "thumbnail" if request.query_params.get("thumb") else f"evidence:{kind}"
        await db(store.record_audit, engine, session.reviewer_id, action_name, now(),
                 claim_pk=attempt["claim_pk"] if attempt else None, attempt_id=attempt_id)
        if kind in ("screenshot", "region"):
            media = "image/jpeg" if path.suffix.lower() in {".jpg", ".jpeg"} else "image/png"
            return FileResponse(path, media_type=media)
        if kind == "html":
            return FileResponse(path, media_type="text/html; charset=utf-8",
                                headers={"content-security-policy": EVIDENCE_HTML_CSP})
        return FileResponse(path, media_type="application/zip",
                            filename=f"trace-{attempt_id}.zip")

    # --- batches and the flagged worklist -------------------------------------------------
    async def batches_page(request: Request, session: store.Session) -> Response:
        return render(request, "batches.html", batches=list(reversed(await db(ledger.batches))))

    async def batch_page(request: Request, session: store.Session) -> Response:
        summary = await db(store.batch_summary, engine, request.path_params["batch_id"][:32])
        if summary is None:
            return render(request, "error.html", 404, message="No such batch.")
        states = sorted(summary.by_state)
        return render(request, "batch.html", summary=summary, states=states,
                      verdict_choices=(*store.VERDICTS, store.NO_VERDICT))

    async def flagged_page(request: Request, session: store.Session) -> Response:
        return render(request, "flagged.html", flagged=await db(store.flagged_claims, engine))

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return PlainTextResponse("not found", status_code=404)
        body = (resources.files("portalbot.review") / "static" / name).read_bytes()
        return Response(body, media_type=STATIC_FILES[name])

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("not found", status_code=404)

    routes = [
        Route("/signin", signin_get, methods=["GET"]),
        Route("/signin", signin_post, methods=["POST"]),
        Route("/signout", action(signout), methods=["POST"]),
        Route("/", page(queue_page), methods=["GET"]),
        Route("/attempts/{attempt_id}", page(attempt_page), methods=["GET"]),
        Route("/attempts/{attempt_id}/verdict", action(verdict_post), methods=["POST"]),
        Route("/verify-matched", action(verify_matched), methods=["POST"]),
        Route("/evidence/{attempt_id}/{kind}", page(evidence), methods=["GET"]),
        Route("/batches", page(batches_page), methods=["GET"]),
        Route("/batches/{batch_id}", page(batch_page), methods=["GET"]),
        Route("/flagged", page(flagged_page), methods=["GET"]),
        Route("/static/{name}", static, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found})
    app.add_middleware(SecurityMiddleware, config=config)
    return app


# --- helpers --------------------------------------------------------------------------------

def _bad_request_values(request: Request) -> str | None:
    """Why the query or path is refused (400), or None. Values are data for the ledger's
    queries: a NUL or an endless number must be a clear refusal, not a 500."""
    values = [*request.query_params.multi_items(), *request.path_params.items()]
    for key, value in values:
        if not isinstance(value, str):
            continue
        if len(value) > MAX_PARAM_CHARS or control_characters(key + value):
            return f"the parameter {visible(key[:32])} is too long or holds control characters"
    page = request.query_params.get("page")
    if page and not (page.isascii() and page.isdigit() and len(page) <= MAX_PAGE_DIGITS):
        return f"page must be a whole number of at most {MAX_PAGE_DIGITS} digits"
    return None


def _bad_form_values(form: FormData) -> str | None:
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


def _qs(params: dict[str, str]) -> str:
    return ("?" + urlencode(params)) if params else ""


def _parse_params(query: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    pairs = parse_qsl(query[:MAX_PARAM_CHARS])
    return {k: v for k, v in pairs if not control_characters(k + v)}


@dataclass(frozen=True)
class QueuePage:
    items: list[store.QueueItem]
    number: int  # 1-based
    pages: int
    first: int  # 1-based position of the first row shown (0 when there is none)

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def following(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


def _page_of(
    items: list[store.QueueItem], size: int, wanted: str | None, at: str
) -> QueuePage:
    """The page asked for; without one, the page holding `at` (the attempt a reviewer
    came back from), else the first. Out-of-range pages clamp to the last."""
    pages = max(1, -(-len(items) // size))
    position = _position(items, at) if at else None
    if wanted:
        number = int(wanted)  # checked by _bad_request_values: 1-6 ASCII digits
    elif position is not None:
        number = (position - 1) // size + 1
    else:
        number = 1
    number = min(max(number, 1), pages)
    start = (number - 1) * size
    return QueuePage(items[start:start + size], number, pages, start + 1 if items else 0)


def _neighbours(items: list[store.QueueItem], attempt_id: str) -> tuple[str | None, str | None]:
    ids = [item.attempt_id for item in items]
    if attempt_id not in ids:
        return None, ids[0] if ids else None
    index = ids.index(attempt_id)
    previous = ids[index - 1] if index > 0 else None
    following = ids[index + 1] if index + 1 < len(ids) else None
    return previous, following


def _position(items: list[store.QueueItem], attempt_id: str) -> int | None:
    ids = [item.attempt_id for item in items]
    return ids.index(attempt_id) + 1 if attempt_id in ids else None


def _check_item(item: store.QueueItem) -> crosscheck.CrossCheck:
    return crosscheck.check_attempt(
        {"result": item.result, "html": item.html}, item.confirmation, item.portal_key
    )


def _regions(items: list[store.QueueItem]) -> set[str]:
    """The attempts whose outcome region was recorded beside their screenshot."""
    return {i.attempt_id for i in items
            if i.screenshot and region_path(Path(i.screenshot)).is_file()}
