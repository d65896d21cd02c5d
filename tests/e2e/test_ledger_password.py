"""A ledger URL with a password: it appears in no output of submit, ledger, ledger migrate,
the worklist, any error or any log line (PostgreSQL's trust auth accepts any password)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.claims.synthetic import write_jsonl
from fixtures.portals._common import ControlClient, RunningPortal
from portalbot import credentials
from portalbot.cli import main
from tests.helpers import ACME_LOGIN, postgres_database

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PASSWORD = "Corr3ct-Horse-Secret"


@pytest.fixture
def secret_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")


def test_the_ledger_password_is_in_no_output_error_or_log_line(
    tmp_path: Path, acme_server: RunningPortal, acme: ControlClient, secret_url: str
) -> None:
    credentials.store("acme", "default", ACME_LOGIN)
    claims = write_jsonl(tmp_path / "claims.jsonl", 2, prefix="SECRET")
    unreachable = secret_url.replace(":5432/", ":1/")
    runs = {
        "submit": ["--log-level", "DEBUG", "submit", str(claims), "--no-progress"],
        "submit --log-json": ["--log-json", "--log-level", "DEBUG", "submit", str(claims)],
        "ledger": ["ledger"],
        "ledger json": ["ledger", "--format", "json"],
        "ledger migrate": ["ledger", "migrate"],
        "ledger backup": ["ledger", "backup", str(tmp_path / "copy.sqlite3")],
        "worklist": ["worklist"],
    }
    outputs = {}
    for name, args in runs.items():
        result = CliRunner().invoke(
            main, ["--data-dir", str(tmp_path / "data"), "--ledger", secret_url, *args],
            env={"PORTALBOT_PAYER_ACME_BASE_URL": acme_server.base_url},
        )
        outputs[name] = (result.exit_code, result.stdout + result.stderr)
    for name, url in {"unreachable": unreachable,
                      "unsupported": secret_url.replace("postgresql", "mysql")}.items():
        result = CliRunner().invoke(main, ["--ledger", url, "ledger", "migrate"])
        outputs[name] = (result.exit_code, result.stdout + result.stderr)

    for name, (_code, text) in outputs.items():
        assert PASSWORD not in text, f"the password in the output of {name}"
    assert outputs["submit"][0] == 0 and len(acme.submissions()) == 2
    assert "Ledger: postgresql://postgres:***@127.0.0.1:5432/" in outputs["submit"][1]
    assert "postgres:***@" in outputs["ledger"][1] and "postgres:***@" in outputs["ledger migrate"][1]
    assert outputs["unreachable"][0] == 3 and "postgres:***@127.0.0.1:1/" in outputs["unreachable"][1]
    assert outputs["unsupported"][0] == 2
