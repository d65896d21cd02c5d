"""The claim model and loaders: strict shapes, problems that point at the fix, never at PHI."""

from __future__ import annotations

import copy
import hashlib
import json
import sys
import types
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from portalbot.claims import (
    Claim,
    ClaimFileError,
    ClaimProblem,
    LoadedClaim,
    claim_json_schema,
    load_claims,
    read_claims,
)
from portalbot.errors import ClaimError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "claims"
DEMO = FIXTURES / "demo.json"
BROKEN = FIXTURES / "broken.jsonl"


@pytest.fixture(scope="module")
def demo_raw() -> list[dict[str, Any]]:
    return json.loads(DEMO.read_text())


@pytest.fixture
def raw(demo_raw: list[dict[str, Any]]) -> dict[str, Any]:
    """A valid claim as plain JSON data, safe to mutate."""
    return copy.deepcopy(demo_raw[0])


def write_json(tmp_path: Path, doc: Any, name: str = "batch.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def problems_of(tmp_path: Path, *claims: dict[str, Any]) -> list[ClaimProblem]:
    batch = load_claims(write_json(tmp_path, list(claims)))
    return batch.problems


def npi_is_valid(npi: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed("80840" + npi)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


# --- the fixtures ----------------------------------------------------------------------

def test_demo_loads_fifteen_claims_without_problems() -> None:
    batch = load_claims(DEMO)
    assert batch.problems == []
    assert len(batch.claims) == 15
    assert [c.location for c in batch.claims][:2] == ["claim #1", "claim #2"]
    assert batch.content_hash == hashlib.sha256(DEMO.read_bytes()).hexdigest()
    assert {c.claim.payer_id for c in batch.claims} == {"acme"}


def test_demo_covers_the_roster_and_code_mix() -> None:
    claims = [c.claim for c in load_claims(DEMO).claims]
    members = [c.subscriber.member_id for c in claims]
    assert len(set(members)) == 15
    assert {f"ACM1000000{n:02d}" for n in range(1, 15)} | {"ACM999999999"} == set(members)
    code_sets = [tuple(line.code for line in c.service_lines) for c in claims]
    assert code_sets.count(("99490",)) >= 8
    assert ("99490", "99439") in code_sets and ("99487", "99489") in code_sets
    assert sum(codes[0] == "99491" for codes in code_sets) == 2
    assert [c.subscriber.relationship for c in claims].count("spouse") == 1


def test_demo_npis_carry_valid_check_digits() -> None:
    for claim in (c.claim for c in load_claims(DEMO).claims):
        assert npi_is_valid(claim.billing_provider.npi)
        assert npi_is_valid(claim.rendering_provider.npi), claim.claim_id
    assert not npi_is_valid("1234567890")


def test_demo_dates_of_service_fall_inside_the_month() -> None:
    for claim in (c.claim for c in load_claims(DEMO).claims):
        for line in claim.service_lines:
            assert claim.month_start <= line.date_of_service <= claim.month_end


def test_broken_jsonl_keeps_the_good_claims_and_names_each_bad_line() -> None:
    batch = load_claims(BROKEN)
    assert [c.location for c in batch.claims] == ["line 1", "line 3", "line 7"]
    found = {(p.location, p.field) for p in batch.problems}
    assert found == {
        ("line 2", None),
        ("line 4", "service_lines[0].charge"),
        ("line 5", "patient.birth_date"),
        ("line 6", "notes"),
    }
    assert "not valid JSON" in next(p.message for p in batch.problems if p.location == "line 2")


def test_read_claims_streams_the_same_results_as_load_claims() -> None:
    streamed = list(read_claims(BROKEN))
    batch = load_claims(BROKEN)
    assert [i for i in streamed if isinstance(i, LoadedClaim)] == batch.claims
    assert [i for i in streamed if isinstance(i, ClaimProblem)] == batch.problems


# --- the model -------------------------------------------------------------------------

def test_claim_key_and_month_bounds(raw: dict[str, Any]) -> None:
    raw["service_month"] = "2028-02"
    claim = Claim.model_validate(raw)
    assert claim.key == (raw["claim_id"], 1)
    assert (claim.month_start, claim.month_end) == (date(2028, 2, 1), date(2028, 2, 29))
    assert claim.service_lines[0].charge == Decimal("64.00")


def test_claims_are_immutable(raw: dict[str, Any]) -> None:
    claim = Claim.model_validate(raw)
    with pytest.raises(ValueError):
        claim.claim_id = "other"


def test_missing_evidence_loads_so_rules_can_report_it(raw: dict[str, Any]) -> None:
    for name in ("consent", "care_plan", "initiating_visit", "complexity"):
        raw[name] = None
    claim = Claim.model_validate(raw)
    assert claim.consent is None and claim.frequency == "original"


@pytest.mark.parametrize("charge", [62.5, 62, "62.5.0", "1e3", "NaN", "$62.00"])
def test_money_must_be_a_decimal_string(tmp_path: Path, raw: dict[str, Any], charge: Any) -> None:
    raw["service_lines"][0]["charge"] = charge
    [problem] = problems_of(tmp_path, raw)
    assert problem.field == "service_lines[0].charge"
    assert 'give money as a decimal string such as "62.00"' in problem.message


def test_unknown_field_is_rejected_by_name(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["patient"]["middle_name"] = "Q"
    [problem] = problems_of(tmp_path, raw)
    assert problem.field == "patient.middle_name"
    assert "unknown field" in problem.message


@pytest.mark.parametrize(
    ("where", "value", "field"),
    [
        (("patient", "birth_date"), "12/10/1950", "patient.birth_date"),
        (("patient", "birth_date"), "1950-02-30", "patient.birth_date"),
        (("service_month",), "2026-13", "service_month"),
        (("rendering_provider", "npi"), "124531959", "rendering_provider.npi"),
        (("version",), "1", "version"),
        (("version",), 0, "version"),
        (("claim_id",), " X-1", "claim_id"),
    ],
)
def test_formats_are_strict(
    tmp_path: Path, raw: dict[str, Any], where: tuple[str, ...], value: Any, field: str
) -> None:
    target = raw
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    assert [p.field for p in problems_of(tmp_path, raw)] == [field]


def test_face_to_face_must_be_a_real_boolean(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["time_entries"][1]["face_to_face"] = "no"
    [problem] = problems_of(tmp_path, raw)
    assert (problem.field, problem.message) == (
        "time_entries[1].face_to_face", "give true or false, without quotes")


def test_messages_never_repeat_the_offending_value(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["patient"]["birth_date"] = "10/12/1948 Marguerite"
    raw["patient"]["sex"] = "Female-ACM100000001"
    raw["subscriber"]["member_id"] = ""
    raw["service_lines"][0]["charge"] = 64.37
    raw["time_entries"][0]["performer_role"] = "Nurse Marguerite Ollander"
    problems = problems_of(tmp_path, raw)
    assert {p.field for p in problems} == {
        "patient.birth_date", "patient.sex", "subscriber.member_id",
        "service_lines[0].charge", "time_entries[0].performer_role",
    }
    text = "\n".join(str(p) for p in problems)
    for secret in ("10/12/1948", "Marguerite", "Female-ACM", "64.37", "Ollander"):
        assert secret not in text


def test_spouse_without_insured_name_names_the_missing_field(
    tmp_path: Path, raw: dict[str, Any]
) -> None:
    raw["subscriber"]["relationship"] = "spouse"
    [problem] = problems_of(tmp_path, raw)
    assert problem.field == "subscriber.first_name"
    assert "relationship" in problem.message


def test_spouse_with_insured_details_loads(raw: dict[str, Any]) -> None:
    raw["subscriber"].update(relationship="child", first_name="A", last_name="B",
                             birth_date="1970-01-01")
    assert Claim.model_validate(raw).subscriber.birth_date == date(1970, 1, 1)


def test_json_schema_describes_money_as_a_string() -> None:
    schema = claim_json_schema()
    assert schema["additionalProperties"] is False
    charge = schema["$defs"]["ServiceLine"]["properties"]["charge"]
    assert charge["type"] == "string"
    assert set(schema["required"]) >= {"claim_id", "version", "payer_id", "service_lines"}


# --- files -----------------------------------------------------------------------------

def test_claims_wrapper_object_is_accepted(tmp_path: Path, raw: dict[str, Any]) -> None:
    batch = load_claims(write_json(tmp_path, {"claims": [raw]}))
    assert [c.claim.claim_id for c in batch.claims] == [raw["claim_id"]]


def test_problem_string_names_file_location_claim_and_field(
    tmp_path: Path, raw: dict[str, Any]
) -> None:
    bad = copy.deepcopy(raw)
    bad["claim_id"] = "NORTHSIDE-1"
    bad["service_lines"][0]["charge"] = 1.5
    [problem] = load_claims(write_json(tmp_path, [raw, bad], "demo.json")).problems
    assert str(problem).startswith(
        "demo.json, claim #2 (claim NORTHSIDE-1): service_lines[0].charge: give money")


def test_one_bad_claim_does_not_stop_the_rest(tmp_path: Path, raw: dict[str, Any]) -> None:
    second = copy.deepcopy(raw)
    second["claim_id"] = "NORTHSIDE-2"
    batch = load_claims(write_json(tmp_path, [raw, "not a claim", second]))
    assert [c.location for c in batch.claims] == ["claim #1", "claim #3"]
    assert [(p.location, p.claim_id) for p in batch.problems] == [("claim #2", None)]


def test_duplicate_claim_key_is_a_problem_for_the_second(
    tmp_path: Path, raw: dict[str, Any]
) -> None:
    newer = copy.deepcopy(raw)
    newer["version"] = 2
    batch = load_claims(write_json(tmp_path, [raw, newer, raw]))
    assert [c.location for c in batch.claims] == ["claim #1", "claim #2"]
    [problem] = batch.problems
    assert (problem.location, problem.claim_id) == ("claim #3", raw["claim_id"])
    assert "claim #1" in problem.message


def test_jsonl_skips_blank_lines_but_counts_them(tmp_path: Path, raw: dict[str, Any]) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text("\n" + json.dumps(raw) + "\n   \n[1]\n")
    batch = load_claims(path)
    assert [c.location for c in batch.claims] == ["line 2"]
    assert [p.location for p in batch.problems] == ["line 4"]


def test_duplicate_json_keys_are_refused(tmp_path: Path, raw: dict[str, Any]) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text(json.dumps(raw)[:-1] + ', "version": 2}\n')
    [problem] = load_claims(path).problems
    assert "appears twice" in problem.message


def test_a_repeated_key_inside_a_nested_object_is_refused_too(
    tmp_path: Path, raw: dict[str, Any]
) -> None:
    path = tmp_path / "batch.jsonl"
    text = json.dumps(raw).replace('"sex":', '"sex": "U", "sex":', 1)
    path.write_text(text + "\n")
    [problem] = load_claims(path).problems
    assert problem.message.startswith('not valid JSON: the key "sex" appears twice')
    assert "(column " in problem.message


def test_a_utf8_byte_order_mark_is_read_not_refused(tmp_path: Path, raw: dict[str, Any]) -> None:
    jsonl, whole = tmp_path / "batch.jsonl", tmp_path / "batch.json"
    jsonl.write_bytes(b"\xef\xbb\xbf" + json.dumps(raw).encode() + b"\n")
    whole.write_bytes(b"\xef\xbb\xbf" + json.dumps([raw]).encode())
    assert [c.location for c in load_claims(jsonl).claims] == ["line 1"]
    assert [c.location for c in load_claims(whole).claims] == ["claim #1"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_numbers(
    tmp_path: Path, raw: dict[str, Any], number: str
) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text(json.dumps(raw).replace('"version": 1', f'"version": {number}', 1) + "\n")
    [problem] = load_claims(path).problems
    assert problem.message.startswith("not valid JSON")
    assert problem.field is None


def test_text_that_is_not_utf8_is_named_as_such(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["patient"]["first_name"] = "Latin1"
    path = tmp_path / "batch.jsonl"
    path.write_bytes(json.dumps(raw).encode().replace(b"Latin1", b"Ren\xe9e") + b"\n")
    [problem] = load_claims(path).problems
    assert "not UTF-8" in problem.message


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("batch.json", "this is not json"),
        ("batch.json", '{"claim": []}'),
        ("batch.json", '"claims"'),
        ("batch.xml", "<claims/>"),
    ],
)
def test_unreadable_files_raise_claim_file_error(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ClaimFileError) as info:
        load_claims(path)
    assert name in str(info.value)
    with pytest.raises(ClaimError):
        read_claims(path)


def test_missing_file_raises_before_iteration(tmp_path: Path) -> None:
    for name in ("absent.json", "absent.jsonl"):
        with pytest.raises(ClaimFileError):
            read_claims(tmp_path / name)


def test_csv_without_csv_support_raises_claim_file_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "portalbot.claims_csv", None)
    path = tmp_path / "batch.csv"
    path.write_text("claim_id\n")
    with pytest.raises(ClaimFileError, match="CSV support is not installed"):
        load_claims(path)


def test_csv_is_dispatched_to_the_csv_reader_and_deduplicated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: dict[str, Any]
) -> None:
    claim = Claim.model_validate(raw)
    fake = types.ModuleType("portalbot.claims_csv")
    fake.read_csv_claims = lambda path: iter(  # type: ignore[attr-defined]
        [LoadedClaim(claim, "row 2"), LoadedClaim(claim, "row 3")]
    )
    monkeypatch.setitem(sys.modules, "portalbot.claims_csv", fake)
    path = tmp_path / "batch.csv"
    path.write_bytes(b"rows")
    batch = load_claims(path)
    assert [c.location for c in batch.claims] == ["row 2"]
    assert [p.location for p in batch.problems] == ["row 3"]
    assert batch.content_hash == hashlib.sha256(b"rows").hexdigest()


def test_a_claim_survives_a_json_round_trip(raw: dict[str, Any]) -> None:
    claim = Claim.model_validate(raw)
    assert Claim.model_validate_json(claim.model_dump_json()) == claim
    assert Claim.model_validate(claim.model_dump(mode="json")) == claim
    assert claim.model_dump(mode="json")["service_lines"][0]["charge"] == "64.00"
