"""What the engine knows about one claim before it touches a portal: its adapter, the
account and credentials it files under, how it files (original, replacement, void), and
the browser it runs in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from playwright.async_api import Page

from portalbot import credentials as keyring_credentials
from portalbot.adapters import Credentials, Filing, PortalAdapter, discover_adapters
from portalbot.claims import Claim
from portalbot.config import Settings
from portalbot.engine.boundary import portal_boundary
from portalbot.engine.limits import default_worker_name, pre_submit_retry
from portalbot.engine.results import ClaimResult
from portalbot.errors import (
    ConfigError,
)
from portalbot.evidence import EvidenceStore
from portalbot.ledger import ClaimRecord, Ledger
from portalbot.logs import register_secrets
from portalbot.totp import OneTimeCodes, shared_codes

CredentialLookup = Callable[[str, str], Credentials]


IntentHook = Callable[[ClaimRecord, Page], Awaitable[None]]


class EngineBase:
    """Settings, ledger, adapters and credentials, shared by every part of the engine."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        *,
        evidence: EvidenceStore | None = None,
        lookup_credentials: CredentialLookup = keyring_credentials.lookup,
        adapters: dict[str, type[PortalAdapter]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        worker: str | None = None,
        history: Ledger | None = None,
        on_intent: IntentHook | None = None,
    ):
        """``history``: the ledger that knows earlier versions of a claim (a dry run works
        on a ledger of its own). ``on_intent``: awaited once a write-ahead intent is
        committed, just before the click (observers; fault-injection tests freeze here)."""
        self.settings = settings
        self.ledger = ledger
        self.history = history or ledger
        self.evidence = evidence or EvidenceStore(settings.resolved_evidence_dir)
        self.lookup_credentials = lookup_credentials
        self.registry = adapters if adapters is not None else discover_adapters()
        self.sleep = sleep
        self.worker = worker or settings.worker_name or default_worker_name()
        self.on_intent = on_intent
        self._adapters: dict[str, PortalAdapter] = {}
        self._credentials: dict[tuple[str, str], Credentials] = {}

    def _adapter(self, payer_id: str) -> PortalAdapter:
        if payer_id not in self._adapters:
            if payer_id not in self.registry:
                known = ", ".join(sorted(self.registry)) or "none"
                raise ConfigError(f"no adapter for payer {payer_id!r} (known: {known})")
            base_url = self.settings.payer(payer_id).base_url
            self._adapters[payer_id] = self._codes_through_ledger(self.registry[payer_id](base_url))
        return self._adapters[payer_id]

    def _codes_through_ledger(self, adapter: PortalAdapter) -> PortalAdapter:
        """An adapter that takes one-time codes gets a guard whose time steps are reserved
        in the ledger, so workers in other processes and on other hosts that share the
        portal account never send the same code (the adapter never sees the ledger)."""
        if hasattr(adapter, "codes"):
            codes: OneTimeCodes = getattr(adapter, "codes", None) or shared_codes()
            adapter.codes = codes.reserving_with(
                lambda payer_id, account, earliest: self.ledger.reserve_code_step(
                    payer_id, account, earliest, self.worker, step_s=codes.step_s
                )
            )
        return adapter

    def _account(self, payer_id: str, claim: Claim) -> str:
        settings = self.settings.payer(payer_id)
        account = settings.account_for(claim.billing_provider.npi, claim.billing_provider.tax_id)
        if account is None:
            raise ConfigError(
                f"no {payer_id} account is configured for claim {claim.claim_id}'s billing "
                "NPI/TIN; add it to the payer's accounts in portalbot.toml",
                payer_id=payer_id,
            )
        return account.name

    def _creds(self, payer_id: str, account: str) -> Credentials:
        key = (payer_id, account)
        if key not in self._credentials:
            creds = self.lookup_credentials(payer_id, account)
            # A portal that echoes a password back must not put it in a log or the ledger.
            register_secrets(creds.password, creds.totp_secret)
            self._credentials[key] = creds
        return self._credentials[key]

    def _filing(self, record: ClaimRecord) -> Filing:
        """How to file this version: a correction of a claim the payer accepted goes as a
        replacement naming the payer's claim number from the ledger; a void names it too;
        a correction of a claim the payer never accepted goes as a new original."""
        accepted_before = [
            r for r in self.history.versions_of(record.claim_id)
            if r.version < record.version and r.state in {"accepted", "pending", "paid", "denied"}
        ]
        original = None
        if accepted_before:
            last = accepted_before[-1]
            original = last.payer_claim_number or last.confirmation
        original = original or record.replaces
        if record.frequency == "void":
            return Filing(record.portal_key, "void", original)
        if original and (accepted_before or record.frequency == "replacement"):
            return Filing(record.portal_key, "replacement", original)
        return Filing(record.portal_key, "original", None)

    async def _login(self, adapter: PortalAdapter, page: Page, creds: Credentials) -> None:
        """Sign in, retrying outages only: a refused password is never tried twice."""
        async for attempt in pre_submit_retry(self.settings, self.sleep):
            with attempt, portal_boundary(adapter.payer_id, "login"):
                await adapter.login(page, creds)

    def _finish(
        self, record: ClaimRecord, screenshot: str | None, *, submitted: bool = False
    ) -> ClaimResult:
        if screenshot is None:
            attempts = self.ledger.attempts(record.pk)
            screenshot = next((a["screenshot"] for a in reversed(attempts) if a["screenshot"]), None)
        detail = record.confirmation if record.state == "accepted" else (record.reason or "")
        return ClaimResult(
            record.claim_id, record.version, record.payer_id, record.state, detail or "",
            screenshot, submitted, record.next_attempt_at,
        )

