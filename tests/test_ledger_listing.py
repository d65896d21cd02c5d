"""The ledger's listing at scale: counts by payer and state, the newest claims by keyset
page, every claim streamed — each filtered by state, payer and batch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from portalbot.ledger import Ledger
from tests import query_plans


@pytest.fixture
def listed(ledger: Ledger) -> dict[str, str]:
    """Seven claims in two batches for two payers; two of them held."""
    first = ledger.create_batch("a.json", "a" * 64, 4, 0)
    second = ledger.create_batch("b.json", "b" * 64, 3, 0)
    for n in range(7):
        ledger.enqueue(
            first if n < 4 else second, claim_id=f"C-{n}", version=1,
            payer_id="acme" if n % 2 == 0 else "keystone", service_month="2026-10",
            member_id=f"M{n}", frequency="original", replaces=None, payload={}, findings=[],
            blocked=n in {1, 4}, location=f"claim #{n}", worker="t",
        )
    return {"first": first, "second": second}


def test_state_counts_are_by_payer_and_state_and_filter(ledger: Ledger,
                                                       listed: dict[str, str]) -> None:
    assert ledger.state_counts() == {("acme", "queued"): 3, ("acme", "held"): 1,
                                     ("keystone", "queued"): 2, ("keystone", "held"): 1}
    assert ledger.state_counts(payer_ids=["keystone"], batch_id=listed["first"]) == {
        ("keystone", "held"): 1, ("keystone", "queued"): 1}


def test_recent_claims_pages_newest_first_by_ledger_id(ledger: Ledger,
                                                      listed: dict[str, str]) -> None:
    page = ledger.recent_claims(3)
    older = ledger.recent_claims(3, before=page[-1].pk)
    last = ledger.recent_claims(3, before=older[-1].pk)

    assert [r.claim_id for r in page + older + last] == [f"C-{n}" for n in range(6, -1, -1)]
    assert [r.claim_id for r in ledger.recent_claims(5, state="held")] == ["C-4", "C-1"]
    assert [r.claim_id for r in ledger.recent_claims(5, payer_ids=["acme"],
                                                     batch_id=listed["second"])] == ["C-6", "C-4"]


def test_iter_claims_streams_every_match_in_ledger_order(ledger: Ledger,
                                                        listed: dict[str, str]) -> None:
    every = ledger.iter_claims()
    assert next(every).claim_id == "C-0"  # a generator: nothing loaded ahead of the reader
    assert [r.claim_id for r in every] == [f"C-{n}" for n in range(1, 7)]
    assert [r.claim_id for r in ledger.iter_claims(state="queued", batch_id=listed["first"],
                                                   payer_ids=["acme"])] == ["C-0", "C-2"]


# --- paging behaviour ----------------------------------------------------------------------

def _many(ledger: Ledger, count: int) -> list[str]:
    """``count`` claims over three payers in five batches; returns the batch ids."""
    batches = [ledger.create_batch(f"{b}.json", str(b) * 64, 0, 0) for b in range(5)]
    for n in range(count):
        ledger.enqueue(
            batches[n % 5], claim_id=f"P-{n:03d}", version=1,
            payer_id=("acme", "keystone", "blueriver")[n % 3], service_month="2026-10",
            member_id=f"M{n}", frequency="original", replaces=None, payload={}, findings=[],
            blocked=n % 4 == 0, location=f"claim #{n}", worker="t",
        )
    return batches


def _walk(ledger: Ledger, size: int, **filters: object) -> list[list[int]]:
    pages: list[list[int]] = []
    before = None
    while True:
        page = [r.pk for r in ledger.recent_claims(size, before=before, **filters)]  # type: ignore[arg-type]
        if not page:
            return pages
        pages.append(page)
        before = page[-1]


@pytest.mark.parametrize("filters", [
    {}, {"state": "held"}, {"payer_ids": ["keystone"]}, {"payer_ids": ["blueriver", "acme"]},
    {"state": "queued", "payer_ids": ["acme", "keystone"]}, {"batch": 2},
    {"batch": 3, "payer_ids": ["acme", "blueriver"], "state": "queued"},
])
def test_pages_do_not_overlap_cover_every_match_and_keep_their_order(
        ledger: Ledger, filters: dict[str, object]) -> None:
    batches = _many(ledger, 61)
    if "batch" in filters:
        which = int(filters["batch"])  # type: ignore[call-overload]
        filters = {k: v for k, v in filters.items() if k != "batch"} | {"batch_id": batches[which]}
    expected = sorted((r.pk for r in ledger.iter_claims(**filters)), reverse=True)  # type: ignore[arg-type]
    everything = {r.pk: r for r in ledger.iter_claims()}
    matches = [pk for pk in sorted(everything, reverse=True) if all((
        "state" not in filters or everything[pk].state == filters["state"],
        "payer_ids" not in filters or everything[pk].payer_id in filters["payer_ids"],  # type: ignore[operator]
        "batch_id" not in filters or everything[pk].batch_id == filters["batch_id"],
    ))]

    pages = _walk(ledger, 7, **filters)

    assert matches and expected == matches  # the stream and the filter agree
    assert [pk for page in pages for pk in page] == matches  # no overlap, no gap, newest first
    assert all(len(page) == 7 for page in pages[:-1])
    assert _walk(ledger, 7, **filters) == pages  # the same pages when asked again


def test_a_page_is_stable_while_new_claims_arrive(ledger: Ledger) -> None:
    _many(ledger, 20)
    first = ledger.recent_claims(5)
    second = ledger.recent_claims(5, before=first[-1].pk)
    _many(ledger, 3)  # newer claims land above the cursor, not inside the next page
    assert [r.pk for r in ledger.recent_claims(5, before=first[-1].pk)] == [r.pk for r in second]


def test_the_stream_resumes_after_a_ledger_id_and_reads_past_one_page(ledger: Ledger) -> None:
    from portalbot.ledger import listing

    _many(ledger, 30)
    every = [r.pk for r in ledger.iter_claims()]
    page_rows, listing._STREAM_ROWS = listing._STREAM_ROWS, 4  # several pages from 30 claims
    try:
        assert [r.pk for r in ledger.iter_claims()] == every
        assert [r.pk for r in ledger.iter_claims(after=every[9])] == every[10:]
    finally:
        listing._STREAM_ROWS = page_rows


def test_payer_ids_are_every_payer_a_claim_names(ledger: Ledger) -> None:
    assert ledger.payer_ids() == []
    _many(ledger, 4)
    assert ledger.payer_ids() == ["acme", "blueriver", "keystone"]


# --- query plans: every everyday read is an index read ---------------------------------------
# Each call below is what a command runs (`ledger`, `ledger show`, `worklist`, `resubmit`
# with nothing due, a worker's lease); every statement it sends is EXPLAINed.

def _everyday_calls(ledger: Ledger, batch_id: str, pk: int,
                    data_dir: Path) -> dict[str, Callable[[], object]]:
    from portalbot.config import Settings
    from portalbot.worklist import build_worklist

    return {
        "ledger: counts by payer and state": lambda: ledger.state_counts(),
        "ledger: counts for payers": lambda: ledger.state_counts(payer_ids=["keystone", "acme"]),
        "ledger: counts for a batch": lambda: ledger.state_counts(batch_id=batch_id),
        "ledger: payer names": ledger.payer_ids,
        "ledger: a page deep in": lambda: ledger.recent_claims(50, before=pk),
        "ledger --state": lambda: ledger.recent_claims(50, before=pk, state="denied"),
        "ledger --payer": lambda: ledger.recent_claims(50, payer_ids=["keystone"]),
        "ledger --payer x2 --state": lambda: ledger.recent_claims(
            50, state="held", payer_ids=["keystone", "acme"]),
        "ledger --batch": lambda: ledger.recent_claims(50, batch_id=batch_id, state="queued"),
        "ledger --all (a page)": lambda: next(ledger.iter_claims(after=pk, state="denied"), None),
        "ledger show": lambda: (ledger.versions_of("C-17"), ledger.attempts(pk), ledger.events(pk)),
        "worklist": lambda: build_worklist(ledger, Settings(data_dir=data_dir)),
        "worklist --payer": lambda: build_worklist(ledger, Settings(data_dir=data_dir),
                                                   payer_ids=["acme"]),
        "resubmit, nothing due": lambda: (
            ledger.expire_submissions("bench"), ledger.due_count(), ledger.submitting_count(),
            ledger.waiting(), ledger.due_count(["acme"], states=("queued", "failed"))),
        "lease": lambda: ledger.lease("w-plan"),
        "lease for payers": lambda: ledger.lease("w-plan", payer_ids=["acme"],
                                                 reconcile_only=["keystone"], exclude=[1, 2]),
        "lease in a batch": lambda: ledger.lease("w-plan", batch_id=batch_id),
    }


def _check_plans(ledger: Ledger, batch_id: str, pk: int, data_dir: Path) -> None:
    problems = []
    for name, call in _everyday_calls(ledger, batch_id, pk, data_dir).items():
        checked = query_plans.plans(ledger.engine, call)
        assert checked, f"{name}: no statement captured"
        for statement, plan in checked:
            # Counting every claim reads every entry of the covering (payer, state, id)
            # index; never the table.
            scans = query_plans.full_scans(plan, covering_ok=name.endswith("payer and state"))
            # Sorting is for what is bounded: a retry's due claims, a batch's members, the
            # reviewers' flags.
            bounded = ("next_attempt_at", "batch_claims", "FROM verdicts")
            if ledger.engine.dialect.name == "sqlite" and query_plans.sorts_everything(plan) \
                    and not any(word in statement for word in bounded):
                scans.append("sorts what it found instead of reading it in order")
            if scans:
                problems.append(f"{name}: {scans} in {' '.join(statement.split())[:300]}")
    assert not problems, "\n".join(problems)


def test_sqlite_reads_of_every_command_use_indexes(ledger: Ledger, listed: dict[str, str],
                                                   tmp_path: Path) -> None:
    _check_plans(ledger, listed["first"], 3, tmp_path)


def test_the_first_page_reads_the_primary_key_newest_first_and_stops(ledger: Ledger) -> None:
    (statement, plan), = query_plans.plans(ledger.engine, lambda: ledger.recent_claims(50))
    # SQLite says SCAN for a walk of the rowid that stops at the LIMIT; no sort, no filter.
    assert plan == ["SCAN claims"] and "ORDER BY claims.id DESC" in statement
    assert "LIMIT" in statement


_PG_SEED = """
INSERT INTO batches SELECT 'b' || b, 'f.json', repeat('0', 64), now(), 1000, 0
  FROM generate_series(0, 39) b;
INSERT INTO claims (id, claim_id, version, payer_id, service_month, patient_month, portal_key,
                    frequency, state, batch_id, payload, findings, attempt_count,
                    next_attempt_at, created_at, updated_at, current_attempt)
SELECT g, 'C-' || g, 1, (ARRAY['acme', 'keystone', 'blueriver'])[1 + mod(g, 3)], '2026-10',
       md5(g::text), 'PB' || lpad(g::text, 12, '0'), 'original',
       CASE WHEN mod(g, 200) = 0 THEN 'denied' WHEN mod(g, 200) = 1 THEN 'failed'
            WHEN mod(g, 200) = 2 THEN 'in_doubt' WHEN mod(g, 200) = 3 THEN 'held'
            WHEN mod(g, 200) = 4 THEN 'pending' ELSE 'accepted' END,
       'b' || (g / 1000), json_build_object('claim_id', 'C-' || g, 'pad', repeat('x', 1500)),
       '[]'::json, 1, CASE WHEN mod(g, 200) IN (1, 2) THEN now() + interval '1 day' END,
       now() - interval '1 day', now() - g * interval '1 minute', md5(g::text)
  FROM generate_series(1, 39999) g;
SELECT setval('claims_id_seq', 39999);
INSERT INTO batch_claims SELECT 'b' || (g / 1000), g, 'line' FROM generate_series(1, 39999) g;
INSERT INTO attempts (id, claim_pk, number, worker, kind, started_at, intent_at, finished_at,
                      result, retries)
SELECT md5(g::text), g, 1, 'w', 'submit', now(), now(), now(), 'accepted', 0
  FROM generate_series(1, 39999) g;
INSERT INTO events (claim_pk, at, worker, from_state, to_state, reason)
SELECT g, now(), 'w', s, 'queued', 'seeded' FROM generate_series(1, 39999) g,
       (VALUES ('queued'), ('submitting')) AS t(s);
"""


@pytest.mark.postgres
def test_postgresql_reads_of_every_command_use_indexes(tmp_path: Path) -> None:
    from tests.helpers import postgres_database

    with postgres_database() as url:
        ledger = Ledger.open(url)
        try:
            with ledger.engine.begin() as tx:
                for statement in _PG_SEED.split(";\n"):
                    if statement.strip():
                        tx.exec_driver_sql(statement)
            with ledger.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
            _check_plans(ledger, "b20", 20_000, tmp_path)
        finally:
            ledger.close()
