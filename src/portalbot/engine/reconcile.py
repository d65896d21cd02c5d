"""Reconciliation: the portal's own records settle what the ledger does not know — a
claim in doubt after its click, a claim found before the first click, and the later
verdicts on a portal's status page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from portalbot.adapters import ClaimRefs, PortalAdapter
from portalbot.browser import SessionPool
from portalbot.claims import Claim
from portalbot.engine.boundary import portal_boundary, scrubbed
from portalbot.engine.limits import pre_submit_retry
from portalbot.engine.policies import Policies
from portalbot.engine.results import ClaimResult, RunSummary
from portalbot.errors import (
    AuthenticationError,
    ClaimChanged,
    ConfigError,
    LedgerError,
    PortalError,
)
from portalbot.ledger import ClaimRecord
from portalbot.ledger.states import IN_DOUBT, QUEUED
from portalbot.logs import get_logger, register_claim_phi
from portalbot.outcomes import Outcome

log = get_logger("portalbot.engine")


class Reconciling(Policies):
    """The history search and the status checks."""

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
        evidence = await self._capture(page, attempt_id, "found")
        updated = self.ledger.record_outcome(
            record.pk, attempt_id, self.worker, scrubbed(found), expected_state=record.state,
            reason=reason, evidence=evidence,
        )
        return self._finish(updated, evidence.screenshot)

    async def _reconcile(
        self, adapter: PortalAdapter, page: Page, record: ClaimRecord
    ) -> ClaimResult | None:
        """The only road from in_doubt back to the portal: search its history first.

        Found: the portal's answer is recorded and nothing is sent. Not found once the
        request can no longer land (the claim is due no earlier): the claim is queued
        again (None), and only then may it be submitted. A portal without a history
        search sends the claim to a person.
        """
        if not adapter.history_searchable:
            return self._finish(self._no_history(record), None)
        try:
            found = await self._search_history(adapter, page, record)
        except PortalError as exc:
            return self._postpone_reconciliation(record, exc)
        if found is not None:
            result = await self._record_found(
                page, record, found, "reconciled: found on the portal's claim history"
            )
            if self.ledger.close_settled_circuit(adapter.payer_id):
                log.info("payer resumed: the portal's history settled every claim in doubt",
                         payer_id=adapter.payer_id)
            return result
        self.ledger.transition(
            record.pk, IN_DOUBT, QUEUED, self.worker,
            "reconciled: not on the portal's claim history after the settle time",
        )
        return None

    def _postpone_reconciliation(self, record: ClaimRecord, exc: PortalError) -> ClaimResult:
        """An outage met while settling an in-doubt claim: search again later, never crash."""
        due = self.ledger.clock() + timedelta(seconds=self.settings.retry.backoff_s)
        self.ledger.postpone(record.pk, self.worker, due)
        log.warning("reconciliation postponed", claim_id=record.claim_id, error=type(exc).__name__,
                    step=exc.step)
        return self._finish(self.ledger.claim(record.pk), None)

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
                try:
                    result = await self._check_one(pool, record, summary)
                except ClaimChanged:
                    summary.overtaken += 1
                    continue
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
        circuit = self._circuit(record.payer_id)
        if not circuit.signs_in:
            summary.blocked_payers.setdefault(record.payer_id, self._paused_message(record.payer_id, circuit))
            return None
        try:
            async with pool.session(
                adapter, account, lambda page: self._login(adapter, page, creds)
            ) as session:
                return await self._read_status(adapter, session.page, record)
        except AuthenticationError as exc:
            reason = f"authentication failed: {exc.message}"
            self.ledger.open_circuit(record.payer_id, reason, kind="login")
            summary.blocked_payers.setdefault(record.payer_id, reason)
        except PortalError as exc:
            log.warning("status check failed", payer_id=record.payer_id, step=exc.step,
                        error=type(exc).__name__)
        except PlaywrightError:
            log.warning("status check failed: the browser session was lost",
                        payer_id=record.payer_id)
        return None

    async def _read_status(
        self, adapter: PortalAdapter, page: Page, record: ClaimRecord
    ) -> ClaimResult:
        attempt_id = self.ledger.begin_attempt(record.pk, self.worker, kind="status")
        refs = ClaimRefs(record.claim_id, record.version, record.portal_key,
                         record.confirmation, record.payer_claim_number)
        try:
            async for attempt in pre_submit_retry(self.settings, self.sleep):
                with attempt, portal_boundary(adapter.payer_id, "check_status"):
                    outcome = await adapter.check_status(page, refs)
        except PortalError as exc:
            evidence = await self._capture(page, attempt_id, "failure")
            self.ledger.note_attempt(attempt_id, "failed", exc.message, evidence)
            raise
        evidence = await self._capture(page, attempt_id, "status")
        outcome = scrubbed(outcome)
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
        except ClaimChanged:
            raise
        except LedgerError as exc:
            # A verdict the state machine does not allow from here: keep it for a person.
            self.ledger.note_attempt(attempt_id, "unexpected", f"{outcome.summary} ({exc})", evidence)
            updated = self.ledger.claim(record.pk)
        return self._finish(updated, evidence.screenshot)

