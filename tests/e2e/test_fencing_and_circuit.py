"""The attempt that clicked owns the claim's outcome; the payer's circuit half-opens."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from playwright.async_api import Page

from fixtures.claims.synthetic import synthetic_batch
from fixtures.portals._common import ControlClient
from portalbot.engine import Engine
from portalbot.ledger import ClaimRecord, Ledger
from tests.helpers import MovingClock, Runner

pytestmark = pytest.mark.browser


def _engine(runner: Runner, on_intent: object) -> Engine:
    return Engine(runner.settings, runner.ledger, on_intent=on_intent,  # type: ignore[arg-type]
                  lookup_credentials=lambda _payer, _account: runner.credentials)


def test_a_claim_taken_over_mid_click_keeps_the_new_attempt_and_the_run_goes_on(
    runner: Runner, ledger: Ledger, acme: ControlClient
) -> None:
    loaded = runner.load(synthetic_batch(2, prefix="FENCE"))
    first, second = loaded.records

    async def overtaken(record: ClaimRecord, _page: Page) -> None:
        if record.pk != first.pk:
            return
        # Another worker judged this one gone and went round the whole loop meanwhile.
        ledger.record_failure(record.pk, None, "w2", expected_state="submitting",
                              target_state="in_doubt", reason="taken over")
        ledger.transition(record.pk, "in_doubt", "queued", "w2", "not found")
        (leased,) = ledger.lease("w2", batch_id=loaded.batch_id, exclude=[second.pk])
        attempt = ledger.begin_attempt(leased.pk, "w2")
        ledger.mark_submitting(leased.pk, attempt, "w2", account="default")

    summary = asyncio.run(_engine(runner, overtaken).run(batch_id=loaded.batch_id))

    assert summary.overtaken == 1
    assert ledger.claim(second.pk).state == "accepted"
    taken = ledger.claim(first.pk)
    assert taken.state == "submitting" and taken.lease_owner == "w2"
    results = [a["result"] for a in ledger.attempts(first.pk) if a["kind"] == "submit"]
    assert results == ["late", None]  # the stale answer is kept on its own attempt only
    assert any("late answer" in e["reason"] for e in ledger.events(first.pk))


def test_a_late_answer_of_the_same_attempt_settles_the_claim_it_left_in_doubt(
    runner: Runner, ledger: Ledger, acme: ControlClient
) -> None:
    loaded = runner.load(synthetic_batch(1, prefix="LATE"))

    async def judged_gone(record: ClaimRecord, _page: Page) -> None:
        ledger.record_failure(record.pk, None, "w2", expected_state="submitting",
                              target_state="in_doubt", reason="taken over")

    asyncio.run(_engine(runner, judged_gone).run(batch_id=loaded.batch_id))
    (record,) = ledger.claims_in_batch(loaded.batch_id)
    assert record.state == "accepted"
    assert record.confirmation == acme.submissions()[0]["claim_number"]


def test_in_doubt_answers_open_the_circuit_reconciliation_still_runs_and_settles_it(
    runner: Runner, ledger: Ledger, acme: ControlClient, clock: MovingClock
) -> None:
    acme.set_faults(drop_response=True)
    loaded, summary = runner.submit(synthetic_batch(4, prefix="BURST"))
    assert ledger.circuit("acme").open and ledger.circuit("acme").kind == "in_doubt"
    assert "acme" in summary.blocked_payers  # the fourth claim waits, queued
    states = Counter(r.state for r in ledger.claims_in_batch(loaded.batch_id))
    assert states == {"in_doubt": 3, "queued": 1}

    acme.set_faults(drop_response=False)
    clock.advance(runner.settings.post_click_deadline_s + 1)
    # Paused: only the read-only history searches run; once they have settled every
    # claim in doubt the circuit closes, and the waiting claim goes in the same run.
    runner.run()
    assert not ledger.circuit("acme").open
    assert {r.state for r in ledger.claims_in_batch(loaded.batch_id)} == {"accepted"}
    per_key = Counter(s["patient_account_number"] for s in acme.submissions())
    assert len(per_key) == 4 and set(per_key.values()) == {1}


def test_a_drift_circuit_half_opens_after_the_cool_down_and_one_good_claim_closes_it(
    runner: Runner, ledger: Ledger, acme: ControlClient, clock: MovingClock
) -> None:
    for _ in range(runner.settings.retry.circuit_threshold):
        ledger.payer_failure("acme", "adapter errors: test", runner.settings.retry.circuit_threshold)
    loaded = runner.load(synthetic_batch(2, prefix="TRIAL"))
    assert "acme" in runner.run(loaded.batch_id).blocked_payers
    assert acme.submissions() == []

    clock.advance(runner.settings.retry.circuit_cooldown_s + 1)
    assert ledger.circuit("acme").half_open
    runner.run(loaded.batch_id)
    assert not ledger.circuit("acme").open
    assert {r.state for r in ledger.claims_in_batch(loaded.batch_id)} == {"accepted"}


def test_a_refused_login_never_half_opens(ledger: Ledger, clock: MovingClock) -> None:
    ledger.open_circuit("acme", "authentication failed", kind="login")
    clock.advance(10 * 86_400)
    circuit = ledger.circuit("acme")
    assert circuit.open and not circuit.half_open and not circuit.signs_in
    ledger.payer_success("acme")
    assert ledger.circuit("acme").open
