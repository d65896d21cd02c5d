"""``submit`` reads a JSON Lines file on every core, streamed into intake
(intake_prepare.py): the ledger it leaves must be the one the serial loader leaves, row
for row — states, findings (the cross-claim ones included), payloads, portal keys — and
the same problems must be reported, however the file is cut into ranges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from fixtures.claims.synthetic import DEMO, synthetic_claims
from portalbot import validation
from portalbot.claims import ClaimFileError, load_claims
from portalbot.config import Settings
from portalbot.intake import intake
from portalbot.intake_prepare import prepare_file
from portalbot.ledger import Ledger


@pytest.fixture(autouse=True)
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranges of a few claims each, so a small file crosses many range boundaries (the
    pool's workers are forked after this, so they see it too)."""
    monkeypatch.setattr(validation, "CHUNK_BYTES", 6_000)


def _lines() -> list[str]:
    """Claims of every payer and outcome, and every cross-claim case in later ranges."""
    demo = [c.claim for c in load_claims(DEMO).claims]
    synthetic = synthetic_claims(40, prefix="PAR")
    second_for_month = synthetic[3].model_copy(update={"claim_id": "PAR-SECOND"})
    voided = synthetic[5].model_copy(update={"claim_id": "PAR-VOID", "frequency": "void",
                                             "replaces": "PAYER-CLAIM-1"})
    lines = [c.model_dump_json() for c in [*demo, *synthetic]]
    lines += ["not json at all", '{"claim_id": "PAR-SHAPE"}',
              synthetic[7].model_dump_json(),  # the same (claim_id, version) again
              second_for_month.model_dump_json(), voided.model_dump_json(),
              synthetic[9].model_copy(update={"payer_id": "nosuchpayer",
                                              "claim_id": "PAR-PAYER"}).model_dump_json()]
    return lines


def _rows(ledger: Ledger) -> dict[tuple[str, int], dict[str, Any]]:
    with ledger.engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT claim_id, version, state, findings, payload, portal_key, patient_month, "
            "frequency, replaces FROM claims")).mappings().all()
    return {(r["claim_id"], r["version"]): {
        **r, "findings": json.loads(r["findings"]), "payload": json.loads(r["payload"])}
        for r in rows}


def _load_both(tmp_path: Path, path: Path) -> tuple[Ledger, Ledger, Any, Any]:
    settings = Settings(data_dir=tmp_path / "data")
    serial = Ledger.open(f"sqlite:///{tmp_path / 'serial.sqlite3'}")
    parallel = Ledger.open(f"sqlite:///{tmp_path / 'parallel.sqlite3'}")
    loaded = load_claims(path, max_problems=50)
    prepared = prepare_file(path, settings, max_problems=50)
    intake(serial, settings, loaded)
    intake(parallel, settings, prepared, chunk_size=7)
    return serial, parallel, loaded, prepared


def test_the_parallel_reading_leaves_the_ledger_the_serial_one_leaves(tmp_path: Path) -> None:
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    serial, parallel, loaded, prepared = _load_both(tmp_path, path)
    try:
        expected, got = _rows(serial), _rows(parallel)
        assert got == expected
        states = {r["state"] for r in got.values()}
        assert {"queued", "held"} <= states
        rules = {f["rule"] for r in got.values() for f in r["findings"]}
        assert {"CCM-EXCL-06", "PAYER-01"} <= rules  # the cross-claim and ledger checks ran
        assert [(p.location, p.field, p.message) for p in prepared.problems] == \
               [(p.location, p.field, p.message) for p in loaded.problems]
        # not JSON, the wrong shape (a problem per missing field), the repeat
        assert len({p.location for p in prepared.problems}) == 3
    finally:
        serial.close()
        parallel.close()


def test_a_patient_month_already_in_the_ledger_holds_the_new_claim_in_both_readings(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    claims = synthetic_claims(12, prefix="LED")
    first.write_text("\n".join(c.model_dump_json() for c in claims[:6]) + "\n", encoding="utf-8")
    rival = claims[2].model_copy(update={"claim_id": "LED-RIVAL"})
    second.write_text("\n".join(c.model_dump_json() for c in [*claims[6:], rival]) + "\n",
                      encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data")
    ledgers = []
    for name, read in (("serial", lambda p: load_claims(p)),
                       ("parallel", lambda p: prepare_file(p, settings, max_problems=50))):
        ledger = Ledger.open(f"sqlite:///{tmp_path / name}.sqlite3")
        intake(ledger, settings, read(first))
        intake(ledger, settings, read(second))
        ledgers.append(ledger)
    try:
        serial, parallel = (_rows(ledger) for ledger in ledgers)
        assert parallel == serial
        assert parallel[("LED-RIVAL", 1)]["state"] == "held"
        assert [f["rule"] for f in parallel[("LED-RIVAL", 1)]["findings"]] == ["CCM-EXCL-06"]
    finally:
        for ledger in ledgers:
            ledger.close()


def test_a_file_of_garbage_is_refused_before_intake_begins(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jsonl"
    path.write_text("garbage line\n" * 500, encoding="utf-8")
    with pytest.raises(ClaimFileError, match="this is not a claims file"):
        prepare_file(path, Settings(data_dir=tmp_path / "data"), max_problems=20)


def test_loading_the_same_file_again_names_the_earlier_batch_and_adds_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data")
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    try:
        first = intake(ledger, settings, prepare_file(path, settings, max_problems=50))
        again = intake(ledger, settings, prepare_file(path, settings, max_problems=50))
        assert again.earlier is not None and again.earlier.id == first.batch_id
        assert not again.new
        assert [r.pk for r in again.records] == [r.pk for r in first.records]
    finally:
        ledger.close()
