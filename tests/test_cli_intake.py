"""``portalbot submit`` loading a file (``--max-claims 0``: intake only): a re-run of the
same bytes names the earlier batch and makes no twin, a changed file is a batch of its
own, and a batch too long for a terminal table says where the rest is."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from fixtures.claims.synthetic import synthetic_claims, write_jsonl
from portalbot.cli import main
from portalbot.ledger import Ledger


def _submit(data: Path, claims_file: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--data-dir", str(data), "submit", str(claims_file),
                                     "--max-claims", "0", "--no-progress", *args],
                              env={"COLUMNS": "200"})


def _batches(data: Path) -> list[dict[str, object]]:
    ledger = Ledger.open(f"sqlite:///{data / 'ledger.sqlite3'}")
    try:
        return ledger.batches()
    finally:
        ledger.close()


def test_loading_the_same_file_again_names_the_earlier_batch_and_makes_no_new_one(
    tmp_path: Path
) -> None:
    claims_file = write_jsonl(tmp_path / "claims.jsonl", 5, prefix="AGAIN")
    data = tmp_path / "data"
    first = _submit(data, claims_file)
    assert first.exit_code == 0, first.output
    assert "already loaded" not in first.stderr
    [batch] = _batches(data)

    again = _submit(data, claims_file)
    assert again.exit_code == 0, again.output
    day = f"{batch['loaded_at']:%Y-%m-%d}"
    assert re.search(rf"this file was already loaded as batch {str(batch['id'])[:8]} on "
                     rf"{day} \d\d:\d\d UTC; nothing new to load", again.stderr), again.stderr
    assert len(_batches(data)) == 1
    assert f"batch {batch['id']}" in again.stdout  # the table is the earlier batch's

    as_json = _submit(data, claims_file, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    shown = json.loads(as_json.stdout)
    assert shown["batch_id"] == shown["already_loaded"]["batch_id"] == batch["id"]
    assert shown["already_loaded"]["loaded_at"].startswith(day)
    assert len(shown["claims"]) == 5 and shown["submitted_in_this_run"] == 0
    assert len(_batches(data)) == 1


def test_a_file_with_other_bytes_is_a_batch_of_its_own_and_loads_only_what_is_new(
    tmp_path: Path
) -> None:
    data = tmp_path / "data"
    assert _submit(data, write_jsonl(tmp_path / "a.jsonl", 3, prefix="GROW")).exit_code == 0
    grown = write_jsonl(tmp_path / "b.jsonl", 4, prefix="GROW")

    result = _submit(data, grown, "--format", "json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["already_loaded"] is None
    assert "already loaded" not in result.stderr
    assert len(_batches(data)) == 2
    assert len(shown["claims"]) == 4  # the three known ones are in this batch too, once each
    assert "3 claims were already in the ledger" not in result.stderr  # they are queued still


def test_a_batch_longer_than_the_table_shows_the_first_rows_and_where_the_rest_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portalbot.cli import views

    monkeypatch.setattr(views, "TABLE_ROWS", 3)
    claims_file = write_jsonl(tmp_path / "claims.jsonl", 8, prefix="LONG")
    data = tmp_path / "data"
    result = _submit(data, claims_file)

    assert result.exit_code == 0, result.output
    shown = [c.claim_id for c in synthetic_claims(8, prefix="LONG")
             if c.claim_id in result.stdout]
    assert shown == ["LONG-0000000", "LONG-0000001", "LONG-0000002"]
    batch = str(_batches(data)[0]["id"])
    assert (f"… and 5 more claims in this batch, not shown; `portalbot ledger --batch "
            f"{batch[:8]} --all` lists every one") in result.stdout
