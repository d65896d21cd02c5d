"""The queue: leasing the next due claim to one worker, releasing and postponing it,
taking over claims whose worker died or ran past its deadline, and what is waiting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from portalbot.ledger import schema
from portalbot.ledger.base import LedgerBase
from portalbot.ledger.records import (
    ClaimRecord,
    OwnerCheck,
    _nobody_dead,
    aware_utc,
)
from portalbot.ledger.states import (
    ACCEPTED,
    FAILED,
    IN_DOUBT,
    PENDING,
    QUEUED,
    SUBMITTING,
)


class QueueStore(LedgerBase):
    """Leases and due claims."""

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
        dead = self._dead_owners(dead_owner)
        with self._tx() as tx:
            pks = sorted(
                pk for query in _due_queries(now, dead, batch_id, payer_ids, limit, exclude,
                                             reconcile_only, tx.dialect.name == "postgresql")
                for pk in tx.execute(query).scalars().all()
            )[:limit]
            if not pks:
                return []
            tx.execute(
                schema.claims.update()
                .where(schema.claims.c.id.in_(pks))
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
        # One count per state, each a range of one index: ORed, SQLite reads the table.
        counts = [
            sa.select(sa.func.count()).where(
                c.state == state, *(() if state == QUEUED else (c.next_attempt_at <= now,)))
            for state in states
        ]
        if payer_ids is not None:
            counts = [q.where(c.payer_id.in_(list(payer_ids))) for q in counts]
        with self.engine.connect() as connection:
            return sum(int(connection.execute(q).scalar_one()) for q in counts)

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


def _due_queries(
    now: datetime, dead: list[str], batch_id: str | None, payer_ids: Sequence[str] | None,
    limit: int, exclude: Sequence[int], reconcile_only: Sequence[str], lock: bool,
) -> list[sa.Select[Any]]:
    """The next due claims, one query per kind of due (and per payer), each read in ledger
    order from an index with its own LIMIT: queued by (state, id), failed and in_doubt by
    (state, next_attempt_at). One query with the three ORed would walk the primary key past
    every accepted claim before it found a queued one. The caller keeps the ``limit``
    oldest; on PostgreSQL each query skips rows another worker has locked, so two workers
    take two claims."""
    c = schema.claims.c
    free = sa.or_(c.lease_owner.is_(None), c.lease_expires_at < now, c.lease_owner.in_(dead))
    kinds: list[tuple[Any, Sequence[str] | None]] = [
        (c.state == QUEUED, payer_ids),
        (sa.and_(c.state == FAILED, c.next_attempt_at <= now), payer_ids),
        (sa.and_(c.state == IN_DOUBT, c.next_attempt_at <= now),
         None if payer_ids is None else [*payer_ids, *reconcile_only]),
    ]
    queries = []
    for due, payers in kinds:
        for payer in (None,) if payers is None else dict.fromkeys(payers):
            query = sa.select(c.id).where(due, free)
            if payer is not None:
                query = query.where(c.payer_id == payer)
            if batch_id:
                query = query.where(c.id.in_(sa.select(schema.batch_claims.c.claim_pk).where(
                    schema.batch_claims.c.batch_id == batch_id)))
            if exclude:
                query = query.where(c.id.not_in(list(exclude)))
            query = query.order_by(c.id).limit(limit)
            queries.append(query.with_for_update(skip_locked=True) if lock else query)
    return queries
