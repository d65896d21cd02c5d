"""The `portalbot` command as a biller runs it: exit status, table, logs without PHI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from fixtures.portals._common import ControlClient, RunningPortal
from portalbot import credentials
from portalbot.adapters import Credentials
from portalbot.claims import ClaimBatchFile
from portalbot.cli import main
from tests.helpers import ACME_LOGIN, CLAIMS

pytestmark = pytest.mark.browser


def _portalbot(tmp_path: Path, portal: RunningPortal, *args: str) -> Result:
    return CliRunner().invoke(
        main,
        ["--data-dir", str(tmp_path / "data"), "--log-json", *args],
        env={"PORTALBOT_PAYER_ACME_BASE_URL": portal.base_url},
    )


@pytest.fixture
def account(acme: ControlClient) -> None:
    credentials.store("acme", "default", ACME_LOGIN)


def _phi(batch: ClaimBatchFile) -> list[str]:
    values = []
    for loaded in batch.claims:
        claim = loaded.claim
        born = claim.patient.birth_date
        values += [claim.patient.first_name, claim.patient.last_name, claim.subscriber.member_id,
                   born.isoformat(), born.strftime("%m/%d/%Y")]
    return values


def test_the_demo_batch_through_the_cli_exits_0_with_a_table_and_no_phi_in_any_output(
    tmp_path: Path, acme_server: RunningPortal, acme: ControlClient, account: None,
    demo_batch: ClaimBatchFile,
) -> None:
    result = _portalbot(tmp_path, acme_server, "submit", str(CLAIMS / "demo.json"), "--concurrency", "2")

    assert result.exit_code == 0, result.stderr  # a rejection and a hold are outcomes
    assert result.stdout.count("accepted") == 12
    assert result.stdout.count("rejected") == 2
    assert result.stdout.count("held") == 1 and "CCM-CODE-01" in result.stdout
    assert "ACM-" in result.stdout and ".png" in result.stdout
    for value in _phi(demo_batch):
        assert value not in result.stdout + result.stderr, "PHI in the output"

    again = _portalbot(tmp_path, acme_server, "submit", str(CLAIMS / "demo.json"))
    assert again.exit_code == 0
    assert "15 claims were already in the ledger" in again.stderr
    assert len(acme.submissions()) == 14


def test_missing_credentials_exit_3_and_say_how_to_set_them(
    tmp_path: Path, acme_server: RunningPortal, acme: ControlClient
) -> None:
    credentials.delete("acme", "default")
    result = _portalbot(tmp_path, acme_server, "submit", str(CLAIMS / "demo.json"))
    assert result.exit_code == 3
    assert "portalbot credentials set acme --account default" in result.stderr
    assert acme.submissions() == []


def test_a_wrong_password_exits_3_with_an_authentication_error(
    tmp_path: Path, acme_server: RunningPortal, acme: ControlClient
) -> None:
    credentials.store("acme", "default", Credentials(ACME_LOGIN.username, "wrong"))
    result = _portalbot(tmp_path, acme_server, "submit", str(CLAIMS / "demo.json"))
    assert result.exit_code == 3
    assert "authentication failed" in result.stderr
    assert "wrong" not in result.stderr.replace("wrong password", "")
    assert acme.submissions() == []


def test_an_unreadable_file_exits_2(tmp_path: Path, acme_server: RunningPortal) -> None:
    bad = tmp_path / "claims.json"
    bad.write_text("{not json")
    result = _portalbot(tmp_path, acme_server, "submit", str(bad))
    assert result.exit_code == 2
    assert "claims.json" in result.stderr


def test_a_file_with_unreadable_claims_exits_1_after_sending_the_good_ones(
    tmp_path: Path, acme_server: RunningPortal, acme: ControlClient, account: None
) -> None:
    result = _portalbot(tmp_path, acme_server, "submit", str(CLAIMS / "broken.jsonl"))
    assert result.exit_code == 1
    assert "line 4" in result.stderr and "charge" in result.stderr
    assert len(acme.submissions()) == 3
