"""The ledger: durable record of every claim version, attempt and transition.

Every state change goes through ``_transition``, which checks the state machine, updates
the claim only if it is still in the state the caller saw (so two workers can never both
move it), and appends the event in the same transaction. The write-ahead intent
(``mark_submitting``) is its own committed transaction before the submit click.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from portalbot.errors import ClaimChanged, LedgerError
from portalbot.ledger import faults, schema
from portalbot.ledger.states import (
    ACCEPTED,
    FAILED,
    HELD,
    IN_DOUBT,
    NEEDS_HUMAN,
    PENDING,
    QUEUED,
    SUBMITTING,
    check_transition,
)
from portalbot.ledger.urls import connect_url, display_url
from portalbot.outcomes import Accepted, Denied, Outcome, Pending, Rejected
from portalbot.private import create_private_file, ensure_private_dir

Clock = Callable[[], datetime]
OwnerCheck = Callable[[str], bool]


class RequeueRefused(LedgerError):
    """A person asked to put a claim back on the queue and its state does not allow it."""


def _nobody_dead(_owner: str) -> bool:
    return False


def utcnow() -> datetime:
    return datetime.now(UTC)


def derive_portal_key(claim_id: str, version: int) -> str:
    """A short key the portal echoes back: 14 characters of [A-Z0-9], never the raw id."""
    digest = hashlib.sha256(f"{claim_id}\x00{version}".encode()).digest()
    return "PB" + base64.b32encode(digest).decode()[:12]


def patient_month_key(payer_id: str, member_id: str, service_month: str) -> str:
    """An opaque key for (payer, member, month), so the member ID is not an index value."""
    return hashlib.sha256(f"{payer_id}\x00{member_id}\x00{service_month}".encode()).hexdigest()


def aware_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; the ledger writes UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class ClaimRecord:
    pk: int
    claim_id: str
    version: int
    payer_id: str
    state: str
    portal_key: str
    frequency: str
    replaces: str | None
    account: str | None
    confirmation: str | None
    payer_claim_number: str | None
    reason_code: str | None
    reason: str | None
    attempt_count: int
    next_attempt_at: datetime | None
    batch_id: str
    payload: dict[str, Any]
    findings: list[dict[str, Any]]
    updated_at: datetime
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    current_attempt: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> ClaimRecord:
        m = row._mapping
        return cls(
            pk=m["id"], claim_id=m["claim_id"], version=m["version"], payer_id=m["payer_id"],
            state=m["state"], portal_key=m["portal_key"], frequency=m["frequency"],
            replaces=m["replaces"], account=m["account"], confirmation=m["confirmation"],
            payer_claim_number=m["payer_claim_number"], reason_code=m["reason_code"],
            reason=m["reason"], attempt_count=m["attempt_count"],
            next_attempt_at=aware_utc(m["next_attempt_at"]), batch_id=m["batch_id"],
            payload=m["payload"], findings=m["findings"],
            updated_at=aware_utc(m["updated_at"]) or utcnow(),
            lease_owner=m["lease_owner"], lease_expires_at=aware_utc(m["lease_expires_at"]),
            current_attempt=m["current_attempt"],
        )


@dataclass(frozen=True)
class Circuit:
    """A payer's breaker. ``kind``: "login" and "manual" stay open until a person resumes
    the payer; "drift" and "in_doubt" half-open once the cool-down has passed."""

    open: bool
    kind: str | None = None
    reason: str | None = None
    opened_at: datetime | None = None
    half_open: bool = False

    @property
    def signs_in(self) -> bool:
        """Whether read-only work (history searches) may still sign in to the portal."""
        return not self.open or self.kind not in PERSON_CIRCUITS


PERSON_CIRCUITS = frozenset({"login", "manual"})


@dataclass(frozen=True)
class Enqueued:
    record: ClaimRecord
    is_new: bool


@dataclass(frozen=True)
class Evidence:
    screenshot: str | None = None
    html: str | None = None
    trace: str | None = None


SQLITE_BUSY_TIMEOUT_S = 30.0


def _sqlite_pragmas(busy_timeout_s: float) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defeat BEGIN IMMEDIATE (see _make_engine).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.close()

    return on_connect


def _make_engine(url: str) -> sa.Engine:
    target = connect_url(url)  # LedgerUrlError for anything but SQLite and PostgreSQL
    if target.get_backend_name() == "sqlite":
        # How long to wait for another process's write lock before the run gives up
        # (a cron run may prefer to fail fast): sqlite:///FILE?timeout=SECONDS.
        busy_timeout_s = _seconds(target.query.get("timeout", str(SQLITE_BUSY_TIMEOUT_S)))
        target = target.difference_update_query(["timeout"])
        database = target.database
        if database and database != ":memory:":
            # Born 0600 in a 0700 folder; SQLite gives -wal/-shm/-journal the file's mode.
            ensure_private_dir(Path(database).parent)
            create_private_file(Path(database))
        engine = sa.create_engine(target, connect_args={"timeout": busy_timeout_s})
        sa.event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_s))
        # Let SQLite take the write lock at BEGIN so two writers queue instead of failing.
        sa.event.listen(
            engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE")
        )
        return engine
    return sa.create_engine(target, pool_pre_ping=True)


def _seconds(value: str | tuple[str, ...]) -> float:
    try:
        seconds = float(value if isinstance(value, str) else value[-1])
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86_400:
        raise LedgerError("the ledger URL's ?timeout= must be a number of seconds, like ?timeout=5")
    return seconds


def _sqlite_file(url: str) -> Path | None:
    database = sa.engine.make_url(url).database if url.startswith("sqlite") else None
    return Path(database) if database and database != ":memory:" else None


def _alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("portalbot.ledger") / "migrations")
    )
    config.attributes["connection"] = connection
    return config


class Ledger:
    """SQLite by default; PostgreSQL when several workers share the work."""

    def __init__(self, engine: sa.Engine, *, clock: Clock = utcnow):
        self.engine = engine
        self.clock = clock

    @classmethod
    def open(cls, url: str, *, clock: Clock = utcnow, migrate: bool = True) -> Ledger:
        try:
            engine = _make_engine(url)
            ledger = cls(engine, clock=clock)
            if migrate:
                ledger.migrate()
            else:
                ledger.check_schema()
        except sa.exc.OperationalError as exc:
            fault = faults.as_ledger_error(exc, _sqlite_file(url))
            if fault is not None:
                raise LedgerError(f"{fault.message} (ledger {display_url(url)})") from None
            raise LedgerError(
                f"the ledger {display_url(url)} cannot be reached ({type(exc.orig).__name__})"
            ) from None
        return ledger

    def close(self) -> None:
        self.engine.dispose()

    # --- schema --------------------------------------------------------------------
    def migrate(self) -> None:
        with self.engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")

    def check_schema(self) -> None:
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            head = ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()
        if current != head:
            raise LedgerError(
                f"the ledger schema is at {current or 'nothing'}, not {head}; "
                "run `portalbot ledger migrate`"
            )

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as connection:
            yield connection

    # --- batches and claims ----------------------------------------------------------
    def create_batch(
        self, file_name: str, content_hash: str, claim_count: int, problem_count: int
    ) -> str:
        batch_id = uuid.uuid4().hex
        with self._tx() as tx:
            tx.execute(
                schema.batches.insert().values(
                    id=batch_id, file_name=file_name[:255], content_hash=content_hash,
                    created_at=self.clock(), claim_count=claim_count,
                    problem_count=problem_count,
                )
            )
        return batch_id

    def enqueue(
        self,
        batch_id: str,
        *,
        claim_id: str,
        version: int,
        payer_id: str,
        service_month: str,
        member_id: str,
        frequency: str,
        replaces: str | None,
        payload: dict[str, Any],
        findings: list[dict[str, Any]],
        blocked: bool,
        location: str,
        worker: str,
    ) -> Enqueued:
        """Record a claim version once; a version already known keeps its state."""
        with self._tx() as tx:
            row = tx.execute(
                sa.select(schema.claims).where(
                    schema.claims.c.claim_id == claim_id, schema.claims.c.version == version
                )
            ).first()
            is_new = row is None
            if row is None:
                state = HELD if blocked else QUEUED
                now = self.clock()
                inserted = tx.execute(
                    schema.claims.insert().values(
                        claim_id=claim_id, version=version, payer_id=payer_id,
                        service_month=service_month,
                        patient_month=patient_month_key(payer_id, member_id, service_month),
                        portal_key=derive_portal_key(claim_id, version), frequency=frequency,
                        replaces=replaces, state=state, batch_id=batch_id, payload=payload,
                        findings=findings, created_at=now, updated_at=now,
                    )
                ).inserted_primary_key
                assert inserted is not None
                pk = int(inserted[0])
                self._append_event(tx, pk, worker, None, state, "loaded from a claims file")
            else:
                pk = row._mapping["id"]
            tx.execute(
                sa.insert(schema.batch_claims).values(
                    batch_id=batch_id, claim_pk=pk, location=location[:64]
                ).prefix_with("OR IGNORE", dialect="sqlite")
                if tx.dialect.name == "sqlite"
                else _pg_insert_ignore(batch_id, pk, location)
            )
            record = self._get(tx, pk)
        return Enqueued(record=record, is_new=is_new)

    def claim(self, pk: int) -> ClaimRecord:
        with self.engine.connect() as connection:
            return self._get(connection, pk)

    def find(self, claim_id: str, version: int) -> ClaimRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(schema.claims).where(
                    schema.claims.c.claim_id == claim_id, schema.claims.c.version == version
                )
            ).first()
        return ClaimRecord.from_row(row) if row else None

    def versions_of(self, claim_id: str) -> list[ClaimRecord]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(schema.claims)
                .where(schema.claims.c.claim_id == claim_id)
                .order_by(schema.claims.c.version)
            ).all()
        return [ClaimRecord.from_row(r) for r in rows]

    def claims_in_batch(self, batch_id: str) -> list[ClaimRecord]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(schema.claims)
                .join(schema.batch_claims, schema.batch_claims.c.claim_pk == schema.claims.c.id)
                .where(schema.batch_claims.c.batch_id == batch_id)
                .order_by(schema.claims.c.id)
            ).all()
        return [ClaimRecord.from_row(r) for r in rows]

    def all_claims(self, state: str | None = None) -> list[ClaimRecord]:
        query = sa.select(schema.claims).order_by(schema.claims.c.id)
        if state:
            query = query.where(schema.claims.c.state == state)
        with self.engine.connect() as connection:
            return [ClaimRecord.from_row(r) for r in connection.execute(query).all()]

    def batches(self) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(schema.batches).order_by(schema.batches.c.created_at)
            ).all()
        return [dict(r._mapping) for r in rows]

    def patient_month_claim_ids(self, payer_id: str, member_id: str, month: str) -> set[str]:
        key = patient_month_key(payer_id, member_id, month)
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(schema.claims.c.claim_id).where(
                    schema.claims.c.patient_month == key,
                    # Claims the payer never took do not occupy the patient-month.
                    schema.claims.c.state.not_in(["void", "held", "rejected"]),
                )
            ).all()
        return {r[0] for r in rows}

    def events(self, pk: int) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(schema.events)
                .where(schema.events.c.claim_pk == pk)
                .order_by(schema.events.c.id)
            ).all()
        return [dict(r._mapping) for r in rows]

    def attempts(self, pk: int) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(schema.attempts)
                .where(schema.attempts.c.claim_pk == pk)
                .order_by(schema.attempts.c.number)
            ).all()
        return [dict(r._mapping) for r in rows]

    # --- leasing -----------------------------------------------------------------------
    def lease(
        self,
        worker: str,
        *,
        batch_id: str | None = None,
        payer_ids: Sequence[str] | None = None,
        limit: int = 1,
        lease_s: float = 300.0,
        dead_owner: OwnerCheck = _nobody_dead,
        exclude: Sequence[int] = (),
        reconcile_only: Sequence[str] = (),
    ) -> list[ClaimRecord]:
        """Take up to ``limit`` claims that are due: queued, a failed one whose retry time
        has come, or an in_doubt one due for reconciliation. For the payers in
        ``reconcile_only`` (paused for drift or in-doubt bursts) only in_doubt claims.

        A lease held by a worker that is known to be dead (``dead_owner``) is free at once;
        any other lease is free only when it has expired.
        """
        now = self.clock()
        c = schema.claims.c
        in_doubt_due = sa.and_(c.state == IN_DOUBT, c.next_attempt_at <= now)
        due = sa.or_(
            c.state == QUEUED,
            sa.and_(c.state == FAILED, c.next_attempt_at <= now),
            in_doubt_due,
        )
        if payer_ids is not None:
            due = sa.and_(due, c.payer_id.in_(list(payer_ids)))
        if reconcile_only:
            due = sa.or_(due, sa.and_(in_doubt_due, c.payer_id.in_(list(reconcile_only))))
        dead = self._dead_owners(dead_owner)
        free = sa.or_(c.lease_owner.is_(None), c.lease_expires_at < now, c.lease_owner.in_(dead))
        query = sa.select(c.id).where(due, free).order_by(c.id).limit(limit)
        if batch_id:
            in_batch = sa.select(schema.batch_claims.c.claim_pk).where(
                schema.batch_claims.c.batch_id == batch_id
            )
            query = query.where(c.id.in_(in_batch))
        if exclude:
            query = query.where(c.id.not_in(list(exclude)))
        with self._tx() as tx:
            if tx.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            pks = [row[0] for row in tx.execute(query).all()]
            if not pks:
                return []
            tx.execute(
                schema.claims.update()
                .where(c.id.in_(pks))
                .values(lease_owner=worker, lease_expires_at=now + timedelta(seconds=lease_s))
            )
            leased = [self._get(tx, pk) for pk in pks]
            for record in leased:
                if record.state == FAILED:
                    self._transition(tx, record.pk, FAILED, QUEUED, worker, "retry is due")
        return [self.claim(r.pk) for r in leased]

    def status_candidates(
        self, payer_ids: Sequence[str] | None, accepted_since: datetime
    ) -> list[ClaimRecord]:
        """Claims whose payer verdict may still change: pending ones, recent accepted ones."""
        c = schema.claims.c
        query = sa.select(schema.claims).where(sa.or_(
            c.state == PENDING, sa.and_(c.state == ACCEPTED, c.updated_at >= accepted_since)
        )).order_by(c.payer_id, c.id)
        if payer_ids is not None:
            query = query.where(c.payer_id.in_(list(payer_ids)))
        with self.engine.connect() as connection:
            return [ClaimRecord.from_row(r) for r in connection.execute(query).all()]

    def set_payer_claim_number(self, pk: int, number: str) -> None:
        with self._tx() as tx:
            tx.execute(
                schema.claims.update().where(schema.claims.c.id == pk)
                .values(payer_claim_number=number, updated_at=self.clock())
            )

    def mark_evidence_purged(self, attempt_ids: Sequence[str]) -> None:
        """Evidence files are gone; the attempt keeps the record that they existed."""
        if not attempt_ids:
            return
        with self._tx() as tx:
            tx.execute(
                schema.attempts.update().where(schema.attempts.c.id.in_(list(attempt_ids)))
                .values(evidence_purged_at=self.clock())
            )

    def submitting_count(self, payer_ids: Sequence[str] | None = None) -> int:
        """Claims some worker is submitting right now (or was, until it is judged gone)."""
        c = schema.claims.c
        query = sa.select(sa.func.count()).where(c.state == SUBMITTING)
        if payer_ids is not None:
            query = query.where(c.payer_id.in_(list(payer_ids)))
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def due_count(
        self, payer_ids: Sequence[str] | None = None,
        states: Sequence[str] = (QUEUED, FAILED, IN_DOUBT),
    ) -> int:
        """How many claims a worker could take now (a cheap check before starting a browser)."""
        now = self.clock()
        c = schema.claims.c
        waiting = [s for s in states if s != QUEUED]
        query = sa.select(sa.func.count()).where(sa.or_(
            c.state == QUEUED if QUEUED in states else sa.false(),
            sa.and_(c.state.in_(waiting), c.next_attempt_at <= now),
        ))
        if payer_ids is not None:
            query = query.where(c.payer_id.in_(list(payer_ids)))
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def waiting(self, payer_ids: Sequence[str] | None = None) -> dict[str, tuple[int, datetime]]:
        """Claims waiting for a later time (failed retries, in-doubt reconciliations): by
        state, how many and when the first is due."""
        c = schema.claims.c
        query = (
            sa.select(c.state, sa.func.count(), sa.func.min(c.next_attempt_at))
            .where(c.state.in_([FAILED, IN_DOUBT]), c.next_attempt_at.is_not(None))
            .group_by(c.state)
        )
        if payer_ids is not None:
            query = query.where(c.payer_id.in_(list(payer_ids)))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return {state: (int(n), aware_utc(due) or self.clock()) for state, n, due in rows}

    def release(self, pk: int, worker: str) -> None:
        with self._tx() as tx:
            tx.execute(
                schema.claims.update()
                .where(schema.claims.c.id == pk, schema.claims.c.lease_owner == worker)
                .values(lease_owner=None, lease_expires_at=None)
            )

    def expire_submissions(
        self,
        worker: str,
        dead_owner: OwnerCheck = _nobody_dead,
        *,
        grace_s: float = 0.0,
        landing_s: float = 0.0,
        settle_s: Mapping[str, float] | None = None,
    ) -> list[int]:
        """Claims left in ``submitting`` by a worker that died become in_doubt: the click
        may or may not have landed.

        An owner that may be alive keeps the claim until its lease *and* ``grace_s`` (the
        post-click deadline every worker keeps) have passed: until then its request may
        still be in flight and its answer still on the way. Reconciliation is due once the
        request can no longer land (the intent plus ``landing_s``, and not before now) and
        the payer's history has caught up (``settle_s`` by payer).
        """
        now = self.clock()
        c = schema.claims.c
        a = schema.attempts.c
        dead = self._dead_owners(dead_owner)
        settle = settle_s or {}
        with self._tx() as tx:
            rows = tx.execute(
                sa.select(c.id, c.payer_id, a.intent_at)
                .select_from(schema.claims.outerjoin(
                    schema.attempts, a.id == c.current_attempt))
                .where(
                    c.state == SUBMITTING,
                    sa.or_(
                        c.lease_expires_at < now - timedelta(seconds=grace_s),
                        c.lease_owner.in_(dead),
                    ),
                )
            ).all()
            for pk, payer_id, intent_at in rows:
                lands_by = max(now, (aware_utc(intent_at) or now) + timedelta(seconds=landing_s))
                self._transition(
                    tx, pk, SUBMITTING, IN_DOUBT, worker,
                    "the worker stopped between the submit click and its outcome",
                    lease_owner=None, lease_expires_at=None,
                    next_attempt_at=lands_by + timedelta(seconds=settle.get(payer_id, 0.0)),
                )
        return [row[0] for row in rows]

    def postpone(self, pk: int, worker: str, until: datetime) -> None:
        """Leave a leased claim in its state, due again at ``until``."""
        with self._tx() as tx:
            tx.execute(
                schema.claims.update()
                .where(schema.claims.c.id == pk, schema.claims.c.lease_owner == worker)
                .values(next_attempt_at=until, lease_owner=None, lease_expires_at=None)
            )

    def _dead_owners(self, dead_owner: OwnerCheck) -> list[str]:
        with self.engine.connect() as connection:
            owners = {
                row[0]
                for query in (
                    sa.select(schema.claims.c.lease_owner).distinct(),
                    sa.select(schema.session_slots.c.holder).distinct(),
                    sa.select(schema.locks.c.holder).distinct(),
                )
                for row in connection.execute(query).all()
                if row[0]
            }
        return [owner for owner in owners if dead_owner(owner)]

    # --- shared limits: session slots, submit pacing, run locks -----------------------------
    def acquire_session_slot(
        self, payer_id: str, account: str, limit: int, holder: str, *,
        ttl_s: float = 900.0, dead_owner: OwnerCheck = _nobody_dead,
    ) -> int | None:
        """A slot number below ``limit`` for one more browser session, or None when full."""
        now = self.clock()
        dead = self._dead_owners(dead_owner)
        t = schema.session_slots
        with self._tx() as tx:
            tx.execute(t.delete().where(
                t.c.payer_id == payer_id, t.c.account == account,
                sa.or_(t.c.expires_at < now, t.c.holder.in_(dead)),
            ))
            taken = {row[0] for row in tx.execute(
                sa.select(t.c.slot).where(t.c.payer_id == payer_id, t.c.account == account)
            ).all()}
            free = next((n for n in range(limit) if n not in taken), None)
            if free is not None:
                tx.execute(t.insert().values(
                    payer_id=payer_id, account=account, slot=free, holder=holder,
                    expires_at=now + timedelta(seconds=ttl_s),
                ))
        return free

    def release_session_slot(self, payer_id: str, account: str, slot: int, holder: str) -> None:
        t = schema.session_slots
        with self._tx() as tx:
            tx.execute(t.delete().where(
                t.c.payer_id == payer_id, t.c.account == account, t.c.slot == slot,
                t.c.holder == holder,
            ))

    def take_submit_turn(self, payer_id: str, min_interval_s: float) -> float:
        """Claim the payer's next submission turn; returns seconds to wait (0: go now)."""
        now = self.clock()
        p = schema.payers
        with self._tx() as tx:
            self._ensure_payer(tx, payer_id)
            last = aware_utc(tx.execute(
                sa.select(p.c.last_submit_at).where(p.c.payer_id == payer_id)
            ).scalar_one())
            if last is not None and (now - last).total_seconds() < min_interval_s:
                return min_interval_s - (now - last).total_seconds()
            tx.execute(p.update().where(p.c.payer_id == payer_id).values(last_submit_at=now))
        return 0.0

    def try_lock(
        self, name: str, holder: str, *, ttl_s: float = 3600.0,
        dead_owner: OwnerCheck = _nobody_dead,
    ) -> bool:
        now = self.clock()
        dead = self._dead_owners(dead_owner)
        t = schema.locks
        with self._tx() as tx:
            tx.execute(t.delete().where(
                t.c.name == name, sa.or_(t.c.expires_at < now, t.c.holder.in_(dead))
            ))
            if tx.execute(sa.select(t.c.holder).where(t.c.name == name)).first():
                return False
            tx.execute(t.insert().values(
                name=name, holder=holder, expires_at=now + timedelta(seconds=ttl_s)
            ))
        return True

    def unlock(self, name: str, holder: str) -> None:
        t = schema.locks
        with self._tx() as tx:
            tx.execute(t.delete().where(t.c.name == name, t.c.holder == holder))

    def reserve_code_step(
        self, payer_id: str, account: str, earliest: int, holder: str, *, step_s: int = 30
    ) -> int:
        """Reserve the lowest one-time-code time step at or after ``earliest`` that no other
        session of this portal account holds, for every process and host on this ledger.

        A portal refuses a code used twice, so each (payer, account, step) is one row in
        ``locks``, inserted atomically; it is kept until the portal can no longer accept
        that step's code (its own window and one more, for clock drift), then swept.
        """
        digest = hashlib.sha256(f"{payer_id}\x00{account}".encode()).hexdigest()[:16]
        prefix = f"totp:{digest}:"
        t = schema.locks
        for _ in range(8):
            now = self.clock()
            try:
                with self._tx() as tx:
                    tx.execute(t.delete().where(t.c.name.startswith(prefix), t.c.expires_at < now))
                    taken = {
                        int(row[0][len(prefix):]) for row in
                        tx.execute(sa.select(t.c.name).where(t.c.name.startswith(prefix))).all()
                    }
                    step = earliest
                    while step in taken:
                        step += 1
                    keep = timedelta(seconds=(step - earliest + 3) * step_s)
                    tx.execute(t.insert().values(
                        name=f"{prefix}{step}", holder=holder[:64], expires_at=now + keep
                    ))
                return step
            except sa.exc.IntegrityError:
                continue  # another host took the same step at the same moment: take the next
        raise LedgerError(f"could not reserve a one-time-code step for payer {payer_id}")

    def backup(self, target: Path) -> None:
        """An online copy of a SQLite ledger (PostgreSQL: use pg_dump)."""
        if self.engine.dialect.name != "sqlite":
            raise LedgerError("backup copies SQLite ledgers; for PostgreSQL use pg_dump")
        import sqlite3

        # Into an exclusive 0600 file beside the target, renamed over it when complete: the
        # copy is never readable by others, and a symlink at the target is never followed.
        ensure_private_dir(target.parent)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                                 suffix=".part")
        os.close(descriptor)
        try:
            destination = sqlite3.connect(temporary)
            try:
                with self.engine.connect() as connection:
                    source = connection.connection.driver_connection
                    source.backup(destination)  # type: ignore[union-attr]
            finally:
                destination.close()
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    # --- attempts and outcomes ---------------------------------------------------------
    def begin_attempt(self, pk: int, worker: str, kind: str = "submit") -> str:
        attempt_id = uuid.uuid4().hex
        with self._tx() as tx:
            number = tx.execute(
                sa.select(sa.func.count()).where(schema.attempts.c.claim_pk == pk)
            ).scalar_one() + 1
            tx.execute(
                schema.attempts.insert().values(
                    id=attempt_id, claim_pk=pk, number=number, worker=worker, kind=kind,
                    started_at=self.clock(),
                )
            )
            if kind == "submit":
                tx.execute(
                    schema.claims.update()
                    .where(schema.claims.c.id == pk)
                    .values(attempt_count=schema.claims.c.attempt_count + 1)
                )
        return attempt_id

    def mark_submitting(
        self, pk: int, attempt_id: str, worker: str, account: str, lease_s: float | None = None
    ) -> None:
        """The write-ahead intent: committed before the click, or the click does not happen.

        ``lease_s`` renews the lease in the same transaction, so the click starts with a
        full lease.
        """
        renewal: dict[str, Any] = {} if lease_s is None else {
            "lease_expires_at": self.clock() + timedelta(seconds=lease_s)
        }
        with self._tx() as tx:
            owner = tx.execute(
                sa.select(schema.claims.c.lease_owner).where(schema.claims.c.id == pk)
            ).scalar_one()
            if owner != worker:
                raise ClaimChanged("the claim's lease is held by another worker")
            self._transition(
                tx, pk, QUEUED, SUBMITTING, worker, "submit intent", attempt_id=attempt_id,
                account=account, current_attempt=attempt_id, **renewal,
            )
            tx.execute(
                schema.attempts.update()
                .where(schema.attempts.c.id == attempt_id)
                .values(intent_at=self.clock())
            )

    def record_outcome(
        self,
        pk: int,
        attempt_id: str | None,
        worker: str,
        outcome: Outcome,
        *,
        expected_state: str,
        reason: str,
        evidence: Evidence = Evidence(),
        retries: int = 0,
        fence: str | None = None,
    ) -> ClaimRecord:
        """Record what the portal answered. With ``fence`` (the attempt that clicked) the
        answer lands only while that attempt still owns the claim, submitting or in_doubt;
        a late one is kept on its own attempt and raises ``ClaimChanged``."""
        fields: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
        if isinstance(outcome, Accepted):
            fields.update(
                confirmation=outcome.confirmation, payer_claim_number=outcome.payer_claim_number
            )
        elif isinstance(outcome, Pending):
            fields.update(confirmation=outcome.reference)
        elif isinstance(outcome, Rejected):
            fields.update(reason_code=outcome.reason_code)
            if outcome.reference:
                fields.update(confirmation=outcome.reference)
        elif isinstance(outcome, Denied):
            fields.update(reason_code=outcome.reason_code)
        fields["reason"] = outcome.summary
        if fence is not None:
            expected_state = self._fenced_state(pk, fence, worker, outcome.state, outcome.summary)
        with self._tx() as tx:
            self._transition(
                tx, pk, expected_state, outcome.state, worker, reason,
                attempt_id=attempt_id, evidence=evidence.screenshot, fence=fence, **fields,
            )
            if attempt_id:
                self._finish_attempt(
                    tx, attempt_id, outcome.state, outcome.summary, evidence, retries
                )
            return self._get(tx, pk)

    def record_failure(
        self,
        pk: int,
        attempt_id: str | None,
        worker: str,
        *,
        expected_state: str,
        target_state: str,
        reason: str,
        next_attempt_at: datetime | None = None,
        evidence: Evidence = Evidence(),
        retries: int = 0,
        fence: str | None = None,
    ) -> ClaimRecord:
        if fence is not None:
            expected_state = self._fenced_state(pk, fence, worker, target_state, reason)
        with self._tx() as tx:
            self._transition(
                tx, pk, expected_state, target_state, worker, reason,
                attempt_id=attempt_id, evidence=evidence.screenshot, reason=reason,
                next_attempt_at=next_attempt_at, lease_owner=None, lease_expires_at=None,
                fence=fence,
            )
            if attempt_id:
                self._finish_attempt(tx, attempt_id, target_state, reason, evidence, retries)
            return self._get(tx, pk)

    def _fenced_state(self, pk: int, fence: str, worker: str, state: str, detail: str) -> str:
        """The state an after-click answer moves the claim from, while ``fence`` owns it."""
        with self.engine.connect() as connection:
            record = self._get(connection, pk)
        if record.current_attempt == fence and record.state in (SUBMITTING, IN_DOUBT):
            return record.state
        self.note_late(pk, fence, worker, record.state, f"{state}: {detail}")
        raise ClaimChanged(
            f"claim {record.claim_id} v{record.version} was taken over before this attempt's "
            f"answer ({state}) arrived; it is kept on the attempt"
        )

    def note_late(self, pk: int, attempt_id: str, worker: str, current: str, detail: str) -> None:
        """A stale attempt's late answer: an event on its own attempt, the claim untouched."""
        with self._tx() as tx:
            tx.execute(
                schema.attempts.update()
                .where(schema.attempts.c.id == attempt_id)
                .values(finished_at=self.clock(), result="late", detail=detail)
            )
            self._append_event(
                tx, pk, worker, current, current,
                f"late answer from a superseded attempt, not applied: {detail}", attempt_id,
            )

    def attempt(self, attempt_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(schema.attempts).where(schema.attempts.c.id == attempt_id)
            ).first()
        return dict(row._mapping) if row is not None else None

    def note_attempt(
        self, attempt_id: str, result: str, detail: str, evidence: Evidence, retries: int = 0
    ) -> None:
        """Close an attempt that changed no state (a dry run, a search that found nothing)."""
        with self._tx() as tx:
            self._finish_attempt(tx, attempt_id, result, detail, evidence, retries)

    def transition(self, pk: int, expected: str | None, target: str, worker: str, reason: str) -> None:
        with self._tx() as tx:
            self._transition(tx, pk, expected, target, worker, reason)

    def requeue(
        self, pk: int, person: str, reason: str, *, checked_portal: bool = False
    ) -> ClaimRecord:
        """A person's way back: a ``failed`` or ``needs_human`` claim goes back on the queue
        once someone has looked at the portal, recorded with who and why.

        An ``in_doubt`` claim may already be on the portal, so only a person who searched
        the portal and did not find it (``checked_portal``) can send it back; otherwise
        reconciliation settles it. A claim a worker holds right now is left alone.
        """
        with self._tx() as tx:
            record = self._get(tx, pk)
            where = f"claim {record.claim_id} v{record.version}"
            if record.state == IN_DOUBT and not checked_portal:
                raise RequeueRefused(
                    f"{where} is in_doubt: the portal may already hold it. `portalbot resubmit` "
                    "settles it from the portal's claim history; or, once a person has searched "
                    f"the portal for patient account number {record.portal_key} and not found "
                    "it, requeue it with --checked-portal"
                )
            if record.state not in {FAILED, NEEDS_HUMAN, IN_DOUBT}:
                raise RequeueRefused(
                    f"{where} is {record.state}; only failed, needs_human and (with "
                    "--checked-portal) in_doubt claims can be put back on the queue"
                )
            lease = aware_utc(tx.execute(
                sa.select(schema.claims.c.lease_expires_at).where(schema.claims.c.id == pk)
            ).scalar_one())
            if lease is not None and lease > self.clock():
                raise RequeueRefused(
                    f"{where} is being worked on by a worker right now; try again once it is done"
                )
            checked = "; the person searched the portal and it is not there" if checked_portal else ""
            self._transition(
                tx, pk, record.state, QUEUED, person[:64],
                f"put back on the queue by {person}: {reason}{checked}",
                next_attempt_at=None, lease_owner=None, lease_expires_at=None,
            )
            return self._get(tx, pk)

    # --- payers: the shared safety valves ------------------------------------------------
    def circuit(self, payer_id: str, cooldown_s: float = 900.0) -> Circuit:
        """The payer's breaker as of now; half-open once a drift or in-doubt circuit has
        been open for ``cooldown_s``."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(schema.payers).where(schema.payers.c.payer_id == payer_id)
            ).first()
        if row is None or not row._mapping["circuit_open"]:
            return Circuit(open=False)
        m = row._mapping
        kind = m["circuit_kind"] or "manual"
        opened_at = aware_utc(m["circuit_opened_at"] or m["updated_at"])
        half_open = kind not in PERSON_CIRCUITS and opened_at is not None and (
            self.clock() >= opened_at + timedelta(seconds=cooldown_s)
        )
        return Circuit(True, kind, m["circuit_reason"], opened_at, half_open)

    def payer_circuit(self, payer_id: str) -> tuple[bool, str | None]:
        circuit = self.circuit(payer_id)
        return circuit.open, circuit.reason

    def open_circuit(self, payer_id: str, reason: str, kind: str = "manual") -> None:
        self._upsert_payer(
            payer_id, circuit_open=True, circuit_reason=reason, circuit_kind=kind,
            circuit_opened_at=self.clock(),
        )

    def resume_payer(self, payer_id: str) -> None:
        self._upsert_payer(
            payer_id, circuit_open=False, circuit_reason=None, circuit_kind=None,
            circuit_opened_at=None, consecutive_failures=0,
        )

    def payer_failure(self, payer_id: str, reason: str, threshold: int, kind: str = "drift") -> bool:
        """Count a consecutive failure; True when this one opened the circuit. A failure
        while the circuit is open (a half-open trial that failed) starts its cool-down again."""
        with self._tx() as tx:
            self._ensure_payer(tx, payer_id)
            row = tx.execute(
                sa.select(schema.payers).where(schema.payers.c.payer_id == payer_id)
            ).one()
            failures = row._mapping["consecutive_failures"] + 1
            was_open = bool(row._mapping["circuit_open"])
            opens = failures >= threshold and not was_open
            values: dict[str, Any] = {"consecutive_failures": failures, "updated_at": self.clock()}
            if opens:
                values.update(circuit_open=True, circuit_reason=reason, circuit_kind=kind,
                              circuit_opened_at=self.clock())
            elif was_open and row._mapping["circuit_kind"] not in PERSON_CIRCUITS:
                values.update(circuit_opened_at=self.clock())
            tx.execute(
                schema.payers.update().where(schema.payers.c.payer_id == payer_id).values(**values)
            )
        return opens

    def payer_success(self, payer_id: str) -> None:
        """Close the run of consecutive failures, and a drift or in-doubt circuit (the
        half-open trial went through). Writes (and syncs) only when there is something to
        reset: this follows every accepted claim."""
        p = schema.payers
        closable = sa.or_(p.c.circuit_kind.is_(None), p.c.circuit_kind.not_in(list(PERSON_CIRCUITS)))
        with self._tx() as tx:
            tx.execute(
                p.update()
                .where(p.c.payer_id == payer_id, p.c.circuit_open == sa.true(), closable)
                .values(circuit_open=False, circuit_reason=None, circuit_kind=None,
                        circuit_opened_at=None, consecutive_failures=0, updated_at=self.clock())
            )
            tx.execute(
                p.update()
                .where(p.c.payer_id == payer_id, p.c.consecutive_failures != 0,
                       p.c.circuit_open == sa.false())
                .values(consecutive_failures=0, updated_at=self.clock())
            )

    def close_settled_circuit(self, payer_id: str) -> bool:
        """An in-doubt circuit whose claims the portal's history has all settled closes."""
        p = schema.payers
        c = schema.claims.c
        with self._tx() as tx:
            left = tx.execute(
                sa.select(sa.func.count()).where(c.payer_id == payer_id, c.state == IN_DOUBT)
            ).scalar_one()
            if left:
                return False
            result = tx.execute(
                p.update()
                .where(p.c.payer_id == payer_id, p.c.circuit_open == sa.true(),
                       p.c.circuit_kind == "in_doubt")
                .values(circuit_open=False, circuit_reason=None, circuit_kind=None,
                        circuit_opened_at=None, consecutive_failures=0, updated_at=self.clock())
            )
        return bool(result.rowcount)

    def _ensure_payer(self, tx: sa.Connection, payer_id: str) -> None:
        exists = tx.execute(
            sa.select(schema.payers.c.payer_id).where(schema.payers.c.payer_id == payer_id)
        ).first()
        if not exists:
            tx.execute(schema.payers.insert().values(payer_id=payer_id, updated_at=self.clock()))

    def _upsert_payer(self, payer_id: str, **values: Any) -> None:
        with self._tx() as tx:
            self._ensure_payer(tx, payer_id)
            tx.execute(
                schema.payers.update()
                .where(schema.payers.c.payer_id == payer_id)
                .values(updated_at=self.clock(), **values)
            )

    # --- internals -------------------------------------------------------------------
    def _get(self, connection: sa.Connection, pk: int) -> ClaimRecord:
        row = connection.execute(sa.select(schema.claims).where(schema.claims.c.id == pk)).first()
        if row is None:
            raise LedgerError(f"no claim with ledger id {pk}")
        return ClaimRecord.from_row(row)

    def _transition(
        self,
        tx: sa.Connection,
        pk: int,
        expected: str | None,
        target: str,
        worker: str,
        event_reason: str,
        *,
        attempt_id: str | None = None,
        evidence: str | None = None,
        fence: str | None = None,
        **fields: Any,
    ) -> None:
        check_transition(expected, target)
        c = schema.claims.c
        where = [c.id == pk, c.state == expected]
        if fence is not None:
            where.append(c.current_attempt == fence)
        result = tx.execute(
            schema.claims.update().where(*where).values(state=target, updated_at=self.clock(), **fields)
        )
        if result.rowcount != 1:
            raise ClaimChanged(
                f"claim {pk} is no longer {expected}; another worker changed it first"
            )
        self._append_event(tx, pk, worker, expected, target, event_reason, attempt_id, evidence)

    def _append_event(
        self,
        tx: sa.Connection,
        pk: int,
        worker: str,
        from_state: str | None,
        to_state: str,
        reason: str,
        attempt_id: str | None = None,
        evidence: str | None = None,
    ) -> None:
        tx.execute(
            schema.events.insert().values(
                claim_pk=pk, at=self.clock(), worker=worker, from_state=from_state,
                to_state=to_state, reason=reason, attempt_id=attempt_id, evidence=evidence,
            )
        )

    def _finish_attempt(
        self,
        tx: sa.Connection,
        attempt_id: str,
        result: str,
        detail: str,
        evidence: Evidence,
        retries: int = 0,
    ) -> None:
        tx.execute(
            schema.attempts.update()
            .where(schema.attempts.c.id == attempt_id)
            .values(
                finished_at=self.clock(), result=result, detail=detail, retries=retries,
                screenshot=evidence.screenshot, html=evidence.html, trace=evidence.trace,
            )
        )


def _pg_insert_ignore(batch_id: str, pk: int, location: str) -> Any:
    from sqlalchemy.dialects.postgresql import insert

    return (
        insert(schema.batch_claims)
        .values(batch_id=batch_id, claim_pk=pk, location=location[:64])
        .on_conflict_do_nothing()
    )
