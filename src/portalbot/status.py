"""Later verdicts: ask the portal about claims it only *received* (``pending``).

Some portals answer a submission with "received" and decide later (BlueRiver, like an
X12 277CA A1). This walks the ledger's ``pending`` claims of such payers, asks the
adapter's ``check_status`` for each reference, and records a changed answer (accepted
with the payer's claim number, rejected, denied, paid). A claim still "received" stays
``pending`` untouched. Nothing here ever submits.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from playwright.async_api import async_playwright

from portalbot import credentials as keyring_credentials
from portalbot.adapters import Credentials, PortalAdapter, discover_adapters
from portalbot.browser import SessionPool, launch
from portalbot.claims import Claim
from portalbot.config import Settings
from portalbot.engine import _scrubbed, portal_boundary
from portalbot.errors import ConfigError, PortalError
from portalbot.evidence import EvidenceStore
from portalbot.ledger import Ledger
from portalbot.ledger.states import PENDING

CredentialLookup = Callable[[str, str], Credentials]


@dataclass(frozen=True)
class StatusResult:
    claim_id: str
    version: int
    payer_id: str
    state: str
    detail: str


def _has_status_page(adapter: type[PortalAdapter]) -> bool:
    return adapter.check_status is not PortalAdapter.check_status


async def check_pending(
    settings: Settings,
    ledger: Ledger,
    *,
    payer_ids: list[str] | None = None,
    lookup_credentials: CredentialLookup = keyring_credentials.lookup,
    adapters: dict[str, type[PortalAdapter]] | None = None,
    worker: str | None = None,
) -> list[StatusResult]:
    """Ask each pending claim's portal for its verdict; record the ones that changed."""
    registry = adapters if adapters is not None else discover_adapters()
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:status"
    evidence = EvidenceStore(settings.resolved_evidence_dir)
    pending = [
        r for r in ledger.all_claims(PENDING)
        if r.payer_id in registry and _has_status_page(registry[r.payer_id])
        and (payer_ids is None or r.payer_id in payer_ids) and r.confirmation
    ]
    results: list[StatusResult] = []
    if not pending:
        return results
    instances: dict[str, PortalAdapter] = {}
    async with async_playwright() as playwright:
        browser = await launch(playwright, settings.browser)
        pool = SessionPool(browser, settings.browser)
        try:
            for record in pending:
                payer = settings.payer(record.payer_id)
                adapter = instances.setdefault(
                    record.payer_id, registry[record.payer_id](payer.base_url)
                )
                claim = Claim.model_validate(record.payload)
                account = payer.account_for(claim.billing_provider.npi, claim.billing_provider.tax_id)
                if account is None:
                    continue
                try:
                    creds = lookup_credentials(record.payer_id, account.name)
                    async with pool.session(
                        adapter, account.name, lambda page: adapter.login(page, creds)  # noqa: B023
                    ) as session:
                        with portal_boundary(record.payer_id, "check_status"):
                            outcome = await adapter.check_status(
                                session.page, str(record.confirmation)
                            )
                        if outcome.state == PENDING:
                            results.append(StatusResult(
                                record.claim_id, record.version, record.payer_id, PENDING,
                                "still received, no verdict yet",
                            ))
                            continue
                        attempt_id = ledger.begin_attempt(record.pk, worker, kind="status")
                        kept = await evidence.capture(session.page, attempt_id, "status")
                        updated = ledger.record_outcome(
                            record.pk, attempt_id, worker, _scrubbed(outcome),
                            expected_state=PENDING, reason="the portal's status page decided",
                            evidence=kept,
                        )
                        results.append(StatusResult(
                            updated.claim_id, updated.version, updated.payer_id, updated.state,
                            outcome.summary,
                        ))
                except (ConfigError, PortalError) as exc:
                    results.append(StatusResult(
                        record.claim_id, record.version, record.payer_id, PENDING,
                        f"status not read: {exc.message}",
                    ))
        finally:
            await pool.close()
            await browser.close()
    return results
