"""Claims and their batches: intake of new versions (duplicates and patient-months
checked), the reads by claim, batch and state, and the moves a person makes (requeue)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from portalbot.ledger import schema
from portalbot.ledger.base import LedgerBase
from portalbot.ledger.records import (
    ClaimRecord,
    Enqueued,
    RequeueRefused,
    aware_utc,
    derive_portal_key,
    patient_month_key,
)
from portalbot.ledger.states import (
    FAILED,
    HELD,
    IN_DOUBT,
    NEEDS_HUMAN,
    QUEUED,
)


class ClaimStore(LedgerBase):
    """Claims and batches."""

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

    def claims_in_batch(self, batch_id: str, *, payload: bool = True) -> list[ClaimRecord]:
        """The batch's claims in ledger order. ``payload=False`` leaves each claim's data out
        (its ``payload`` is ``{}``): a summary of 100,000 claims reads in a fraction of the
        time, for callers that show states and reasons, never the claim itself."""
        columns: list[Any] = [c for c in schema.claims.c if payload or c.name != "payload"]
        if not payload:
            columns.append(sa.literal_column("'{}'").label("payload"))
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(*columns)
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

    def set_payer_claim_number(self, pk: int, number: str) -> None:
        with self._tx() as tx:
            tx.execute(
                schema.claims.update().where(schema.claims.c.id == pk)
                .values(payer_claim_number=number, updated_at=self.clock())
            )

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



def _pg_insert_ignore(batch_id: str, pk: int, location: str) -> Any:
    from sqlalchemy.dialects.postgresql import insert

    return (
        insert(schema.batch_claims)
        .values(batch_id=batch_id, claim_pk=pk, location=location[:64])
        .on_conflict_do_nothing()
    )
