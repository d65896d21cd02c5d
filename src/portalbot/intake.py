"""From a claims file to the ledger: check every claim, hold the ones the rules refuse.

A claim with an error finding (or for a payer with no adapter) is recorded ``held`` with
its findings and never reaches a browser; the rest are ``queued``. A claim version the
ledger already knows keeps its state, so loading the same file twice sends nothing twice.

Claims go in a chunk at a time (``CHUNK_CLAIMS`` per transaction, ledger/loading.py), the
ledger's patient-months for the chunk read in one query first. A file whose bytes an
earlier batch already loaded completely is not loaded again: the result names that batch
(``earlier``). An earlier batch of the same bytes that a crash cut short is resumed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from portalbot.adapters import discover_adapters
from portalbot.claims import Claim, ClaimBatchFile, LoadedClaim
from portalbot.config import Settings
from portalbot.ledger import ClaimRecord, Ledger
from portalbot.ledger.loading import BatchRow, NewClaim, Refused
from portalbot.ledger.records import patient_month_key
from portalbot.payer_rules import RuleChecker

__all__ = ["IntakeResult", "RuleChecker", "intake"]

Finding = dict[str, Any]
#: claims per transaction: big enough that commits stop mattering, small enough that a
#: crash loses little work and a chunk's IN lists stay modest
CHUNK_CLAIMS = 2_000
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

    def prefetch(self, claims: Iterable[Claim]) -> None:
        keys = {patient_month_key(*c.patient_month) for c in claims}
        self._known = self._ledger.patient_month_claims(keys)

    def __call__(self, payer_id: str, member_id: str, month: str) -> set[str]:
        return self._known.get(patient_month_key(payer_id, member_id, month), set())


def _payer_findings(claim: Claim, known: set[str]) -> list[Finding]:
    if claim.payer_id in known:
        return []
    return [{
        "rule": "PAYER-01", "severity": "error", "field": "payer_id",
        "message": f"no adapter for payer {claim.payer_id!r}; known payers: "
                   f"{', '.join(sorted(known)) or 'none'}",
    }]


def intake(
    ledger: Ledger, settings: Settings, batch: ClaimBatchFile, *, chunk_size: int = 0
) -> IntakeResult:
    """Load ``batch`` into the ledger; see the module docstring."""
    earlier = ledger.batches_by_hash(batch.content_hash)
    for finished in (b for b in earlier if b.loaded_at is not None):
        if _all_in(ledger, finished, batch):
            records = ledger.claims_in_batch(finished.id, payload=False)
            return IntakeResult(finished.id, records, len(records), earlier=finished)
    unfinished = [b for b in earlier if b.loaded_at is None]
    if unfinished:
        batch_id = unfinished[-1].id  # a crash cut this file's intake short: finish it
    else:
        batch_id = ledger.create_batch(
            batch.path.name, batch.content_hash, len(batch.claims), batch.unreadable
        )
    months = LedgerMonths(ledger)
    checker = RuleChecker(settings, months)
    known_payers = set(discover_adapters())
    size = chunk_size or CHUNK_CLAIMS
    new: set[int] = set()
    already = 0
    refused: list[Refused] = []
    for start in range(0, len(batch.claims), size):
        chunk = batch.claims[start:start + size]
        months.prefetch(loaded.claim for loaded in chunk)
        done = ledger.enqueue_many(
            batch_id, [_new_claim(loaded, checker, known_payers) for loaded in chunk], WORKER
        )
        new.update(done.new)
        already += len(done.known)
        refused += done.refused
    if not refused:  # a refused claim is tried again when the same file is loaded again
        ledger.mark_loaded(batch_id)
    return IntakeResult(batch_id, ledger.claims_in_batch(batch_id, payload=False), already, frozenset(new),
                        tuple(refused))


def _all_in(ledger: Ledger, earlier: BatchRow, batch: ClaimBatchFile) -> bool:
    """Whether the earlier batch holds every claim this reading of the file gives (an 837P
    read with a different evidence file can give more)."""
    linked = ledger.linked_keys(earlier.id)
    return all((c.claim.claim_id, c.claim.version) in linked for c in batch.claims)


def _new_claim(loaded: LoadedClaim, checker: RuleChecker, known_payers: set[str]) -> NewClaim:
    claim = loaded.claim
    findings = checker.findings(claim) + _payer_findings(claim, known_payers)
    return NewClaim(
        claim_id=claim.claim_id, version=claim.version, payer_id=claim.payer_id,
        service_month=claim.service_month, member_id=claim.subscriber.member_id,
        frequency=claim.frequency, replaces=claim.replaces,
        payload=claim.model_dump(mode="json"), findings=findings,
        blocked=any(f["severity"] == "error" for f in findings), location=loaded.location,
    )

