"""Every rule id trips on a claim that breaks it and stays quiet just beside it.

Each case is a pair: the change that breaks the rule, and the nearest change that does
not. The catalogue must cover every rule in `portalbot.rules.RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pytest

from portalbot.rules import RULES, RuleContext, evaluate

from .conftest import PHI_VALUES, build, entry, line


@dataclass(frozen=True)
class Case:
    trip: dict[str, Any]
    passing: dict[str, Any]
    trip_ctx: dict[str, Any] = field(default_factory=dict)
    pass_ctx: dict[str, Any] = field(default_factory=dict)


COMPLEX_OK = {"medical_decision_making": "moderate", "care_plan_revised_on": "2026-10-01"}
STAY = [{"admitted_on": "2026-10-05", "discharged_on": "2026-10-07"}]
PM = ("acme", "ZQMEMBER77", "2026-10")
THIRTEEN = ["E11.9", "I10", "N18.30", "E78.5", "J45.909", "I48.91", "I50.9", "M17.11",
            "G30.9", "J44.9", "E03.9", "N40.0", "H40.9"]


CASES: dict[str, Case] = {
    "CCM-TIME-01": Case({"time_entries": [entry(10, 25), entry(11, 5, face_to_face=True)]},
                        {"time_entries": [entry(10, 25), entry(11, 5)]}),
    "CCM-TIME-02": Case({"time_entries": [entry(3, 5), entry(10, 25)],
                         "consent__obtained_on": "2026-10-04"},
                        {"time_entries": [entry(3, 5), entry(10, 25)],
                         "consent__obtained_on": "2026-10-03"}),
    "CCM-TIME-03": Case({"time_entries": [entry(10, 25), entry("2026-09-30", 5)]},
                        {"time_entries": [entry(10, 25), entry(1, 5)]}),
    "CCM-TIME-04": Case({"time_entries": [entry(10, 25), entry(7, 5)], "inpatient_stays": STAY},
                        {"time_entries": [entry(10, 25), entry(8, 5)], "inpatient_stays": STAY}),
    "CCM-TIME-05": Case({"other_services": [{"code": "99214", "date": "2026-10-10"}]},
                        {"other_services": [{"code": "99214", "date": "2026-10-09"}]}),
    "CCM-TIME-06": Case({"time_entries": [entry(10, 25), entry(10, 25)]},
                        {"time_entries": [entry(10, 25), entry(10, 25, activity="second call")]}),
    "CCM-CODE-01": Case({"time_entries": [entry(10, 19)]},
                        {"time_entries": [entry(10, 20)]}),
    "CCM-CODE-02": Case({"service_lines": [line("99214")]},
                        {"service_lines": [line("99490"), line("99214", dos="2026-10-12")]}),
    "CCM-CODE-03": Case({"service_lines": [line("99487")], "time_entries": [entry(10, 60)]},
                        {"service_lines": [line("99487")], "time_entries": [entry(10, 60)],
                         "complexity": COMPLEX_OK}),
    "CCM-CODE-04": Case({"service_lines": [line("99490"), line("99439", 3)],
                         "time_entries": [entry(10, 80)]},
                        {"service_lines": [line("99490"), line("99439", 2)],
                         "time_entries": [entry(10, 80)]}),
    "CCM-EXCL-01": Case({"service_lines": [line("99487"), line("99490")],
                         "time_entries": [entry(10, 90)], "complexity": COMPLEX_OK},
                        {"service_lines": [line("99487"), line("99489")],
                         "time_entries": [entry(10, 90)], "complexity": COMPLEX_OK}),
    "CCM-EXCL-02": Case({"service_lines": [line("99491"), line("99490")],
                         "time_entries": [entry(10, 35, "physician")]},
                        {"service_lines": [line("99491")],
                         "time_entries": [entry(10, 35, "physician")]}),
    "CCM-EXCL-03": Case({"service_lines": [line("99439")], "time_entries": [entry(10, 45)]},
                        {"service_lines": [line("99490"), line("99439")],
                         "time_entries": [entry(10, 45)]}),
    "CCM-EXCL-04": Case({"other_services": [{"code": "99424", "date": "2026-10-05"}]},
                        {"other_services": [{"code": "99495", "date": "2026-10-05"}]}),
    "CCM-EXCL-05": Case({"other_services": [{"code": "G0558", "date": "2026-10-05"}]},
                        {"other_services": [{"code": "99214", "date": "2026-10-05"}]}),
    "CCM-EXCL-06": Case({}, {},
                        trip_ctx={"other_patient_month_claims": {PM: {"OTHER-CLAIM-9"}}},
                        pass_ctx={"other_patient_month_claims": {PM: {"TEST-2026-10-0001"}}}),
    "CCM-EXCL-07": Case({"other_services": [{"code": "90970", "date": "2026-10-05"}]},
                        {"other_services": [{"code": "99496", "date": "2026-10-05"}]}),
    "CCM-ELIG-01": Case({"diagnoses": ["E11.9", "E11.65"]},
                        {"diagnoses": ["E11.65", "I10"]}),
    "CCM-ELIG-02": Case({"diagnoses": ["E11.9", "I10", "E11"]},
                        {"diagnoses": ["E11.9", "I10", "E11.65"]}),
    "CCM-ELIG-03": Case({"initiating_visit": None},
                        {"initiating_visit": {"date": "2026-01-05", "code": "G0438"}}),
    "CCM-ELIG-04": Case({"initiating_visit": {"date": "2025-01-04", "code": "99214"}},
                        {"initiating_visit": {"date": "2025-01-05", "code": "99214"}}),
    "CCM-CONSENT-01": Case({"consent": None}, {}),
    "CCM-CONSENT-02": Case({"consent__obtained_on": "2026-11-01"},
                           {"consent__obtained_on": "2026-10-10"}),
    "CCM-CONSENT-03": Case({"consent__revoked_on": "2026-09-30"},
                           {"consent__revoked_on": "2026-10-01"}),
    "CCM-PLAN-01": Case({"care_plan": None}, {}),
    "CCM-PLAN-02": Case({"care_plan__elements": [
        "problem_list", "expected_outcomes", "measurable_goals", "symptom_management",
        "planned_interventions", "medication_management", "community_resources",
        "care_coordination"]}, {}),
    "CCM-PLAN-03": Case({"care_plan__shared_with_patient_on": None},
                        {"care_plan__shared_with_patient_on": "2026-10-31"}),
    "CCM-PLAN-04": Case({"care_plan__last_reviewed_on": "2025-10-30"},
                        {"care_plan__last_reviewed_on": "2025-10-31"}),
    "CCM-CLAIM-01": Case({"billing_provider__npi": "1234567890"},
                         {"billing_provider__npi": "1234567893"}),
    "CCM-CLAIM-02": Case({"billing_provider__tax_id": "123-456789"},
                         {"billing_provider__tax_id": "123456789"}),
    "CCM-CLAIM-03": Case({"service_lines": [line("99490", pointers=(1, 3))]},
                         {"service_lines": [line("99490", pointers=(1, 2))]}),
    "CCM-CLAIM-04": Case({"diagnoses": THIRTEEN[:5],
                          "service_lines": [line("99490", pointers=(1, 2, 3, 4, 5))]},
                         {"diagnoses": THIRTEEN[:5],
                          "service_lines": [line("99490", pointers=(1, 2, 3, 4))]}),
    "CCM-CLAIM-05": Case({"diagnoses": THIRTEEN}, {"diagnoses": THIRTEEN[:12]}),
    "CCM-CLAIM-06": Case({"service_lines": [line("99490", 0)]},
                         {"service_lines": [line("99490", 1)]}),
    "CCM-CLAIM-07": Case({"service_lines": [line("99490", charge="0.00")]},
                         {"service_lines": [line("99490", charge="0.01")]}),
    "CCM-CLAIM-08": Case({"service_lines": [line("99490"), line("99214", dos="2026-10-12"),
                                            line("99214", dos="2026-10-12")]},
                         {"service_lines": [line("99490"), line("99214", dos="2026-10-12"),
                                            line("99214", dos="2026-10-13")]}),
    "CCM-CLAIM-09": Case({"service_lines": [line("99490", dos="2026-11-01")]},
                         {"service_lines": [line("99490", dos="2026-10-31")]}),
    "CCM-CLAIM-10": Case({"time_entries": [entry(5, 10), entry(12, 15)],
                          "service_lines": [line("99490", dos="2026-10-11")]},
                         {"time_entries": [entry(5, 10), entry(12, 15)],
                          "service_lines": [line("99490", dos="2026-10-12")]}),
    "CCM-CLAIM-11": Case({}, {}, trip_ctx={"today": date(2026, 9, 30)},
                         pass_ctx={"today": date(2026, 10, 1)}),
    "CCM-CLAIM-12": Case({}, {}, trip_ctx={"today": date(2027, 11, 1)},
                         pass_ctx={"today": date(2027, 10, 31)}),
    "CCM-CLAIM-13": Case({"service_lines": [line("99490", pos="02")]},
                         {"service_lines": [line("99490", pos="02")]},
                         pass_ctx={"usual_place_of_service": "02"}),
}


def test_catalogue_covers_every_rule() -> None:
    assert set(CASES) == set(RULES)


def test_base_claim_is_clean(ctx: RuleContext) -> None:
    verdict = evaluate(build(), ctx)
    assert verdict.findings == ()
    assert verdict.billable


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_trips(rule: str, ctx: RuleContext) -> None:
    case = CASES[rule]
    verdict = evaluate(build(**case.trip), replace(ctx, **case.trip_ctx))
    hits = [f for f in verdict.findings if f.rule == rule]
    assert hits, f"{rule} did not trip: {verdict.findings}"
    assert all(f.severity == RULES[rule].severity for f in hits)
    assert verdict.billable is (RULES[rule].severity == "warning" and not verdict.errors)
    for finding in hits:
        assert finding.field and finding.message
        assert not any(value in finding.message for value in PHI_VALUES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_passes_just_beside(rule: str, ctx: RuleContext) -> None:
    case = CASES[rule]
    verdict = evaluate(build(**case.passing), replace(ctx, **case.pass_ctx))
    assert rule not in {f.rule for f in verdict.findings}, verdict.findings


def test_no_finding_message_carries_phi(ctx: RuleContext) -> None:
    for case in CASES.values():
        verdict = evaluate(build(**case.trip), replace(ctx, **case.trip_ctx))
        for finding in verdict.findings:
            assert not any(value in finding.message for value in PHI_VALUES), finding
            assert not any(value in finding.field for value in PHI_VALUES), finding
