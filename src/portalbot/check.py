"""The portal health check behind ``portalbot check``: does each adapter still fit its portal?

For each payer it signs in, walks to the claim form and fills it with the adapter's own
first declared case (a made-up claim from the fixtures), which finds every field the
adapter needs, then leaves without submitting. Run nightly from cron, it tells ops a
portal changed before a batch fails on it.

A failure keeps a screenshot and a Playwright trace (started after sign-in, so no
password is recorded) under ``<evidence>/checks/<id>/``. Check results carry no claim
data: the sample claim is synthetic and messages name fields, not values.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import BrowserContext, Page, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from portalbot import credentials as keyring_credentials
from portalbot.adapters import Credentials, Filing, PortalAdapter, PortalForm, discover_adapters
from portalbot.browser import launch
from portalbot.claims import load_claims
from portalbot.config import Settings
from portalbot.errors import ConfigError, NeedsHumanError, PortalbotError
from portalbot.evidence import EvidenceStore, write_private
from portalbot.logs import register_secrets

CHECK_PORTAL_KEY = "HEALTHCHECK"
DEFAULT_ACTION_TIMEOUT_S = 5.0
_LOCATOR_NAME = re.compile(r"get_by_(?:label|role)\((?:\"[a-z]+\", name=)?\"(?P<name>[^\"]+)\"")

CredentialLookup = Callable[[str, str], Credentials]


@dataclass(frozen=True)
class CheckResult:
    payer_id: str
    ok: bool
    detail: str
    screenshot: str | None = None
    trace: str | None = None

    def line(self) -> str:
        """One line for the operator: ok, or what broke and where the evidence is."""
        if self.ok:
            return f"{self.payer_id}: ok — {self.detail}"
        where = "; ".join(
            part for part in (
                f"screenshot {self.screenshot}" if self.screenshot else "",
                f"trace {self.trace}" if self.trace else "",
            ) if part
        )
        return f"{self.payer_id}: BROKEN — {self.detail}" + (f" ({where})" if where else "")


def sample_form(adapter: PortalAdapter) -> PortalForm | None:
    """The adapter's first declared case as its portal form, or None when unavailable."""
    if not adapter.cases:
        return None
    case = adapter.cases[0]
    candidates = [Path(case.fixture), Path(__file__).resolve().parents[2] / case.fixture]
    for path in candidates:
        if path.exists():
            batch = load_claims(path)
            for loaded in batch.claims:
                if loaded.claim.claim_id == case.claim_id:
                    return adapter.to_form(loaded.claim, Filing(CHECK_PORTAL_KEY))
    return None


def describe_timeout(exc: PlaywrightTimeout) -> str:
    """Name what the adapter waited for in vain: usually a field the portal no longer has."""
    found = _LOCATOR_NAME.search(str(exc))
    if found:
        return f"the page has no element named {found['name']!r} (waited in vain)"
    return "a page element the adapter needs did not appear"


async def _keep_evidence(
    store: EvidenceStore, context: BrowserContext, page: Page, tracing: bool
) -> tuple[str | None, str | None]:
    folder = store.attempt_dir(f"check{uuid.uuid4().hex}")
    screenshot: str | None = str(folder / "failure.png")
    try:
        write_private(folder / "failure.png", await page.screenshot(full_page=True))
    except PlaywrightError:
        screenshot = None
    trace: str | None = None
    if tracing:
        try:
            await context.tracing.stop(path=str(folder / "trace.zip"))
            store.seal(folder / "trace.zip")
            trace = str(folder / "trace.zip")
        except PlaywrightError:
            trace = None
    return screenshot, trace


async def check_one(
    adapter: PortalAdapter,
    credentials: Credentials,
    context: BrowserContext,
    store: EvidenceStore,
) -> CheckResult:
    """Sign in, open the claim form, fill every field, leave. Never clicks submit."""
    page = await context.new_page()
    tracing = False
    step = "login"
    try:
        await adapter.login(page, credentials)
        await context.tracing.start(screenshots=True, snapshots=True)
        tracing = True
        step = "open_form"
        await adapter.open_form(page)
        form = sample_form(adapter)
        if form is None:
            detail = "signed in and opened the claim form (no sample claim to try the fields)"
        else:
            step = "fill"
            await adapter.fill(page, form)
            detail = "signed in, opened the claim form and found every field; nothing submitted"
        await context.tracing.stop()
        return CheckResult(adapter.payer_id, True, detail)
    except PlaywrightTimeout as exc:
        problem = f"{step}: {describe_timeout(exc)}"
    except NeedsHumanError as exc:
        problem = f"{step}: a person is needed: {exc.message}"
    except PortalbotError as exc:
        problem = f"{step}: {exc.message}"
    except PlaywrightError:
        problem = f"{step}: the page did not behave as the adapter expects"
    screenshot, trace = await _keep_evidence(store, context, page, tracing)
    return CheckResult(adapter.payer_id, False, problem, screenshot, trace)


async def check_payers(
    settings: Settings,
    payer_ids: list[str] | None = None,
    *,
    lookup_credentials: CredentialLookup = keyring_credentials.lookup,
    adapters: dict[str, type[PortalAdapter]] | None = None,
    action_timeout_s: float = DEFAULT_ACTION_TIMEOUT_S,
) -> list[CheckResult]:
    """Check each payer (default: those configured, else every registered adapter)."""
    registry = adapters if adapters is not None else discover_adapters()
    chosen = payer_ids or sorted(settings.payers) or sorted(registry)
    unknown = [p for p in chosen if p not in registry]
    if unknown:
        raise ConfigError(
            f"no adapter for {', '.join(unknown)} (known: {', '.join(sorted(registry))})"
        )
    store = EvidenceStore(settings.resolved_evidence_dir / "checks")
    results: list[CheckResult] = []
    async with async_playwright() as playwright:
        browser = await launch(playwright, settings.browser)
        try:
            for payer_id in chosen:
                adapter = registry[payer_id](settings.payer(payer_id).base_url)
                account = settings.payer(payer_id).accounts[0].name
                try:
                    credentials = lookup_credentials(payer_id, account)
                except ConfigError as exc:
                    results.append(CheckResult(payer_id, False, f"credentials: {exc.message}"))
                    continue
                register_secrets(credentials.password, credentials.totp_secret)
                context = await browser.new_context(viewport={"width": 1280, "height": 900})
                context.set_default_timeout(action_timeout_s * 1000)
                context.set_default_navigation_timeout(settings.browser.navigation_timeout_s * 1000)
                try:
                    results.append(await check_one(adapter, credentials, context, store))
                finally:
                    await context.close()
        finally:
            await browser.close()
    return results
