"""The click protocol: the write-ahead intent, the one click, and the outcome.

The intent is committed before the click, the click happens once, and nothing after it
is ever retried — an unreadable answer leaves the claim ``in_doubt`` for reconciliation,
never for a second click."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from portalbot.adapters import Credentials, PortalAdapter
from portalbot.browser import PortalSession
from portalbot.engine.boundary import portal_boundary, scrubbed
from portalbot.engine.limits import pre_submit_retry
from portalbot.engine.reconcile import Reconciling
from portalbot.engine.results import ClaimResult
from portalbot.errors import (
    FormRefused,
    NeedsHumanError,
    PortalError,
    SubmissionUncertain,
)
from portalbot.ledger import ClaimRecord, Evidence
from portalbot.ledger.states import IN_DOUBT, NEEDS_HUMAN, QUEUED, SUBMITTING
from portalbot.logs import get_logger, scrub

log = get_logger("portalbot.engine")


class Clicking(Reconciling):
    """Prepare the form, click once, read and record the answer."""

    async def _submit(
        self,
        adapter: PortalAdapter,
        session: PortalSession,
        creds: Credentials,
        record: ClaimRecord,
        form: Any,
        dry_run: bool,
    ) -> ClaimResult:
        page = session.page
        found = await self._search_first(adapter, page, record)
        if found is not None:
            return found
        attempt_id = self.ledger.begin_attempt(
            record.pk, self.worker, kind="dry_run" if dry_run else "submit"
        )
        async with self._traced(session):
            return await self._fill_and_click(adapter, session, creds, record, form, attempt_id,
                                              dry_run)

    async def _fill_and_click(
        self,
        adapter: PortalAdapter,
        session: PortalSession,
        creds: Credentials,
        record: ClaimRecord,
        form: Any,
        attempt_id: str,
        dry_run: bool,
    ) -> ClaimResult:
        page = session.page
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
            evidence = await self._evidence_with_trace(session, attempt_id, "needs_human")
            if exc.pause_payer:
                self.ledger.open_circuit(adapter.payer_id, exc.message, kind="login")
            updated = self.ledger.record_failure(
                record.pk, attempt_id, self.worker, expected_state=QUEUED,
                target_state=NEEDS_HUMAN, reason=scrub(exc.message), evidence=evidence,
            )
            return self._finish(updated, evidence.screenshot)
        except PortalError as exc:
            evidence = await self._evidence_with_trace(session, attempt_id, "failure")
            log.warning("failed before the submit click", claim_id=record.claim_id,
                        error=type(exc).__name__, step=exc.step)
            failed = self._fail_before_click(record, attempt_id, exc, evidence, retries)
            return self._finish(failed, evidence.screenshot)

        if dry_run:
            evidence = await self._capture(page, attempt_id, "filled")
            self.ledger.note_attempt(attempt_id, "dry_run", "form filled; not submitted", evidence)
            self.ledger.release(record.pk, self.worker)
            return ClaimResult(
                record.claim_id, record.version, record.payer_id, "dry_run",
                "form filled, submit not clicked", evidence.screenshot,
            )
        await self._respect_interval(adapter)
        return await self._click(adapter, session, record, attempt_id, retries)

    async def _click(
        self,
        adapter: PortalAdapter,
        session: PortalSession,
        record: ClaimRecord,
        attempt_id: str,
        retries: int,
    ) -> ClaimResult:
        """The one-way door: the intent, the click, and an answer within the deadline.

        The worker clicks only while the lease its intent renewed still holds (a worker
        frozen past it gives the claim up: by then another may have taken it over); after
        the click every failure but a ``FormRefused`` the adapter read leaves the claim
        in_doubt, and every outcome is recorded only by this attempt (fenced).
        """
        page = session.page
        self.ledger.mark_submitting(
            record.pk, attempt_id, self.worker, account=session.key[1],
            lease_s=self.settings.lease_s,
        )
        lease_ends = time.monotonic() + self.settings.lease_s
        if self.on_intent is not None:
            await self.on_intent(record, page)
        if time.monotonic() >= lease_ends:
            self.ledger.note_late(
                record.pk, attempt_id, self.worker, SUBMITTING,
                "not clicked: the worker was held past its lease between intent and click",
            )
            return self._finish(self.ledger.claim(record.pk), None)

        deadline = asyncio.get_running_loop().time() + self.settings.post_click_deadline_s
        try:
            async with asyncio.timeout_at(deadline):
                with portal_boundary(adapter.payer_id, "submit", clicked=True):
                    outcome = await adapter.send(page)
        except FormRefused as exc:
            # The adapter read the portal's own refusal: nothing was stored.
            evidence = await self._evidence_with_trace(session, attempt_id, "refused")
            updated = self._refused_after_click(record, attempt_id, exc, evidence, retries)
            return self._finish(updated, evidence.screenshot, submitted=True)
        except Exception as exc:  # noqa: BLE001 - after the click, anything means unknown
            session.broken = True
            return await self._in_doubt(adapter, session, record, attempt_id, exc, retries)

        try:
            async with asyncio.timeout_at(deadline):
                evidence = await self.evidence.capture(page, attempt_id, "outcome", outcome.region)
        except TimeoutError:
            evidence = Evidence()
        keep_trace = outcome.state not in {"accepted", "pending", "rejected", "duplicate"}
        evidence = await self._close_trace(session, attempt_id, evidence, keep=keep_trace)
        updated = self.ledger.record_outcome(
            record.pk, attempt_id, self.worker, scrubbed(outcome), expected_state=SUBMITTING,
            reason="the portal answered after the submit click", evidence=evidence,
            retries=retries, fence=attempt_id,
        )
        self.ledger.payer_success(adapter.payer_id)
        log.info("claim submitted", claim_id=record.claim_id, version=record.version,
                 payer_id=adapter.payer_id, state=updated.state, confirmation=updated.confirmation)
        return self._finish(updated, evidence.screenshot, submitted=True)

    async def _in_doubt(
        self,
        adapter: PortalAdapter,
        session: PortalSession,
        record: ClaimRecord,
        attempt_id: str,
        exc: BaseException,
        retries: int,
    ) -> ClaimResult:
        evidence = await self._evidence_with_trace(session, attempt_id, "in_doubt")
        if isinstance(exc, SubmissionUncertain):
            reason = exc.message
        elif isinstance(exc, TimeoutError):
            reason = (f"no outcome within the post-click deadline "
                      f"({self.settings.post_click_deadline_s:g} s)")
        else:
            reason = f"no outcome could be read after the submit click ({type(exc).__name__})"
        log.warning("submission in doubt", claim_id=record.claim_id, version=record.version,
                    payer_id=adapter.payer_id, error=type(exc).__name__)
        updated = self.ledger.record_failure(
            record.pk, attempt_id, self.worker, expected_state=SUBMITTING,
            target_state=IN_DOUBT, reason=scrub(reason), evidence=evidence, retries=retries,
            next_attempt_at=self._landed_by(adapter), fence=attempt_id,
        )
        threshold = self.settings.retry.circuit_threshold
        if self.ledger.payer_failure(adapter.payer_id, "submissions in doubt", threshold,
                                     kind="in_doubt"):
            log.warning("payer paused after submissions in doubt", payer_id=adapter.payer_id)
        if not adapter.history_searchable:  # nothing will ever settle it but a person
            updated = self._no_history(updated)
        return self._finish(updated, None, submitted=True)

    async def _relogin(
        self, adapter: PortalAdapter, session: PortalSession, creds: Credentials, attempt_id: str
    ) -> None:
        """Log in again between trace chunks, so the password never lands in a trace."""
        await self._stop_chunk(session, self.evidence.trace_path(attempt_id).with_suffix(".zip.part"))
        await adapter.login(session.page, creds)
        await self._start_chunk(session)

