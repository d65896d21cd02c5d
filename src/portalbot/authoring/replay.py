"""Replaying a recording: an adapter's cases against its recorded pages, no portal needed.

Every request is answered from the HAR (``route_from_har(..., not_found="abort")``): a
request the recording does not hold fails, so a field map that types something else
than what was recorded — or an adapter that asks for a page never recorded — fails the
replay. What a replay proves: the sign-in, the claim form's labels (the field map) and,
where the recording went through submission, the reading of the page after the click.
The engine's guarantees are proven elsewhere, against the full mock portals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from portalbot.adapters import Filing, PortalAdapter
from portalbot.authoring.record import Recording
from portalbot.browser import launch
from portalbot.claims import Claim
from portalbot.config import BrowserSettings
from portalbot.outcomes import Accepted, Duplicate, Outcome, Pending, Rejected

STATES: dict[type[Outcome], str] = {
    Accepted: "accepted", Pending: "pending", Rejected: "rejected", Duplicate: "duplicate"}
"""The ledger state each outcome read after the click leads to."""


@dataclass(frozen=True)
class Replayed:
    filled: bool
    outcome: Outcome | None

    @property
    def state(self) -> str | None:
        return None if self.outcome is None else STATES.get(type(self.outcome))


async def replay(
    adapter_type: type[PortalAdapter[Any]], recording: Recording, folder: Path, claim: Claim,
    browser: BrowserSettings,
) -> Replayed:
    """Sign in, open the form, fill it, and (when recorded) click and read the outcome."""
    adapter = adapter_type(recording.base_url)
    form = adapter.to_form(claim, Filing(recording.portal_key))
    async with async_playwright() as playwright:
        chromium = await launch(playwright, browser)
        try:
            context = await chromium.new_context()
            context.set_default_timeout(browser.action_timeout_s * 1000)
            await context.route_from_har(folder / recording.har, not_found="abort")
            page = await context.new_page()
            await adapter.login(page, recording.credentials(adapter.login_fields))
            await adapter.prepare(page, form)
            outcome = await adapter.send(page) if recording.submitted else None
            await context.close()
        finally:
            await chromium.close()
    return Replayed(True, outcome)
