"""Three `portalbot worker` processes on one BlueRiver account, signing in within one TOTP
window: the ledger hands each sign-in its own time step, so the portal refuses no code
and the payer is never paused.

The workers read the time from the BlueRiver mock portal's settable clock
(``portal_clock_portalbot``), which stays frozen inside one 30-second window while they
start; the test moves it to the next window only once the code of the current one has
been used, as real time would while a sign-in waits. What happened is read from the
portal's own records: its one-time-code verifier and its stored submissions.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from fixtures.portals._common import ControlClient
from portalbot import credentials
from portalbot.adapters import Credentials
from portalbot.ledger import Ledger
from tests.helpers import ROOT

from .conftest import Portals, portal_module

pytestmark = pytest.mark.browser

CLAIM_IDS = [f"NORTHSIDE-2026-10-0003{n:02d}" for n in (1, 2, 3, 7, 8, 9)]
WORKERS = 3
STEP_S = 30


@pytest.fixture
def blueriver(portals: Portals) -> Iterator[ControlClient]:
    control = portals.control("blueriver")
    control.reset()
    username, password, secret = portal_module("blueriver").LOGIN
    credentials.store("blueriver", "default", Credentials(username, password, secret))
    yield control
    control.release()
    control.reset()
    credentials.delete("blueriver", "default")


def _claims_file(tmp_path: Path) -> Path:
    claims = json.loads((ROOT / "fixtures" / "claims" / "blueriver.json").read_text())
    path = tmp_path / "claims.json"
    path.write_text(json.dumps([c for c in claims if c["claim_id"] in CLAIM_IDS]))
    return path


def _config(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "portalbot.toml"
    path.write_text(f'[payers.blueriver]\nbase_url = "{base_url}"\nmax_sessions = {WORKERS}\n')
    return path


def _worker(tmp_path: Path, config: Path, ledger_url: str, clock_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PORTALBOT_LEDGER_URL": ledger_url, "PORTAL_CLOCK_URL": clock_url}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.portal_clock_portalbot", "--config", str(config),
         "--data-dir", str(tmp_path / "data"), "worker", "--until-empty", "--concurrency", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _reserved_steps(ledger: Ledger) -> set[int]:
    with ledger.engine.connect() as connection:
        names = connection.execute(
            sa.select(sa.column("name")).select_from(sa.table("locks"))
            .where(sa.column("name").startswith("totp:"))
        ).scalars().all()
    return {int(name.rsplit(":", 1)[1]) for name in names}


def _let_time_pass(control: ControlClient, ledger: Ledger) -> None:
    """Move the portal's clock to the next reserved step once every code the portal would
    still take now has been used: what real time does while a sign-in waits for its code."""
    now_step = int(datetime.fromisoformat(control._get("/clock")["now"]).timestamp() // STEP_S)
    used = {step for _user, step in control.mfa()["used"]}
    reserved = _reserved_steps(ledger)
    waiting_now = {s for s in reserved if now_step - 1 <= s <= now_step} - used
    later = sorted(s for s in reserved if s > now_step)
    if later and not waiting_now:
        control.set_clock(datetime.fromtimestamp(later[0] * STEP_S + 1, UTC))


def test_three_worker_processes_on_one_blueriver_account_in_one_totp_window_use_no_code_twice(
    tmp_path: Path, portals: Portals, blueriver: ControlClient,
) -> None:
    base_url = portals.server("blueriver").base_url
    ledger_url = f"sqlite:///{tmp_path / 'data' / 'ledger.sqlite3'}"
    ledger = Ledger.open(ledger_url)
    config = _config(tmp_path, base_url)
    loaded = subprocess.run(
        [sys.executable, "-m", "portalbot", "--config", str(config), "--data-dir",
         str(tmp_path / "data"), "submit", str(_claims_file(tmp_path)), "--max-claims", "0"],
        cwd=ROOT, env={**os.environ, "PORTALBOT_LEDGER_URL": ledger_url},
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert len(ledger.all_claims()) == len(CLAIM_IDS), loaded.stderr[-2000:]
    blueriver.set_clock("2026-11-02T09:00:05+00:00")  # early in one 30-second window

    workers = [_worker(tmp_path, config, ledger_url, f"{base_url}/_control/clock")
               for _ in range(WORKERS)]
    try:
        deadline = time.monotonic() + 240
        while any(w.poll() is None for w in workers):
            assert time.monotonic() < deadline, "the workers did not finish"
            assert blueriver.mfa()["refused_reuse"] == 0, "the portal refused a code used twice"
            _let_time_pass(blueriver, ledger)
            time.sleep(0.1)  # polling the portal's record, not waiting for time to pass
        for worker in workers:
            _out, stderr = worker.communicate()
            assert worker.returncode == 0, stderr.decode()[-3000:]
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGUSR1)  # its stacks, into the failure report
                time.sleep(1)  # failure path only: a hung worker has no event to wait for
                os.killpg(worker.pid, signal.SIGKILL)
                print(worker.communicate()[1].decode()[-4000:])

    record = blueriver.mfa()
    assert (record["refused_reuse"], record["refused_wrong"]) == (0, 0)
    used_steps = [step for _user, step in record["used"]]
    assert len(used_steps) == WORKERS  # one sign-in each (all asked in one window), each its own step
    assert max(used_steps) - min(used_steps) == WORKERS - 1
    assert ledger.payer_circuit("blueriver") == (False, None)
    records = ledger.all_claims()
    assert {r.state for r in records} == {"pending"}, Counter(r.state for r in records)
    stored = Counter(s["patient_account_number"] for s in blueriver.submissions()
                     if s.get("username") != "keyed-by-hand")
    assert stored == Counter({r.portal_key: 1 for r in records})
    submitters = {e["worker"] for r in records for e in ledger.events(r.pk)
                  if e["to_state"] == "submitting"}
    assert len(submitters) == WORKERS
    ledger.close()
