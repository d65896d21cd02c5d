"""835 (005010X221A1) remittance advice -> typed payments, claim payments and service lines.

One 835 transaction is one payment (``BPR``, ``TRN``) from one payer (``N1*PR``) to one
payee; loop 2100 (``CLP``) is one claim payment, loop 2110 (``SVC``) one service line,
``CAS`` the adjustments at either level and ``PLB`` the provider-level adjustments that
make the payment differ from the sum of its claims. The verdict (paid, partially paid,
denied, reversed) is derived here so the ledger and the dry run say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from portalbot.x12.reader import Segment, Transaction, X12FileError, read_x12

CENT = Decimal("0.01")
ZERO = Decimal("0")

# CLP02, from the implementation guide.
CLAIM_STATUS = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to additional payer(s)",
    "20": "processed as secondary, forwarded to additional payer(s)",
    "21": "processed as tertiary, forwarded to additional payer(s)",
    "22": "reversal of previous payment",
    "23": "not our claim, forwarded to additional payer(s)",
    "25": "predetermination pricing only, no payment",
}
# CAS01, from the implementation guide.
ADJUSTMENT_GROUPS = {
    "CO": "contractual obligation",
    "CR": "correction and reversal",
    "OA": "other adjustment",
    "PI": "payer initiated reduction",
    "PR": "patient responsibility",
}
PAYMENT_METHODS = {"ACH": "automated clearing house", "CHK": "check", "NON": "no payment",
                   "BOP": "financial institution option", "FWT": "federal reserve wire"}

PAID, PARTIAL, DENIED, REVERSED = "paid", "partially paid", "denied", "reversed"


@dataclass(frozen=True)
class Adjustment:
    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None

    @property
    def code(self) -> str:
        return f"{self.group}-{self.reason}"


@dataclass(frozen=True)
class ServiceLine:
    code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    paid: Decimal
    units: Decimal
    adjustments: tuple[Adjustment, ...]
    remarks: tuple[str, ...]


@dataclass(frozen=True)
class ClaimPayment:
    patient_control_number: str
    status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    payer_claim_number: str
    adjustments: tuple[Adjustment, ...]
    remarks: tuple[str, ...]
    lines: tuple[ServiceLine, ...]
    sequence: int

    def all_adjustments(self) -> tuple[Adjustment, ...]:
        return self.adjustments + tuple(a for line in self.lines for a in line.adjustments)

    def all_remarks(self) -> tuple[str, ...]:
        seen = dict.fromkeys(self.remarks + tuple(r for line in self.lines for r in line.remarks))
        return tuple(seen)

    @property
    def verdict(self) -> str:
        """Reversed (CLP02 22), denied (CLP02 4, or nothing paid for a reason other than the
        patient's share), partially paid (a line or an amount the payer kept back beyond its
        contract), or paid."""
        if self.status_code == "22":
            return REVERSED
        payer_side = [a for a in self.all_adjustments() if a.group != "PR"]
        if self.status_code == "4" or (self.paid == ZERO and payer_side):
            return DENIED
        line_denied = any(line.paid == ZERO and line.charge > ZERO for line in self.lines)
        withheld = any(a.code != "CO-45" for a in payer_side)
        return PARTIAL if line_denied or withheld else PAID

    @property
    def main_reason(self) -> Adjustment | None:
        """The adjustment that explains a denial: the largest one the payer made (not the
        patient's share), the first of equals."""
        candidates = [a for a in self.all_adjustments() if a.group != "PR"] or list(
            self.all_adjustments()
        )
        return max(candidates, key=lambda a: abs(a.amount), default=None)


@dataclass(frozen=True)
class PaymentInfo:
    method: str
    amount: Decimal
    date: date | None
    trace: str
    originator: str


@dataclass(frozen=True)
class ProviderAdjustment:
    reason: str
    reference: str
    amount: Decimal


@dataclass(frozen=True)
class Remittance:
    file: str
    control: str
    payer: str
    payment: PaymentInfo
    claims: tuple[ClaimPayment, ...]
    provider_adjustments: tuple[ProviderAdjustment, ...]

    @property
    def expected_amount(self) -> Decimal:
        """The payment the claims and PLB add up to: Σ CLP04 − Σ PLB amounts."""
        claims = sum((c.paid for c in self.claims), ZERO)
        return claims - sum((p.amount for p in self.provider_adjustments), ZERO)

    @property
    def balanced(self) -> bool:
        return self.expected_amount == self.payment.amount


def read_remittances(path: Path) -> list[Remittance]:
    return [parse_835(t) for t in read_x12(path, expect=frozenset({"835"}))]


def parse_835(transaction: Transaction) -> Remittance:
    bpr = _required(transaction, "BPR")
    trn = _required(transaction, "TRN")
    payer = transaction.first("N1", "1000A")
    claims = tuple(
        _claim(transaction, segments, n)
        for n, segments in enumerate(transaction.loops("2100", "CLP"), start=1)
    )
    plb = tuple(adj for s in transaction.segments if s.id == "PLB" for adj in _plb(transaction, s))
    return Remittance(
        file=transaction.file,
        control=transaction.control,
        payer=payer.value("N102") if payer else "",
        payment=PaymentInfo(
            method=bpr.value("BPR04"),
            amount=_amount(transaction, bpr, "BPR02"),
            date=_date(transaction, bpr, "BPR16"),
            trace=trn.value("TRN02"),
            originator=trn.value("TRN03"),
        ),
        claims=claims,
        provider_adjustments=plb,
    )


def _claim(transaction: Transaction, segments: tuple[Segment, ...], sequence: int) -> ClaimPayment:
    clp = segments[0]
    claim_level = [s for s in segments if s.loop == "2100"]
    lines = _split(segments, "SVC")
    return ClaimPayment(
        patient_control_number=clp.value("CLP01"),
        status_code=clp.value("CLP02"),
        charge=_amount(transaction, clp, "CLP03"),
        paid=_amount(transaction, clp, "CLP04"),
        patient_responsibility=_amount(transaction, clp, "CLP05", optional=True),
        payer_claim_number=clp.value("CLP07"),
        adjustments=tuple(a for s in claim_level if s.id == "CAS" for a in _cas(transaction, s)),
        remarks=_claim_remarks(claim_level),
        lines=tuple(_line(transaction, line) for line in lines),
        sequence=sequence,
    )


def _line(transaction: Transaction, segments: tuple[Segment, ...]) -> ServiceLine:
    svc = segments[0]
    modifiers = tuple(m for m in (svc.value(f"SVC01-{n}") for n in range(3, 7)) if m)
    units = svc.value("SVC05")
    return ServiceLine(
        code=svc.value("SVC01-2"),
        modifiers=modifiers,
        charge=_amount(transaction, svc, "SVC02"),
        paid=_amount(transaction, svc, "SVC03"),
        units=_number(transaction, svc, "SVC05") if units else Decimal("1"),
        adjustments=tuple(a for s in segments if s.id == "CAS" for a in _cas(transaction, s)),
        remarks=tuple(s.value("LQ02") for s in segments if s.id == "LQ" and s.value("LQ01") == "HE"),
    )


def _split(segments: tuple[Segment, ...], first: str) -> list[tuple[Segment, ...]]:
    groups: list[list[Segment]] = []
    for segment in segments:
        if segment.id == first and segment.loop == "2110":
            groups.append([segment])
        elif groups and segment.loop == "2110":
            groups[-1].append(segment)
    return [tuple(g) for g in groups]


def _claim_remarks(segments: list[Segment]) -> tuple[str, ...]:
    codes: list[str] = []
    for segment in segments:
        if segment.id == "MOA":
            codes += [segment.value(f"MOA{n:02d}") for n in range(3, 8)]
        elif segment.id == "MIA":
            codes += [segment.value(f"MIA{n:02d}") for n in (5, 20, 21, 22, 23)]
    return tuple(c for c in codes if c)


def _cas(transaction: Transaction, segment: Segment) -> list[Adjustment]:
    group = segment.value("CAS01")
    found = []
    for first in range(2, 20, 3):
        reason = segment.value(f"CAS{first:02d}")
        if not reason:
            continue
        quantity = segment.value(f"CAS{first + 2:02d}")
        found.append(Adjustment(
            group=group, reason=reason,
            amount=_amount(transaction, segment, f"CAS{first + 1:02d}"),
            quantity=_number(transaction, segment, f"CAS{first + 2:02d}") if quantity else None,
        ))
    return found


def _plb(transaction: Transaction, segment: Segment) -> list[ProviderAdjustment]:
    found = []
    for first in range(3, 15, 2):
        if not segment.value(f"PLB{first:02d}-1"):
            continue
        found.append(ProviderAdjustment(
            reason=segment.value(f"PLB{first:02d}-1"),
            reference=segment.value(f"PLB{first:02d}-2"),
            amount=_amount(transaction, segment, f"PLB{first + 1:02d}"),
        ))
    return found


def _required(transaction: Transaction, segment_id: str) -> Segment:
    found = transaction.first(segment_id)
    if found is None:
        raise X12FileError(
            f"{transaction.file}: transaction set {transaction.control} has no {segment_id} "
            "segment; an 835 without it cannot be recorded"
        )
    return found


def _number(transaction: Transaction, segment: Segment, ref: str) -> Decimal:
    try:
        return Decimal(segment.value(ref))
    except InvalidOperation:
        raise X12FileError(
            f"{transaction.file}: segment {segment.ordinal} ({segment.id}, loop {segment.loop}): "
            f"{ref} is not a number"
        ) from None


def _amount(transaction: Transaction, segment: Segment, ref: str, *, optional: bool = False) -> Decimal:
    if optional and not segment.value(ref):
        return ZERO
    return _number(transaction, segment, ref).quantize(CENT)


def _date(transaction: Transaction, segment: Segment, ref: str) -> date | None:
    text = segment.value(ref)
    if not text:
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise X12FileError(
            f"{transaction.file}: segment {segment.ordinal} ({segment.id}, loop {segment.loop}): "
            f"{ref} is not a CCYYMMDD date"
        ) from None
