"""The ledger as a durable work queue: retries, circuits, crashes and many workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from fixtures.claims.synthetic import synthetic_batch
from fixtures.portals._common import ControlClient, RunningPortal
from portalbot import credentials
from portalbot.adapters import Credentials
from portalbot.config import PayerSettings, RetrySettings, Settings
from portalbot.intake import intake
from portalbot.ledger import Ledger
from tests.helpers import ACME_LOGIN, ROOT, Clock, Runner, postgres_database

pytestmark = pytest.mark.browser


def test_a_form_that_answers_503_twice_then_works_is_one_submission_with_the_retries_recorded(
    runner: Runner, acme: ControlClient, ledger: Ledger
) -> None:
    acme.set_faults(fail_next={"path_prefix": "/claims/new", "count": 2})
    loaded, _summary = runner.submit(synthetic_batch(1))

    (record,) = ledger.claims_in_batch(loaded.batch_id)
    assert record.state == "accepted"
    assert len(acme.submissions()) == 1
    (attempt,) = [a for a in ledger.attempts(record.pk) if a["kind"] == "submit"]
    assert attempt["retries"] == 2


def test_a_portal_down_for_good_ends_failed_then_needs_human_and_never_accepted(
    tmp_path: Path, acme_server: RunningPortal, acme: ControlClient
) -> None:
    clock = Clock()
    settings = Settings(
        data_dir=tmp_path, payers={"acme": PayerSettings(base_url=acme_server.base_url)},
        retry=RetrySettings(in_place_attempts=2, in_place_wait_s=0, max_attempts=2, backoff_s=600),
    )
    ledger = Ledger.open(settings.resolved_ledger_url, clock=clock)
    runner = Runner(settings, ledger, ACME_LOGIN)
    acme.set_faults(maintenance=True)

    loaded, _ = runner.submit(synthetic_batch(1))
    (record,) = ledger.claims_in_batch(loaded.batch_id)
    assert record.state == "failed"
    assert record.next_attempt_at == clock.now + timedelta(seconds=600)

    assert runner.run().results == []  # not due yet: nothing is sent
    clock.now += timedelta(seconds=601)
    runner.run()

    record = ledger.claim(record.pk)
    assert record.state == "needs_human"
    assert acme.submissions() == []
    assert [e["to_state"] for e in ledger.events(record.pk)] == [
        "queued", "failed", "queued", "needs_human",
    ]


def test_authentication_failures_pause_the_payer_until_a_person_resumes_it(
    settings: Settings, ledger: Ledger, acme: ControlClient
) -> None:
    wrong = Runner(settings, ledger, Credentials(ACME_LOGIN.username, "wrong-password"))
    for _ in range(3):
        loaded, summary = wrong.submit(synthetic_batch(2))
        assert "acme" in summary.blocked_payers

    right = Runner(settings, ledger, ACME_LOGIN)
    summary = right.run()
    assert "paused" in summary.blocked_payers["acme"]
    assert acme.submissions() == []
    # Only the first run tried to sign in; the account was never pushed towards lock-out.
    acme.set_account(ACME_LOGIN.username, ACME_LOGIN.password)

    ledger.resume_payer("acme")
    right.run()
    assert {r.state for r in ledger.claims_in_batch(loaded.batch_id)} == {"accepted"}
    assert len(acme.submissions()) == 2


# --- crashes: worker processes killed at the portal's pause points -------------------------

def _worker(tmp_path: Path, portal: RunningPortal, ledger_url: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PORTALBOT_PAYER_ACME_BASE_URL": portal.base_url,
           "PORTALBOT_LEDGER_URL": ledger_url}
    # A short post-click deadline: an in-doubt claim is due for reconciliation seconds
    # after its intent instead of two minutes.
    config = tmp_path / "portalbot.toml"
    config.write_text("post_click_deadline_s = 3\n")
    return subprocess.Popen(
        [sys.executable, "-m", "portalbot", "--config", str(config),
         "--data-dir", str(tmp_path / "data"), "worker", "--until-empty", *args],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: Python, the driver and Chromium
    )


def _kill_process_group(worker: subprocess.Popen[bytes]) -> None:
    """kill -9 the worker's whole process group, as a power cut or the OOM killer would."""
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def _one_submission_per_claim(acme: ControlClient, ledger: Ledger, batch_id: str) -> None:
    records = ledger.claims_in_batch(batch_id)
    per_key = Counter(s["patient_account_number"] for s in acme.submissions())
    assert {r.state for r in records} == {"accepted"}, Counter(r.state for r in records)
    assert {r.portal_key: per_key[r.portal_key] for r in records} == {
        r.portal_key: 1 for r in records
    }
    assert sum(per_key.values()) == len(records)


@pytest.fixture
def keyring_login(acme: ControlClient) -> Iterator[None]:
    credentials.store("acme", "default", ACME_LOGIN)
    yield
    credentials.delete("acme", "default")


def test_workers_killed_at_every_stage_leave_exactly_one_submission_per_claim(
    tmp_path: Path, settings: Settings, ledger: Ledger, acme_server: RunningPortal,
    acme: ControlClient, keyring_login: None,
) -> None:
    loaded = intake(ledger, settings, synthetic_batch(30, prefix="CRASH"))
    url = settings.resolved_ledger_url
    # Killed while signing in and while the form loads (before the click), with the click
    # made and the request parked before the portal stores it, and after the portal stored
    # it but before the browser saw the answer.
    for point in ("login", "claim_form", "before_store", "after_store", "after_store"):
        acme.arm_pause(point)
        worker = _worker(tmp_path, acme_server, url)
        acme.wait_parked(point, timeout=60)
        _kill_process_group(worker)
        acme.release(point)

    survivor = _worker(tmp_path, acme_server, url)
    _out, stderr = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, stderr.decode()[-2000:]
    _one_submission_per_claim(acme, ledger, loaded.batch_id)
    in_doubt = [r for r in ledger.claims_in_batch(loaded.batch_id)
                if any(e["to_state"] == "in_doubt" for e in ledger.events(r.pk))]
    assert len(in_doubt) >= 3  # the three kills after the intent was committed
    with ledger.engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"


# --- many workers on PostgreSQL --------------------------------------------------------------

@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.mark.postgres
def test_three_workers_on_postgresql_submit_each_of_60_claims_exactly_once(
    tmp_path: Path, settings: Settings, acme_server: RunningPortal, acme: ControlClient,
    keyring_login: None, postgres_url: str,
) -> None:
    ledger = Ledger.open(postgres_url)
    loaded = intake(ledger, settings, synthetic_batch(60, prefix="PG"))
    workers = [_worker(tmp_path, acme_server, postgres_url) for _ in range(3)]
    for worker in workers:
        _out, stderr = worker.communicate(timeout=600)
        assert worker.returncode == 0, stderr.decode()[-2000:]

    _one_submission_per_claim(acme, ledger, loaded.batch_id)
    workers_used = {e["worker"] for r in ledger.claims_in_batch(loaded.batch_id)
                    for e in ledger.events(r.pk) if e["to_state"] == "submitting"}
    assert len(workers_used) == 3
    ledger.close()
