"""`portalbot ledger requeue` as a biller uses it: a claim that ended needing a person goes
back on the queue after someone checked the portal, and `resubmit` sends it exactly once.

The commands run through click's runner against the real Acme mock portal and a real
headless Chromium; what was sent is read from the portal's own stored submissions.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from fixtures.claims.synthetic import write_jsonl
from fixtures.portals._common import ControlClient, RunningPortal
from portalbot import credentials
from portalbot.cli import main
from portalbot.ledger import Ledger
from tests.helpers import ACME_LOGIN

pytestmark = pytest.mark.browser

CONFIG = """
[retry]
in_place_attempts = 1
in_place_wait_s = 0
max_attempts = 1
"""


@pytest.fixture
def cli(tmp_path: Path, acme_server: RunningPortal, acme: ControlClient) -> Iterator[CliRunner]:
    (tmp_path / "portalbot.toml").write_text(CONFIG)
    credentials.store("acme", "default", ACME_LOGIN)
    yield CliRunner()
    credentials.delete("acme", "default")


def _portalbot(tmp_path: Path, portal: RunningPortal, runner: CliRunner, *args: str) -> Result:
    return runner.invoke(
        main,
        ["--config", str(tmp_path / "portalbot.toml"), "--data-dir", str(tmp_path / "data"), *args],
        env={"PORTALBOT_PAYER_ACME_BASE_URL": portal.base_url},
    )


def test_a_needs_human_claim_requeued_by_a_person_is_resubmitted_exactly_once(
    tmp_path: Path, acme_server: RunningPortal, acme: ControlClient, cli: CliRunner
) -> None:
    claims = write_jsonl(tmp_path / "claims.jsonl", 1, prefix="REQ")
    acme.set_faults(maintenance=True)
    first = _portalbot(tmp_path, acme_server, cli, "submit", str(claims), "--no-progress")
    assert first.exit_code == 1, first.stderr  # the claim needs a person
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'data' / 'ledger.sqlite3'}")
    (record,) = ledger.all_claims()
    assert record.state == "needs_human" and acme.submissions() == []

    # The person checks the portal: up again, and the claim is not there.
    acme.set_faults(maintenance=False)
    requeued = _portalbot(tmp_path, acme_server, cli, "ledger", "requeue", record.claim_id,
                          "--reason", "portal back up; claim not in its history")
    assert requeued.exit_code == 0, requeued.stderr
    assert "queued again" in requeued.stderr
    event = ledger.events(record.pk)[-1]
    assert (event["from_state"], event["to_state"]) == ("needs_human", "queued")
    assert event["worker"] == getpass.getuser()
    assert "claim not in its history" in event["reason"]

    resubmitted = _portalbot(tmp_path, acme_server, cli, "resubmit")
    assert resubmitted.exit_code == 0, resubmitted.stderr
    again = _portalbot(tmp_path, acme_server, cli, "resubmit")
    assert again.exit_code == 0, again.stderr

    assert ledger.claim(record.pk).state == "accepted"
    assert len(acme.submissions(patient_account_number=record.portal_key)) == 1
    assert len(acme.submissions()) == 1
    ledger.close()


def test_requeue_of_an_accepted_claim_exits_2_and_says_which_states_can_go_back(
    tmp_path: Path, acme_server: RunningPortal, acme: ControlClient, cli: CliRunner
) -> None:
    claims = write_jsonl(tmp_path / "claims.jsonl", 1, prefix="REQ")
    assert _portalbot(tmp_path, acme_server, cli, "submit", str(claims)).exit_code == 0

    refused = _portalbot(tmp_path, acme_server, cli, "ledger", "requeue", "REQ-0000000",
                         "--reason", "try again")

    assert refused.exit_code == 2
    assert "claim REQ-0000000 v1 is accepted; only failed, needs_human" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert len(acme.submissions()) == 1


def test_requeue_of_an_unknown_claim_or_with_an_empty_reason_exits_2_naming_the_claim(
    tmp_path: Path, acme_server: RunningPortal, cli: CliRunner
) -> None:
    unknown = _portalbot(tmp_path, acme_server, cli, "ledger", "requeue", "NOPE-1",
                         "--reason", "checked")
    assert unknown.exit_code == 2 and "claim NOPE-1 is not in the ledger" in unknown.stderr

    empty = _portalbot(tmp_path, acme_server, cli, "ledger", "requeue", "NOPE-1", "--reason", " ")
    assert empty.exit_code == 2 and "claim NOPE-1: --reason is empty" in empty.stderr
