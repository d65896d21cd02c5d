"""`portalbot validate` on a JSON Lines file big enough to be split over worker processes
gives exactly the serial verdicts: the file-wide checks (a (claim_id, version) once, one
claim per patient-month) hold across chunks, and unreadable records appear in the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.claims.synthetic import synthetic_claims
from portalbot import validation
from portalbot.cli import main


@pytest.fixture
def big_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(validation, "CHUNK_BYTES", 4_000)  # many ranges from a small file
    claims = [c.model_dump(mode="json") for c in synthetic_claims(40, prefix="PAR")]
    twin = dict(claims[3], claim_id="PAR-TWIN")  # same patient-month as claim 3, far away
    lines = [json.dumps(c) for c in claims] + ["{not json", json.dumps(claims[5]),
                                               json.dumps({"claim_id": "PAR-BAD"}),
                                               json.dumps(twin)]
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _json(path: Path) -> list[dict]:
    result = CliRunner().invoke(main, ["validate", str(path), "--format", "json"])
    assert result.exit_code == 1, result.stderr
    return json.loads(result.stdout)


def test_parallel_verdicts_equal_the_serial_ones(big_file: Path, tmp_path: Path) -> None:
    serial = tmp_path / "claims.json"  # a JSON array is checked in-process
    serial.write_text(json.dumps([json.loads(line) for line in big_file.read_text().splitlines()
                                  if line.startswith('{"')]))
    parallel = [v for v in _json(big_file) if not v.get("unreadable")]
    expected = [v for v in _json(serial) if not v.get("unreadable")]
    assert parallel == expected
    assert len(parallel) == 41


def test_file_wide_checks_hold_across_chunks(big_file: Path) -> None:
    verdicts = {v["claim_id"]: v for v in _json(big_file) if not v.get("unreadable")}
    twin = {f["rule"] for f in verdicts["PAR-TWIN"]["findings"]}
    assert "CCM-EXCL-06" in twin
    assert verdicts["PAR-TWIN"]["billable"] is False


def test_unreadable_records_are_in_the_json(big_file: Path) -> None:
    unreadable = {v["location"]: v for v in _json(big_file) if v.get("unreadable")}
    assert set(unreadable) == {"line 41", "line 42", "line 43"}
    assert unreadable["line 41"]["claim_id"] is None
    assert "not valid JSON" in unreadable["line 41"]["problems"][0]["message"]
    assert "already appears at line 6" in unreadable["line 42"]["problems"][0]["message"]
    assert unreadable["line 43"]["claim_id"] == "PAR-BAD"
    assert {p["field"] for p in unreadable["line 43"]["problems"]} >= {"version", "payer_id"}


def test_the_table_equals_the_serial_one(big_file: Path, tmp_path: Path) -> None:
    serial = tmp_path / "claims.json"
    serial.write_text(json.dumps([json.loads(line) for line in big_file.read_text().splitlines()
                                  if line.startswith('{"') and "PAR-BAD" not in line]))
    runner = CliRunner()
    parallel = runner.invoke(main, ["validate", str(big_file)]).stdout
    expected = runner.invoke(main, ["validate", str(serial)]).stdout
    assert "41 claim(s): " in parallel and "findings:" in parallel
    assert parallel == expected


def test_an_overlong_line_inside_a_range_is_skipped_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portalbot import claim_json

    monkeypatch.setattr(validation, "CHUNK_BYTES", 4_000)
    monkeypatch.setattr(validation, "MAX_LINE_BYTES", 10_000)
    monkeypatch.setattr(claim_json, "MAX_LINE_BYTES", 10_000)
    claims = [json.dumps(c.model_dump(mode="json")) for c in synthetic_claims(6, prefix="LONG")]
    huge = '{"claim_id": "' + "x" * 30_000 + '"}'  # longer than a range and the line limit
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join([*claims[:3], huge, *claims[3:]]) + "\n")
    entries = _json(path)
    expected = [json.loads(c)["claim_id"] for c in claims]
    assert [v["claim_id"] for v in entries if not v.get("unreadable")] == expected
    unreadable = [v for v in entries if v.get("unreadable")]
    assert [v["location"] for v in unreadable] == ["line 4"]
    assert "longer than" in unreadable[0]["problems"][0]["message"]
