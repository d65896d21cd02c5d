"""Loading a claims file into the ledger a chunk at a time, so 100,000 claims take seconds.

One transaction per chunk, not per claim: the chunk's known versions and its
patient-months are each read with one query (``WHERE … IN``), the new versions, their
first events and the batch links are written with one insert-many each. The guarantees of
the claim-at-a-time path hold: a (claim_id, version) already in the ledger keeps its row
and its state (loading it again creates nothing), and the batch link is insert-or-ignore,
so a chunk can be loaded twice (a re-run after a crash) without doubling anything.

A chunk the database refuses as a whole (a constraint, a value too long, another process
inserting the same version between our read and our write) is retried claim by claim;
a claim still refused is reported back, never the reason for losing its neighbours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portalbot.ledger import schema
from portalbot.ledger.claims import ClaimStore
from portalbot.ledger.records import RawJson, aware_utc, derive_portal_key, patient_month_key
from portalbot.ledger.states import HELD, QUEUED

#: where a claim that occupies nothing sits: the payer never took it
_NOT_OCCUPYING = ("void", "held", "rejected")
_LOADED_REASON = "loaded from a claims file"


@dataclass(frozen=True)
class NewClaim:
    """One claim version as intake hands it to the ledger."""

    claim_id: str
    version: int
    payer_id: str
    service_month: str
    member_id: str
    frequency: str
    replaces: str | None
    payload: dict[str, Any] | RawJson  # RawJson: the claim already written as JSON
    findings: list[dict[str, Any]]
    blocked: bool
    location: str


@dataclass(frozen=True)
class Refused:
    """A claim the ledger would not take; ``why`` names the fault, never the claim's data."""

    claim: NewClaim
    why: str


@dataclass
class ChunkLoaded:
    new: list[int] = field(default_factory=list)  # ledger ids recorded for the first time
    known: list[int] = field(default_factory=list)  # ids that were already there
    refused: list[Refused] = field(default_factory=list)


@dataclass(frozen=True)
class BatchRow:
    id: str
    created_at: datetime
    loaded_at: datetime | None


class Loading(ClaimStore):
    """Batched intake, the batch's content hash and its "finished" mark."""

    def batches_by_hash(self, content_hash: str) -> list[BatchRow]:
        """The earlier batches of a file with these bytes, oldest first."""
        b = schema.batches.c
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(b.id, b.created_at, b.loaded_at).where(b.content_hash == content_hash)
                .order_by(b.created_at)
            ).all()
        return [BatchRow(r.id, aware_utc(r.created_at) or self.clock(), aware_utc(r.loaded_at))
                for r in rows]

    def linked_keys(self, batch_id: str) -> set[tuple[str, int]]:
        """The (claim_id, version) of every claim the batch holds."""
        c = schema.claims.c
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(c.claim_id, c.version)
                .join(schema.batch_claims, schema.batch_claims.c.claim_pk == c.id)
                .where(schema.batch_claims.c.batch_id == batch_id)
            ).all()
        return {(r.claim_id, r.version) for r in rows}

    def mark_loaded(self, batch_id: str, claims: int, unreadable: int) -> None:
        """The batch is in, whole: ``claims`` read and ``unreadable`` records (a streamed
        intake knows them only now)."""
        with self._tx() as tx:
            tx.execute(schema.batches.update().where(schema.batches.c.id == batch_id)
                       .values(loaded_at=self.clock(), claim_count=claims,
                               problem_count=unreadable))

    def patient_month_claims(self, keys: Iterable[str]) -> dict[str, set[str]]:
        """The claim ids occupying each of these patient-month keys (one query)."""
        c = schema.claims.c
        wanted = sorted(set(keys))
        found: dict[str, set[str]] = {}
        with self.engine.connect() as connection:
            for some in _slices(wanted):
                rows = connection.execute(
                    sa.select(c.patient_month, c.claim_id)
                    .where(c.patient_month.in_(some), c.state.not_in(_NOT_OCCUPYING))
                ).all()
                for key, claim_id in rows:
                    found.setdefault(key, set()).add(claim_id)
        return found

    def enqueue_many(self, batch_id: str, claims: Sequence[NewClaim], worker: str) -> ChunkLoaded:
        """Record a chunk of claim versions in one transaction; see the module docstring."""
        try:
            with self._tx() as tx:
                return self._enqueue_chunk(tx, batch_id, claims, worker)
        except (sa.exc.IntegrityError, sa.exc.DataError):
            return self._one_by_one(batch_id, claims, worker)

    def _enqueue_chunk(
        self, tx: sa.Connection, batch_id: str, claims: Sequence[NewClaim], worker: str
    ) -> ChunkLoaded:
        c = schema.claims.c
        result = ChunkLoaded()
        known: dict[tuple[str, int], int] = {}
        for chunk_ids in _slices(sorted({n.claim_id for n in claims})):
            rows = tx.execute(
                sa.select(c.id, c.claim_id, c.version).where(c.claim_id.in_(chunk_ids))
            ).all()
            known.update({(r.claim_id, r.version): r.id for r in rows})
        now = self.clock()
        fresh: dict[tuple[str, int], NewClaim] = {}
        for n in claims:
            if (n.claim_id, n.version) not in known:
                fresh.setdefault((n.claim_id, n.version), n)
        if fresh:
            inserted = tx.execute(
                schema.claims.insert().returning(c.id, c.claim_id, c.version, c.state),
                [_claim_row(batch_id, n, now) for n in fresh.values()],
            ).all()
            tx.execute(schema.events.insert(), [
                {"claim_pk": r.id, "at": now, "worker": worker, "from_state": None,
                 "to_state": r.state, "reason": _LOADED_REASON, "attempt_id": None,
                 "evidence": None}
                for r in inserted
            ])
            result.new = [r.id for r in inserted]
            new_keys = {(r.claim_id, r.version): r.id for r in inserted}
        else:
            new_keys = {}
        result.known = sorted({known[(n.claim_id, n.version)] for n in claims
                               if (n.claim_id, n.version) in known})
        links = {**new_keys, **known}
        tx.execute(_link_ignoring_existing(tx), [
            {"batch_id": batch_id, "claim_pk": links[(n.claim_id, n.version)],
             "location": n.location[:64]}
            for n in claims if (n.claim_id, n.version) in links
        ])
        return result

    def _one_by_one(self, batch_id: str, claims: Sequence[NewClaim], worker: str) -> ChunkLoaded:
        result = ChunkLoaded()
        for n in claims:
            try:
                with self._tx() as tx:
                    one = self._enqueue_chunk(tx, batch_id, [n], worker)
            except (sa.exc.IntegrityError, sa.exc.DataError) as exc:
                result.refused.append(Refused(n, _fault(exc)))
                continue
            result.new += one.new
            result.known += one.known
        return result


def _claim_row(batch_id: str, n: NewClaim, now: datetime) -> dict[str, Any]:
    return {
        "claim_id": n.claim_id, "version": n.version, "payer_id": n.payer_id,
        "service_month": n.service_month,
        "patient_month": patient_month_key(n.payer_id, n.member_id, n.service_month),
        "portal_key": derive_portal_key(n.claim_id, n.version), "frequency": n.frequency,
        "replaces": n.replaces, "state": HELD if n.blocked else QUEUED, "batch_id": batch_id,
        "payload": n.payload, "findings": n.findings, "created_at": now, "updated_at": now,
    }


def _link_ignoring_existing(tx: sa.Connection) -> Any:
    """An insert into batch_claims that skips a link already there (a resumed chunk)."""
    if tx.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert(schema.batch_claims).on_conflict_do_nothing()
    return sa.insert(schema.batch_claims).prefix_with("OR IGNORE", dialect="sqlite")


def _slices(values: list[str], size: int = 900) -> Iterable[list[str]]:
    """IN lists of a size every SQLite build accepts (older ones cap a statement at 999)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _fault(exc: sa.exc.DBAPIError) -> str:
    """Why the database refused a claim, by kind only: its message may quote claim data."""
    kind = "a value the ledger's columns cannot hold" if isinstance(exc, sa.exc.DataError) \
        else "a ledger constraint"
    return f"the ledger refused this claim ({kind}: {type(exc.orig).__name__}); nothing of it " \
           "was recorded; check its fields and load the file again"
