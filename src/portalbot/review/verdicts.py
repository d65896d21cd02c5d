"""Verdicts and the audit log: what reviewers decided and what they looked at.

Both are append-only; the current verdict of an attempt is its latest row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portalbot.ledger import aware_utc, schema
from portalbot.ledger.verdicts import FLAGGED
from portalbot.review.accounts import ReviewError

VERIFIED = "verified"
VERDICTS = (VERIFIED, FLAGGED)


# --- audit ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditRow:
    reviewer: str | None
    claim_pk: int | None
    attempt_id: str | None
    action: str
    at: datetime


def record_audit(
    engine: sa.Engine,
    reviewer_id: int | None,
    action: str,
    now: datetime,
    *,
    claim_pk: int | None = None,
    attempt_id: str | None = None,
) -> None:
    with engine.begin() as tx:
        tx.execute(
            schema.audit_log.insert().values(
                reviewer_id=reviewer_id, claim_pk=claim_pk, attempt_id=attempt_id,
                action=action[:32], at=now,
            )
        )


def audit_rows(engine: sa.Engine, claim_pk: int | None = None) -> list[AuditRow]:
    a, r = schema.audit_log, schema.reviewers
    query = (
        sa.select(a, r.c.name).outerjoin(r, r.c.id == a.c.reviewer_id).order_by(a.c.id)
    )
    if claim_pk is not None:
        query = query.where(a.c.claim_pk == claim_pk)
    with engine.connect() as connection:
        return [
            AuditRow(m["name"], m["claim_pk"], m["attempt_id"], m["action"], aware_utc(m["at"]))  # type: ignore[arg-type]
            for m in (row._mapping for row in connection.execute(query))
        ]


# --- verdicts -------------------------------------------------------------------------------

@dataclass(frozen=True)
class VerdictRow:
    attempt_id: str
    claim_pk: int
    reviewer: str
    verdict: str
    note: str
    at: datetime


def add_verdict(
    engine: sa.Engine, attempt_id: str, reviewer_id: int, verdict: str, note: str, now: datetime
) -> int:
    if verdict not in VERDICTS:
        raise ReviewError(f"a verdict is one of {', '.join(VERDICTS)}")
    with engine.begin() as tx:
        claim_pk = tx.execute(
            sa.select(schema.attempts.c.claim_pk).where(schema.attempts.c.id == attempt_id)
        ).scalar()
        if claim_pk is None:
            raise ReviewError("no such attempt")
        tx.execute(
            schema.verdicts.insert().values(
                attempt_id=attempt_id, claim_pk=claim_pk, reviewer_id=reviewer_id,
                verdict=verdict, note=note.strip()[:2000], at=now,
            )
        )
        return int(claim_pk)


def add_verdicts(
    engine: sa.Engine, attempt_ids: list[str], reviewer_id: int, verdict: str, note: str,
    now: datetime,
) -> list[tuple[str, int]]:
    """One verdict per attempt, in one transaction: (attempt id, claim pk) of each."""
    if verdict not in VERDICTS:
        raise ReviewError(f"a verdict is one of {', '.join(VERDICTS)}")
    a = schema.attempts
    with engine.begin() as tx:
        found = dict(tx.execute(
            sa.select(a.c.id, a.c.claim_pk).where(a.c.id.in_(attempt_ids))
        ).tuples().all())
        done = [(attempt_id, int(found[attempt_id])) for attempt_id in attempt_ids
                if attempt_id in found]
        for attempt_id, claim_pk in done:
            tx.execute(schema.verdicts.insert().values(
                attempt_id=attempt_id, claim_pk=claim_pk, reviewer_id=reviewer_id,
                verdict=verdict, note=note[:2000], at=now,
            ))
    return done


def _verdict_rows(connection: sa.Connection, *where: Any) -> list[VerdictRow]:
    v, r = schema.verdicts, schema.reviewers
    rows = connection.execute(
        sa.select(v, r.c.name).join(r, r.c.id == v.c.reviewer_id).where(*where).order_by(v.c.id)
    )
    return [
        VerdictRow(m["attempt_id"], m["claim_pk"], m["name"], m["verdict"], m["note"],
                   aware_utc(m["at"]))  # type: ignore[arg-type]
        for m in (row._mapping for row in rows)
    ]


def verdicts(engine: sa.Engine, claim_pk: int | None = None) -> list[VerdictRow]:
    with engine.connect() as connection:
        if claim_pk is None:
            return _verdict_rows(connection)
        return _verdict_rows(connection, schema.verdicts.c.claim_pk == claim_pk)
