"""Derivation boundaries: no rounding, no midpoint rule, caps from the code table."""

from __future__ import annotations

import pytest

from portalbot.rules import CodeTable, CodeUnits, RuleContext, evaluate
from portalbot.rules.derive import derive_code_sets, is_valid_code_set
from portalbot.rules.minutes import count_minutes

from .conftest import build, entry, line

COMPLEX_OK = {"medical_decision_making": "high", "care_plan_revised_on": "2026-10-02"}


def sets_for(minutes: int, role: str = "clinical_staff", *, complex_ok: bool = False,
             table: CodeTable | None = None) -> list[str]:
    claim = build(time_entries=[entry(10, minutes, role)],
                  complexity=COMPLEX_OK if complex_ok else None)
    sets = derive_code_sets(count_minutes(claim), table or CodeTable.default(),
                            complexity_ok=complex_ok)
    return [" + ".join(str(c) for c in s) for s in sets]


@pytest.mark.parametrize(("minutes", "expected"), [
    (19, []),
    (20, ["99490"]),
    (39, ["99490"]),
    (40, ["99490 + 99439"]),
    (59, ["99490 + 99439"]),
    (60, ["99490 + 99439×2"]),
    (80, ["99490 + 99439×2"]),  # Medicare caps 99439 at 2 units
])
def test_staff_minutes(minutes: int, expected: list[str]) -> None:
    assert sets_for(minutes) == expected


@pytest.mark.parametrize(("minutes", "complex_sets"), [
    (59, []),
    (60, ["99487"]),
    (85, ["99487"]),
    (89, ["99487"]),
    (90, ["99487 + 99489"]),
    (119, ["99487 + 99489"]),
    (120, ["99487 + 99489×2"]),
])
def test_complex_minutes(minutes: int, complex_sets: list[str]) -> None:
    got = sets_for(minutes, complex_ok=True)
    assert [s for s in got if s.startswith("99487")] == complex_sets


def test_complex_needs_the_complexity_conditions() -> None:
    assert not [s for s in sets_for(90, complex_ok=False) if s.startswith("99487")]


@pytest.mark.parametrize(("minutes", "practitioner_sets"), [
    (29, []),
    (30, ["99491"]),
    (59, ["99491"]),
    (60, ["99491 + 99437"]),
    (89, ["99491 + 99437"]),
    (90, ["99491 + 99437×2"]),
    (150, ["99491 + 99437×4"]),  # no Medicare cap on 99437
])
def test_practitioner_minutes(minutes: int, practitioner_sets: list[str]) -> None:
    got = sets_for(minutes, "physician")
    assert [s for s in got if s.startswith("99491")] == practitioner_sets


def test_practitioner_minutes_count_on_the_staff_path_too() -> None:
    assert sets_for(45, "qhp") == ["99490 + 99439", "99491"]


def test_staff_minutes_never_support_practitioner_codes() -> None:
    assert sets_for(120) == ["99490 + 99439×2"]


def test_payer_cap_is_configuration() -> None:
    table = CodeTable.default().with_caps({"99437": 1, "99439": None})
    assert sets_for(150, "physician", table=table) == ["99490 + 99439×6", "99491 + 99437"]


def test_time_does_not_carry_between_months() -> None:
    claim = build(time_entries=[entry("2026-09-29", 30), entry(2, 15)])
    count = count_minutes(claim)
    assert count.staff_path == 15
    assert derive_code_sets(count, CodeTable.default(), complexity_ok=False) == ()


SUPPORTED = ((CodeUnits("99490", 1), CodeUnits("99439", 2)),
             (CodeUnits("99491", 1), CodeUnits("99437", 1)))


@pytest.mark.parametrize(("claimed", "valid"), [
    ({"99490": 1, "99439": 2}, True),
    ({"99490": 1, "99439": 1}, True),  # a subset that keeps the add-on with its base
    ({"99490": 1}, True),
    ({"99491": 1, "99437": 1}, True),
    ({"99439": 1}, False),  # add-on without base
    ({"99490": 1, "99439": 3}, False),
    ({"99490": 2}, False),
    ({"99490": 1, "99491": 1}, False),  # not inside one set
    ({}, False),
    ({"99214": 1}, False),
])
def test_claimed_set_validity(claimed: dict[str, int], valid: bool) -> None:
    assert is_valid_code_set(claimed, SUPPORTED, CodeTable.default()) is valid


def test_invalid_set_finding_names_the_supported_sets(ctx: RuleContext) -> None:
    claim = build(service_lines=[line("99490"), line("99439", 2)],
                  time_entries=[entry(10, 39, "physician")])
    verdict = evaluate(claim, ctx)
    [finding] = [f for f in verdict.errors if f.rule == "CCM-CODE-01"]
    assert "99439×2 needs 60" in finding.message
    assert "the month has 39" in finding.message
    assert "99490, or 99491" in finding.message
    assert finding.field == "service_lines[1].units"


def test_base_units_above_one_is_a_cap_error(ctx: RuleContext) -> None:
    verdict = evaluate(build(service_lines=[line("99490", 2)],
                             time_entries=[entry(10, 45)]), ctx)
    assert [f.rule for f in verdict.errors] == ["CCM-CODE-04"]


def test_cap_and_minutes_both_reported_when_both_short(ctx: RuleContext) -> None:
    verdict = evaluate(build(service_lines=[line("99490"), line("99439", 3)],
                             time_entries=[entry(10, 60)]), ctx)
    assert {f.rule for f in verdict.errors} == {"CCM-CODE-01", "CCM-CODE-04"}


def test_complex_claim_with_revision_outside_month_is_refused(ctx: RuleContext) -> None:
    verdict = evaluate(build(service_lines=[line("99487")], time_entries=[entry(10, 70)],
                             complexity={"medical_decision_making": "high",
                                         "care_plan_revised_on": "2026-09-30"}), ctx)
    assert [f.rule for f in verdict.errors] == ["CCM-CODE-03"]
    assert "99490 + 99439×2" in verdict.errors[0].message


@pytest.mark.parametrize("level", ["low", "straightforward"])
def test_complex_claim_with_low_decision_making_is_read_and_held_with_the_non_complex_set(
    ctx: RuleContext, level: str,
) -> None:
    verdict = evaluate(build(service_lines=[line("99487")], time_entries=[entry(10, 70)],
                             complexity={"medical_decision_making": level,
                                         "care_plan_revised_on": "2026-10-02"}), ctx)
    assert [f.rule for f in verdict.errors] == ["CCM-CODE-03"]
    assert f"records {level} medical decision making" in verdict.errors[0].message
    assert "99490 + 99439×2" in verdict.errors[0].message
