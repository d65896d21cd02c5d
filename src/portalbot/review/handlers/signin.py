"""Signing in and out: the only handlers reachable without a session.

Sign-in is throttled per name and per address; a wrong name costs the same time as a
wrong password, so the page does not tell which names exist.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from portalbot.logs import get_logger
from portalbot.review import auth, store
from portalbot.review.desk import Desk, bad_form_values, desk_of, read_form, same_origin

log = get_logger("portalbot.review")


def signin_page(request: Request, desk: Desk, status: int = 200, message: str | None = None,
                retry_after: int | None = None) -> Response:
    config = desk.config
    token = request.cookies.get(config.signin_cookie)
    fresh = not token or len(token) > 128
    if fresh:
        token = auth.new_token()
    response = desk.render(request, "signin.html", status, signin_token=token, message=message)
    if fresh:
        response.set_cookie(
            config.signin_cookie, token or "", httponly=True, samesite="strict",
            secure=config.secure_cookies, path="/", max_age=3600,
        )
    if retry_after is not None:
        response.headers["retry-after"] = str(retry_after)
    return response


async def signin_get(request: Request) -> Response:
    desk = desk_of(request)
    if await desk.current_session(request) is not None:
        return RedirectResponse("/", status_code=303)
    return signin_page(request, desk)


async def signin_post(request: Request) -> Response:
    desk = desk_of(request)
    config, engine = desk.config, desk.engine
    form = await read_form(request)
    if form is None:
        return PlainTextResponse("form missing or too large", status_code=413)
    given = form.get("csrf_token")
    if not same_origin(request) or not auth.tokens_match(
        given if isinstance(given, str) else None, request.cookies.get(config.signin_cookie)
    ):
        return PlainTextResponse("invalid or missing CSRF token", status_code=403)
    problem = bad_form_values(form)
    if problem:
        return PlainTextResponse(problem, status_code=400)
    name = str(form.get("name") or "").strip()[:64]
    password = str(form.get("password") or "")[:1024]
    address = request.client.host if request.client else "unknown"
    keys = {"name:" + name.lower(): config.name_policy, "addr:" + address: config.address_policy}
    moment = desk.now()
    for key in keys:
        until = await desk.db(store.locked_until, engine, key, moment)
        if until is not None:
            wait = max(1, int((until - moment).total_seconds()))
            log.warning("sign-in refused while throttled", wait_s=wait)
            return signin_page(
                request, desk, 429, f"Too many failed sign-ins. Try again in {wait} seconds.",
                wait,
            )
    reviewer = await desk.db(store.reviewer_by_name, engine, name) if name else None
    if reviewer is None or reviewer.disabled:
        await desk.db(auth.burn_time, password)
        ok = False
    else:
        ok = await desk.db(auth.verify_password, password, reviewer.password_hash)
    if not ok or reviewer is None:
        for key, policy in keys.items():
            await desk.db(store.record_signin_failure, engine, key, policy, moment)
        log.warning("sign-in failed")
        return signin_page(request, desk, 401, "Wrong name or password.")
    await desk.db(store.clear_signin_failures, engine, "name:" + name.lower())
    token = auth.new_token()
    await desk.db(store.create_session, engine, auth.token_digest(token), reviewer.id,
                  auth.new_token(), moment)
    log.info("signed in", reviewer=reviewer.name)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        config.session_cookie, token, httponly=True, samesite="strict",
        secure=config.secure_cookies, path="/",
    )
    response.delete_cookie(config.signin_cookie, path="/")
    return response


async def signout(request: Request, desk: Desk, session: store.Session,
                  form: FormData) -> Response:
    await desk.db(store.delete_session, desk.engine, session.token_hash)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(desk.config.session_cookie, path="/")
    return response
