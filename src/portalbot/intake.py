"""From a claims file to the ledger: check every claim, hold the ones the rules refuse.

A claim with an error finding (or for a payer with no adapter) is recorded ``held`` with
its findings and never reaches a browser; the rest are ``queued``. A claim version the
ledger already knows keeps its state, so loading the same file twice sends nothing twice.

Claims go in a chunk at a time (``CHUNK_CLAIMS`` per transaction, ledger/loading.py), the
ledger's patient-months for the chunk read in one query first. A file whose bytes an
earlier batch already loaded completely is not loaded again: the result names that batch
(``earlier``). An earlier batch of the same bytes that a crash cut short is resumed.

The batch is either loaded whole (``claims.load_claims``: JSON, CSV, X12) or, for JSON
Lines, streamed from worker processes that have parsed, checked and serialized each claim
(``intake_prepare``); intake then adds the checks that need the ledger. Both give the
same ledger, row for row (tests/test_intake_parallel.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from portalbot.adapters import discover_adapters
from portalbot.claims import ClaimBatchFile, LoadedClaim
from portalbot.config import Settings
from portalbot.gcpause import gc_paused
from portalbot.intake_prepare import Prepared, PreparedBatch
from portalbot.ledger import ClaimRecord, Ledger
from portalbot.ledger.loading import BatchRow, NewClaim, Refused
from portalbot.ledger.records import RawJson, patient_month_key
from portalbot.payer_rules import RuleChecker
from portalbot.rules.checks import duplicate_finding_for

__all__ = ["IntakeResult", "RuleChecker", "intake"]

Finding = dict[str, Any]
#: claims per transaction: big enough that commits (an fsync each) stop mattering, small
#: enough that a crash loses little work and a chunk's IN lists stay modest
CHUNK_CLAIMS = 10_000
WORKER = "intake"


@dataclass(frozen=True)
class IntakeResult:
    batch_id: str
    records: list[ClaimRecord]  # the batch's claims, without their data (payload {})
    already_known: int
    # Ledger ids of the claim versions this intake recorded for the first time.
    new: frozenset[int] = frozenset()
    # Claims the ledger would not take (the rest of the file was loaded).
    refused: tuple[Refused, ...] = ()
    # This file was already loaded, completely, as this batch: nothing was loaded now.
    earlier: BatchRow | None = None


class LedgerMonths:
    """The one-claim-per-patient-month memory the rules ask (``known_elsewhere``), read
    from the ledger a chunk at a time instead of a query per claim."""

    def __init__(self, ledger: Ledger):
        self._ledger = ledger
        self._known: dict[str, set[str]] = {}

    def prefetch_keys(self, keys: Iterable[str]) -> None:
        self._known = self._ledger.patient_month_claims(keys)

    def __call__(self, payer_id: str, member_id: str, month: str) -> set[str]:
        return self._known.get(patient_month_key(payer_id, member_id, month), set())


def _payer_findings(payer_id: str, known: set[str]) -> list[Finding]:
    if payer_id in known:
        return []
    return [{
        "rule": "PAYER-01", "severity": "error", "field": "payer_id",
        "message": f"no adapter for payer {payer_id!r}; known payers: "
                   f"{', '.join(sorted(known)) or 'none'}",
    }]


Batch = ClaimBatchFile | PreparedBatch


def intake(ledger: Ledger, settings: Settings, batch: Batch, *, chunk_size: int = 0) -> IntakeResult:
    """Load ``batch`` into the ledger; see the module docstring."""
    earlier = ledger.batches_by_hash(batch.content_hash)
    finished = [b for b in earlier if b.loaded_at is not None]
    if finished and isinstance(batch, PreparedBatch):
        batch.read_all()  # whether an earlier batch holds them all needs them all
    for done_before in finished:
        if _all_in(ledger, done_before, batch):
            records = ledger.claims_in_batch(done_before.id, payload=False)
            return IntakeResult(done_before.id, records, len(records), earlier=done_before)
    unfinished = [b for b in earlier if b.loaded_at is None]
    if unfinished:
        batch_id = unfinished[-1].id  # a crash cut this file's intake short: finish it
    else:
        batch_id = ledger.create_batch(
            batch.path.name, batch.content_hash, len(batch.claims), batch.unreadable
        )
    rows = _Rows(ledger, settings)
    new: set[int] = set()
    already = claims = 0
    refused: list[Refused] = []
    with gc_paused():
        for chunk in _chunks(batch, chunk_size or CHUNK_CLAIMS):
            done = ledger.enqueue_many(batch_id, rows.of(chunk), WORKER)
            new.update(done.new)
            already += len(done.known)
            refused += done.refused
            claims += len(chunk)
        records = ledger.claims_in_batch(batch_id, payload=False)
    if not refused:  # a refused claim is tried again when the same file is loaded again
        ledger.mark_loaded(batch_id, claims, batch.unreadable)
    return IntakeResult(batch_id, records, already, frozenset(new), tuple(refused))


def _chunks(batch: Batch, size: int) -> Iterator[list[LoadedClaim] | list[Prepared]]:
    """The batch a chunk at a time; a streamed one (``PreparedBatch``) as its workers
    deliver it, each chunk forgotten once written."""
    if not isinstance(batch, PreparedBatch):
        for start in range(0, len(batch.claims), size):
            yield batch.claims[start:start + size]
        return
    if batch.claims:  # read whole already (an earlier batch of the same bytes)
        rows, batch.claims = batch.claims, []
        for start in range(0, len(rows), size):
            yield rows[start:start + size]
    while chunk := batch.next_chunk(size):
        batch.forget()
        yield chunk


def _all_in(ledger: Ledger, earlier: BatchRow, batch: Batch) -> bool:
    """Whether the earlier batch holds every claim this reading of the file gives (an 837P
    read with a different evidence file can give more)."""
    linked = ledger.linked_keys(earlier.id)
    return all(key in linked for key in _keys(batch))


def _keys(batch: Batch) -> Iterator[tuple[str, int]]:
    if isinstance(batch, PreparedBatch):
        return ((p.claim_id, p.version) for p in batch.claims)
    return ((c.claim.claim_id, c.claim.version) for c in batch.claims)


class _Rows:
    """A chunk of the batch as the ledger's rows: every rule checked, the ledger's
    patient-months for the chunk read in one query."""

    def __init__(self, ledger: Ledger, settings: Settings):
        self.months = LedgerMonths(ledger)
        self.checker = RuleChecker(settings, self.months)
        self.payers = set(discover_adapters())

    def of(self, chunk: list[LoadedClaim] | list[Prepared]) -> list[NewClaim]:
        if chunk and isinstance(chunk[0], Prepared):
            return self._prepared(chunk)
        loaded = cast(list[LoadedClaim], chunk)
        self.months.prefetch_keys(patient_month_key(*c.claim.patient_month) for c in loaded)
        return [self._loaded(c) for c in loaded]

    def _loaded(self, loaded: LoadedClaim) -> NewClaim:
        claim = loaded.claim
        findings = self.checker.findings(claim) + _payer_findings(claim.payer_id, self.payers)
        return _new_claim(
            claim.claim_id, claim.version, claim.payer_id, claim.service_month,
            claim.subscriber.member_id, claim.frequency, claim.replaces,
            RawJson(claim.model_dump_json()), findings, loaded.location)

    def _prepared(self, chunk: list[Prepared]) -> list[NewClaim]:
        """The checks the workers could not make: the patient-month against the ledger
        and the configuration (CCM-EXCL-06), and the payer's adapter (PAYER-01)."""
        self.months.prefetch_keys(patient_month_key(*p.patient_month) for p in chunk)
        rows = []
        for p in chunk:
            others = {*p.earlier, *self.months(*p.patient_month),
                      *self.checker.context_for(p.payer_id).claims_for(p.patient_month)}
            findings = list(p.findings)
            duplicate = duplicate_finding_for(p.claim_id, p.frequency, others)
            if duplicate is not None:
                findings.append({"rule": duplicate.rule, "severity": duplicate.severity,
                                 "field": duplicate.field, "message": duplicate.message})
            findings += _payer_findings(p.payer_id, self.payers)
            rows.append(_new_claim(p.claim_id, p.version, p.payer_id, p.service_month,
                                   p.member_id, p.frequency, p.replaces, p.payload, findings,
                                   p.location))
        return rows


def _new_claim(claim_id: str, version: int, payer_id: str, service_month: str, member_id: str,
               frequency: str, replaces: str | None, payload: RawJson, findings: list[Finding],
               location: str) -> NewClaim:
    return NewClaim(
        claim_id=claim_id, version=version, payer_id=payer_id, service_month=service_month,
        member_id=member_id, frequency=frequency, replaces=replaces, payload=payload,
        findings=findings, blocked=any(f["severity"] == "error" for f in findings),
        location=location,
    )
