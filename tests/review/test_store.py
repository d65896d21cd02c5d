"""Review data access and security primitives, without a browser."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from portalbot.ledger import Ledger
from portalbot.review import auth, queue, store
from tests.review.conftest import DeskData

pytestmark = pytest.mark.both_backends

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _reviewer(desk: DeskData, name: str = "alice") -> int:
    return store.add_reviewer(desk.ledger.engine, name, "scrypt$unused", T0)


def test_a_claim_is_flagged_only_while_its_latest_verdict_is_a_flag(desk: DeskData) -> None:
    engine = desk.ledger.engine
    alice, bob = _reviewer(desk, "alice"), _reviewer(desk, "bob")
    one = desk.add("C-1")
    two = desk.add("C-2")
    store.add_verdict(engine, one.attempt_id, alice, "flagged", "wrong member", T0)
    store.add_verdict(engine, two.attempt_id, alice, "verified", "", T0)
    assert [f.claim_id for f in store.flagged_claims(engine)] == ["C-1"]

    store.add_verdict(engine, one.attempt_id, bob, "verified", "checked with the payer", T0)
    store.add_verdict(engine, two.attempt_id, bob, "flagged", "screenshot is a login page", T0)
    flagged = store.flagged_claims(engine)
    assert [(f.claim_id, f.reviewer, f.note) for f in flagged] == [
        ("C-2", "bob", "screenshot is a login page")
    ]
    assert flagged[0].attempt_id == two.attempt_id and flagged[0].state == "accepted"


def test_a_verdict_must_be_verified_or_flagged_on_a_known_attempt(desk: DeskData) -> None:
    alice = _reviewer(desk)
    claim = desk.add("C-1")
    with pytest.raises(store.ReviewError):
        store.add_verdict(desk.ledger.engine, claim.attempt_id, alice, "approved", "", T0)
    with pytest.raises(store.ReviewError):
        store.add_verdict(desk.ledger.engine, "0" * 32, alice, "verified", "", T0)
    assert store.verdicts(desk.ledger.engine) == []


def test_queue_filters_by_batch_payer_state_verdict_and_date(desk: DeskData) -> None:
    engine = desk.ledger.engine
    alice = _reviewer(desk)
    accepted = desk.add("C-1")
    rejected = desk.add("C-2", rejected=True)
    first_batch = desk.batch_id
    desk.batch_id = desk.ledger.create_batch("second.json", "1" * 64, 1, 0)
    later = desk.add("C-3")
    store.add_verdict(engine, accepted.attempt_id, alice, "verified", "", T0)

    def ids(**wanted: object) -> list[str]:
        return [i.claim_id for i in store.queue(engine, store.QueueFilter(**wanted))]  # type: ignore[arg-type]

    assert ids() == ["C-1", "C-2", "C-3"]
    assert ids(batch=first_batch) == ["C-1", "C-2"]
    assert ids(state="rejected") == ["C-2"]
    assert ids(payer="acme") == ["C-1", "C-2", "C-3"]
    assert ids(payer="other") == []
    assert ids(verdict="verified") == ["C-1"]
    assert ids(verdict="none") == ["C-2", "C-3"]
    today = datetime.now(UTC).date()
    assert ids(date_from=today, date_to=today) == ["C-1", "C-2", "C-3"]
    assert ids(date_to=today - timedelta(days=1)) == []
    assert ids(date_from=today + timedelta(days=1)) == []
    item = store.queue(engine, store.QueueFilter(verdict="verified"))[0]
    assert (item.verdict, item.verdict_by, item.attempt_id) == ("verified", "alice", accepted.attempt_id)
    assert rejected.attempt_id != later.attempt_id


def test_queue_filter_ignores_values_it_does_not_understand() -> None:
    wanted = store.QueueFilter.from_params(
        {"verdict": "drop table", "from": "yesterday", "to": "2026-11-30", "payer": " acme "}
    )
    assert wanted == store.QueueFilter(payer="acme", verdict="none", date_to=date(2026, 11, 30))
    assert wanted.to_params() == {"payer": "acme", "to": "2026-11-30"}


def test_the_latest_finished_attempt_is_the_one_reviewed(desk: DeskData) -> None:
    claim = desk.add("C-1")
    search = desk.ledger.begin_attempt(claim.pk, "w", kind="status")  # unfinished: not shown
    items = store.queue(desk.ledger.engine)
    assert [i.attempt_id for i in items] == [claim.attempt_id]
    assert search != claim.attempt_id


def test_passwords_are_hashed_with_salted_scrypt() -> None:
    first = auth.hash_password("correct horse battery", n=2**12)
    second = auth.hash_password("correct horse battery", n=2**12)
    assert first.startswith("scrypt$4096$8$1$") and first != second
    assert "correct horse" not in first
    assert auth.verify_password("correct horse battery", first)
    assert not auth.verify_password("correct horse batterY", first)
    assert not auth.verify_password("correct horse battery", "md5$abc")
    assert not auth.verify_password("anything", "scrypt$not$a$hash")


def test_throttle_waits_after_five_failures_and_doubles_up_to_a_cap() -> None:
    policy = auth.ThrottlePolicy()
    assert [policy.locked_until(n, T0) for n in range(1, 5)] == [None] * 4
    assert policy.locked_until(5, T0) == T0 + timedelta(seconds=30)
    assert policy.locked_until(6, T0) == T0 + timedelta(seconds=60)
    assert policy.locked_until(40, T0) == T0 + timedelta(minutes=15)


def test_throttle_state_survives_in_the_ledger_and_clears_on_success(desk: DeskData) -> None:
    engine = desk.ledger.engine
    for _ in range(5):
        store.record_signin_failure(engine, "name:alice", auth.NAME_POLICY, T0)
    assert store.locked_until(engine, "name:alice", T0) == T0 + timedelta(seconds=30)
    assert store.locked_until(engine, "name:alice", T0 + timedelta(seconds=31)) is None
    assert store.locked_until(engine, "name:bob", T0) is None
    store.clear_signin_failures(engine, "name:alice")
    store.record_signin_failure(engine, "name:alice", auth.NAME_POLICY, T0)
    assert store.locked_until(engine, "name:alice", T0) is None


def test_sessions_expire_when_idle_and_end_when_the_reviewer_is_disabled(desk: DeskData) -> None:
    engine = desk.ledger.engine
    alice = _reviewer(desk)
    store.create_session(engine, "h1", alice, "csrf", T0)
    assert store.touch_session(engine, "h1", T0 + timedelta(minutes=29)) is not None
    assert store.touch_session(engine, "h1", T0 + timedelta(minutes=58)) is not None  # refreshed
    assert store.touch_session(engine, "h1", T0 + timedelta(minutes=89)) is None
    assert store.touch_session(engine, "h1", T0) is None  # deleted, not merely refused
    store.create_session(engine, "h2", alice, "csrf", T0)
    store.disable_reviewer(engine, "alice")
    assert store.touch_session(engine, "h2", T0) is None


def test_evidence_lookup_refuses_unknown_kinds_and_ids(desk: DeskData) -> None:
    claim = desk.add("C-1")
    root = desk.evidence_dir
    assert store.evidence_file(desk.ledger.engine, claim.attempt_id, "screenshot", root) == claim.screenshot.resolve()
    assert store.evidence_file(desk.ledger.engine, claim.attempt_id, "../../x", root) is None
    assert store.evidence_file(desk.ledger.engine, "../" + claim.attempt_id, "screenshot", root) is None
    assert store.evidence_file(desk.ledger.engine, claim.attempt_id, "trace", root) is None


def test_the_ledger_migrates_to_the_review_schema(tmp_path: object) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path}/fresh.sqlite3")
    try:
        ledger.check_schema()
        assert store.reviewers(ledger.engine) == []
        assert store.flagged_claims(ledger.engine) == []
    finally:
        ledger.close()


def test_the_queue_is_read_a_keyset_window_at_a_time(desk: DeskData) -> None:
    engine = desk.ledger.engine
    claims = [desk.add(f"C-{n}") for n in range(7)]
    alice = _reviewer(desk)
    store.add_verdict(engine, claims[1].attempt_id, alice, "verified", "", T0)
    statements: list[str] = []
    offsets: list[object] = []

    def seen(conn: object, cursor: object, statement: str, parameters: object,
             *args: object) -> None:
        statements.append(statement.upper())
        if "OFFSET ?" in statement.upper():  # SQLite renders LIMIT ? OFFSET ? with 0
            assert isinstance(parameters, tuple)
            offsets.append(parameters[-1])

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        wanted = store.QueueFilter(verdict="none")  # the desk's default view
        first = queue.window(engine, wanted, 2)
        assert [i.claim_id for i in first.items] == ["C-0", "C-2"]
        assert (first.earlier, first.later) == (None, claims[2].pk)
        second = queue.window(engine, wanted, 2, after=first.later)
        assert [i.claim_id for i in second.items] == ["C-3", "C-4"]
        assert (second.earlier, second.later) == (claims[3].pk, claims[4].pk)
        back = queue.window(engine, wanted, 2, before=second.earlier)
        assert [i.claim_id for i in back.items] == ["C-0", "C-2"]
        last = queue.window(engine, wanted, 2, start=claims[5].pk)
        assert [i.claim_id for i in last.items] == ["C-5", "C-6"] and last.later is None
        assert queue.count(engine, wanted) == 6
        assert queue.count(engine, wanted, claims[4].pk, cap=1) == 2  # "1+"
        assert queue.neighbour(engine, wanted, claims[2].pk, following=False) == claims[0].attempt_id
        assert queue.neighbour(engine, wanted, claims[0].pk, following=True) == claims[2].attempt_id
        assert queue.neighbour(engine, wanted, claims[6].pk, following=True) is None
        listed = queue.listed(engine, wanted, {claims[1].attempt_id, claims[3].attempt_id})
        assert [i.claim_id for i in listed] == ["C-3"]  # C-1 has a verdict: not in this view
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    reads = [s for s in statements if "FROM CLAIMS" in s]
    assert reads and set(offsets) <= {0}  # no OFFSET scans: keysets only
    assert all("LIMIT" in s for s in reads if "IN (" not in s)
