"""A claim factory: one valid CCM claim (99490, 25 staff minutes, October 2026) that a test
changes in exactly one place, so each test shows the one thing it is about."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from portalbot.claims import Claim
from portalbot.rules import CodeTable, IcdCodeSet, RuleContext, Verdict, evaluate

TODAY = date(2026, 11, 27)
ALL_ELEMENTS = [
    "problem_list", "expected_outcomes", "measurable_goals", "symptom_management",
    "planned_interventions", "medication_management", "community_resources",
    "care_coordination", "review_schedule",
]


def entry(day: str | int, minutes: int, role: str = "clinical_staff", *,
          face_to_face: bool = False, activity: str | None = None) -> dict[str, Any]:
    """A time entry; an int day means that day of October 2026."""
    when = f"2026-10-{day:02d}" if isinstance(day, int) else day
    return {"date": when, "minutes": minutes, "performer_role": role,
            "performer": "RN J. Doe" if role == "clinical_staff" else "Dr G. Hopper",
            "activity": activity or f"care coordination call {when} {minutes}",
            "face_to_face": face_to_face}


def line(code: str, units: int = 1, *, charge: str | None = None, dos: str = "2026-10-31",
         pos: str = "11", pointers: tuple[int, ...] = (1, 2),
         modifiers: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"code": code, "modifiers": list(modifiers), "units": units,
            "charge": charge or f"{50 * units}.00", "date_of_service": dos,
            "place_of_service": pos, "diagnosis_pointers": list(pointers)}


BASE: dict[str, Any] = {
    "claim_id": "TEST-2026-10-0001",
    "version": 1,
    "frequency": "original",
    "replaces": None,
    "payer_id": "acme",
    "service_month": "2026-10",
    "patient": {
        "first_name": "Zelda", "last_name": "Quintavalle", "birth_date": "1944-02-29",
        "sex": "F",
        "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL",
                    "postal_code": "62701"},
    },
    "subscriber": {"member_id": "ZQMEMBER77", "group_number": "GRP-0042",
                   "relationship": "self"},
    "billing_provider": {
        "name": "Northside Family Medicine", "npi": "1234567893", "tax_id": "12-3456789",
        "taxonomy": "207Q00000X",
        "address": {"line1": "500 Main St", "city": "Springfield", "state": "IL",
                    "postal_code": "62701"},
    },
    "rendering_provider": {"name": "Grace Hopper MD", "npi": "1245319599"},
    "diagnoses": ["E11.9", "I10"],
    "service_lines": [line("99490")],
    "consent": {"obtained_on": "2026-01-05", "method": "verbal", "document_ref": "NOTE-1",
                "revoked_on": None},
    "care_plan": {"document_ref": "CP-1", "last_reviewed_on": "2026-09-02",
                  "shared_with_patient_on": "2026-01-05", "elements": list(ALL_ELEMENTS)},
    "time_entries": [entry(10, 25)],
    "other_services": [],
    "initiating_visit": {"date": "2025-12-20", "code": "99214"},
    "complexity": None,
    "inpatient_stays": [],
}

PHI_VALUES = ("Zelda", "Quintavalle", "1944-02-29", "ZQMEMBER77")


def claim_dict(**changes: Any) -> dict[str, Any]:
    """The base claim as a dict with changes; `a__b=x` sets data["a"]["b"] = x."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        *parents, leaf = key.split("__")
        target = data
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return data


def build(**changes: Any) -> Claim:
    return Claim.model_validate(claim_dict(**changes))


@pytest.fixture
def make_claim() -> Callable[..., Claim]:
    return build


@pytest.fixture(scope="session")
def icd() -> IcdCodeSet:
    return IcdCodeSet.packaged()


@pytest.fixture
def ctx(icd: IcdCodeSet) -> RuleContext:
    return RuleContext(today=TODAY, code_table=CodeTable.default(), icd=icd)


def rules_of(verdict: Verdict) -> set[str]:
    return {f.rule for f in verdict.findings}


@pytest.fixture
def check(ctx: RuleContext) -> Callable[..., Verdict]:
    """Evaluate the base claim with changes."""
    def run(**changes: Any) -> Verdict:
        return evaluate(build(**changes), ctx)
    return run
