"""The review queue: the latest finished attempt of each claim with its current verdict.

A busy practice's ledger holds hundreds of thousands of attempts, so the desk reads the
queue a window at a time, by keyset (claim pk after or before a cursor, with a LIMIT):
never an OFFSET, never the whole queue in Python. "Latest" and "current" are correlated
NOT EXISTS conditions rather than GROUP BY subqueries over every attempt and verdict, so
the database stops as soon as the window is full. The full ``queue`` stays for the batch
summary and the report, which want every claim of one batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from portalbot.ledger import aware_utc, schema
from portalbot.review.verdicts import VERDICTS

NO_VERDICT = "none"
ALL = "all"
# The queue counts at most this many rows from the first one shown ("1000+"): an exact
# count is a full scan.
COUNT_CAP = 1000
# How many claims away the desk looks for a neighbour (previous/next on the claim page, "is
# there an earlier page"): a sparse view (the flagged, or what is not reviewed behind a long
# reviewed history) must not cost a scan of the whole ledger per click.
REACH = 5000


# --- the queue ------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows. Every value is an id or a code, never PHI: it travels in URLs."""

    batch: str | None = None
    payer: str | None = None
    state: str | None = None
    verdict: str | None = None  # verified, flagged or "none" (not reviewed yet)
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_params(cls, params: Any) -> QueueFilter:
        def text(key: str, limit: int = 64) -> str | None:
            value = (params.get(key) or "").strip()
            return value[:limit] or None

        def day(key: str) -> date | None:
            value = text(key, 10)
            try:
                return date.fromisoformat(value) if value else None
            except ValueError:
                return None

        # The desk opens on what is not reviewed yet; "all" shows every verdict.
        verdict = text("verdict")
        return cls(
            batch=text("batch"), payer=text("payer"), state=text("state"),
            verdict=None if verdict == ALL else verdict if verdict in VERDICTS else NO_VERDICT,
            date_from=day("from"), date_to=day("to"),
        )

    def to_params(self) -> dict[str, str]:
        values = {
            "batch": self.batch, "payer": self.payer, "state": self.state,
            "verdict": ALL if self.verdict is None else None if self.verdict == NO_VERDICT
            else self.verdict,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class QueueItem:
    attempt_id: str
    attempt_number: int
    claim_pk: int
    claim_id: str
    version: int
    payer_id: str
    state: str
    confirmation: str | None
    reason: str | None
    finished_at: datetime | None
    has_screenshot: bool
    verdict: str | None
    verdict_by: str | None
    portal_key: str | None = None
    result: str | None = None
    html: str | None = None
    screenshot: str | None = None


def _select(wanted: QueueFilter) -> sa.Select[Any]:
    """Every queue row matching ``wanted``, unordered and unlimited."""
    a, c, v, r = schema.attempts, schema.claims, schema.verdicts, schema.reviewers
    later_attempt = schema.attempts.alias("later_attempt")
    later_verdict = schema.verdicts.alias("later_verdict")
    query = (
        sa.select(
            a.c.id, a.c.number, a.c.finished_at, a.c.screenshot, a.c.html, a.c.result,
            c.c.portal_key, c.c.id.label("claim_pk"),
            c.c.claim_id, c.c.version, c.c.payer_id, c.c.state, c.c.confirmation, c.c.reason,
            v.c.verdict, r.c.name.label("verdict_by"),
        )
        .select_from(c)
        .join(a, sa.and_(
            a.c.claim_pk == c.c.id, a.c.finished_at.is_not(None),
            ~sa.exists().where(
                later_attempt.c.claim_pk == a.c.claim_pk,
                later_attempt.c.finished_at.is_not(None),
                later_attempt.c.number > a.c.number,
            ),
        ))
        .outerjoin(v, sa.and_(
            v.c.attempt_id == a.c.id,
            ~sa.exists().where(
                later_verdict.c.attempt_id == v.c.attempt_id, later_verdict.c.id > v.c.id
            ),
        ))
        .outerjoin(r, r.c.id == v.c.reviewer_id)
    )
    if wanted.batch:
        query = query.where(c.c.id.in_(
            sa.select(schema.batch_claims.c.claim_pk).where(
                schema.batch_claims.c.batch_id == wanted.batch
            )
        ))
    if wanted.payer:
        query = query.where(c.c.payer_id == wanted.payer)
    if wanted.state:
        query = query.where(c.c.state == wanted.state)
    if wanted.verdict == NO_VERDICT:
        query = query.where(v.c.id.is_(None))
    elif wanted.verdict:
        # Through coalesce, so the planner keeps walking claims in pk order (a plain
        # equality turns the outer join inner and SQLite then sorts every verdict).
        query = query.where(sa.func.coalesce(v.c.verdict, "") == wanted.verdict)
    if wanted.date_from:
        query = query.where(a.c.finished_at >= datetime.combine(wanted.date_from, time(), UTC))
    if wanted.date_to:
        end = datetime.combine(wanted.date_to + timedelta(days=1), time(), UTC)
        query = query.where(a.c.finished_at < end)
    return query


def _items(engine: sa.Engine, query: sa.Select[Any]) -> list[QueueItem]:
    with engine.connect() as connection:
        return [
            QueueItem(
                m["id"], m["number"], m["claim_pk"], m["claim_id"], m["version"], m["payer_id"],
                m["state"], m["confirmation"], m["reason"], aware_utc(m["finished_at"]),
                bool(m["screenshot"]), m["verdict"], m["verdict_by"], m["portal_key"],
                m["result"], m["html"], m["screenshot"],
            )
            for m in (row._mapping for row in connection.execute(query))
        ]


def queue(engine: sa.Engine, wanted: QueueFilter = QueueFilter()) -> list[QueueItem]:
    """The whole queue for ``wanted``, in ledger order: for one batch's summary or report,
    never for the desk's pages (they read a ``window``)."""
    return _items(engine, _select(wanted).order_by(schema.claims.c.id))


@dataclass(frozen=True)
class Window:
    """One page of the queue and the cursors (claim pks) to the pages either side."""

    items: list[QueueItem]
    earlier: int | None  # pass as ``before`` for the previous page; None: this is the first
    later: int | None  # pass as ``after`` for the next page; None: this is the last


def window(engine: sa.Engine, wanted: QueueFilter, size: int, *, after: int | None = None,
           before: int | None = None, start: int | None = None) -> Window:
    """``size`` rows after the claim pk ``after``, before ``before``, or from ``start`` on
    (the page holding a claim a reviewer came back from); else the first ``size``."""
    pk = schema.claims.c.id
    query = _select(wanted)
    if before is not None:
        rows = _items(engine, query.where(pk < before).order_by(pk.desc()).limit(size + 1))
        items = list(reversed(rows[:size]))
        earlier_exists = len(rows) > size
        later_exists = bool(items) and _exists(engine, _near(query, items[-1].claim_pk, True))
    else:
        if after is not None:
            query_from = query.where(pk > after)
        elif start is not None:
            query_from = query.where(pk >= start)
        else:
            query_from = query
        rows = _items(engine, query_from.order_by(pk).limit(size + 1))
        items = rows[:size]
        later_exists = len(rows) > size
        # The first page, asked for without a cursor, has nothing before it by definition.
        earlier_exists = (bool(items) and (after is not None or start is not None)
                          and _exists(engine, _near(query, items[0].claim_pk, False)))
    return Window(
        items,
        items[0].claim_pk if earlier_exists else None,
        items[-1].claim_pk if later_exists else None,
    )


def _near(query: sa.Select[Any], claim_pk: int, following: bool) -> sa.Select[Any]:
    """``query`` cut to the ``REACH`` claims after (or before) ``claim_pk``, in that order."""
    pk = schema.claims.c.id
    if following:
        return query.where(pk > claim_pk, pk <= claim_pk + REACH).order_by(pk)
    return query.where(pk < claim_pk, pk >= claim_pk - REACH).order_by(pk.desc())


def _exists(engine: sa.Engine, query: sa.Select[Any]) -> bool:
    with engine.connect() as connection:
        return connection.execute(query.limit(1)).first() is not None


def count(engine: sa.Engine, wanted: QueueFilter, from_pk: int = 0,
          cap: int = COUNT_CAP) -> int:
    """How many rows the queue holds from the claim ``from_pk`` on, counted up to ``cap``
    (more reads as ``cap + 1``): the pk range skips what lies before, so this reads at
    most ``cap`` rows."""
    query = _select(wanted).where(schema.claims.c.id >= from_pk)
    limited = query.with_only_columns(schema.attempts.c.id).limit(cap + 1).subquery()
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(limited)).scalar_one())


def neighbour(engine: sa.Engine, wanted: QueueFilter, claim_pk: int, *,
              following: bool) -> str | None:
    """The attempt id of the queue row just after (or before) the claim ``claim_pk``,
    within ``REACH`` claims."""
    found = _items(engine, _near(_select(wanted), claim_pk, following).limit(1))
    return found[0].attempt_id if found else None


def listed(engine: sa.Engine, wanted: QueueFilter, attempt_ids: set[str]) -> list[QueueItem]:
    """The queue rows among ``attempt_ids`` (a page's worth, bounded by the caller)."""
    if not attempt_ids:
        return []
    query = _select(wanted).where(schema.attempts.c.id.in_(sorted(attempt_ids)))
    return _items(engine, query.order_by(schema.claims.c.id))
