"""The run loop: lease the next due claim, take it as far as it goes, report.

Workers in one run share a browser; across processes and hosts they share only the
ledger, which leases each claim to one of them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from playwright.async_api import Error as PlaywrightError

from portalbot.adapters import Credentials, PortalAdapter
from portalbot.browser import SessionPool
from portalbot.claims import Claim
from portalbot.engine.boundary import translate
from portalbot.engine.click import Clicking
from portalbot.engine.limits import owner_is_dead, takeover_grace_s
from portalbot.engine.results import ClaimResult, RunSummary
from portalbot.errors import (
    AuthenticationError,
    ClaimChanged,
    ClaimError,
    ConfigError,
    NeedsHumanError,
    PortalError,
)
from portalbot.ledger import ClaimRecord, Evidence
from portalbot.ledger.states import IN_DOUBT
from portalbot.logs import get_logger, register_claim_phi

log = get_logger("portalbot.engine")


class Engine(Clicking):
    """Runs queued claims from the ledger through their payers' adapters."""

    def reclaim(self) -> list[int]:
        """Claims left ``submitting`` by a dead worker, or by one past its lease and the
        post-click deadline, become in_doubt, due once their request can no longer land."""
        settle = {p: a.history_settle_s for p, a in self.registry.items()}
        return self.ledger.expire_submissions(
            self.worker, owner_is_dead, grace_s=takeover_grace_s(self.settings),
            landing_s=self.settings.post_click_deadline_s, settle_s=settle,
        )

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
        self.reclaim()
        budget = [max_claims if max_claims is not None else -1]
        skipped: set[int] = set()
        async with self._session_pool() as pool:
            await asyncio.gather(*(
                self._work(pool, summary, batch_id, payer_ids, dry_run, budget, skipped, on_result)
                for _ in range(self.settings.concurrency)
            ))
        return summary

    async def _work(
        self,
        pool: SessionPool,
        summary: RunSummary,
        batch_id: str | None,
        payer_ids: list[str] | None,
        dry_run: bool,
        budget: list[int],
        skipped: set[int],
        on_result: Callable[[ClaimResult], None] | None,
    ) -> None:
        while budget[0] != 0:
            allowed, reconcile_only = self._lease_scope(payer_ids, summary)
            if allowed is not None and not allowed and not reconcile_only:
                return
            leased = self.ledger.lease(
                self.worker, batch_id=batch_id, payer_ids=allowed, limit=1,
                lease_s=self.settings.lease_s, dead_owner=owner_is_dead,
                exclude=sorted(skipped), reconcile_only=reconcile_only,
            )
            if not leased:
                return
            budget[0] -= 1
            record = leased[0]
            skipped.add(record.pk)
            try:
                result = await self.process(pool, record, summary, dry_run=dry_run)
            except ClaimChanged as exc:
                summary.overtaken += 1
                log.info("claim changed by another worker; moving on", claim_id=record.claim_id,
                         version=record.version, detail=exc.message)
                continue
            if result is None:
                continue
            summary.results.append(result)
            if on_result:
                on_result(result)

    def _lease_scope(
        self, payer_ids: list[str] | None, summary: RunSummary
    ) -> tuple[list[str] | None, list[str]]:
        """The payers this run may lease any claim for (None: every payer), and those whose
        circuit is open for drift or in-doubt bursts: only their in_doubt claims, whose
        history searches are read-only."""
        known = payer_ids if payer_ids is not None else sorted(self.registry)
        allowed: list[str] = []
        reconcile_only: list[str] = []
        for payer_id in known:
            if payer_id in summary.blocked_payers and payer_id not in summary.paused:
                continue
            circuit = self._circuit(payer_id)
            if not circuit.open or circuit.half_open:
                allowed.append(payer_id)
                if payer_id in summary.paused:  # its circuit closed during this run
                    summary.paused.discard(payer_id)
                    summary.blocked_payers.pop(payer_id, None)
                continue
            if circuit.signs_in:
                reconcile_only.append(payer_id)
            if self.ledger.due_count([payer_id], states=("queued", "failed")):
                summary.blocked_payers[payer_id] = self._paused_message(payer_id, circuit)
                summary.paused.add(payer_id)
        if payer_ids is None and len(allowed) == len(known):
            return None, []
        return allowed, reconcile_only

    async def process(
        self, pool: SessionPool, record: ClaimRecord, summary: RunSummary, *, dry_run: bool
    ) -> ClaimResult | None:
        """Take one leased claim as far as it goes. None: left as it was (payer blocked)."""
        claim = Claim.model_validate(record.payload)
        register_claim_phi(claim)
        payer_id = record.payer_id
        try:
            adapter = self._adapter(payer_id)
            account = self._account(payer_id, claim)
            creds = self._creds(payer_id, account)
        except ConfigError as exc:
            return self._block_payer(summary, record, str(exc))
        if not adapter.working:
            reason = f"the {payer_id} adapter is marked not working: {adapter.broken_reason}"
            return self._finish(self._needs_human(record, reason), None)
        circuit = self._circuit(payer_id)
        if circuit.open and not (circuit.half_open or (record.state == IN_DOUBT and circuit.signs_in)):
            return self._block_payer(summary, record, self._paused_message(payer_id, circuit))
        try:
            form = adapter.to_form(claim, self._filing(record))
        except ClaimError as exc:
            return self._finish(self._needs_human(record, str(exc)), None)
        trial = circuit.open and circuit.half_open and record.state != IN_DOUBT
        if trial and not self.ledger.try_lock(
            f"trial:{payer_id}", self.worker,
            ttl_s=self.settings.lease_s + takeover_grace_s(self.settings), dead_owner=owner_is_dead,
        ):
            return self._block_payer(
                summary, record, f"payer {payer_id} is half-open: another worker's trial claim "
                                 "is under way")
        try:
            return await self._process_in_session(
                pool, adapter, account, creds, record, form, summary,
                dry_run=dry_run, submit=not circuit.open or trial,
            )
        finally:
            if trial:
                self.ledger.unlock(f"trial:{payer_id}", self.worker)

    async def _process_in_session(
        self,
        pool: SessionPool,
        adapter: PortalAdapter,
        account: str,
        creds: Credentials,
        record: ClaimRecord,
        form: Any,
        summary: RunSummary,
        *,
        dry_run: bool,
        submit: bool,
    ) -> ClaimResult | None:
        payer_id = adapter.payer_id
        try:
            async with pool.session(
                adapter, account, lambda page: self._login(adapter, page, creds)
            ) as session:
                if record.state == IN_DOUBT:
                    settled = await self._reconcile(adapter, session.page, record)
                    if settled is not None:
                        return settled
                    record = self.ledger.claim(record.pk)
                    if dry_run or not submit:
                        self.ledger.release(record.pk, self.worker)
                        return None
                return await self._submit(adapter, session, creds, record, form, dry_run)
        except NeedsHumanError as exc:
            # Met while signing in (a forced password change): nothing was submitted.
            if exc.pause_payer:
                self.ledger.open_circuit(payer_id, exc.message, kind="login")
                summary.blocked_payers.setdefault(payer_id, exc.message)
            return self._finish(self._needs_human(record, exc.message), None)
        except AuthenticationError as exc:
            self.ledger.release(record.pk, self.worker)
            reason = f"authentication failed: {exc.message}"
            self.ledger.open_circuit(payer_id, reason, kind="login")
            log.warning("authentication failed; payer paused", payer_id=payer_id, step=exc.step)
            return self._block_payer(summary, record, reason)
        except (PortalError, PlaywrightError) as exc:
            # The session could not be opened (login page down or unreadable).
            error = translate(exc, payer_id, "login")
            if record.state == IN_DOUBT:
                return self._postpone_reconciliation(record, error)
            attempt_id = self.ledger.begin_attempt(record.pk, self.worker)
            return self._finish(self._fail_before_click(record, attempt_id, error, Evidence()), None)

