"""Security headers on every response, the Host check, and a PHI-free access log.

The CSP allows scripts, styles and images only from this origin, so even a missed escape
cannot run injected script.
"""

from __future__ import annotations

import time as monotonic_time

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portalbot.logs import get_logger
from portalbot.review.config import ReviewConfig
from portalbot.text import visible

log = get_logger("portalbot.review")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


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
