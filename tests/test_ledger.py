"""The ledger's state machine, write-ahead intent and schema."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from portalbot.errors import ClaimChanged, LedgerError
from portalbot.ledger import Ledger, check_transition, derive_portal_key
from portalbot.ledger.schema import metadata
from portalbot.outcomes import Accepted, Paid
from tests.helpers import Clock


def _enqueue(ledger: Ledger, claim_id: str = "C-1", version: int = 1) -> int:
    batch = ledger.create_batch("f.json", "0" * 64, 1, 0)
    return ledger.enqueue(
        batch, claim_id=claim_id, version=version, payer_id="acme", service_month="2026-10",
        member_id="M1", frequency="original", replaces=None, payload={}, findings=[],
        blocked=False, location="claim #1", worker="t",
    ).record.pk


def _accept(ledger: Ledger, pk: int) -> None:
    ledger.lease("w1")
    attempt = ledger.begin_attempt(pk, "w1")
    ledger.mark_submitting(pk, attempt, "w1", account="default")
    ledger.record_outcome(pk, attempt, "w1", Accepted("ACM-1"), expected_state="submitting",
                          reason="test")


def test_an_illegal_transition_raises_and_changes_nothing(ledger: Ledger) -> None:
    pk = _enqueue(ledger)
    _accept(ledger, pk)
    events_before = ledger.events(pk)

    with pytest.raises(LedgerError, match="illegal transition accepted -> queued"):
        ledger.transition(pk, "accepted", "queued", "w1", "try to resend")

    assert ledger.claim(pk).state == "accepted"
    assert ledger.events(pk) == events_before


def test_every_transition_is_an_event_in_order(ledger: Ledger) -> None:
    pk = _enqueue(ledger)
    _accept(ledger, pk)
    assert [(e["from_state"], e["to_state"]) for e in ledger.events(pk)] == [
        (None, "queued"), ("queued", "submitting"), ("submitting", "accepted"),
    ]


def test_the_same_claim_version_is_recorded_once(ledger: Ledger) -> None:
    first = _enqueue(ledger)
    second_batch = ledger.create_batch("f.json", "0" * 64, 1, 0)
    again = ledger.enqueue(
        second_batch, claim_id="C-1", version=1, payer_id="acme", service_month="2026-10",
        member_id="M1", frequency="original", replaces=None, payload={}, findings=[],
        blocked=False, location="claim #1", worker="t",
    )
    assert not again.is_new and again.record.pk == first
    assert [r.pk for r in ledger.claims_in_batch(second_batch)] == [first]


def test_two_workers_cannot_both_take_a_claim(ledger: Ledger) -> None:
    _enqueue(ledger)
    assert len(ledger.lease("w1")) == 1
    assert ledger.lease("w2") == []


def test_write_ahead_intent_needs_the_lease(ledger: Ledger) -> None:
    pk = _enqueue(ledger)
    ledger.lease("w1")
    attempt = ledger.begin_attempt(pk, "w2")
    with pytest.raises(LedgerError, match="lease"):
        ledger.mark_submitting(pk, attempt, "w2", account="default")
    assert ledger.claim(pk).state == "queued"


def test_a_claim_left_submitting_by_a_dead_worker_becomes_in_doubt(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    now = [datetime(2026, 11, 1, tzinfo=UTC)]
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}", clock=lambda: now[0])
    pk = _enqueue(ledger)
    ledger.lease("dead", lease_s=60)
    ledger.mark_submitting(pk, ledger.begin_attempt(pk, "dead"), "dead", account="default")

    assert ledger.expire_submissions("w2") == []
    now[0] += timedelta(seconds=61)
    assert ledger.expire_submissions("w2") == [pk]
    assert ledger.claim(pk).state == "in_doubt"


@pytest.mark.parametrize(
    ("current", "target"),
    [("rejected", "queued"), ("in_doubt", "submitting"), ("submitting", "submitting"),
     ("held", "submitting"), (None, "accepted")],
)
def test_no_road_leads_back_to_the_click_except_through_queued(current: str | None, target: str) -> None:
    with pytest.raises(LedgerError):
        check_transition(current, target)


def test_portal_keys_are_short_uppercase_and_distinct_per_version() -> None:
    keys = {derive_portal_key("NORTHSIDE-<script>-000123", v) for v in range(1, 50)}
    assert len(keys) == 49
    assert all(len(k) <= 14 and k.isalnum() and k.upper() == k for k in keys)


def test_migrations_build_exactly_the_declared_schema(ledger: Ledger) -> None:
    with ledger.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_sqlite_ledger_runs_in_wal_mode(ledger: Ledger) -> None:
    with ledger.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"


def test_an_outcome_lands_only_for_the_attempt_that_owns_the_claim(ledger: Ledger) -> None:
    pk = _enqueue(ledger)
    ledger.lease("w1")
    stale = ledger.begin_attempt(pk, "w1")
    ledger.mark_submitting(pk, stale, "w1", account="default")
    ledger.record_failure(pk, None, "w2", expected_state="submitting", target_state="in_doubt",
                          reason="taken over")
    ledger.transition(pk, "in_doubt", "queued", "w2", "not on the history")
    ledger.lease("w2")
    current = ledger.begin_attempt(pk, "w2")
    ledger.mark_submitting(pk, current, "w2", account="default")

    with pytest.raises(ClaimChanged):
        ledger.record_outcome(pk, stale, "w1", Accepted("ACM-OLD"), expected_state="submitting",
                              reason="late", fence=stale)

    record = ledger.claim(pk)
    assert record.state == "submitting" and record.current_attempt == current
    assert ledger.attempt(stale)["result"] == "late"  # type: ignore[index]
    ledger.record_outcome(pk, current, "w2", Accepted("ACM-NEW"), expected_state="submitting",
                          reason="answer", fence=current)
    assert ledger.claim(pk).confirmation == "ACM-NEW"


def test_a_live_owners_submitting_claim_is_taken_over_only_past_lease_and_grace(
    tmp_path: Path,
) -> None:
    clock = Clock()
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.sqlite3'}", clock=clock)
    pk = _enqueue(ledger)
    ledger.lease("w1", lease_s=10)
    attempt = ledger.begin_attempt(pk, "w1")
    ledger.mark_submitting(pk, attempt, "w1", account="default", lease_s=10)

    clock.now += timedelta(seconds=30)  # lease gone, grace not
    assert ledger.expire_submissions("w2", grace_s=60, landing_s=60) == []
    clock.now += timedelta(seconds=41)
    assert ledger.expire_submissions("w2", grace_s=60, landing_s=60, settle_s={"acme": 5}) == [pk]
    record = ledger.claim(pk)
    assert record.state == "in_doubt"
    assert record.next_attempt_at == clock.now + timedelta(seconds=5)


def test_a_dead_owners_claim_is_due_once_its_request_can_no_longer_land(tmp_path: Path) -> None:
    clock = Clock()
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.sqlite3'}", clock=clock)
    pk = _enqueue(ledger)
    ledger.lease("w1")
    attempt = ledger.begin_attempt(pk, "w1")
    ledger.mark_submitting(pk, attempt, "w1", account="default")
    intent = clock.now

    assert ledger.expire_submissions("w2", lambda owner: owner == "w1", grace_s=60,
                                     landing_s=60) == [pk]
    assert ledger.claim(pk).next_attempt_at == intent + timedelta(seconds=60)


def test_one_time_code_steps_are_reserved_once_per_account_across_ledger_handles(
    tmp_path: Path,
) -> None:
    """Two handles on one ledger file stand for two worker processes."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    first, second = Ledger.open(url), Ledger.open(url)
    try:
        taken = [
            first.reserve_code_step("blueriver", "billing", 100, "host:1"),
            second.reserve_code_step("blueriver", "billing", 100, "host:2"),
            first.reserve_code_step("blueriver", "billing", 100, "host:3"),
            second.reserve_code_step("blueriver", "other-office", 100, "host:2"),
            second.reserve_code_step("blueriver", "billing", 105, "host:2"),
        ]
    finally:
        first.close()
        second.close()
    assert taken == [100, 101, 102, 100, 105]


def test_a_reserved_step_is_swept_once_the_portal_can_no_longer_accept_its_code(
    tmp_path: Path,
) -> None:
    from datetime import timedelta

    from tests.helpers import Clock

    clock = Clock()
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.sqlite3'}", clock=clock)
    assert ledger.reserve_code_step("blueriver", "billing", 100, "w") == 100
    clock.now += timedelta(seconds=60)  # step 100's code may still be accepted as "the previous"
    assert ledger.reserve_code_step("blueriver", "billing", 100, "w") == 101
    clock.now += timedelta(seconds=300)
    with ledger.engine.connect() as connection:
        before = connection.execute(sa.text("SELECT count(*) FROM locks")).scalar()
    assert ledger.reserve_code_step("blueriver", "billing", 112, "w") == 112
    with ledger.engine.connect() as connection:
        after = connection.execute(sa.text("SELECT count(*) FROM locks")).scalar()
    assert (before, after) == (2, 1)
    ledger.close()


def _reserve_concurrently(url: str, sessions: int) -> list[int]:
    from concurrent.futures import ThreadPoolExecutor

    handles = [Ledger.open(url) for _ in range(sessions)]
    try:
        with ThreadPoolExecutor(sessions) as pool:
            return list(pool.map(
                lambda n: handles[n].reserve_code_step("blueriver", "billing", 500, f"host:{n}"),
                range(sessions),
            ))
    finally:
        for handle in handles:
            handle.close()


def test_sign_ins_racing_for_one_step_on_sqlite_each_get_their_own(tmp_path: Path) -> None:
    steps = _reserve_concurrently(f"sqlite:///{tmp_path / 'race.sqlite3'}", 6)
    assert sorted(steps) == list(range(500, 506))


@pytest.mark.postgres
def test_sign_ins_racing_for_one_step_on_postgresql_each_get_their_own() -> None:
    from tests.helpers import postgres_database

    with postgres_database() as url:
        Ledger.open(url).close()
        steps = _reserve_concurrently(url, 6)
    assert sorted(steps) == list(range(500, 506))


@pytest.mark.parametrize(("paid", "reason"), [(Paid(Decimal("42.1")), "paid 42.10"),
                                              (Paid(), "paid")])
def test_a_payment_with_or_without_an_amount_is_recorded_as_paid(
    ledger: Ledger, paid: Paid, reason: str
) -> None:
    pk = _enqueue(ledger)
    _accept(ledger, pk)
    attempt = ledger.begin_attempt(pk, "w1", kind="status")
    ledger.record_outcome(pk, attempt, "w1", paid, expected_state="accepted", reason="status")

    record = ledger.claim(pk)
    assert (record.state, record.reason, record.confirmation) == ("paid", reason, "ACM-1")
