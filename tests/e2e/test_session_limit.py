"""A payer's configured ``max_sessions`` is the number of contexts the engine opens at once,
even above the adapter's default (Acme's is 4): the ledger's session slots and the
in-process pool must agree, or a run at concurrency 8 quietly works with 4."""

from __future__ import annotations

import threading

from fixtures.claims.synthetic import synthetic_batch
from fixtures.portals._common import ControlClient
from payers.acme import AcmeAdapter
from portalbot.config import PayerSettings
from portalbot.engine import RunSummary
from tests.helpers import Runner

SESSIONS = AcmeAdapter.max_sessions_per_account + 2


def test_a_configured_limit_above_the_adapters_opens_that_many_sessions(
    acme: ControlClient, runner: Runner
) -> None:
    acme_url = runner.settings.payers["acme"].base_url
    runner.settings = runner.settings.model_copy(update={
        "concurrency": SESSIONS,
        "payers": {"acme": PayerSettings(base_url=acme_url, max_sessions=SESSIONS)},
        # A parked submission must not time out and free its session for the next claim:
        # that would let a pool capped at 4 reach the count too, one after the other.
        "browser": runner.settings.browser.model_copy(
            update={"navigation_timeout_s": 600.0, "action_timeout_s": 600.0}),
        "post_click_deadline_s": 600.0,
    })
    loaded = runner.load(synthetic_batch(SESSIONS, prefix="LIMIT"))
    acme.arm_pause("before_store")
    outcome: list[RunSummary] = []
    engine = threading.Thread(target=lambda: outcome.append(runner.run(loaded.batch_id)))
    engine.start()
    try:
        # Every session reaches the store at once only if all of them were opened.
        assert acme.wait_parked("before_store", timeout=60, count=SESSIONS) == SESSIONS
    finally:
        acme.release("before_store")
        engine.join(timeout=120)
    (summary,) = outcome
    assert sorted(r.state for r in summary.results) == ["accepted"] * SESSIONS
    assert len({s["username"] for s in acme.submissions()}) == 1  # one account, many sessions
