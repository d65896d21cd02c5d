"""Listing claims at scale: counts by (payer, state), the newest claims a page at a time
(keyset paging on the ledger id, so page N costs what page 1 costs), and every matching
claim streamed in ledger order — what ``portalbot ledger`` shows without loading the whole
ledger into memory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from portalbot.ledger import schema
from portalbot.ledger.base import LedgerBase
from portalbot.ledger.records import ClaimRecord

_STREAM_ROWS = 500


def _filtered(query: Any, *, state: str | None, payer_ids: Sequence[str] | None,
              batch_id: str | None) -> Any:
    claims = schema.claims.c
    if state:
        query = query.where(claims.state == state)
    if payer_ids:
        query = query.where(claims.payer_id.in_(list(payer_ids)))
    if batch_id:
        members = sa.select(schema.batch_claims.c.claim_pk).where(
            schema.batch_claims.c.batch_id == batch_id
        )
        query = query.where(claims.id.in_(members))
    return query


class Listing(LedgerBase):
    """Counts, pages and streams of claims."""

    def state_counts(
        self, *, payer_ids: Sequence[str] | None = None, batch_id: str | None = None
    ) -> dict[tuple[str, str], int]:
        """(payer_id, state) → how many claim versions are in it."""
        claims = schema.claims.c
        query = _filtered(
            sa.select(claims.payer_id, claims.state, sa.func.count()).group_by(
                claims.payer_id, claims.state
            ),
            state=None, payer_ids=payer_ids, batch_id=batch_id,
        )
        with self.engine.connect() as connection:
            return {(payer, state): int(n) for payer, state, n in connection.execute(query)}

    def recent_claims(
        self, limit: int, *, before: int | None = None, state: str | None = None,
        payer_ids: Sequence[str] | None = None, batch_id: str | None = None,
    ) -> list[ClaimRecord]:
        """The newest ``limit`` claims (by ledger id), only those with ``pk < before``."""
        query = _filtered(sa.select(schema.claims), state=state, payer_ids=payer_ids,
                          batch_id=batch_id)
        if before is not None:
            query = query.where(schema.claims.c.id < before)
        query = query.order_by(schema.claims.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [ClaimRecord.from_row(r) for r in connection.execute(query)]

    def iter_claims(
        self, *, state: str | None = None, batch_id: str | None = None,
        payer_ids: Sequence[str] | None = None,
    ) -> Iterator[ClaimRecord]:
        """Every matching claim in ledger order, a page of rows at a time."""
        after = 0
        while True:
            query = _filtered(sa.select(schema.claims), state=state, payer_ids=payer_ids,
                              batch_id=batch_id)
            query = query.where(schema.claims.c.id > after).order_by(schema.claims.c.id)
            with self.engine.connect() as connection:
                rows = connection.execute(query.limit(_STREAM_ROWS)).all()
            for row in rows:
                yield ClaimRecord.from_row(row)
            if len(rows) < _STREAM_ROWS:
                return
            after = rows[-1]._mapping["id"]
