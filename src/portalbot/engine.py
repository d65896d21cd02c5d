"""The batch and worker loop: lease, submit, confirm, record.

The engine knows nothing about any portal and an adapter knows nothing about the ledger.
The guarantee the engine keeps: the write-ahead intent is committed before the submit
click, the click happens once, and nothing after it is ever retried — an unreadable
answer leaves the claim ``in_doubt`` for reconciliation, never for a second click.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
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
    ClaimChanged,
    ClaimError,
    ConfigError,
    FormRefused,
    LedgerError,
    NeedsHumanError,
    PortalError,
    PortalUnavailable,
    SubmissionUncertain,
)
from portalbot.evidence import EvidenceStore
from portalbot.ledger import ClaimRecord, Evidence, Ledger
from portalbot.ledger.states import FAILED, IN_DOUBT, NEEDS_HUMAN, QUEUED, SUBMITTING
from portalbot.ledger.store import PERSON_CIRCUITS, Circuit
from portalbot.logs import get_logger, register_claim_phi, register_secrets, scrub
from portalbot.outcomes import Outcome
from portalbot.totp import OneTimeCodes, shared_codes

log = get_logger("portalbot.engine")

# The bound on an in-doubt page's screenshot and HTML, and on a trace chunk's writing.
EVIDENCE_S = 15.0
CredentialLookup = Callable[[str, str], Credentials]
IntentHook = Callable[[ClaimRecord, Page], Awaitable[None]]


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


_NAVIGATIONS = frozenset({
    "goto", "reload", "go_back", "go_forward", "wait_for_load_state", "wait_for_url",
    "wait_for_navigation", "expect_navigation", "wait_for_response", "expect_response",
})
_NETWORK = {
    "ERR_CONNECTION_REFUSED": "the portal refused the connection",
    "ERR_CONNECTION_RESET": "the connection to the portal was reset",
    "ERR_CONNECTION_CLOSED": "the portal closed the connection",
    "ERR_EMPTY_RESPONSE": "the portal sent an empty response",
    "ERR_NAME_NOT_RESOLVED": "the portal's address could not be resolved (DNS)",
    "ERR_ADDRESS_UNREACHABLE": "the portal's address is unreachable",
    "ERR_INTERNET_DISCONNECTED": "the network is down",
    "ERR_TIMED_OUT": "the connection to the portal timed out",
    "ERR_CONNECTION_TIMED_OUT": "the connection to the portal timed out",
}


def translate(exc: BaseException, payer_id: str | None, step: str) -> PortalError:
    """A Playwright (or any third-party) exception as portalbot's, before the click.

    Outage and drift are told apart: a network failure, a navigation that does not finish
    or a dead page is ``PortalUnavailable`` (retried); an element that is not there after
    the bounded wait is ``AdapterError`` naming what was waited for (drift: not retried).
    Playwright's own text quotes locators and page HTML, so only the locator survives,
    scrubbed of claim values.
    """
    if isinstance(exc, PortalError):
        return exc
    message = getattr(exc, "message", None) or str(exc)
    network = re.search(r"net::(ERR_[A-Z_]+)", message)
    if network:
        code = network.group(1)
        return PortalUnavailable(_NETWORK.get(code, f"the portal could not be reached ({code})"),
                                 payer_id=payer_id, step=step)
    if re.search(r"(has been closed|crashed|Target closed)", message):
        return PortalUnavailable("the browser page closed or crashed", payer_id=payer_id, step=step)
    if isinstance(exc, (PlaywrightTimeout, TimeoutError)):
        api = message.split(":", 1)[0].rsplit(".", 1)[-1]
        if api in _NAVIGATIONS or not isinstance(exc, PlaywrightTimeout):
            return PortalUnavailable("the portal did not answer in time", payer_id=payer_id, step=step)
        waited = re.search(r"waiting for (.+)", message)
        what = scrub(waited.group(1).strip())[:160] if waited else "an element"
        return AdapterError(f"{what} did not appear in time: the page is not what the adapter "
                            "expects", payer_id=payer_id, step=step)
    return AdapterError("the page did not behave as the adapter expects", payer_id=payer_id, step=step)


@contextmanager
def portal_boundary(payer_id: str, step: str, *, clicked: bool = False) -> Iterator[None]:
    """Translate third-party exceptions into portalbot's, once, without their text.

    ``clicked``: the submit click has happened, so whatever goes wrong means the claim may
    or may not be stored: ``SubmissionUncertain``. Only ``FormRefused``, which an adapter
    raises from a page it read, and ``SubmissionUncertain`` itself pass through as they are.
    """
    try:
        yield
    except (FormRefused, SubmissionUncertain):
        raise
    except Exception as exc:  # noqa: BLE001 - every third-party error, translated once
        if not clicked:
            raise translate(exc, payer_id, step) from None
        kind = type(translate(exc, payer_id, step)).__name__
        raise SubmissionUncertain(
            f"no outcome could be read after the submit click ({kind})",
            payer_id=payer_id, step=step,
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
    next_attempt_at: datetime | None = None


@dataclass
class RunSummary:
    results: list[ClaimResult] = field(default_factory=list)
    blocked_payers: dict[str, str] = field(default_factory=dict)
    # Claims another worker changed first: noted, never a reason to stop.
    overtaken: int = 0
    # Payers blocked only because their circuit is open: their in-doubt claims still run.
    paused: set[str] = field(default_factory=set)

    @property
    def latest(self) -> list[ClaimResult]:
        """Each claim version once, as this run left it."""
        by_claim = {(r.claim_id, r.version): r for r in self.results}
        return list(by_claim.values())

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.latest:
            counts[result.state] = counts.get(result.state, 0) + 1
        return counts

    @property
    def next_retry_at(self) -> datetime | None:
        """When the earliest claim this run left failed is due again."""
        due = [r.next_attempt_at for r in self.latest if r.state == FAILED and r.next_attempt_at]
        return min(due) if due else None


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


def evidence_bound_s(settings: Settings) -> float:
    """The bound on one piece of evidence (a page's screenshot and HTML, a trace chunk)."""
    return min(EVIDENCE_S, settings.post_click_deadline_s)


def takeover_grace_s(settings: Settings) -> float:
    """How long past its lease a live worker may still be finishing a click: the post-click
    deadline, then the evidence of an in-doubt answer and its trace."""
    return settings.post_click_deadline_s + 2 * evidence_bound_s(settings)


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

    # --- running -------------------------------------------------------------------
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
            )
            try:
                yield pool
            finally:
                await pool.close()
                with suppress(Exception):  # a browser that died has nothing to close
                    await pool.browser.close()

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
        reference = record.confirmation or ""
        try:
            async for attempt in pre_submit_retry(self.settings, self.sleep):
                with attempt, portal_boundary(adapter.payer_id, "check_status"):
                    outcome = await adapter.check_status(page, reference)
        except PortalError as exc:
            evidence = await self._capture(page, attempt_id, "failure")
            self.ledger.note_attempt(attempt_id, "failed", exc.message, evidence)
            raise
        evidence = await self._capture(page, attempt_id, "status")
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
        except ClaimChanged:
            raise
        except LedgerError as exc:
            # A verdict the state machine does not allow from here: keep it for a person.
            self.ledger.note_attempt(attempt_id, "unexpected", f"{outcome.summary} ({exc})", evidence)
            updated = self.ledger.claim(record.pk)
        return self._finish(updated, evidence.screenshot)

    # --- one claim ---------------------------------------------------------------------
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
        await self._start_chunk(session)
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
            await self._stop_chunk(session, None)
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
            await self._stop_chunk(session, None)
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
            record.pk, attempt_id, self.worker, _scrubbed(outcome), expected_state=SUBMITTING,
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

    async def _login(self, adapter: PortalAdapter, page: Page, creds: Credentials) -> None:
        """Sign in, retrying outages only: a refused password is never tried twice."""
        async for attempt in pre_submit_retry(self.settings, self.sleep):
            with attempt, portal_boundary(adapter.payer_id, "login"):
                await adapter.login(page, creds)

    async def _relogin(
        self, adapter: PortalAdapter, session: PortalSession, creds: Credentials, attempt_id: str
    ) -> None:
        """Log in again between trace chunks, so the password never lands in a trace."""
        await self._stop_chunk(session, self.evidence.trace_path(attempt_id).with_suffix(".zip.part"))
        await adapter.login(session.page, creds)
        await self._start_chunk(session)

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
            record.pk, attempt_id, self.worker, _scrubbed(found), expected_state=record.state,
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

    # --- evidence and traces: bounded, and never the reason a claim fails --------------------
    async def _capture(self, page: Page, attempt_id: str, label: str) -> Evidence:
        try:
            async with asyncio.timeout(evidence_bound_s(self.settings)):
                return await self.evidence.capture(page, attempt_id, label)
        except Exception:  # noqa: BLE001 - evidence never changes an outcome
            return Evidence()

    async def _evidence_with_trace(
        self, session: PortalSession, attempt_id: str, label: str
    ) -> Evidence:
        evidence = await self._capture(session.page, attempt_id, label)
        return await self._close_trace(session, attempt_id, evidence, keep=True)

    async def _start_chunk(self, session: PortalSession) -> None:
        """A trace chunk per attempt; one that cannot start is logged and dropped."""
        if not session.tracing:
            return
        if session.chunk_open:  # an attempt that ended without closing its chunk
            await self._stop_chunk(session, None)
        try:
            async with asyncio.timeout(evidence_bound_s(self.settings)):
                await session.context.tracing.start_chunk()
            session.chunk_open = True
        except Exception:  # noqa: BLE001 - a trace never breaks a claim
            session.chunk_open = False
            log.warning("trace chunk could not start; this attempt has no trace",
                        payer_id=session.key[0])

    async def _stop_chunk(self, session: PortalSession, path: Path | None) -> bool:
        """Stop the attempt's chunk (kept at ``path`` when given); False when none was kept."""
        if not session.chunk_open:
            return False
        session.chunk_open = False
        try:
            async with asyncio.timeout(evidence_bound_s(self.settings)):
                await session.context.tracing.stop_chunk(path=str(path) if path else None)
        except Exception:  # noqa: BLE001 - a lost trace never changes an outcome
            log.warning("trace chunk could not be stopped; dropped", payer_id=session.key[0])
            return False
        if path is not None:
            self.evidence.seal(path)
        return path is not None

    async def _close_trace(
        self, session: PortalSession, attempt_id: str, evidence: Evidence, *, keep: bool
    ) -> Evidence:
        path = self.evidence.trace_path(attempt_id) if keep else None
        if await self._stop_chunk(session, path) and path is not None:
            return Evidence(evidence.screenshot, evidence.html, str(path))
        return evidence

    # --- failures -------------------------------------------------------------------------
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

    def _block_payer(
        self, summary: RunSummary, record: ClaimRecord, reason: str
    ) -> ClaimResult | None:
        """Leave the claim as it was and stop working for its payer in this run."""
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
            screenshot, submitted, record.next_attempt_at,
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


__all__ = ["ClaimResult", "Engine", "LedgerError", "RunSummary", "portal_boundary", "translate"]
