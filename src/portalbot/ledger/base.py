"""The ledger's one way to change a claim: ``_transition`` checks the state machine,
updates the claim only if it is still in the state the caller saw (so two workers can
never both move it) and, when fenced, only for the attempt that owns it, and appends the
event in the same transaction. Every part of the ledger builds on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from portalbot.errors import ClaimChanged, LedgerError
from portalbot.ledger import schema
from portalbot.ledger.records import (
    ClaimRecord,
    Clock,
    Evidence,
    OwnerCheck,
    utcnow,
)
from portalbot.ledger.states import (
    check_transition,
)


class LedgerBase:
    """The engine, the clock, and the transaction and transition every part uses."""

    def __init__(self, engine: sa.Engine, *, clock: Clock = utcnow):
        self.engine = engine
        self.clock = clock

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as connection:
            yield connection

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

    def _dead_owners(self, dead_owner: OwnerCheck) -> list[str]:
        with self.engine.connect() as connection:
            owners = {
                row[0]
                for query in (
                    # Read from the partial index of held leases, not every claim.
                    sa.select(schema.claims.c.lease_owner).distinct()
                    .where(schema.claims.c.lease_owner.is_not(None)),
                    sa.select(schema.session_slots.c.holder).distinct(),
                    sa.select(schema.locks.c.holder).distinct(),
                )
                for row in connection.execute(query).all()
                if row[0]
            }
        return [owner for owner in owners if dead_owner(owner)]

    def claim(self, pk: int) -> ClaimRecord:
        with self.engine.connect() as connection:
            return self._get(connection, pk)
