"""Reviewers, their sign-in sessions and the sign-in throttle: who may use the desk.

Functions take the ledger's engine rather than living on ``Ledger`` so the review desk
stays a layer on top of the ledger, writing only its own tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from portalbot.errors import PortalbotError
from portalbot.ledger import aware_utc, schema
from portalbot.review.auth import ThrottlePolicy

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
