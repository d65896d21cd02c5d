"""The safety valves every worker shares through the ledger: per-account session slots,
submit pacing, named locks, one-time-code steps, and each payer's circuit breaker."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from portalbot.errors import LedgerError
from portalbot.ledger import schema
from portalbot.ledger.base import LedgerBase
from portalbot.ledger.records import (
    PERSON_CIRCUITS,
    Circuit,
    OwnerCheck,
    _nobody_dead,
    aware_utc,
)
from portalbot.ledger.states import (
    IN_DOUBT,
)


class Valves(LedgerBase):
    """Session slots, pacing, locks, code steps and circuits."""

    # --- shared limits: session slots, submit pacing, run locks -----------------------------
    def acquire_session_slot(
        self, payer_id: str, account: str, limit: int, holder: str, *,
        ttl_s: float = 900.0, dead_owner: OwnerCheck = _nobody_dead,
    ) -> int | None:
        """A slot number below ``limit`` for one more browser session, or None when full."""
        now = self.clock()
        dead = self._dead_owners(dead_owner)
        t = schema.session_slots
        try:
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
        except sa.exc.IntegrityError:
            # Another worker took the same free slot between our read and our insert
            # (PostgreSQL, read committed): it is not free; the caller asks again.
            return None
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
