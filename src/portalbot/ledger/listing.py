"""Listing claims at scale: counts by (payer, state), the newest claims a page at a time,
every matching claim streamed in ledger order, the payers the ledger names, and the claims
that need a person — what ``portalbot ledger`` and ``portalbot worklist`` read, each from
an index (migration 0006) and never the whole claims table into memory.

Pages are keyset pages on the ledger id, so page N costs what page 1 costs. A filter on
several payers runs one indexed query per payer and merges them: a single ``payer_id IN
(...) ORDER BY id`` cannot be read in id order from any one index, and would sort every
claim of those payers to return fifty.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portalbot.ledger import schema
from portalbot.ledger.base import LedgerBase
from portalbot.ledger.records import ClaimRecord
from portalbot.ledger.states import PENDING

_STREAM_ROWS = 500


def page_query(
    limit: int, *, newest_first: bool, cursor: int | None = None, state: str | None = None,
    payer_id: str | None = None, batch_id: str | None = None,
) -> sa.Select[Any]:
    """One keyset page for at most one payer: claims past ``cursor`` (older when
    ``newest_first``), in ledger order. A batch is read through its members' index."""
    claims = schema.claims.c
    query = sa.select(schema.claims)
    key: Any = claims.id
    if batch_id:
        members = schema.batch_claims.c
        query = query.select_from(
            schema.batch_claims.join(schema.claims, claims.id == members.claim_pk)
        ).where(members.batch_id == batch_id)
        key = members.claim_pk
    if state:
        query = query.where(claims.state == state)
    if payer_id:
        query = query.where(claims.payer_id == payer_id)
    if cursor is not None:
        query = query.where(key < cursor if newest_first else key > cursor)
    return query.order_by(key.desc() if newest_first else key).limit(limit)


def counts_query(*, payer_ids: Sequence[str] | None = None,
                 batch_id: str | None = None) -> sa.Select[Any]:
    """(payer, state, n), from the (payer_id, state, id) index alone."""
    claims = schema.claims.c
    query = sa.select(claims.payer_id, claims.state, sa.func.count()).group_by(
        claims.payer_id, claims.state
    )
    if payer_ids:
        query = query.where(claims.payer_id.in_(list(payer_ids)))
    if batch_id:
        members = schema.batch_claims.c
        query = query.select_from(
            schema.batch_claims.join(schema.claims, claims.id == members.claim_pk)
        ).where(members.batch_id == batch_id)
    return query


def payers_query() -> sa.TextClause:
    """Every payer id the claims name, one index seek per payer (a loose index scan: SELECT
    DISTINCT would read every entry of the index)."""
    return sa.text(
        "WITH RECURSIVE p(payer_id) AS ("
        " SELECT MIN(payer_id) FROM claims"
        " UNION ALL"
        " SELECT (SELECT MIN(c.payer_id) FROM claims c WHERE c.payer_id > p.payer_id)"
        " FROM p WHERE p.payer_id IS NOT NULL)"
        " SELECT payer_id FROM p WHERE payer_id IS NOT NULL"
    )


def attention_query(states: Sequence[str], pending_before: datetime | None,
                    payer_id: str | None = None) -> sa.Select[Any]:
    """Newest versions in one of ``states``, or pending since before ``pending_before``:
    read by state from (state, id) and (state, updated_at); a newer version is looked up
    by the (claim_id, version) key."""
    c = schema.claims
    newer = c.alias("newer")
    wanted: Any = c.c.state.in_(list(states))
    if pending_before is not None:
        wanted = sa.or_(wanted, sa.and_(c.c.state == PENDING, c.c.updated_at < pending_before))
    query = sa.select(c).where(wanted, ~sa.exists().where(
        newer.c.claim_id == c.c.claim_id, newer.c.version > c.c.version))
    if payer_id:
        query = query.where(c.c.payer_id == payer_id)
    return query.order_by(c.c.id)


def _each(payer_ids: Sequence[str] | None) -> list[str | None]:
    """The payers to run a query for, once each; [None]: one query for every payer."""
    return list(dict.fromkeys(payer_ids)) if payer_ids else [None]


class Listing(LedgerBase):
    """Counts, pages and streams of claims."""

    def state_counts(
        self, *, payer_ids: Sequence[str] | None = None, batch_id: str | None = None
    ) -> dict[tuple[str, str], int]:
        """(payer_id, state) → how many claim versions are in it."""
        query = counts_query(payer_ids=payer_ids, batch_id=batch_id)
        with self.engine.connect() as connection:
            return {(payer, state): int(n) for payer, state, n in connection.execute(query)}

    def payer_ids(self) -> list[str]:
        """Every payer a claim in the ledger names, sorted."""
        with self.engine.connect() as connection:
            return [row[0] for row in connection.execute(payers_query())]

    def recent_claims(
        self, limit: int, *, before: int | None = None, state: str | None = None,
        payer_ids: Sequence[str] | None = None, batch_id: str | None = None,
    ) -> list[ClaimRecord]:
        """The newest ``limit`` claims (by ledger id), only those with ``pk < before``."""
        return self._page(limit, newest_first=True, cursor=before, state=state,
                          payer_ids=payer_ids, batch_id=batch_id)

    def iter_claims(
        self, *, state: str | None = None, batch_id: str | None = None,
        payer_ids: Sequence[str] | None = None, after: int = 0,
    ) -> Iterator[ClaimRecord]:
        """Every matching claim in ledger order (past ``after``), a page of rows at a time:
        memory stays one page whatever the ledger holds."""
        while True:
            rows = self._page(_STREAM_ROWS, newest_first=False, cursor=after, state=state,
                              payer_ids=payer_ids, batch_id=batch_id)
            yield from rows
            if len(rows) < _STREAM_ROWS:
                return
            after = rows[-1].pk

    def attention_claims(
        self, states: Sequence[str], *, pending_before: datetime | None = None,
        payer_ids: Sequence[str] | None = None,
    ) -> list[ClaimRecord]:
        """Claims whose newest version is in ``states`` (or pending since before
        ``pending_before``), in ledger order: the worklist's input."""
        with self.engine.connect() as connection:
            found = [
                ClaimRecord.from_row(row)
                for payer in _each(payer_ids)
                for row in connection.execute(attention_query(states, pending_before, payer))
            ]
        return sorted(found, key=lambda r: r.pk) if payer_ids else found

    def newest_of(self, pks: Sequence[int]) -> list[ClaimRecord]:
        """The claims among ``pks`` that are their claim's newest version (by primary key)."""
        c = schema.claims
        newer = c.alias("newer")
        found: list[ClaimRecord] = []
        with self.engine.connect() as connection:
            for start in range(0, len(pks), _STREAM_ROWS):
                chunk = list(pks[start:start + _STREAM_ROWS])
                query = sa.select(c).where(c.c.id.in_(chunk), ~sa.exists().where(
                    newer.c.claim_id == c.c.claim_id, newer.c.version > c.c.version))
                found += [ClaimRecord.from_row(row) for row in connection.execute(query)]
        return found

    def _page(self, limit: int, *, newest_first: bool, cursor: int | None, state: str | None,
              payer_ids: Sequence[str] | None, batch_id: str | None) -> list[ClaimRecord]:
        with self.engine.connect() as connection:
            per_payer = [
                [ClaimRecord.from_row(row) for row in connection.execute(page_query(
                    limit, newest_first=newest_first, cursor=cursor, state=state,
                    payer_id=payer, batch_id=batch_id))]
                for payer in _each(payer_ids)
            ]
        if len(per_payer) == 1:
            return per_payer[0]
        merged = heapq.merge(*per_payer, key=lambda r: -r.pk if newest_first else r.pk)
        return list(merged)[:limit]
