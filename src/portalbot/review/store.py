"""Review data access: reviewers, sessions, verdicts, the audit log and the review queue.

Functions take the ledger's engine rather than living on ``Ledger`` so the review desk
stays a layer on top of the ledger: it reads claims and attempts, and writes only its own
tables. Verdicts and audit rows are append-only; the current verdict of an attempt is its
latest row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from portalbot.errors import PortalbotError
from portalbot.evidence import region_path
from portalbot.ledger import aware_utc, schema
from portalbot.ledger.verdicts import (  # noqa: F401 - the desk's flagged page reads them
    FLAGGED,
    FlaggedClaim,
    flagged_claims,
)
from portalbot.review.auth import ThrottlePolicy

VERIFIED = "verified"
VERDICTS = (VERIFIED, FLAGGED)
EVIDENCE_KINDS = ("screenshot", "region", "html", "trace")
NO_VERDICT = "none"
ALL = "all"

SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=12)
SESSION_TOUCH = timedelta(minutes=1)


class ReviewError(PortalbotError):
    """A review action that cannot be done: unknown reviewer, attempt or verdict."""


# --- reviewers ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reviewer:
    id: int
    name: str
    password_hash: str
    disabled: bool


def _reviewer(row: Any) -> Reviewer:
    m = row._mapping
    return Reviewer(m["id"], m["name"], m["password_hash"], bool(m["disabled"]))


def add_reviewer(engine: sa.Engine, name: str, password_hash: str, now: datetime) -> int:
    with engine.begin() as tx:
        exists = tx.execute(
            sa.select(schema.reviewers.c.id).where(schema.reviewers.c.name == name)
        ).first()
        if exists:
            raise ReviewError(f"a reviewer named {name!r} already exists")
        result = tx.execute(
            schema.reviewers.insert().values(name=name, password_hash=password_hash, created_at=now)
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def set_password(engine: sa.Engine, name: str, password_hash: str) -> None:
    with engine.begin() as tx:
        result = tx.execute(
            schema.reviewers.update()
            .where(schema.reviewers.c.name == name)
            .values(password_hash=password_hash, disabled=False)
        )
        if result.rowcount != 1:
            raise ReviewError(f"no reviewer named {name!r}")
        _drop_sessions_of(tx, name)


def disable_reviewer(engine: sa.Engine, name: str) -> None:
    """Disabling also ends the reviewer's open sessions, at once."""
    with engine.begin() as tx:
        result = tx.execute(
            schema.reviewers.update().where(schema.reviewers.c.name == name).values(disabled=True)
        )
        if result.rowcount != 1:
            raise ReviewError(f"no reviewer named {name!r}")
        _drop_sessions_of(tx, name)


def _drop_sessions_of(tx: sa.Connection, name: str) -> None:
    ids = sa.select(schema.reviewers.c.id).where(schema.reviewers.c.name == name)
    tx.execute(schema.review_sessions.delete().where(schema.review_sessions.c.reviewer_id.in_(ids)))


def reviewer_by_name(engine: sa.Engine, name: str) -> Reviewer | None:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(schema.reviewers).where(schema.reviewers.c.name == name)
        ).first()
    return _reviewer(row) if row else None


def reviewers(engine: sa.Engine) -> list[Reviewer]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(schema.reviewers).order_by(schema.reviewers.c.name))
        return [_reviewer(r) for r in rows]


# --- sessions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Session:
    token_hash: str
    reviewer_id: int
    reviewer_name: str
    csrf_token: str


def create_session(
    engine: sa.Engine, token_hash: str, reviewer_id: int, csrf_token: str, now: datetime
) -> None:
    with engine.begin() as tx:
        tx.execute(
            schema.review_sessions.insert().values(
                token_hash=token_hash, reviewer_id=reviewer_id, csrf_token=csrf_token,
                created_at=now, last_seen_at=now,
            )
        )


def touch_session(engine: sa.Engine, token_hash: str, now: datetime) -> Session | None:
    """The live session for a token, or None (expired sessions are deleted on sight).

    ``last_seen_at`` is written at most once a minute, so browsing is mostly reads and
    does not queue behind the workers for SQLite's write lock.
    """
    s, r = schema.review_sessions, schema.reviewers
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(s, r.c.name, r.c.disabled)
            .join(r, r.c.id == s.c.reviewer_id)
            .where(s.c.token_hash == token_hash)
        ).first()
    if row is None:
        return None
    m = row._mapping
    created, seen = aware_utc(m["created_at"]), aware_utc(m["last_seen_at"])
    assert created is not None and seen is not None
    if m["disabled"] or now - seen > SESSION_IDLE or now - created > SESSION_MAX:
        delete_session(engine, token_hash)
        return None
    if now - seen >= SESSION_TOUCH:
        with engine.begin() as tx:
            tx.execute(s.update().where(s.c.token_hash == token_hash).values(last_seen_at=now))
    return Session(token_hash, m["reviewer_id"], m["name"], m["csrf_token"])


def delete_session(engine: sa.Engine, token_hash: str) -> None:
    with engine.begin() as tx:
        tx.execute(
            schema.review_sessions.delete().where(
                schema.review_sessions.c.token_hash == token_hash
            )
        )


# --- sign-in throttle -----------------------------------------------------------------------

def locked_until(engine: sa.Engine, key: str, now: datetime) -> datetime | None:
    with engine.connect() as connection:
        value = connection.execute(
            sa.select(schema.signin_throttle.c.locked_until).where(
                schema.signin_throttle.c.key == key
            )
        ).scalar()
    until = aware_utc(value)
    return until if until is not None and until > now else None


def record_signin_failure(
    engine: sa.Engine, key: str, policy: ThrottlePolicy, now: datetime
) -> datetime | None:
    t = schema.signin_throttle
    with engine.begin() as tx:
        failures = tx.execute(sa.select(t.c.failures).where(t.c.key == key)).scalar()
        if failures is None:
            tx.execute(t.insert().values(key=key, failures=0))
            failures = 0
        failures += 1
        until = policy.locked_until(failures, now)
        tx.execute(
            t.update().where(t.c.key == key).values(
                failures=failures, last_failure_at=now, locked_until=until
            )
        )
    return until


def clear_signin_failures(engine: sa.Engine, key: str) -> None:
    with engine.begin() as tx:
        tx.execute(schema.signin_throttle.delete().where(schema.signin_throttle.c.key == key))


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


def _latest_verdict_ids() -> Any:
    v = schema.verdicts
    return (
        sa.select(v.c.attempt_id, sa.func.max(v.c.id).label("verdict_id"))
        .group_by(v.c.attempt_id)
        .subquery("latest_verdict")
    )


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
    latest_verdict = _latest_verdict_ids()
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
