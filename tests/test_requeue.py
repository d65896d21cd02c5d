"""A person's way back: `Ledger.requeue` puts failed and needs_human claims back on the queue,
and refuses every state where that could send a claim the portal may already hold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portalbot.ledger import Ledger, RequeueRefused
from tests.test_ledger import _accept, _enqueue


def _fail(ledger: Ledger, pk: int, target: str) -> None:
    ledger.lease("w1")
    ledger.record_failure(pk, None, "w1", expected_state="queued", target_state=target,
                          reason="the portal was down")


def _in_doubt(ledger: Ledger, pk: int, due_in: timedelta = timedelta(hours=1)) -> None:
    ledger.lease("w1")
    attempt = ledger.begin_attempt(pk, "w1")
    ledger.mark_submitting(pk, attempt, "w1", account="default")
    ledger.record_failure(pk, attempt, "w1", expected_state="submitting",
                          target_state="in_doubt", reason="no answer after the click",
                          next_attempt_at=ledger.clock() + due_in)


@pytest.mark.parametrize("state", ["failed", "needs_human"])
def test_a_failed_or_needs_human_claim_is_queued_again_with_who_and_why(
    ledger: Ledger, state: str
) -> None:
    pk = _enqueue(ledger)
    _fail(ledger, pk, state)

    record = ledger.requeue(pk, "biller", "checked the portal: not there")

    assert record.state == "queued" and record.next_attempt_at is None
    last = ledger.events(pk)[-1]
    assert (last["from_state"], last["to_state"], last["worker"]) == (state, "queued", "biller")
    assert "checked the portal: not there" in last["reason"] and "biller" in last["reason"]
    assert [r.pk for r in ledger.lease("w2")] == [pk]


def test_an_in_doubt_claim_is_refused_without_checked_portal_and_names_its_portal_key(
    ledger: Ledger,
) -> None:
    pk = _enqueue(ledger)
    _in_doubt(ledger, pk)
    events = ledger.events(pk)

    with pytest.raises(RequeueRefused, match=r"in_doubt.*--checked-portal") as refused:
        ledger.requeue(pk, "biller", "looked")

    assert ledger.claim(pk).portal_key in str(refused.value)
    assert ledger.claim(pk).state == "in_doubt" and ledger.events(pk) == events


def test_an_in_doubt_claim_a_person_searched_for_goes_back_with_checked_portal(
    ledger: Ledger,
) -> None:
    pk = _enqueue(ledger)
    _in_doubt(ledger, pk)

    record = ledger.requeue(pk, "biller", "searched the history", checked_portal=True)

    assert record.state == "queued"
    assert "searched the portal and it is not there" in ledger.events(pk)[-1]["reason"]


@pytest.mark.parametrize("state", ["accepted", "queued"])
def test_any_other_state_is_refused_and_changes_nothing(ledger: Ledger, state: str) -> None:
    pk = _enqueue(ledger)
    if state == "accepted":
        _accept(ledger, pk)
    events = ledger.events(pk)

    with pytest.raises(RequeueRefused, match=f"is {state}; only failed, needs_human"):
        ledger.requeue(pk, "biller", "please", checked_portal=True)

    assert ledger.claim(pk).state == state and ledger.events(pk) == events


def test_a_claim_a_worker_holds_right_now_is_left_alone(ledger: Ledger) -> None:
    pk = _enqueue(ledger)
    _in_doubt(ledger, pk, due_in=timedelta(0))
    assert [r.pk for r in ledger.lease("w2")] == [pk]  # a worker is reconciling it

    with pytest.raises(RequeueRefused, match="being worked on"):
        ledger.requeue(pk, "biller", "searched", checked_portal=True)
    assert ledger.claim(pk).state == "in_doubt"
