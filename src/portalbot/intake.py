"""From a claims file to the ledger: check every claim, hold the ones the rules refuse.

A claim with an error finding (or for a payer with no adapter) is recorded ``held`` with
its findings and never reaches a browser; the rest are ``queued``. A claim version the
ledger already knows keeps its state, so loading the same file twice sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portalbot.adapters import discover_adapters
from portalbot.claims import Claim, ClaimBatchFile
from portalbot.config import Settings
from portalbot.ledger import ClaimRecord, Ledger
from portalbot.payer_rules import RuleChecker

Finding = dict[str, Any]
__all__ = ["IntakeResult", "RuleChecker", "intake"]


@dataclass(frozen=True)
class IntakeResult:
    batch_id: str
    records: list[ClaimRecord]
    already_known: int
    # Ledger ids of the claim versions this intake recorded for the first time.
    new: frozenset[int] = frozenset()


def _payer_findings(claim: Claim, known: set[str]) -> list[Finding]:
    if claim.payer_id in known:
        return []
    return [{
        "rule": "PAYER-01", "severity": "error", "field": "payer_id",
        "message": f"no adapter for payer {claim.payer_id!r}; known payers: "
                   f"{', '.join(sorted(known)) or 'none'}",
    }]


def intake(ledger: Ledger, settings: Settings, batch: ClaimBatchFile) -> IntakeResult:
    checker = RuleChecker(settings, ledger)
    known_payers = set(discover_adapters())
    batch_id = ledger.create_batch(
        batch.path.name, batch.content_hash, len(batch.claims), batch.unreadable
    )
    already = 0
    new: set[int] = set()
    for loaded in batch.claims:
        claim = loaded.claim
        findings = checker.findings(claim) + _payer_findings(claim, known_payers)
        enqueued = ledger.enqueue(
            batch_id, claim_id=claim.claim_id, version=claim.version, payer_id=claim.payer_id,
            service_month=claim.service_month, member_id=claim.subscriber.member_id,
            frequency=claim.frequency, replaces=claim.replaces,
            payload=claim.model_dump(mode="json"), findings=findings,
            blocked=any(f["severity"] == "error" for f in findings),
            location=loaded.location, worker="intake",
        )
        already += 0 if enqueued.is_new else 1
        if enqueued.is_new:
            new.add(enqueued.record.pk)
    return IntakeResult(batch_id, ledger.claims_in_batch(batch_id), already, frozenset(new))
