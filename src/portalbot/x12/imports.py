"""From parsed 835s and 277s to ledger entries: the verdict, the state it moves a claim to, the words.

Reading every file comes before recording anything, so a malformed second file leaves the
ledger as it was; an unbalanced remittance is held back unless the operator accepts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from portalbot.ledger import Ledger
from portalbot.ledger.remits import RemitEntry, RemitResult, find_claim, record_remit
from portalbot.x12.acknowledgment import (
    Acknowledgment,
    BatchRejection,
    ClaimStatus,
    read_acknowledgments,
)
from portalbot.x12.remit_json import claim_dict, remittance_dict
from portalbot.x12.remittance import (
    DENIED,
    PARTIAL,
    REVERSED,
    ClaimPayment,
    Remittance,
    read_remittances,
)

# What each 835 verdict makes of the claim in the ledger.
REMIT_STATES = {"paid": "paid", "partially paid": "paid", DENIED: "denied", REVERSED: "accepted"}


@dataclass
class RemitImport:
    remittances: list[Remittance] = field(default_factory=list)
    results: list[RemitResult] = field(default_factory=list)
    held_unbalanced: list[Remittance] = field(default_factory=list)


def read_all(paths: list[Path]) -> list[Remittance]:
    """Every remittance in every file; the first malformed file raises ``X12FileError``."""
    return [remittance for path in paths for remittance in read_remittances(path)]


def _codes(claim: ClaimPayment) -> str:
    adjustments = ", ".join(f"{a.code} {a.amount}" for a in claim.all_adjustments())
    remarks = ", ".join(claim.all_remarks())
    parts = [p for p in (adjustments, f"remarks {remarks}" if remarks else "") if p]
    return "; ".join(parts)


def entry_for(remittance: Remittance, claim: ClaimPayment) -> RemitEntry:
    payment = remittance.payment
    when = payment.date.isoformat() if payment.date else "no date"
    verdict = claim.verdict
    codes = _codes(claim)
    main = claim.main_reason if verdict in {DENIED, PARTIAL} else None
    words = {
        DENIED: "denied",
        REVERSED: f"payment reversed ({claim.paid})",
    }.get(verdict, f"{verdict} {claim.paid} of {claim.charge}")
    reason = f"{words}{'; ' + codes if codes else ''}"
    return RemitEntry(
        kind="835",
        source=payment.originator or remittance.payer,
        trace=payment.trace,
        sequence=claim.sequence,
        file_name=remittance.file,
        payer=remittance.payer,
        patient_control_number=claim.patient_control_number,
        payer_claim_number=claim.payer_claim_number,
        status_code=claim.status_code,
        verdict=verdict,
        target_state=REMIT_STATES[verdict],
        reason_code=main.code if main else None,
        reason=f"{reason} (835 trace {payment.trace}, {when})",
        event=f"835 {remittance.file}: {reason}; trace {payment.trace}, paid {when}",
        charge=str(claim.charge),
        paid=str(claim.paid),
        payment_date=payment.date,
        detail=claim_dict(claim, None),
    )


def matches(ledger: Ledger, remittance: Remittance) -> list[dict[str, object] | None]:
    found: list[dict[str, object] | None] = []
    for claim in remittance.claims:
        record = find_claim(ledger, claim.patient_control_number, claim.payer_claim_number)
        found.append({"claim_id": record.claim_id, "version": record.version} if record else None)
    return found


def dry_run(ledger: Ledger, remittances: list[Remittance]) -> dict[str, object]:
    """What ``remit`` would record, in the documented JSON shape; writes nothing."""
    return {"files": [remittance_dict(r, matches(ledger, r)) for r in remittances]}


def record_all(ledger: Ledger, remittances: list[Remittance], *, worker: str,
               accept_unbalanced: bool = False) -> RemitImport:
    result = RemitImport(remittances=remittances)
    for remittance in remittances:
        if not remittance.balanced and not accept_unbalanced:
            result.held_unbalanced.append(remittance)
            continue
        for claim in remittance.claims:
            result.results.append(record_remit(ledger, entry_for(remittance, claim), worker))
    return result


def ack_entry(ack: Acknowledgment, claim: ClaimStatus) -> RemitEntry:
    codes = ", ".join(claim.codes) or "no status code"
    words = f"{ack.kind} {ack.file}: {claim.verdict} ({codes})"
    return RemitEntry(
        kind=ack.kind,
        source=ack.payer or "payer",
        trace=ack.reference,
        sequence=claim.sequence,
        file_name=ack.file,
        payer=ack.payer,
        patient_control_number=claim.patient_control_number,
        payer_claim_number=claim.payer_claim_number,
        status_code=claim.codes[0] if claim.codes else "",
        verdict=claim.recorded_as,
        target_state=claim.state,
        reason_code=claim.codes[0][:32] if claim.codes and claim.state == "rejected" else None,
        reason=f"{claim.verdict} ({codes}; {ack.kind} {ack.reference})",
        event=f"{words}; reference {ack.reference}",
        charge=str(claim.charge) if claim.charge is not None else None,
        detail={"category": claim.category, "codes": list(claim.codes),
                "payer_claim_number": claim.payer_claim_number},
    )


@dataclass
class AckImport:
    acknowledgments: list[Acknowledgment]
    results: list[RemitResult]

    @property
    def batch_rejections(self) -> list[tuple[Acknowledgment, BatchRejection]]:
        return [(ack, r) for ack in self.acknowledgments for r in ack.batch_rejections]


def record_acks(ledger: Ledger, paths: list[Path], *, worker: str) -> AckImport:
    """Read every file first (a malformed one raises before anything is recorded)."""
    acks = [ack for path in paths for ack in read_acknowledgments(path)]
    results = [record_remit(ledger, ack_entry(ack, claim), worker)
               for ack in acks for claim in ack.claims]
    return AckImport(acks, results)
