"""The batch and worker loop: lease, submit, confirm, record.

The engine knows nothing about any portal and an adapter knows nothing about the ledger.
The guarantee the engine keeps: the write-ahead intent is committed before the submit
click, the click happens once, and nothing after it is ever retried — an unreadable
answer leaves the claim ``in_doubt`` for reconciliation, never for a second click.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import tenacity
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from portalbot import credentials as keyring_credentials
from portalbot.adapters import Credentials, Filing, PortalAdapter, discover_adapters
from portalbot.browser import PortalSession, SessionPool, launch
from portalbot.claims import Claim
from portalbot.config import Settings
from portalbot.errors import (
    AdapterError,
    AuthenticationError,
    ClaimError,
    ConfigError,
    LedgerError,
    NeedsHumanError,
    PortalError,
    PortalUnavailable,
    SubmissionUncertain,
)
from portalbot.evidence import EvidenceStore
from portalbot.ledger import ClaimRecord, Evidence, Ledger
from portalbot.ledger.states import FAILED, IN_DOUBT, NEEDS_HUMAN, QUEUED, SUBMITTING
from portalbot.logs import get_logger, register_claim_phi, register_secrets, scrub
from portalbot.outcomes import Outcome
from portalbot.totp import OneTimeCodes, shared_codes

log = get_logger("portalbot.engine")

CIRCUIT_THRESHOLD = 3
CredentialLookup = Callable[[str, str], Credentials]


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_is_dead(owner: str) -> bool:
    """A lease holder on this host whose process is gone: its leases are void at once.

    Holders on other hosts are never judged from here; their leases simply expire.
    """
    host, _, pid_text = owner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def portal_boundary(payer_id: str, step: str) -> Iterator[None]:
    """Translate Playwright's exceptions into portalbot's, once, without their text.

    Playwright messages quote locators and element HTML, which can carry PHI, so only the
    kind of failure and the step survive.
    """
    try:
        yield
    except PortalError:
        raise
    except PlaywrightTimeout:
        raise PortalUnavailable(
            "the portal did not answer in time", payer_id=payer_id, step=step
        ) from None
    except PlaywrightError:
        raise AdapterError(
            "the page did not behave as the adapter expects", payer_id=payer_id, step=step
        ) from None


@dataclass(frozen=True)
class ClaimResult:
    claim_id: str
    version: int
    payer_id: str
    state: str
    detail: str
    screenshot: str | None = None
    submitted: bool = False


@dataclass
class RunSummary:
    results: list[ClaimResult] = field(default_factory=list)
    blocked_payers: dict[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results:
            counts[result.state] = counts.get(result.state, 0) + 1
        return counts


def pre_submit_retry(settings: Settings, sleep: Callable[[float], Awaitable[None]]) -> Any:
    """The named retry policy for everything before the click: PortalUnavailable alone."""
    return tenacity.AsyncRetrying(
        retry=tenacity.retry_if_exception_type(PortalUnavailable),
        stop=tenacity.stop_after_attempt(settings.retry.in_place_attempts),
        wait=tenacity.wait_random_exponential(
            multiplier=settings.retry.in_place_wait_s, max=settings.retry.in_place_wait_s * 8
        ),
        sleep=sleep,
        reraise=True,
    )


class Engine:
    """Runs queued claims from the ledger through their payers' adapters."""

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
    ):
        self.settings = settings
        self.ledger = ledger
        self.evidence = evidence or EvidenceStore(settings.resolved_evidence_dir)
        self.lookup_credentials = lookup_credentials
        self.registry = adapters if adapters is not None else discover_adapters()
        self.sleep = sleep
        self.worker = worker or settings.worker_name or default_worker_name()
        self._adapters: dict[str, PortalAdapter] = {}
        self._credentials: dict[tuple[str, str], Credentials] = {}

    # --- running -------------------------------------------------------------------
    async def run(
        self,
        *,
        batch_id: str | None = None,
        payer_ids: list[str] | None = None,
        dry_run: bool = False,
        max_claims: int | None = None,
        on_result: Callable[[ClaimResult], None] | None = None,
    ) -> RunSummary:
        summary = RunSummary()
        self.ledger.expire_submissions(self.worker, owner_is_dead)
        budget = [max_claims if max_claims is not None else -1]
        async with self._session_pool() as pool:
            await asyncio.gather(*(
                self._work(pool, summary, batch_id, payer_ids, dry_run, budget, on_result)
                for _ in range(self.settings.concurrency)
            ))
        return summary

    @asynccontextmanager
    async def _session_pool(self) -> AsyncIterator[SessionPool]:
        """One Chromium for this run, its sessions limited through the ledger."""
        async with async_playwright() as playwright:
            browser = await launch(playwright, self.settings.browser)
            pool = SessionPool(
                browser, self.settings.browser,
                acquire_slot=self._acquire_slot, release_slot=self._release_slot,
            )
            try:
                yield pool
            finally:
                await pool.close()
                await browser.close()

    async def _work(
        self,
        pool: SessionPool,
        summary: RunSummary,
        batch_id: str | None,
        payer_ids: list[str] | None,
        dry_run: bool,
        budget: list[int],
        on_result: Callable[[ClaimResult], None] | None,
    ) -> None:
        skipped: set[int] = set()
        while budget[0] != 0:
            allowed = self._allowed_payers(payer_ids, summary)
            if allowed is not None and not allowed:
                return
            leased = self.ledger.lease(
                self.worker, batch_id=batch_id, payer_ids=allowed, limit=1,
                lease_s=self.settings.lease_s, dead_owner=owner_is_dead,
            )
            if not leased or leased[0].pk in skipped:
                for record in leased:
                    self.ledger.release(record.pk, self.worker)
                return
            budget[0] -= 1
            record = leased[0]
            result = await self.process(pool, record, summary, dry_run=dry_run)
            if result is None:
                skipped.add(record.pk)
                continue
            if dry_run:
                skipped.add(record.pk)
            summary.results.append(result)
            if on_result:
                on_result(result)

    def _allowed_payers(self, payer_ids: list[str] | None, summary: RunSummary) -> list[str] | None:
        """The payers this run may still lease for; None means every payer."""
        if payer_ids is None and not summary.blocked_payers:
            return None
        known = payer_ids if payer_ids is not None else sorted(self.registry)
        return [p for p in known if p not in summary.blocked_payers]

    # --- later verdicts ----------------------------------------------------------------
    async def check_statuses(
        self,
        *,
        payer_ids: list[str] | None = None,
        accepted_within_days: float = 30.0,
        on_result: Callable[[ClaimResult], None] | None = None,
    ) -> RunSummary:
        """Visit each portal's claim status page for pending and recent accepted claims."""
        summary = RunSummary()
        since = self.ledger.clock() - timedelta(days=accepted_within_days)
        candidates = self.ledger.status_candidates(payer_ids, since)
        if not candidates:
            return summary
        async with self._session_pool() as pool:
            for record in candidates:
                if record.payer_id in summary.blocked_payers:
                    continue
                result = await self._check_one(pool, record, summary)
                if result is not None:
                    summary.results.append(result)
                    if on_result:
                        on_result(result)
        return summary

    async def _check_one(
        self, pool: SessionPool, record: ClaimRecord, summary: RunSummary
    ) -> ClaimResult | None:
        claim = Claim.model_validate(record.payload)
        register_claim_phi(claim)
        try:
            adapter = self._adapter(record.payer_id)
            account = self._account(record.payer_id, claim)
            creds = self._creds(record.payer_id, account)
        except ConfigError as exc:
            summary.blocked_payers.setdefault(record.payer_id, str(exc))
            return None
        if not adapter.has_status_page() or not record.confirmation:
            return None
        if self.ledger.payer_circuit(record.payer_id)[0]:
            summary.blocked_payers.setdefault(record.payer_id, "payer is paused")
            return None
        try:
            async with pool.session(
                adapter, account, lambda page: self._login(adapter, page, creds)
            ) as session:
                return await self._read_status(adapter, session.page, record)
        except AuthenticationError as exc:
            self.ledger.open_circuit(record.payer_id, f"authentication failed: {exc.message}")
            summary.blocked_payers.setdefault(record.payer_id, f"authentication failed: {exc.message}")
        except PortalError as exc:
            log.warning("status check failed", payer_id=record.payer_id, step=exc.step,
                        error=type(exc).__name__)
        return None

    async def _read_status(
        self, adapter: PortalAdapter, page: Page, record: ClaimRecord
    ) -> ClaimResult:
        attempt_id = self.ledger.begin_attempt(record.pk, self.worker, kind="status")
        reference = record.confirmation or ""
        try:
            async for attempt in pre_submit_retry(self.settings, self.sleep):
                with attempt, portal_boundary(adapter.payer_id, "check_status"):
                    outcome = await adapter.check_status(page, reference)
        except PortalError as exc:
            evidence = await self.evidence.capture(page, attempt_id, "failure")
            self.ledger.note_attempt(attempt_id, "failed", exc.message, evidence)
            raise
        evidence = await self.evidence.capture(page, attempt_id, "status")
        outcome = _scrubbed(outcome)
        if outcome.state == record.state:
            number = getattr(outcome, "payer_claim_number", None)
            if number and number != record.payer_claim_number:
                self.ledger.set_payer_claim_number(record.pk, number)
            self.ledger.note_attempt(attempt_id, "unchanged", outcome.summary, evidence)
            return self._finish(self.ledger.claim(record.pk), evidence.screenshot)
        try:
            updated = self.ledger.record_outcome(
                record.pk, attempt_id, self.worker, outcome, expected_state=record.state,
                reason=f"status check: the payer now says {outcome.state}", evidence=evidence,
            )
        except LedgerError as exc:
            # A verdict the state machine does not allow from here: keep it for a person.
            self.ledger.note_attempt(attempt_id, "unexpected", f"{outcome.summary} ({exc})", evidence)
            updated = self.ledger.claim(record.pk)
        return self._finish(updated, evidence.screenshot)

    # --- one claim ---------------------------------------------------------------------
    async def process(
        self, pool: SessionPool, record: ClaimRecord, summary: RunSummary, *, dry_run: bool
    ) -> ClaimResult | None:
        """Take one leased claim as far as it goes. None: left queued (payer blocked)."""
        claim = Claim.model_validate(record.payload)
        register_claim_phi(claim)
        payer_id = record.payer_id
        bound = log.bind(claim_id=record.claim_id, version=record.version, payer_id=payer_id)
        try:
            adapter = self._adapter(payer_id)
            account = self._account(payer_id, claim)
            creds = self._creds(payer_id, account)
        except ConfigError as exc:
            return self._block_payer(summary, record, str(exc))
        circuit_open, why = self.ledger.payer_circuit(payer_id)
        if circuit_open:
            return self._block_payer(
                summary, record,
                f"payer {payer_id} is paused ({why}); resume with `portalbot payer resume {payer_id}`",
            )
        if not adapter.working:
            reason = f"the {payer_id} adapter is marked not working: {adapter.broken_reason}"
            return self._finish(self._needs_human(record, reason), None)
        if record.state == IN_DOUBT and not self._due_for_reconciliation(adapter, record):
            return None
        try:
            form = adapter.to_form(claim, self._filing(record))
        except ClaimError as exc:
            return self._finish(self._needs_human(record, str(exc)), None)

        try:
            async with pool.session(
                adapter, account, lambda page: self._login(adapter, page, creds)
            ) as session:
                if record.state == IN_DOUBT:
                    settled = await self._reconcile(adapter, session.page, record)
                    if settled is not None:
                        return settled
                    record = self.ledger.claim(record.pk)
                    if dry_run:
                        self.ledger.release(record.pk, self.worker)
                        return None
                return await self._submit(adapter, session, creds, record, form, dry_run, bound)
        except NeedsHumanError as exc:
            # Met while signing in (a forced password change): nothing was submitted.
            if exc.pause_payer:
                self.ledger.open_circuit(payer_id, exc.message)
                summary.blocked_payers.setdefault(payer_id, exc.message)
            return self._finish(self._needs_human(record, exc.message), None)
        except AuthenticationError as exc:
            self.ledger.release(record.pk, self.worker)
            self.ledger.open_circuit(payer_id, f"authentication failed: {exc.message}")
            bound.warning("authentication failed; payer paused", step=exc.step)
            return self._block_payer(summary, record, f"authentication failed: {exc.message}")
        except PortalError as exc:
            # The session could not be opened (login page down or unreadable).
            attempt_id = self.ledger.begin_attempt(record.pk, self.worker)
            failed = self._fail_before_click(record, attempt_id, exc, Evidence())
            return self._finish(failed, None)

    async def _submit(
        self,
        adapter: PortalAdapter,
        session: PortalSession,
        creds: Credentials,
        record: ClaimRecord,
        form: Any,
        dry_run: bool,
        bound: Any,
    ) -> ClaimResult:
        page = session.page
        found = await self._search_first(adapter, page, record)
        if found is not None:
            return found
        attempt_id = self.ledger.begin_attempt(
            record.pk, self.worker, kind="dry_run" if dry_run else "submit"
        )
        await page.context.tracing.start_chunk()
        retries = 0
        try:
            async for attempt in pre_submit_retry(self.settings, self.sleep):
                with attempt:
                    retries = attempt.retry_state.attempt_number - 1
                    with portal_boundary(adapter.payer_id, "prepare"):
                        if retries and not await adapter.is_signed_in(page):
                            await self._relogin(adapter, session, creds, attempt_id)
                        await adapter.prepare(page, form)
        except NeedsHumanError as exc:
            evidence = await self._evidence_with_trace(page, attempt_id, "needs_human")
            if exc.pause_payer:
                self.ledger.open_circuit(adapter.payer_id, exc.message)
            updated = self.ledger.record_failure(
                record.pk, attempt_id, self.worker, expected_state=QUEUED,
                target_state=NEEDS_HUMAN, reason=scrub(exc.message), evidence=evidence,
            )
            return self._finish(updated, evidence.screenshot)
        except PortalError as exc:
            evidence = await self._evidence_with_trace(page, attempt_id, "failure")
            bound.warning("failed before the submit click", error=type(exc).__name__, step=exc.step)
            failed = self._fail_before_click(record, attempt_id, exc, evidence, retries)
            return self._finish(failed, evidence.screenshot)

        if dry_run:
            evidence = await self.evidence.capture(page, attempt_id, "filled")
            await page.context.tracing.stop_chunk()
            self.ledger.note_attempt(attempt_id, "dry_run", "form filled; not submitted", evidence)
            self.ledger.release(record.pk, self.worker)
            return ClaimResult(
                record.claim_id, record.version, record.payer_id, "dry_run",
                "form filled, submit not clicked", evidence.screenshot,
            )

        await self._respect_interval(adapter)
        self.ledger.mark_submitting(
            record.pk, attempt_id, self.worker, account=session.key[1],
            lease_s=self.settings.lease_s,
        )
        try:
            with portal_boundary(adapter.payer_id, "submit"):
                outcome = await adapter.send(page)
        except AdapterError as exc:
            # The portal's own validation refused our input: nothing was stored.
            evidence = await self._evidence_with_trace(page, attempt_id, "failure")
            updated = self._payer_failed(record, exc, SUBMITTING, attempt_id, evidence, retries)
            return self._finish(updated, None, submitted=True)
        except Exception as exc:  # noqa: BLE001 - after the click, anything means unknown
            evidence = await self._evidence_with_trace(page, attempt_id, "in_doubt")
            reason = (
                exc.message if isinstance(exc, SubmissionUncertain) else
                f"no outcome could be read after the submit click ({type(exc).__name__})"
            )
            bound.warning("submission in doubt", error=type(exc).__name__)
            updated = self.ledger.record_failure(
                record.pk, attempt_id, self.worker, expected_state=SUBMITTING,
                target_state=IN_DOUBT, reason=scrub(reason), evidence=evidence, retries=retries,
                next_attempt_at=self.ledger.clock() + timedelta(seconds=adapter.history_settle_s),
            )
            self.ledger.payer_failure(adapter.payer_id, "submissions in doubt", CIRCUIT_THRESHOLD)
            return self._finish(updated, None, submitted=True)

        evidence = await self.evidence.capture(page, attempt_id, "outcome")
        keep_trace = outcome.state not in {"accepted", "pending", "rejected", "duplicate"}
        evidence = await self._close_trace(page, attempt_id, evidence, keep=keep_trace)
        try:
            updated = self.ledger.record_outcome(
                record.pk, attempt_id, self.worker, _scrubbed(outcome), expected_state=SUBMITTING,
                reason="the portal answered after the submit click", evidence=evidence,
                retries=retries,
            )
        except LedgerError:
            # Another worker judged us dead and set the claim in_doubt meanwhile; the
            # portal's history will settle it, never a second click.
            bound.warning("outcome arrived after the lease was lost; reconciliation will settle it")
            return self._finish(self.ledger.claim(record.pk), evidence.screenshot, submitted=True)
        self.ledger.payer_success(adapter.payer_id)
        bound.info("claim submitted", state=updated.state, confirmation=updated.confirmation)
        return self._finish(updated, evidence.screenshot, submitted=True)

    async def _login(self, adapter: PortalAdapter, page: Page, creds: Credentials) -> None:
        """Sign in, retrying outages only: a refused password is never tried twice."""
        async for attempt in pre_submit_retry(self.settings, self.sleep):
            with attempt, portal_boundary(adapter.payer_id, "login"):
                await adapter.login(page, creds)

    async def _relogin(
        self, adapter: PortalAdapter, session: PortalSession, creds: Credentials, attempt_id: str
    ) -> None:
        """Log in again between trace chunks, so the password never lands in a trace."""
        tracing = session.context.tracing
        await tracing.stop_chunk(path=str(self.evidence.trace_path(attempt_id) ) + ".part")
        await adapter.login(session.page, creds)
        await tracing.start_chunk()

    async def _search_first(
        self, adapter: PortalAdapter, page: Page, record: ClaimRecord
    ) -> ClaimResult | None:
        """Where the portal's history is searchable, look before the first click."""
        if not adapter.history_searchable:
            return None
        try:
            found = await self._search_history(adapter, page, record)
        except PortalError:
            return None  # the search is a safeguard; the submit path handles the outage
        if found is None:
            return None
        return await self._record_found(
            page, record, found,
            "found on the portal's claim history before submitting; not sent again",
        )

    async def _search_history(
        self, adapter: PortalAdapter, page: Page, record: ClaimRecord
    ) -> Outcome | None:
        async for attempt in pre_submit_retry(self.settings, self.sleep):
            with attempt, portal_boundary(adapter.payer_id, "find_submission"):
                return await adapter.search(page, record.portal_key)
        return None

    async def _record_found(
        self, page: Page, record: ClaimRecord, found: Outcome, reason: str
    ) -> ClaimResult:
        attempt_id = self.ledger.begin_attempt(record.pk, self.worker, kind="search")
        evidence = await self.evidence.capture(page, attempt_id, "found")
        updated = self.ledger.record_outcome(
            record.pk, attempt_id, self.worker, _scrubbed(found), expected_state=record.state,
            reason=reason, evidence=evidence,
        )
        return self._finish(updated, evidence.screenshot)

    def _due_for_reconciliation(self, adapter: PortalAdapter, record: ClaimRecord) -> bool:
        """Histories lag behind submissions: search only after the portal's settle time."""
        if not adapter.history_searchable:
            return True
        due = record.updated_at + timedelta(seconds=adapter.history_settle_s)
        if self.ledger.clock() >= due:
            return True
        self.ledger.postpone(record.pk, self.worker, due)
        return False

    async def _reconcile(
        self, adapter: PortalAdapter, page: Page, record: ClaimRecord
    ) -> ClaimResult | None:
        """The only road from in_doubt back to the portal: search its history first.

        Found: the portal's answer is recorded and nothing is sent. Not found after the
        settle time: the claim is queued again (None), and only then may it be submitted.
        A portal without a history search sends the claim to a person.
        """
        if not adapter.history_searchable:
            updated = self.ledger.record_failure(
                record.pk, None, self.worker, expected_state=IN_DOUBT, target_state=NEEDS_HUMAN,
                reason=f"the portal has no claim history to check whether the in-doubt submission "
                       f"landed; look for patient account number {record.portal_key} on the portal",
            )
            return self._finish(updated, None)
        try:
            found = await self._search_history(adapter, page, record)
        except PortalError:
            self.ledger.postpone(
                record.pk, self.worker,
                self.ledger.clock() + timedelta(seconds=self.settings.retry.backoff_s),
            )
            return self._finish(self.ledger.claim(record.pk), None)
        if found is not None:
            return await self._record_found(
                page, record, found, "reconciled: found on the portal's claim history"
            )
        self.ledger.transition(
            record.pk, IN_DOUBT, QUEUED, self.worker,
            "reconciled: not on the portal's claim history after the settle time",
        )
        return None

    # --- helpers -------------------------------------------------------------------------
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
            r for r in self.ledger.versions_of(record.claim_id)
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

    async def _respect_interval(self, adapter: PortalAdapter) -> None:
        """The payer's minimum interval between submissions, shared by every worker."""
        interval = self.settings.payer(adapter.payer_id).min_interval_s
        interval = adapter.min_interval_s if interval is None else interval
        if interval <= 0:
            return
        while (wait := self.ledger.take_submit_turn(adapter.payer_id, interval)) > 0:
            await self.sleep(wait)

    async def _acquire_slot(self, payer_id: str, account: str) -> int:
        """One of the account's session slots, shared by every worker through the ledger."""
        adapter = self._adapter(payer_id)
        configured = self.settings.payer(payer_id).max_sessions
        limit = configured or adapter.max_sessions_per_account
        while True:
            slot = self.ledger.acquire_session_slot(
                payer_id, account, limit, self.worker, dead_owner=owner_is_dead
            )
            if slot is not None:
                return slot
            await self.sleep(self.settings.poll_s)

    async def _release_slot(self, payer_id: str, account: str, slot: int) -> None:
        self.ledger.release_session_slot(payer_id, account, slot, self.worker)

    async def _evidence_with_trace(self, page: Page, attempt_id: str, label: str) -> Evidence:
        try:
            evidence = await self.evidence.capture(page, attempt_id, label)
        except Exception:  # noqa: BLE001 - evidence never changes an outcome
            evidence = Evidence()
        return await self._close_trace(page, attempt_id, evidence, keep=True)

    async def _close_trace(
        self, page: Page, attempt_id: str, evidence: Evidence, *, keep: bool
    ) -> Evidence:
        try:
            if keep:
                path = self.evidence.trace_path(attempt_id)
                await page.context.tracing.stop_chunk(path=str(path))
                self.evidence.seal(path)
                return Evidence(evidence.screenshot, evidence.html, str(path))
            await page.context.tracing.stop_chunk()
        except Exception:  # noqa: BLE001 - a lost trace never changes an outcome
            pass
        return evidence

    def _fail_before_click(
        self,
        record: ClaimRecord,
        attempt_id: str | None,
        exc: PortalError,
        evidence: Evidence,
        retries: int = 0,
    ) -> ClaimRecord:
        if isinstance(exc, PortalUnavailable):
            attempts = record.attempt_count + (1 if attempt_id else 0)
            if attempts >= self.settings.retry.max_attempts:
                target, when = NEEDS_HUMAN, None
            else:
                target = FAILED
                when = self.ledger.clock() + timedelta(
                    seconds=self.settings.retry.backoff_s * 2 ** max(attempts - 1, 0)
                )
            return self.ledger.record_failure(
                record.pk, attempt_id, self.worker, expected_state=QUEUED, target_state=target,
                reason=f"{exc.message} at {exc.step or 'an unknown step'}",
                next_attempt_at=when, evidence=evidence, retries=retries,
            )
        return self._payer_failed(record, exc, QUEUED, attempt_id, evidence, retries)

    def _payer_failed(
        self,
        record: ClaimRecord,
        exc: PortalError,
        expected: str,
        attempt_id: str | None,
        evidence: Evidence,
        retries: int,
    ) -> ClaimRecord:
        """An AdapterError: drift or a mapping bug. The claim fails; the circuit counts it."""
        reason = scrub(f"{exc.message} at {exc.step or 'an unknown step'}")
        opened = self.ledger.payer_failure(record.payer_id, f"adapter errors: {reason}", CIRCUIT_THRESHOLD)
        if opened:
            log.warning("payer paused after repeated adapter errors", payer_id=record.payer_id)
        return self.ledger.record_failure(
            record.pk, attempt_id, self.worker, expected_state=expected, target_state=FAILED,
            reason=reason, evidence=evidence, retries=retries,
            next_attempt_at=None,
        )

    def _needs_human(self, record: ClaimRecord, reason: str) -> ClaimRecord:
        return self.ledger.record_failure(
            record.pk, None, self.worker, expected_state=record.state, target_state=NEEDS_HUMAN,
            reason=scrub(reason),
        )

    def _block_payer(
        self, summary: RunSummary, record: ClaimRecord, reason: str
    ) -> ClaimResult | None:
        """Leave the claim queued and stop working for its payer in this run."""
        self.ledger.release(record.pk, self.worker)
        summary.blocked_payers.setdefault(record.payer_id, reason)
        return None

    def _finish(
        self, record: ClaimRecord, screenshot: str | None, *, submitted: bool = False
    ) -> ClaimResult:
        if screenshot is None:
            attempts = self.ledger.attempts(record.pk)
            screenshot = next((a["screenshot"] for a in reversed(attempts) if a["screenshot"]), None)
        detail = record.confirmation if record.state == "accepted" else (record.reason or "")
        return ClaimResult(
            record.claim_id, record.version, record.payer_id, record.state, detail or "",
            screenshot, submitted,
        )


def _scrubbed(outcome: Outcome) -> Outcome:
    """Text copied from a portal page can echo PHI; scrub it before it reaches the ledger."""
    from dataclasses import fields, replace

    changes = {
        f.name: scrub(getattr(outcome, f.name))
        for f in fields(outcome)
        if isinstance(getattr(outcome, f.name), str)
    }
    return replace(outcome, **changes)  # type: ignore[arg-type]


__all__ = ["ClaimResult", "Engine", "LedgerError", "RunSummary", "portal_boundary"]
