"""``portalbot scaffold``: a draft ``payers/<payer_id>.py`` read from the live claim form.

It signs in with the keyring credentials (the page holding a password box: the username
box before it, a ``login_fields`` value in the box whose label names it, a one-time code
where one is asked for), opens the claim form's URL, reads every labelled control
(``form_reader``) in the frame holding the form, and writes the draft ``draft.render``
makes of them: a declarative adapter of the portal's shape (labelled form, wizard, or
legacy table), every field listed, the known ones mapped, the rest marked ``TODO``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
from playwright.async_api import Frame, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from portalbot.adapters import Credentials
from portalbot.authoring.draft import render, shape
from portalbot.authoring.form_reader import CONTROLS, FormField, busiest_frame, read_fields
from portalbot.browser import launch
from portalbot.config import BrowserSettings
from portalbot.errors import ConfigError
from portalbot.private import write_private


@dataclass(frozen=True)
class Draft:
    path: Path
    fields: list[FormField]
    mapped: int
    shape: str


async def _password_frame(page: Page) -> Frame | None:
    for frame in page.frames:
        if await frame.locator("input[type=password]").count():
            return frame
    return None


async def sign_in(page: Page, url: str, credentials: Credentials) -> None:
    """A generic sign-in: the password page, then a one-time code page if one follows."""
    await page.goto(url)
    await page.wait_for_load_state()
    frame = await _password_frame(page)
    if frame is None:
        return  # already signed in, or a portal without a password page
    wanted = {k.lower(): v for k, v in credentials.fields.items()}
    controls = frame.locator(CONTROLS)
    password_seen = False
    for field in await read_fields(frame):
        box = controls.nth(field.index)
        if field.index < 0 or not await box.is_visible():
            continue
        if field.type == "password":
            await box.fill(credentials.password)
            password_seen = True
        elif (key := next((k for k in wanted if k in field.label.lower()), None)) is not None:
            await box.fill(wanted[key])
        elif field.type in ("text", "email") and not password_seen:
            await box.fill(credentials.username)
    password = frame.locator("input[type=password]").first
    await password.press("Enter")
    if not credentials.totp_secret:
        await password.wait_for(state="hidden")  # the sign-in page is gone
        await page.wait_for_load_state()
        return
    code = frame.get_by_label(re.compile("code", re.IGNORECASE)).first
    try:
        await code.wait_for(state="visible", timeout=5_000)
    except PlaywrightTimeout:
        return  # no one-time code asked for
    await code.fill(pyotp.TOTP(credentials.totp_secret).now())
    await code.press("Enter")
    await code.wait_for(state="hidden")  # signed in: the portal moved on
    await page.wait_for_load_state()


async def scaffold(payer_id: str, url: str, sign_in_url: str | None, credentials: Credentials,
                   out: Path, browser: BrowserSettings, *, force: bool = False) -> Draft:
    """Sign in, open ``url``, read the form and write ``out`` (never over a file unless
    ``force``)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", payer_id):
        raise ConfigError("a payer id is lower-case letters, digits and '_', starting with "
                          "a letter (it names payers/<payer_id>.py)")
    if out.exists() and not force:
        raise ConfigError(f"{out} exists; edit it, or pass --force to replace it")
    async with async_playwright() as playwright:
        chromium = await launch(playwright, browser)
        try:
            page = await (await chromium.new_context()).new_page()
            page.set_default_timeout(browser.action_timeout_s * 1000)
            await sign_in(page, sign_in_url or url, credentials)
            await page.goto(url)
            await page.wait_for_load_state("networkidle")
            form = await busiest_frame(page)
            fields = await read_fields(form)
            frame = form.name if form is not page.main_frame and form.name else None
        finally:
            await chromium.close()
    where = urlsplit(url)
    base = f"{where.scheme}://{where.netloc}"
    text, mapped = render(payer_id, base, where.path or "/",
                          urlsplit(sign_in_url or url).path or "/", fields, frame)
    write_private(out, text.encode("utf-8"))
    return Draft(out, fields, mapped, shape(fields))
