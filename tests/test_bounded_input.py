"""Bad input is bounded: unreadable records past a limit are counted, not listed; an
overlong line is skipped without being held in memory; a file of garbage is refused at
once as not a claims file."""

from __future__ import annotations

import hashlib
import os
import random
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.claims.synthetic import synthetic_claims
from portalbot.claims import MAX_LINE_BYTES, ClaimFileError, load_claims
from portalbot.cli import main


def _claim_lines(count: int) -> list[bytes]:
    return [(c.model_dump_json() + "\n").encode() for c in synthetic_claims(count, prefix="BND")]


def test_unreadable_records_past_the_limit_are_counted_and_not_listed(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"".join(_claim_lines(1)) + b"{not json\n" * 500)

    batch = load_claims(path, max_problems=50)
    assert (len(batch.claims), len(batch.problems), batch.more_problems) == (1, 50, 450)
    assert batch.unreadable == 500
    assert batch.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()

    config = tmp_path / "portalbot.toml"
    config.write_text("max_problems_reported = 5\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr.count("unreadable claim:") == 6  # five listed, then the count
    assert "and 495 more, not listed" in result.stderr
    assert "1 claims checked, 0 held, 500 unreadable" in result.stderr


def test_a_file_of_garbage_is_refused_at_once_as_not_a_claims_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(random.Random(7).randbytes(4_000_000))

    with pytest.raises(ClaimFileError, match=r"records are not JSON claims.*not a claims file"):
        load_claims(path)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_file_of_invalid_claims_is_still_reported_claim_by_claim(tmp_path: Path) -> None:
    """Objects that fail the claim format are claims with problems, not garbage: a
    systematic export error in every claim is listed (up to the limit), not refused."""
    path = tmp_path / "invalid.jsonl"
    path.write_bytes(b'{"claim_id": "X"}\n' * 300)

    batch = load_claims(path, max_problems=20)
    assert batch.claims == [] and len(batch.problems) == 20 and batch.more_problems > 0


def test_an_overlong_line_is_skipped_without_being_held_in_memory(tmp_path: Path) -> None:
    first, second = _claim_lines(2)
    path = tmp_path / "long.jsonl"
    with path.open("wb") as handle:
        handle.write(first)
        for _ in range(20):  # a 20 MiB line between two good claims
            handle.write(b"x" * MAX_LINE_BYTES)
        handle.write(b"\n" + second)

    tracemalloc.start()
    try:
        batch = load_claims(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [loaded.location for loaded in batch.claims] == ["line 1", "line 3"]
    (problem,) = batch.problems
    assert problem.location == "line 2" and "longer than 1 MiB" in problem.message
    assert peak < 4 * MAX_LINE_BYTES, f"peak {peak} bytes while reading a 20 MiB line"
    assert batch.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    os.remove(path)
