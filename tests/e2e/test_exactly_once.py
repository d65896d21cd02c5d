"""Exactly once with real processes: frozen workers, held requests, kills, rehearsals,
flaky portals and honest exit statuses — asserted from the portal's stored submissions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.claims.synthetic import synthetic_batch, write_jsonl
from fixtures.portals._common import ControlClient, RunningPortal
from portalbot import credentials
from portalbot.cli import main
from portalbot.config import Settings
from portalbot.intake import intake
from portalbot.ledger import ClaimRecord, Ledger
from tests.helpers import ACME_LOGIN, ROOT, Runner

pytestmark = pytest.mark.browser

BOUND_S = 90.0  # no wait below is ever longer than this


@pytest.fixture
def keyring_login(acme: ControlClient) -> Iterator[None]:
    credentials.store("acme", "default", ACME_LOGIN)
    yield
    credentials.delete("acme", "default")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Short leases and deadlines, so a take-over is seconds away, not minutes."""
    path = tmp_path / "portalbot.toml"
    path.write_text("lease_s = 2\npost_click_deadline_s = 5\n")
    return path


def _env(portal: RunningPortal, settings: Settings, config: Path) -> dict[str, str]:
    return {**os.environ, "PORTALBOT_PAYER_ACME_BASE_URL": portal.base_url,
            "PORTALBOT_LEDGER_URL": settings.resolved_ledger_url,
            "PORTALBOT_DATA_DIR": str(settings.data_dir), "PORTALBOT_CONFIG": str(config)}


def _portalbot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "portalbot", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=BOUND_S, check=False)


def _spawn(env: dict[str, str], *command: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for(check: object, what: str) -> None:
    deadline = time.monotonic() + BOUND_S
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)  # the poll interval of a bounded wait for the condition, not a pause


def _stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "T"


def _stored_once(acme: ControlClient, records: list[ClaimRecord]) -> None:
    per_key = Counter(s["patient_account_number"] for s in acme.submissions())
    assert {r.portal_key: per_key[r.portal_key] for r in records} == {r.portal_key: 1 for r in records}
    assert sum(per_key.values()) == len(records)


def _resubmit_until_settled(env: dict[str, str], ledger: Ledger, pk: int) -> None:
    """cron, run by hand: `resubmit` again until the claim is out of doubt (bounded)."""
    def settled() -> bool:
        _portalbot(env, "resubmit")
        return ledger.claim(pk).state not in {"submitting", "in_doubt", "queued"}
    _wait_for(settled, "resubmit to settle the claim")


def test_a_worker_frozen_between_intent_and_click_is_not_overtaken_early_and_never_clicks_late(
    settings: Settings, ledger: Ledger, acme_server: RunningPortal, acme: ControlClient,
    keyring_login: None, config: Path,
) -> None:
    (record,) = intake(ledger, settings, synthetic_batch(1, prefix="FROZEN")).records
    env = _env(acme_server, settings, config)
    frozen = _spawn(env, "tests.e2e.frozen_worker")
    try:
        assert frozen.stdout is not None and frozen.stdout.readline().startswith("intent")
        _wait_for(lambda: _stopped(frozen.pid), "the worker to stop itself")
        assert ledger.claim(record.pk).state == "submitting"

        early = _portalbot(env, "resubmit")  # its lease still holds: hands off
        assert "being submitted by another worker" in early.stderr
        assert ledger.claim(record.pk).state == "submitting"
        assert acme.submissions() == []

        _resubmit_until_settled(env, ledger, record.pk)
    finally:
        os.killpg(frozen.pid, signal.SIGCONT)
    _out, err = frozen.communicate(timeout=BOUND_S)
    assert frozen.returncode == 0, err[-2000:]

    settled = ledger.claim(record.pk)
    assert settled.state == "accepted"
    _stored_once(acme, [settled])
    attempts = [a for a in ledger.attempts(record.pk) if a["kind"] == "submit"]
    assert [a["result"] for a in attempts] == ["late", "accepted"]
    assert "not clicked" in attempts[0]["detail"]
    late = [e for e in ledger.events(record.pk) if e["attempt_id"] == attempts[0]["id"]]
    assert any("late answer" in e["reason"] for e in late)


def test_a_portal_holding_the_submit_past_the_lease_is_waited_for_not_sent_again(
    tmp_path: Path, settings: Settings, ledger: Ledger, acme_server: RunningPortal,
    acme: ControlClient, keyring_login: None,
) -> None:
    config = tmp_path / "holding.toml"
    config.write_text("lease_s = 2\npost_click_deadline_s = 60\n")
    (record,) = intake(ledger, settings, synthetic_batch(1, prefix="HELD")).records
    env = _env(acme_server, settings, config)
    acme.arm_pause("before_store")
    worker = _spawn(env, "portalbot", "worker", "--until-empty")
    try:
        acme.wait_parked("before_store", timeout=BOUND_S)
        _wait_for(lambda: (ledger.claim(record.pk).lease_expires_at or ledger.clock())
                  < ledger.clock(), "the worker's lease to run out")

        second = _portalbot(env, "resubmit")
        assert second.returncode == 0, second.stderr
        assert ledger.claim(record.pk).state == "submitting"
    finally:
        acme.release("before_store")
    _out, err = worker.communicate(timeout=BOUND_S)
    assert worker.returncode == 0, err[-2000:]
    settled = ledger.claim(record.pk)
    assert settled.state == "accepted"
    _stored_once(acme, [settled])


def test_a_one_claim_batch_killed_after_the_portal_stored_it_is_settled_by_resubmit(
    tmp_path: Path, settings: Settings, ledger: Ledger, acme_server: RunningPortal,
    acme: ControlClient, keyring_login: None, config: Path,
) -> None:
    claims = write_jsonl(tmp_path / "one.jsonl", 1, prefix="KILLED")
    env = _env(acme_server, settings, config)
    acme.arm_pause("after_store")
    batch = _spawn(env, "portalbot", "submit", str(claims), "--no-progress")
    acme.wait_parked("after_store", timeout=BOUND_S)
    os.killpg(batch.pid, signal.SIGKILL)
    batch.wait()
    acme.release("after_store")
    (record,) = ledger.all_claims()
    assert record.state == "submitting"  # stranded, until a run reclaims it

    _resubmit_until_settled(env, ledger, record.pk)
    settled = ledger.claim(record.pk)
    assert settled.state == "accepted"
    assert [e["to_state"] for e in ledger.events(record.pk)][-2:] == ["in_doubt", "accepted"]
    _stored_once(acme, [settled])


def test_a_dry_run_fills_every_form_and_leaves_nothing_a_worker_would_submit(
    tmp_path: Path, settings: Settings, ledger: Ledger, acme_server: RunningPortal,
    acme: ControlClient, keyring_login: None, config: Path,
) -> None:
    claims = write_jsonl(tmp_path / "three.jsonl", 3, prefix="REHEARSAL")
    env = _env(acme_server, settings, config)

    rehearsal = _portalbot(env, "submit", str(claims), "--dry-run", "--no-progress")
    assert rehearsal.returncode == 0, rehearsal.stderr
    assert rehearsal.stdout.count("dry run") == 3
    assert "3 of 3 claims filled and photographed" in rehearsal.stderr
    assert ledger.all_claims() == []

    worker = _portalbot(env, "worker", "--until-empty")
    assert worker.returncode == 0, worker.stderr
    assert acme.submissions() == []

    real = _portalbot(env, "submit", str(claims), "--no-progress")
    assert real.returncode == 0, real.stderr
    _stored_once(acme, ledger.all_claims())


def test_half_the_requests_answering_503_ends_every_claim_accepted_or_due_for_a_retry(
    runner: Runner, acme: ControlClient, ledger: Ledger
) -> None:
    acme.seed(7)
    acme.set_faults(error_rate=0.5)
    loaded, _summary = runner.submit(synthetic_batch(5, prefix="FLAKY"))

    records = ledger.claims_in_batch(loaded.batch_id)
    states = Counter(r.state for r in records)
    assert set(states) <= {"accepted", "failed"}, states
    for record in records:
        if record.state == "failed":
            assert record.next_attempt_at is not None, record.reason
            assert "trac" not in (record.reason or "").lower()
    per_key = Counter(s["patient_account_number"] for s in acme.submissions())
    assert {r.portal_key for r in records if r.state == "accepted"} == set(per_key)
    assert set(per_key.values()) <= {1}


def test_a_run_whose_claims_all_failed_on_an_outage_exits_4_and_names_the_next_retry(
    tmp_path: Path, acme_server: RunningPortal, acme: ControlClient, keyring_login: None,
) -> None:
    acme.set_faults(maintenance=True)
    claims = write_jsonl(tmp_path / "two.jsonl", 2, prefix="OUTAGE")
    result = CliRunner().invoke(
        main, ["--data-dir", str(tmp_path / "data"), "submit", str(claims), "--no-progress"],
        env={"PORTALBOT_PAYER_ACME_BASE_URL": acme_server.base_url},
    )
    assert result.exit_code == 4, result.stderr
    assert "2 claims failed and will be retried; the next retry is due at" in result.stderr
    assert acme.submissions() == []
