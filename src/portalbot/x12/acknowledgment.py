"""277CA (005010X214) acknowledgments: each claim's status category, matched like a remittance.

Per claim, the claim status tracking loop (2200D) carries ``TRN`` and ``STC``
(category:status:entity) and the payer's claim number (``REF*1K``); the tracking number
``TRN02`` is the claim's patient control number (CLM01) itself, unless a patient account
number (``REF*EJ``) says otherwise. The 277 claim status response (005010X212), the answer
to a 276 inquiry, has the same claim loops for a subscriber (2200D) or a dependent (2200E);
its ``TRN02`` is the inquiry's own tracking number, so ``REF*EJ`` is what matches there. It is
read with portalbot's corrected pyx12 map (``portalbot/x12/maps/``).

Only the claim-level ``STC`` counts; a service line's own ``STC`` (loop 2220D/E) is not the
claim's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from portalbot.x12.reader import Segment, Transaction, read_x12

# STC01-1, the claim status category: what portalbot records for it. A finalized claim (F*)
# has been received and adjudicated, so it is at least accepted; whether it was paid or
# denied, and why, is the 835's to say. Other categories (E*: the inquiry could not be
# answered, D0, R*) change nothing and are kept as informational.
CATEGORY_STATES = {
    "A0": "accepted", "A1": "accepted", "A2": "accepted", "A5": "accepted",
    "A3": "rejected", "A4": "rejected", "A6": "rejected", "A7": "rejected", "A8": "rejected",
    "P0": "pending", "P1": "pending", "P2": "pending", "P3": "pending", "P4": "pending",
    "P5": "pending",
    "F0": "accepted", "F1": "accepted", "F2": "accepted", "F3": "accepted", "F4": "accepted",
}
CATEGORY_NAMES = {
    "A0": "forwarded to another entity", "A1": "received", "A2": "accepted into adjudication",
    "A3": "returned as unprocessable", "A4": "not found", "A5": "split claim",
    "A6": "rejected for missing information", "A7": "rejected for invalid information",
    "A8": "rejected for relational field in error", "P0": "pending: adjudication/details",
    "P1": "pending: in process", "P2": "pending: payer review",
    "P3": "pending: provider requested information",
    "P4": "pending: patient requested information",
    "P5": "pending: payer administrative/system hold", "F0": "finalized", "F1": "finalized: paid",
    "F2": "finalized: denied", "F3": "finalized: revised", "F4": "finalized: adjudication complete",
}
CLAIM_LOOPS = ("2200D", "2200E")
BATCH_LOOPS = {"2200B": "information receiver (2200B)", "2200C": "provider (2200C)"}


@dataclass(frozen=True)
class ClaimStatus:
    patient_control_number: str
    category: str
    codes: tuple[str, ...]
    payer_claim_number: str
    charge: Decimal | None
    sequence: int

    @property
    def state(self) -> str | None:
        return CATEGORY_STATES.get(self.category)

    @property
    def verdict(self) -> str:
        """What the payer said, in words: "rejected for invalid information"."""
        return CATEGORY_NAMES.get(self.category, self.state or self.category)

    @property
    def recorded_as(self) -> str:
        """The verdict kept in the ledger's ``remits`` row."""
        if self.category.startswith("F"):
            return "finalized"
        return self.state or "informational"


@dataclass(frozen=True)
class BatchRejection:
    """A rejection above the claims (loop 2200B, the information receiver, or 2200C, the
    provider): every claim of the batch it answers, none of them listed one by one."""

    level: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Acknowledgment:
    file: str
    control: str
    reference: str
    kind: str
    payer: str
    claims: tuple[ClaimStatus, ...]
    batch_rejections: tuple[BatchRejection, ...] = ()


def read_acknowledgments(path: Path) -> list[Acknowledgment]:
    return [parse_277(t) for t in read_x12(path, expect=frozenset({"277"}))]


def parse_277(transaction: Transaction) -> Acknowledgment:
    bht = transaction.first("BHT")
    payer = transaction.first("NM1", "2100A")
    found = sorted(((segments, loop) for loop in CLAIM_LOOPS
                    for segments in transaction.loops(loop, "TRN")),
                   key=lambda pair: pair[0][0].ordinal)  # file order, subscriber or dependent
    claims = [_status(segments, loop, n) for n, (segments, loop) in enumerate(found, start=1)]
    kind = "277CA" if transaction.version.startswith("005010X214") else "277"
    return Acknowledgment(
        file=transaction.file,
        control=transaction.control,
        reference=bht.value("BHT03") if bht else transaction.control,
        kind=kind,
        payer=payer.value("NM103") if payer else "",
        claims=tuple(claims),
        batch_rejections=_batch_rejections(transaction),
    )


def _batch_rejections(transaction: Transaction) -> tuple[BatchRejection, ...]:
    found = []
    for loop, level in BATCH_LOOPS.items():
        codes = tuple(_code(s) for s in transaction.segments if s.loop == loop and s.id == "STC"
                      and CATEGORY_STATES.get(s.value("STC01-1")) == "rejected")
        if codes:
            found.append(BatchRejection(level, codes))
    return tuple(found)


def _code(stc: Segment) -> str:
    return ":".join(p for p in (stc.value("STC01-1"), stc.value("STC01-2"), stc.value("STC01-3"))
                    if p)


def _status(segments: tuple[Segment, ...], loop: str, sequence: int) -> ClaimStatus:
    own = [s for s in segments if s.loop == loop]
    stcs = [s for s in own if s.id == "STC"]
    refs = {s.value("REF01"): s.value("REF02") for s in own if s.id == "REF"}
    first = stcs[0] if stcs else None
    codes = tuple(_code(s) for s in stcs)
    return ClaimStatus(
        patient_control_number=refs.get("EJ") or segments[0].value("TRN02"),
        category=first.value("STC01-1") if first else "",
        codes=codes,
        payer_claim_number=refs.get("1K", ""),
        charge=_charge(first),
        sequence=sequence,
    )


def _charge(stc: Segment | None) -> Decimal | None:
    if stc is None or not stc.value("STC04"):
        return None
    try:
        return Decimal(stc.value("STC04")).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
