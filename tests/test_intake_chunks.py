"""Intake a chunk at a time (ledger/loading.py): what the claim-at-a-time path promised
still holds across chunk boundaries — a version already in the ledger is recorded once
and keeps its state, one claim per patient-month is held across chunks and files, a crash
between chunks is finished by the next run with nothing doubled, and a claim the database
refuses is reported while its neighbours still load."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from fixtures.claims.synthetic import synthetic_claims, write_jsonl
from portalbot.claims import Claim, ClaimBatchFile, LoadedClaim, load_claims
from portalbot.config import Settings
from portalbot.intake import intake
from portalbot.ledger import Ledger
from portalbot.ledger.loading import Loading
from tests.helpers import ROOT


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    store = Ledger.open(settings.resolved_ledger_url)
    yield store
    store.close()


def _batch(claims: list[Claim], name: str) -> ClaimBatchFile:
    loaded = [LoadedClaim(c, f"claim #{n}") for n, c in enumerate(claims, start=1)]
    return ClaimBatchFile(Path(f"{name}.json"), f"hash-of-{name}", loaded, [])


def _count(ledger: Ledger, table: str) -> int:
    with ledger.engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _counts(ledger: Ledger) -> dict[str, int]:
    return {t: _count(ledger, t) for t in ("batches", "claims", "events", "batch_claims")}


def _states(ledger: Ledger) -> dict[str, str]:
    return {r.claim_id: r.state for r in ledger.all_claims()}


def test_versions_already_in_the_ledger_in_a_later_chunk_are_not_recorded_again(
    ledger: Ledger, settings: Settings
) -> None:
    claims = synthetic_claims(10, prefix="CHK")
    first = intake(ledger, settings, _batch(claims[6:9], "first"), chunk_size=3)
    ledger.transition(first.records[0].pk, "queued", "held", "test", "moved by the test")

    # CHK 6..8 sit in the second and third chunks of this file (chunks of 3 claims).
    second = intake(ledger, settings, _batch(claims, "second"), chunk_size=3)

    assert len(second.new) == 7 and second.already_known == 3
    assert _count(ledger, "claims") == 10
    assert _count(ledger, "events") == 10 + 1  # one "loaded" each, and the test's move
    assert _states(ledger)["CHK-0000006"] == "held"  # a known version keeps its state
    assert {r.claim_id for r in second.records} == {c.claim_id for c in claims}


def test_the_same_version_twice_in_one_batch_in_different_chunks_is_one_row(
    ledger: Ledger, settings: Settings
) -> None:
    claims = synthetic_claims(5, prefix="TWICE")
    result = intake(ledger, settings, _batch([*claims, claims[0]], "twice"), chunk_size=2)

    assert len(result.new) == 5 and result.already_known == 1
    assert _count(ledger, "claims") == 5 and _count(ledger, "batch_claims") == 5


def _same_patient_month(claim: Claim, like: Claim, claim_id: str) -> Claim:
    return claim.model_copy(update={"claim_id": claim_id, "subscriber": like.subscriber})


def test_a_second_claim_for_a_patient_month_is_held_across_chunks_and_across_files(
    ledger: Ledger, settings: Settings
) -> None:
    claims = synthetic_claims(6, prefix="PM")
    in_file = _same_patient_month(claims[1], claims[0], "PM-TWIN-IN-FILE")
    result = intake(ledger, settings, _batch([*claims[:4], in_file], "months"), chunk_size=2)
    states = _states(ledger)
    assert states["PM-0000000"] == "queued"
    assert states["PM-TWIN-IN-FILE"] == "held"  # chunk 3 of 3; the first claim was in chunk 1
    held = next(r for r in result.records if r.claim_id == "PM-TWIN-IN-FILE")
    assert [f["rule"] for f in held.findings if f["severity"] == "error"] == ["CCM-EXCL-06"]

    # A later file: its twin of PM-0000003 (in the ledger, queued) is in its second chunk.
    later = _same_patient_month(claims[4], claims[3], "PM-TWIN-IN-LEDGER")
    intake(ledger, settings, _batch([claims[5], claims[4], later], "later"), chunk_size=2)
    assert _states(ledger)["PM-TWIN-IN-LEDGER"] == "held"
    assert _states(ledger)["PM-0000004"] == "queued"


def test_a_ledger_fault_in_chunk_two_is_finished_by_the_next_run_without_duplicates(
    ledger: Ledger, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fault_then_rerun(ledger, settings, monkeypatch)


@pytest.mark.postgres
def test_on_postgresql_too_a_fault_in_chunk_two_is_finished_without_duplicates(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import postgres_database

    with postgres_database() as url:
        ledger = Ledger.open(url)
        try:
            twin = _same_patient_month(synthetic_claims(9, prefix="PGX")[8],
                                       synthetic_claims(1, prefix="CRASH")[0], "PG-TWIN")
            _fault_then_rerun(ledger, settings, monkeypatch)
            intake(ledger, settings, _batch([twin], "pg-twin"), chunk_size=3)
            assert _states(ledger)["PG-TWIN"] == "held"  # the patient-month query on PostgreSQL
        finally:
            ledger.close()


def _fault_then_rerun(ledger: Ledger, settings: Settings, monkeypatch: pytest.MonkeyPatch
                      ) -> None:
    batch = _batch(synthetic_claims(7, prefix="CRASH"), "crash")
    real = Loading._enqueue_chunk
    calls = []

    def fails_in_chunk_two(self: Loading, *args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Loading, "_enqueue_chunk", fails_in_chunk_two)
    with pytest.raises(sa.exc.OperationalError):
        intake(ledger, settings, batch, chunk_size=3)
    assert _counts(ledger) == {"batches": 1, "claims": 3, "events": 3, "batch_claims": 3}
    assert ledger.batches()[0]["loaded_at"] is None
    monkeypatch.undo()

    resumed = intake(ledger, settings, batch, chunk_size=3)
    assert resumed.earlier is None and len(resumed.new) == 4 and resumed.already_known == 3
    assert _counts(ledger) == {"batches": 1, "claims": 7, "events": 7, "batch_claims": 7}
    assert ledger.batches()[0]["loaded_at"] is not None

    again = intake(ledger, settings, batch, chunk_size=3)
    assert again.earlier is not None and again.earlier.id == resumed.batch_id == again.batch_id
    assert again.new == frozenset() and len(again.records) == 7
    assert _counts(ledger) == {"batches": 1, "claims": 7, "events": 7, "batch_claims": 7}


_DIES_IN_CHUNK_THREE = """
import os, sys
from portalbot import intake
from portalbot.ledger.loading import Loading
intake.CHUNK_CLAIMS = 4
real, calls = Loading._enqueue_chunk, []
def dies(self, *args, **kwargs):
    calls.append(1)
    if len(calls) == 3:
        os._exit(9)  # the process is gone between chunk 2's commit and chunk 3's
    return real(self, *args, **kwargs)
Loading._enqueue_chunk = dies
from portalbot.cli import run
sys.argv = ["portalbot", *sys.argv[1:]]
run()
"""


def _portalbot(*args: str, script: str | None = None) -> subprocess.CompletedProcess[str]:
    command = ([sys.executable, "-c", script] if script
               else [str(Path(sys.executable).with_name("portalbot"))])
    return subprocess.run([*command, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "COLUMNS": "200",
                                            "HOME": str(ROOT)})


def test_a_process_killed_between_chunks_is_finished_by_a_rerun_that_doubles_nothing(
    tmp_path: Path
) -> None:
    claims_file = write_jsonl(tmp_path / "claims.jsonl", 10, prefix="KILL")
    data = tmp_path / "data"
    common = ["--data-dir", str(data), "submit", str(claims_file), "--max-claims", "0"]

    killed = _portalbot(*common, script=_DIES_IN_CHUNK_THREE)
    assert killed.returncode == 9
    ledger = Ledger.open(f"sqlite:///{data / 'ledger.sqlite3'}")
    try:
        assert _counts(ledger) == {"batches": 1, "claims": 8, "events": 8, "batch_claims": 8}

        rerun = _portalbot(*common, "--format", "json")
        assert rerun.returncode == 0, rerun.stderr
        shown = json.loads(rerun.stdout)
        assert shown["already_loaded"] is None  # it was never finished: it is resumed
        assert shown["batch_id"] == ledger.batches()[0]["id"]
        assert sorted(c["claim_id"] for c in shown["claims"]) == [f"KILL-{n:07d}"
                                                                  for n in range(10)]
        assert _counts(ledger) == {"batches": 1, "claims": 10, "events": 10,
                                   "batch_claims": 10}
        assert set(_states(ledger).values()) == {"queued"}
    finally:
        ledger.close()


def test_a_claim_the_database_refuses_is_reported_and_the_rest_of_its_chunk_still_loads(
    tmp_path: Path, ledger: Ledger, settings: Settings
) -> None:
    claims_file = write_jsonl(tmp_path / "claims.jsonl", 6, prefix="BAD")
    with ledger.engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse_one BEFORE INSERT ON claims WHEN NEW.claim_id = 'BAD-0000002'"
            " BEGIN SELECT RAISE(ABORT, 'patient Jane Q Doe'); END")
    batch = load_claims(claims_file)

    result = intake(ledger, settings, batch, chunk_size=4)
    assert [(r.claim.claim_id, r.claim.location) for r in result.refused] == [
        ("BAD-0000002", "line 3")]
    assert "Jane" not in result.refused[0].why  # the database's text may quote claim data
    assert sorted(_states(ledger)) == [f"BAD-{n:07d}" for n in (0, 1, 3, 4, 5)]
    assert ledger.batches()[0]["loaded_at"] is None  # not finished: the next run tries again

    with ledger.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse_one")
    again = intake(ledger, settings, batch, chunk_size=4)
    assert again.refused == () and len(again.new) == 1 and again.batch_id == result.batch_id
    assert _counts(ledger) == {"batches": 1, "claims": 6, "events": 6, "batch_claims": 6}



def test_the_same_bytes_read_into_more_claims_are_a_new_batch_and_then_its_twin(
    ledger: Ledger, settings: Settings
) -> None:
    # An 837P read with another evidence file: same bytes (hash), more readable claims.
    claims = synthetic_claims(4, prefix="EVID")
    first = intake(ledger, settings, _batch(claims[:2], "same-bytes"))
    more = intake(ledger, settings, _batch(claims, "same-bytes"))
    assert more.earlier is None and more.batch_id != first.batch_id and len(more.new) == 2

    again = intake(ledger, settings, _batch(claims, "same-bytes"))
    assert again.earlier is not None and again.batch_id == more.batch_id
    assert again.new == frozenset() and _count(ledger, "batches") == 2
