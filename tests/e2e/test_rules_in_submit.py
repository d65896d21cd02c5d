"""The CCM rules at the door: `validate` exit codes, and held claims inside `submit`."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fixtures.portals._common import ControlClient
from portalbot.claims import load_claims
from portalbot.cli import main
from portalbot.ledger import Ledger
from tests.helpers import CLAIMS, Runner


def _demo(n: int) -> dict[str, Any]:
    data = json.loads((CLAIMS / "demo.json").read_text())
    claims = data if isinstance(data, list) else data["claims"]
    return claims[n]


def _too_few_minutes() -> dict[str, Any]:
    claim = _demo(0)  # 99490 alone
    claim["claim_id"] = "MIXED-HELD-TIME"
    claim["time_entries"] = claim["time_entries"][:1]
    claim["time_entries"][0]["minutes"] = 19
    return claim


def _one_condition() -> dict[str, Any]:
    claim = _demo(2)
    claim["claim_id"] = "MIXED-HELD-ELIG"
    claim["diagnoses"] = claim["diagnoses"][:1]
    for line in claim["service_lines"]:
        line["diagnosis_pointers"] = [1]
    return claim


@pytest.fixture
def mixed_file(tmp_path: Path) -> Path:
    good = [_demo(n) for n in (3, 4)]
    lines = [json.dumps(good[0]), json.dumps(_too_few_minutes()), "{broken json",
             json.dumps(_one_condition()), json.dumps({**good[1], "charge_total": "1"}),
             json.dumps(_demo(5))]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_validate_exits_0_when_every_claim_is_billable() -> None:
    result = CliRunner().invoke(main, ["validate", str(CLAIMS / "blueriver.json")])
    assert result.exit_code == 0, result.stderr
    assert ", 0 held" in result.stderr


def test_validate_exits_1_when_a_claim_is_held_and_names_its_rule() -> None:
    result = CliRunner().invoke(main, ["validate", str(CLAIMS / "demo.json")])
    assert result.exit_code == 1
    assert "15 claims checked, 1 held" in result.stderr
    held = next(line for line in result.stdout.splitlines() if "NORTHSIDE-2026-10-000115" in line)
    assert "held" in held and "CCM-CODE-01" in held


def test_validate_json_names_each_held_claims_rule_and_exits_1(mixed_file: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(mixed_file), "--format", "json"])
    assert result.exit_code == 1
    verdicts = {v["claim_id"]: v for v in json.loads(result.stdout)}
    assert verdicts["MIXED-HELD-TIME"]["billable"] is False
    assert "CCM-CODE-01" in {f["rule"] for f in verdicts["MIXED-HELD-TIME"]["findings"]}
    assert "CCM-ELIG-01" in {f["rule"] for f in verdicts["MIXED-HELD-ELIG"]["findings"]}
    assert verdicts["MIXED-HELD-TIME"]["supported_code_sets"] == []


def test_validate_exits_2_on_a_file_it_cannot_read(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "missing.json")])
    assert result.exit_code == 2


def test_validate_fix_writes_an_owner_only_corrected_version(tmp_path: Path) -> None:
    claim = _demo(1)  # 99490 + 99439 with 46 minutes
    claim["service_lines"][1]["units"] = 3
    source, fixed = tmp_path / "over.json", tmp_path / "fixed.json"
    source.write_text(json.dumps([claim]))

    result = CliRunner().invoke(main, ["validate", str(source), "--fix", str(fixed)])

    assert result.exit_code == 1
    (corrected,) = json.loads(fixed.read_text())
    assert corrected["version"] == 2
    assert corrected["service_lines"][1]["units"] == 1
    assert stat.S_IMODE(fixed.stat().st_mode) == 0o600
    assert "units 3 → 1" in result.stderr


@pytest.mark.browser
def test_a_mixed_batch_sends_the_good_holds_the_bad_and_names_the_unreadable(
    mixed_file: Path, runner: Runner, acme: ControlClient, ledger: Ledger
) -> None:
    batch = load_claims(mixed_file)
    loaded, _summary = runner.submit(batch)

    states = {r.claim_id: r for r in ledger.claims_in_batch(loaded.batch_id)}
    assert {k: r.state for k, r in states.items() if k.startswith("MIXED")} == {
        "MIXED-HELD-TIME": "held", "MIXED-HELD-ELIG": "held",
    }
    assert states["MIXED-HELD-TIME"].findings[0]["rule"].startswith("CCM-")
    assert len(acme.submissions()) == 2
    assert sorted(s["patient_account_number"] for s in acme.submissions()) == sorted(
        r.portal_key for r in states.values() if r.state == "accepted"
    )
    problems = [str(p) for p in batch.problems]
    assert any("line 3" in p for p in problems)
    assert any("line 5" in p and "charge_total" in p for p in problems)


def test_a_payers_code_table_variant_comes_from_the_configuration() -> None:
    from portalbot.claims import Claim
    from portalbot.config import PayerSettings, Settings
    from portalbot.intake import RuleChecker

    claim = _demo(7)  # 99490 + 99439 with enough minutes for two add-on units
    claim["service_lines"][1]["units"] = 2
    claim["time_entries"].append({**claim["time_entries"][0], "date": "2026-10-30", "minutes": 25})
    parsed = Claim.model_validate(claim)
    medicare = RuleChecker(Settings()).verdict(parsed)
    strict = RuleChecker(Settings(payers={"acme": PayerSettings(unit_caps={"99439": 1})})).verdict(parsed)

    assert medicare.billable, medicare.findings
    assert not strict.billable
    assert "CCM-CODE-04" in {f.rule for f in strict.findings}
