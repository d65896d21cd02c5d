"""Single lookups the desk's pages need: the filter menus' values, one attempt row, one
attempt's evidence file (only inside the evidence directory), one batch's summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from portalbot.evidence import region_path
from portalbot.ledger import schema
from portalbot.review.queue import NO_VERDICT, QueueFilter, queue

EVIDENCE_KINDS = ("screenshot", "region", "html", "trace")


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
