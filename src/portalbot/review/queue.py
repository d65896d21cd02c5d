"""The review queue, its evidence files and batch summaries: what the desk reads.

The queue is the latest finished attempt of each claim with its current verdict, read
from the ledger's tables (the desk writes none of them).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from portalbot.evidence import region_path
from portalbot.ledger import aware_utc, schema
from portalbot.review.verdicts import VERDICTS, latest_verdict_ids

EVIDENCE_KINDS = ("screenshot", "region", "html", "trace")
NO_VERDICT = "none"
ALL = "all"


# --- the queue ------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows. Every value is an id or a code, never PHI: it travels in URLs."""

    batch: str | None = None
    payer: str | None = None
    state: str | None = None
    verdict: str | None = None  # verified, flagged or "none" (not reviewed yet)
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_params(cls, params: Any) -> QueueFilter:
        def text(key: str, limit: int = 64) -> str | None:
            value = (params.get(key) or "").strip()
            return value[:limit] or None

        def day(key: str) -> date | None:
            value = text(key, 10)
            try:
                return date.fromisoformat(value) if value else None
            except ValueError:
                return None

        # The desk opens on what is not reviewed yet; "all" shows every verdict.
        verdict = text("verdict")
        return cls(
            batch=text("batch"), payer=text("payer"), state=text("state"),
            verdict=None if verdict == ALL else verdict if verdict in VERDICTS else NO_VERDICT,
            date_from=day("from"), date_to=day("to"),
        )

    def to_params(self) -> dict[str, str]:
        values = {
            "batch": self.batch, "payer": self.payer, "state": self.state,
            "verdict": ALL if self.verdict is None else None if self.verdict == NO_VERDICT
            else self.verdict,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class QueueItem:
    attempt_id: str
    attempt_number: int
    claim_pk: int
    claim_id: str
    version: int
    payer_id: str
    state: str
    confirmation: str | None
    reason: str | None
    finished_at: datetime | None
    has_screenshot: bool
    verdict: str | None
    verdict_by: str | None
    portal_key: str | None = None
    result: str | None = None
    html: str | None = None
    screenshot: str | None = None


def queue(engine: sa.Engine, wanted: QueueFilter = QueueFilter()) -> list[QueueItem]:
    """The latest finished attempt of each claim, in ledger order, with its current verdict."""
    a, c, v, r = schema.attempts, schema.claims, schema.verdicts, schema.reviewers
    latest_attempt = (
        sa.select(a.c.claim_pk, sa.func.max(a.c.number).label("number"))
        .where(a.c.finished_at.is_not(None))
        .group_by(a.c.claim_pk)
        .subquery("latest_attempt")
    )
    latest_verdict = latest_verdict_ids()
    query = (
        sa.select(
            a.c.id, a.c.number, a.c.finished_at, a.c.screenshot, a.c.html, a.c.result,
            c.c.portal_key, c.c.id.label("claim_pk"),
            c.c.claim_id, c.c.version, c.c.payer_id, c.c.state, c.c.confirmation, c.c.reason,
            v.c.verdict, r.c.name.label("verdict_by"),
        )
        .join(latest_attempt, sa.and_(
            latest_attempt.c.claim_pk == a.c.claim_pk, latest_attempt.c.number == a.c.number
        ))
        .join(c, c.c.id == a.c.claim_pk)
        .outerjoin(latest_verdict, latest_verdict.c.attempt_id == a.c.id)
        .outerjoin(v, v.c.id == latest_verdict.c.verdict_id)
        .outerjoin(r, r.c.id == v.c.reviewer_id)
        .order_by(c.c.id)
    )
    if wanted.batch:
        query = query.where(c.c.id.in_(
            sa.select(schema.batch_claims.c.claim_pk).where(
                schema.batch_claims.c.batch_id == wanted.batch
            )
        ))
    if wanted.payer:
        query = query.where(c.c.payer_id == wanted.payer)
    if wanted.state:
        query = query.where(c.c.state == wanted.state)
    if wanted.verdict == NO_VERDICT:
        query = query.where(v.c.id.is_(None))
    elif wanted.verdict:
        query = query.where(v.c.verdict == wanted.verdict)
    if wanted.date_from:
        query = query.where(a.c.finished_at >= datetime.combine(wanted.date_from, time(), UTC))
    if wanted.date_to:
        end = datetime.combine(wanted.date_to + timedelta(days=1), time(), UTC)
        query = query.where(a.c.finished_at < end)
    with engine.connect() as connection:
        return [
            QueueItem(
                m["id"], m["number"], m["claim_pk"], m["claim_id"], m["version"], m["payer_id"],
                m["state"], m["confirmation"], m["reason"], aware_utc(m["finished_at"]),
                bool(m["screenshot"]), m["verdict"], m["verdict_by"], m["portal_key"],
                m["result"], m["html"], m["screenshot"],
            )
            for m in (row._mapping for row in connection.execute(query))
        ]


def queue_choices(engine: sa.Engine) -> dict[str, list[str]]:
    """The values the queue's filter menus offer."""
    with engine.connect() as connection:
        payers = connection.execute(
            sa.select(schema.claims.c.payer_id).distinct().order_by(schema.claims.c.payer_id)
        ).scalars().all()
        states = connection.execute(
            sa.select(schema.claims.c.state).distinct().order_by(schema.claims.c.state)
        ).scalars().all()
    return {"payers": list(payers), "states": list(states)}


def attempt_row(engine: sa.Engine, attempt_id: str) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(schema.attempts).where(schema.attempts.c.id == attempt_id)
        ).first()
    return dict(row._mapping) if row else None


# --- evidence -------------------------------------------------------------------------------

def evidence_file(engine: sa.Engine, attempt_id: str, kind: str, root: Path) -> Path | None:
    """The evidence file of one attempt, only if it really lies inside the evidence directory.

    The path comes from the ledger, never from the client; it is still resolved (symlinks
    included) and checked, so a tampered or stale row cannot reach outside ``root``.
    """
    if kind not in EVIDENCE_KINDS or not attempt_id.isalnum() or len(attempt_id) > 32:
        return None
    row = attempt_row(engine, attempt_id)
    column = "screenshot" if kind == "region" else kind
    if row is None or not row.get(column):
        return None
    path = Path(row[column])
    return contained(region_path(path) if kind == "region" else path, root)


def contained(path: Path, root: Path) -> Path | None:
    try:
        resolved = path.resolve(strict=True)
        base = root.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(base) or not resolved.is_file():
        return None
    return resolved


# --- batches --------------------------------------------------------------------------------

@dataclass
class BatchSummary:
    batch: dict[str, Any]
    total: int = 0
    by_state: Counter[str] = field(default_factory=Counter)
    by_payer: dict[str, Counter[str]] = field(default_factory=dict)
    by_verdict: Counter[str] = field(default_factory=Counter)


def batch_summary(engine: sa.Engine, batch_id: str) -> BatchSummary | None:
    with engine.connect() as connection:
        batch = connection.execute(
            sa.select(schema.batches).where(schema.batches.c.id == batch_id)
        ).first()
        if batch is None:
            return None
        rows = connection.execute(
            sa.select(schema.claims.c.payer_id, schema.claims.c.state)
            .join(schema.batch_claims, schema.batch_claims.c.claim_pk == schema.claims.c.id)
            .where(schema.batch_claims.c.batch_id == batch_id)
        ).all()
    summary = BatchSummary(batch=dict(batch._mapping))
    for payer_id, state in rows:
        summary.total += 1
        summary.by_state[state] += 1
        summary.by_payer.setdefault(payer_id, Counter())[state] += 1
    for item in queue(engine, QueueFilter(batch=batch_id)):
        summary.by_verdict[item.verdict or NO_VERDICT] += 1
    return summary
