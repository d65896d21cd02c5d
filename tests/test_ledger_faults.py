"""Ledger faults are environment faults: plain words and exit status 3, never a traceback
and never the SQL (which quotes claim data)."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from portalbot.cli import main
from portalbot.ledger import Ledger, faults

SECRET_SQL = "INSERT INTO claims (payload) VALUES ('Jane Doe 1950-01-02')"


def _wrapped(message: str) -> sa.exc.OperationalError:
    return sa.exc.OperationalError(SECRET_SQL, {"payload": "Jane Doe"}, sqlite3.OperationalError(message))


@pytest.mark.parametrize(("fault", "words"), [
    (_wrapped("database or disk is full"), "disk is full"),
    (_wrapped("database is locked"), "locked by another process"),
    (_wrapped("disk I/O error"), "disk I/O error"),
    (OSError(errno.ENOSPC, "No space left on device", "/data/evidence/ab12/outcome.png"),
     "the disk is full (writing /data/evidence/ab12/outcome.png)"),
])
def test_each_fault_is_one_plain_line_without_the_sql_or_its_parameters(
    fault: BaseException, words: str
) -> None:
    message = faults.describe(fault)
    assert message is not None and words in message
    assert "\n" not in message and "Jane" not in message and "INSERT" not in message
    assert "the next run carries on" in message


def test_a_lost_postgresql_connection_is_an_environment_fault() -> None:
    class PsycopgOperationalError(Exception):
        pass

    lost = sa.exc.OperationalError(SECRET_SQL, {}, PsycopgOperationalError("server closed"))
    message = faults.describe(lost)
    assert message is not None and "PostgreSQL server cannot be reached" in message
    assert "Jane" not in message


def test_programming_errors_are_not_dressed_up_as_environment_faults() -> None:
    assert faults.describe(_wrapped("no such table: claims")) is None
    assert faults.describe(ValueError("x")) is None
    assert faults.describe(OSError(errno.ENOENT, "missing")) is None


def test_a_fault_in_the_middle_of_a_command_exits_3_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Ledger.open(f"sqlite:///{tmp_path / 'data' / 'ledger.sqlite3'}").close()

    def full(*_args: object, **_kwargs: object) -> int:
        raise _wrapped("database or disk is full")

    monkeypatch.setattr(Ledger, "due_count", full)
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "resubmit"])

    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "disk is full" in lines[0], result.stderr
    assert "Traceback" not in result.stderr and "INSERT" not in result.stderr


def test_an_unreachable_postgresql_ledger_exits_3_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [
        "--data-dir", str(tmp_path), "--ledger", "postgresql://portalbot@127.0.0.1:1/none",
        "ledger",
    ])
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "PostgreSQL server cannot be reached" in lines[0], result.stderr


def test_a_lock_wait_that_is_not_a_number_of_seconds_is_refused_with_an_example(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(main, [
        "--data-dir", str(tmp_path), "--ledger", f"sqlite:///{tmp_path / 'l.sqlite3'}?timeout=soon",
        "ledger",
    ])
    assert result.exit_code == 3 and "?timeout=5" in result.stderr
