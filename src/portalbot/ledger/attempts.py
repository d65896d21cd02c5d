"""Attempts and their evidence: the write-ahead intent before the submit click, the
outcome or failure after it (fenced by the attempt that owns the claim), late answers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from portalbot.errors import ClaimChanged
from portalbot.ledger import schema
from portalbot.ledger.base import LedgerBase
from portalbot.ledger.records import (
    NO_EVIDENCE,
    ClaimRecord,
    Evidence,
)
from portalbot.ledger.states import (
    IN_DOUBT,
    QUEUED,
    SUBMITTING,
)
from portalbot.outcomes import Accepted, Denied, Outcome, Pending, Rejected


class AttemptStore(LedgerBase):
    """Attempts, outcomes and evidence."""

    def attempts(self, pk: int) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(schema.attempts)
                .where(schema.attempts.c.claim_pk == pk)
                .order_by(schema.attempts.c.number)
            ).all()
        return [dict(r._mapping) for r in rows]

    def latest_screenshots(self, pks: Iterable[int]) -> dict[int, str]:
        """Each claim's newest screenshot, for a whole table at once (not a query a row)."""
        a = schema.attempts.c
        wanted = sorted(set(pks))
        found: dict[int, str] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 900):
                rows = connection.execute(
                    sa.select(a.claim_pk, a.screenshot)
                    .where(a.claim_pk.in_(wanted[start:start + 900]), a.screenshot.is_not(None))
                    .order_by(a.number)
                ).all()
                found.update({r.claim_pk: str(r.screenshot) for r in rows if r.screenshot})
        return found

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
        evidence: Evidence = NO_EVIDENCE,
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
        evidence: Evidence = NO_EVIDENCE,
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

    def mark_evidence_purged(self, attempt_ids: Sequence[str]) -> None:
        """Evidence files are gone; the attempt keeps the record that they existed."""
        if not attempt_ids:
            return
        with self._tx() as tx:
            tx.execute(
                schema.attempts.update().where(schema.attempts.c.id.in_(list(attempt_ids)))
                .values(evidence_purged_at=self.clock())
            )
