"""Finding and launching Chromium, and the per-payer session pool.

Browser search order: an explicit executable (settings or ``PORTALBOT_CHROMIUM``),
Playwright's own build where it was installed, then a system Chromium: for headless runs
the headless shell first (Debian's ``chromium-headless-shell``, the same build Playwright
itself runs headless), because the full browser in headless mode costs about half again
as much CPU per claim. When none is there the error says how to get one. A remote
browser server (``ws_endpoint``) is used through Playwright's ``connect`` instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.async_api import Browser, BrowserContext, Page, Playwright

from portalbot.config import BrowserSettings
from portalbot.errors import ConfigError, PortalError, PortalUnavailable

if TYPE_CHECKING:
    from portalbot.adapters import PortalAdapter

SYSTEM_CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HEADLESS_SHELLS = ("chromium-headless-shell", "chrome-headless-shell")
DEBIAN_PACKAGES = ("chromium", "chromium-headless-shell")
# Quiet flags: without them Chromium phones home at start-up, which a closed network refuses.
LAUNCH_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-gpu",
]


class BrowserNotFound(ConfigError):
    """No Chromium could be found to drive the portals."""


def find_chromium(playwright: Playwright, settings: BrowserSettings) -> Path | None:
    """The executable to launch; None means Playwright's own build is present and preferred."""
    if settings.executable_path:
        if not Path(settings.executable_path).exists():
            raise BrowserNotFound(f"the configured browser {settings.executable_path} does not exist")
        return Path(settings.executable_path)
    try:
        bundled = Path(playwright.chromium.executable_path)
    except Exception:  # noqa: BLE001 - Playwright raises when its build is absent
        bundled = None
    if bundled is not None and bundled.exists():
        return None
    found = system_chromium(headless=settings.headless)
    if found is not None:
        return found
    raise BrowserNotFound(
        "no Chromium found: run `python -m playwright install chromium`, or install your "
        "system's package (Debian/Ubuntu: `apt-get install chromium`), or set "
        "PORTALBOT_CHROMIUM to a Chromium or Chrome executable"
    )


def system_chromium(*, headless: bool) -> Path | None:
    """The system browser on PATH: a headless shell first when running headless."""
    names = (*HEADLESS_SHELLS, *SYSTEM_CHROMIUMS) if headless else SYSTEM_CHROMIUMS
    return next((Path(found) for name in names if (found := shutil.which(name))), None)


async def launch(playwright: Playwright, settings: BrowserSettings) -> Browser:
    if settings.ws_endpoint:
        return await playwright.chromium.connect(settings.ws_endpoint)
    executable = find_chromium(playwright, settings)
    return await playwright.chromium.launch(
        headless=settings.headless,
        executable_path=str(executable) if executable else None,
        args=LAUNCH_ARGS,
    )


@dataclass
class PortalSession:
    """One logged-in browser context for one portal account."""

    key: tuple[str, str]
    context: BrowserContext
    page: Page
    slot: int | None = None
    tracing: bool = False
    chunk_open: bool = False
    # Set after anything went wrong past the submit click: the page may be half-dead or
    # hold an answer nobody read, so the next claim gets a fresh context.
    broken: bool = False


SlotAcquirer = Callable[[str, str], Awaitable[int]]
SlotReleaser = Callable[[str, str, int], Awaitable[None]]
SessionLimit = Callable[[str], int]


@dataclass
class _AccountPool:
    limit: asyncio.Semaphore
    idle: list[PortalSession] = field(default_factory=list)


class SessionPool:
    """Keeps one or more logged-in contexts per (payer, account) and hands them out.

    A session is checked before it is handed out (portals sign out silently) and logged
    in again when it fell back to signed-out. At most ``session_limit(payer_id)``
    contexts per account exist at once in this process: the same limit as the ledger's
    session slots (the payer's configured ``max_sessions``, else its adapter's), so a
    configured limit above the adapter's default is not silently capped here.
    """

    def __init__(
        self,
        browser: Browser,
        settings: BrowserSettings,
        *,
        acquire_slot: SlotAcquirer | None = None,
        release_slot: SlotReleaser | None = None,
        relaunch: Callable[[], Awaitable[Browser]] | None = None,
        session_limit: SessionLimit | None = None,
    ):
        self.browser = browser
        self._session_limit = session_limit
        self.settings = settings
        self._relaunch = relaunch
        self._acquire_slot = acquire_slot
        self._release_slot = release_slot
        self._pools: dict[tuple[str, str], _AccountPool] = {}

    def _pool(self, key: tuple[str, str], max_sessions: int) -> _AccountPool:
        if key not in self._pools:
            self._pools[key] = _AccountPool(limit=asyncio.Semaphore(max_sessions))
        return self._pools[key]

    async def _new_session(self, key: tuple[str, str]) -> PortalSession:
        # The account's session limit holds across processes: take a slot first.
        slot = await self._acquire_slot(*key) if self._acquire_slot else None
        if not self.browser.is_connected() and self._relaunch is not None:
            # The browser died (killed, crashed): the rest of the run gets a new one.
            self.browser = await self._relaunch()
        context = await self.browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(self.settings.action_timeout_s * 1000)
        context.set_default_navigation_timeout(self.settings.navigation_timeout_s * 1000)
        page = await context.new_page()
        return PortalSession(key=key, context=context, page=page, slot=slot)

    @asynccontextmanager
    async def session(
        self, adapter: PortalAdapter, account: str, login: Callable[[Page], Awaitable[None]]
    ) -> AsyncIterator[PortalSession]:
        key = (adapter.payer_id, account)
        limit = (self._session_limit(adapter.payer_id) if self._session_limit
                 else adapter.max_sessions_per_account)
        pool = self._pool(key, limit)
        async with pool.limit:
            session = pool.idle.pop() if pool.idle else await self._new_session(key)
            if not self.browser.is_connected() or session.context.browser is not self.browser:
                await self._discard(session)
                session = await self._new_session(key)
            healthy = False
            try:
                if not await self._signed_in(adapter, session):
                    await self._stop_tracing(session)
                    await login(session.page)
                    # Tracing starts after login so no password is ever recorded.
                    # Actions, timings and network by default: DOM snapshots and a
                    # screencast cost more CPU than the claim itself, and every failure gets
                    # a full-page screenshot and its HTML anyway. `trace_snapshots` adds them
                    # when a portal needs closer study.
                    await session.context.tracing.start(
                        screenshots=self.settings.trace_snapshots,
                        snapshots=self.settings.trace_snapshots,
                    )
                    session.tracing = True
                    session.chunk_open = False
                yield session
                healthy = not session.broken
            finally:
                if healthy:
                    pool.idle.append(session)
                else:
                    await self._discard(session)

    async def _signed_in(self, adapter: PortalAdapter, session: PortalSession) -> bool:
        """Whether the session is still signed in; a page that cannot even answer that
        (crashed, closed) counts as signed out, and its tracing as lost."""
        try:
            return await adapter.is_signed_in(session.page)
        except PortalError:
            raise
        except Exception:  # noqa: BLE001 - a dead page is a reason to sign in, not to stop
            if session.page.is_closed():
                try:
                    session.page = await session.context.new_page()
                except Exception:  # noqa: BLE001 - the context is gone with it
                    raise PortalUnavailable(
                        "the browser session was lost", payer_id=adapter.payer_id, step="login"
                    ) from None
            session.tracing = False
            return False

    async def _stop_tracing(self, session: PortalSession) -> None:
        if session.tracing:
            with suppress(Exception):  # a lost trace never stops a sign-in
                await session.context.tracing.stop()
            session.tracing = False
            session.chunk_open = False

    async def _discard(self, session: PortalSession) -> None:
        with suppress(Exception):  # closing a broken context must not mask the cause
            await session.context.close()
        if session.slot is not None and self._release_slot:
            await self._release_slot(*session.key, session.slot)

    async def close(self) -> None:
        for pool in self._pools.values():
            for session in pool.idle:
                await self._discard(session)
            pool.idle.clear()


def locate_chromium(settings: BrowserSettings) -> str:
    """Describe the browser portalbot would launch, or raise BrowserNotFound."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        executable = find_chromium(playwright, settings)  # type: ignore[arg-type]
        return str(executable) if executable else f"Playwright's Chromium ({playwright.chromium.executable_path})"


def install_chromium(settings: BrowserSettings, say: Callable[[str], None]) -> str:
    """Make sure a Chromium is there: Playwright's own build, else Debian's packages as root.

    On Debian both `chromium` and `chromium-headless-shell` are installed: headless runs,
    the ones that go on all night, use the shell.
    """
    try:
        found = locate_chromium(settings)
    except BrowserNotFound:
        found = None
    if found is not None:
        if not found.startswith("Playwright's") and not _has_headless_shell():
            say("tip: a headless shell (Debian: `apt-get install chromium-headless-shell`) "
                "runs headless with about a third less CPU per claim")
        return found
    say("no Chromium yet; trying `playwright install chromium`")
    attempt = subprocess.run(
        [sys.executable, "-m", "playwright", "install", "chromium"],
        capture_output=True, text=True, check=False,
    )
    if attempt.returncode == 0:
        return locate_chromium(settings)
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"Playwright's download failed; installing Debian's {' and '.join(DEBIAN_PACKAGES)} "
            "with apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, stdout=subprocess.DEVNULL)
        # One package at a time: a release without the headless shell still gets chromium.
        for package in DEBIAN_PACKAGES:
            subprocess.run(["apt-get", "install", "-y", "-qq", package],
                           check=False, env=env, stdout=subprocess.DEVNULL)
        return locate_chromium(settings)
    raise BrowserNotFound(
        "could not install a Chromium: Playwright's download failed and this is not a root "
        "Debian system; install your system's chromium package (or Google Chrome) and set "
        "PORTALBOT_CHROMIUM to it if it is not on PATH"
    )


def _has_headless_shell() -> bool:
    return any(shutil.which(name) for name in HEADLESS_SHELLS)
