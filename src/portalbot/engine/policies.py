"""The policies: retry and back-off, the circuit breaker, pacing and session slots, and
what becomes of a claim that failed before the click or that no history can settle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta

from playwright.async_api import async_playwright

from portalbot.adapters import PortalAdapter
from portalbot.browser import SessionPool, launch
from portalbot.engine.limits import owner_is_dead
from portalbot.engine.results import ClaimResult, RunSummary
from portalbot.engine.tracing import Tracing
from portalbot.errors import (
    FormRefused,
    PortalError,
    PortalUnavailable,
)
from portalbot.ledger import PERSON_CIRCUITS, Circuit, ClaimRecord, Evidence
from portalbot.ledger.states import FAILED, IN_DOUBT, NEEDS_HUMAN, QUEUED, SUBMITTING
from portalbot.logs import get_logger, scrub

log = get_logger("portalbot.engine")


class Policies(Tracing):
    """When to retry, when to stop for a person, and when to pause a payer."""

    def _circuit(self, payer_id: str) -> Circuit:
        return self.ledger.circuit(payer_id, self.settings.retry.circuit_cooldown_s)

    def _paused_message(self, payer_id: str, circuit: Circuit) -> str:
        resume = f"resume with `portalbot payer resume {payer_id}`"
        if circuit.kind in PERSON_CIRCUITS:
            return f"payer {payer_id} is paused ({circuit.reason}); {resume}"
        assert circuit.opened_at is not None
        retry_at = circuit.opened_at + timedelta(seconds=self.settings.retry.circuit_cooldown_s)
        return (f"payer {payer_id} is paused ({circuit.reason}); one trial claim goes through "
                f"after {retry_at:%Y-%m-%d %H:%M} UTC, or {resume}")

    def _retry_or_person(self, record: ClaimRecord, attempt_id: str | None) -> tuple[str, datetime | None]:
        """Failed with the next attempt due after a growing back-off, or needs_human once
        the attempts are spent: never failed with nothing due."""
        attempts = record.attempt_count + (1 if attempt_id else 0)
        if attempts >= self.settings.retry.max_attempts:
            return NEEDS_HUMAN, None
        backoff = self.settings.retry.backoff_s * 2 ** max(attempts - 1, 0)
        return FAILED, self.ledger.clock() + timedelta(seconds=backoff)

    def _fail_before_click(
        self,
        record: ClaimRecord,
        attempt_id: str | None,
        exc: PortalError,
        evidence: Evidence,
        retries: int = 0,
    ) -> ClaimRecord:
        reason = scrub(f"{exc.message} at {exc.step or 'an unknown step'}")
        if not isinstance(exc, PortalUnavailable):
            self._count_drift(record.payer_id, reason)
        target, when = self._retry_or_person(record, attempt_id)
        return self.ledger.record_failure(
            record.pk, attempt_id, self.worker, expected_state=QUEUED, target_state=target,
            reason=reason, next_attempt_at=when, evidence=evidence, retries=retries,
        )

    def _refused_after_click(
        self,
        record: ClaimRecord,
        attempt_id: str,
        exc: FormRefused,
        evidence: Evidence,
        retries: int,
    ) -> ClaimRecord:
        """The portal's own validation refused our form: failed, retried later (or a person),
        counted as drift: the mapping no longer fits the portal."""
        reason = scrub(f"{exc.message}; nothing was stored")
        self._count_drift(record.payer_id, reason)
        target, when = self._retry_or_person(record, attempt_id)
        return self.ledger.record_failure(
            record.pk, attempt_id, self.worker, expected_state=SUBMITTING, target_state=target,
            reason=reason, next_attempt_at=when, evidence=evidence, retries=retries,
            fence=attempt_id,
        )

    def _count_drift(self, payer_id: str, reason: str) -> None:
        threshold = self.settings.retry.circuit_threshold
        if self.ledger.payer_failure(payer_id, f"adapter errors: {reason}", threshold, kind="drift"):
            log.warning("payer paused after repeated adapter errors", payer_id=payer_id)

    def _needs_human(self, record: ClaimRecord, reason: str) -> ClaimRecord:
        return self.ledger.record_failure(
            record.pk, None, self.worker, expected_state=record.state, target_state=NEEDS_HUMAN,
            reason=scrub(reason),
        )

    def _no_history(self, record: ClaimRecord) -> ClaimRecord:
        return self.ledger.record_failure(
            record.pk, None, self.worker, expected_state=IN_DOUBT, target_state=NEEDS_HUMAN,
            reason=f"the portal has no claim history to check whether the in-doubt submission "
                   f"landed; look for patient account number {record.portal_key} on the portal",
        )

    def _landed_by(self, adapter: PortalAdapter) -> datetime:
        """When "not on the portal's history" starts to mean "not stored": the click's
        request can no longer land, and the history has caught up."""
        wait = self.settings.post_click_deadline_s + adapter.history_settle_s
        return self.ledger.clock() + timedelta(seconds=wait)

    def _block_payer(
        self, summary: RunSummary, record: ClaimRecord, reason: str
    ) -> ClaimResult | None:
        """Leave the claim as it was and stop working for its payer in this run."""
        self.ledger.release(record.pk, self.worker)
        summary.blocked_payers.setdefault(record.payer_id, reason)
        return None

    async def _respect_interval(self, adapter: PortalAdapter) -> None:
        """The payer's minimum interval between submissions, shared by every worker."""
        interval = self.settings.payer(adapter.payer_id).min_interval_s
        interval = adapter.min_interval_s if interval is None else interval
        if interval <= 0:
            return
        while (wait := self.ledger.take_submit_turn(adapter.payer_id, interval)) > 0:
            await self.sleep(wait)

    def _session_limit(self, payer_id: str) -> int:
        """Contexts per portal account at once: the payer's configured ``max_sessions``,
        else what its adapter says the portal allows."""
        configured = self.settings.payer(payer_id).max_sessions
        return configured or self._adapter(payer_id).max_sessions_per_account

    async def _acquire_slot(self, payer_id: str, account: str) -> int:
        """One of the account's session slots, shared by every worker through the ledger."""
        limit = self._session_limit(payer_id)
        while True:
            slot = self.ledger.acquire_session_slot(
                payer_id, account, limit, self.worker, dead_owner=owner_is_dead
            )
            if slot is not None:
                return slot
            await self.sleep(self.settings.poll_s)

    async def _release_slot(self, payer_id: str, account: str, slot: int) -> None:
        self.ledger.release_session_slot(payer_id, account, slot, self.worker)

    @asynccontextmanager
    async def _session_pool(self) -> AsyncIterator[SessionPool]:
        """One Chromium for this run (a new one if it dies), sessions limited through the
        ledger."""
        async with async_playwright() as playwright:
            browser = await launch(playwright, self.settings.browser)
            pool = SessionPool(
                browser, self.settings.browser,
                acquire_slot=self._acquire_slot, release_slot=self._release_slot,
                relaunch=lambda: launch(playwright, self.settings.browser),
                session_limit=self._session_limit,
            )
            try:
                yield pool
            finally:
                await pool.close()
                with suppress(Exception):  # a browser that died has nothing to close
                    await pool.browser.close()
