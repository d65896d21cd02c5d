"""The ledger side of X12 in: match a remittance or acknowledgment to a claim, record it once.

Every claim payment (835) or claim status (277) becomes one ``remits`` row, matched or
not, so nothing a payer sent is dropped; a matched one that changes the claim's state also
appends the event, in the same transaction. The row's key (kind, source, trace, sequence)
makes a second import of the same file change nothing.

Matching follows what the payer echoes back: the patient control number (CLP01 / TRN02 of
the 277) is the portal key portalbot wrote into box 26, or the claim id for a claim keyed
elsewhere (an 837P from a practice-management system); failing both, the payer's claim
number (CLP07 / REF*1K) against what the portal answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from portalbot.ledger import ClaimRecord, Ledger, schema
from portalbot.ledger.states import TRANSITIONS

RECORDED, UNCHANGED, ALREADY, UNMATCHED, NOT_APPLIED = (
    "recorded", "unchanged", "already imported", "unmatched", "not applied",
)
# Where a claim the payer has is found again by its patient control number.
_WITH_PAYER = ("accepted", "pending", "paid", "denied")
_SETTLED = ("paid", "denied")


@dataclass(frozen=True)
class RemitEntry:
    """One claim payment or claim status to record, already mapped from the X12."""

    kind: str
    source: str
    trace: str
    sequence: int
    file_name: str
    payer: str
    patient_control_number: str
    payer_claim_number: str
    status_code: str
    verdict: str
    target_state: str | None
    reason_code: str | None
    reason: str
    event: str
    charge: str | None = None
    paid: str | None = None
    payment_date: date | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RemitResult:
    entry: RemitEntry
    outcome: str
    claim: ClaimRecord | None
    note: str = ""


def find_claim(ledger: Ledger, patient_control_number: str,
               payer_claim_number: str = "") -> ClaimRecord | None:
    """The claim version an X12 response is about, or None."""
    c = schema.claims.c
    with ledger.engine.connect() as connection:
        return _match(connection, c, patient_control_number, payer_claim_number)


def _match(connection: sa.Connection, c: Any, pcn: str, payer_number: str) -> ClaimRecord | None:
    queries = []
    if pcn:
        queries.append(sa.select(schema.claims).where(c.portal_key == pcn))
        queries.append(
            sa.select(schema.claims).where(c.claim_id == pcn)
            .order_by(c.state.in_(_WITH_PAYER).desc(), c.version.desc())
        )
    if payer_number:
        queries.append(
            sa.select(schema.claims)
            .where(sa.or_(c.payer_claim_number == payer_number, c.confirmation == payer_number))
            .order_by(c.version.desc())
        )
    for query in queries:
        row = connection.execute(query.limit(1)).first()
        if row is not None:
            return ClaimRecord.from_row(row)
    return None


def record_remit(ledger: Ledger, entry: RemitEntry, worker: str) -> RemitResult:
    """Record one entry; the claim moves only along the state machine, never twice."""
    r = schema.remits
    with ledger._tx() as tx:
        seen = tx.execute(sa.select(r.c.id).where(
            r.c.kind == entry.kind, r.c.source == entry.source, r.c.trace == entry.trace,
            r.c.sequence == entry.sequence,
        )).first()
        if seen is not None:
            return RemitResult(entry, ALREADY, None)
        claim = _match(tx, schema.claims.c, entry.patient_control_number,
                       entry.payer_claim_number)
        outcome, note = _apply(ledger, tx, claim, entry, worker)
        tx.execute(r.insert().values(
            kind=entry.kind, source=entry.source[:64], trace=entry.trace[:80],
            sequence=entry.sequence, file_name=entry.file_name[:255], payer=entry.payer[:80],
            patient_control_number=entry.patient_control_number[:64],
            payer_claim_number=entry.payer_claim_number[:64] or None,
            status_code=entry.status_code[:16], verdict=entry.verdict[:16],
            reason_code=entry.reason_code, charge=entry.charge, paid=entry.paid,
            payment_date=entry.payment_date, claim_pk=claim.pk if claim else None,
            applied=outcome == RECORDED, note=note, detail=entry.detail,
            recorded_at=ledger.clock(),
        ))
        current = ledger._get(tx, claim.pk) if claim else None
    return RemitResult(entry, outcome, current, note)


def _apply(ledger: Ledger, tx: sa.Connection, claim: ClaimRecord | None, entry: RemitEntry,
           worker: str) -> tuple[str, str]:
    if claim is None:
        return UNMATCHED, "no claim in the ledger has this patient control number or payer claim number"
    target = entry.target_state
    if target is None or claim.state == target:
        return UNCHANGED, f"the claim is already {claim.state}"
    if claim.state in _SETTLED and target in {"accepted", "pending"} and entry.verdict != "reversed":
        # Only a reversal takes a paid or denied claim back; a late acknowledgment does not.
        return UNCHANGED, f"the claim is already {claim.state}; the later verdict stands"
    if target not in TRANSITIONS.get(claim.state, frozenset()):
        return NOT_APPLIED, f"the claim is {claim.state}; a {entry.verdict} response cannot apply to it"
    fields: dict[str, Any] = {"reason": entry.reason, "reason_code": entry.reason_code}
    if entry.payer_claim_number:
        fields["payer_claim_number"] = entry.payer_claim_number[:64]
    ledger._transition(tx, claim.pk, claim.state, target, worker, entry.event, **fields)
    return RECORDED, ""


def unmatched_remits(ledger: Ledger) -> list[dict[str, Any]]:
    """What the payers sent that no claim in the ledger explains, oldest first."""
    r = schema.remits
    with ledger.engine.connect() as connection:
        rows = connection.execute(
            sa.select(r).where(r.c.claim_pk.is_(None)).order_by(r.c.id)
        ).all()
    return [dict(row._mapping) for row in rows]


def remits_of(ledger: Ledger, pk: int) -> list[dict[str, Any]]:
    r = schema.remits
    with ledger.engine.connect() as connection:
        rows = connection.execute(
            sa.select(r).where(r.c.claim_pk == pk).order_by(r.c.id)
        ).all()
    return [dict(row._mapping) for row in rows]
