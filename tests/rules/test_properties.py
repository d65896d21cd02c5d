"""Properties of counting and derivation that must hold for any month of time entries."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portalbot.rules import CodeTable, IcdCodeSet, RuleContext, evaluate
from portalbot.rules.derive import derive_code_sets, family_units, is_valid_code_set
from portalbot.rules.minutes import count_minutes

from .conftest import TODAY, build, entry, line

TABLE = CodeTable.default()
COMPLEX_OK = {"medical_decision_making": "moderate", "care_plan_revised_on": "2026-10-01"}
ROLES = st.sampled_from(["clinical_staff", "physician", "qhp"])
ENTRY = st.builds(lambda day, minutes, role: entry(day, minutes, role),
                  st.integers(1, 31), st.integers(1, 90), ROLES)
ENTRIES = st.lists(ENTRY, max_size=8)
FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def derived(entries: list[dict[str, Any]], complex_ok: bool = True,
            **changes: str) -> tuple[Any, ...]:
    claim = build(time_entries=entries, complexity=COMPLEX_OK if complex_ok else None,
                  **changes)
    return derive_code_sets(count_minutes(claim), TABLE, complexity_ok=complex_ok)


def total_units(entries: list[dict[str, Any]]) -> dict[str, int]:
    count = count_minutes(build(time_entries=entries))
    return {family: sum(family_units(family, count, TABLE).values())
            for family in TABLE.families}


@FAST
@given(ENTRIES, ENTRY)
def test_more_counted_minutes_never_support_fewer_units(entries: list[dict[str, Any]],
                                                        extra: dict[str, Any]) -> None:
    before, after = total_units(entries), total_units([*entries, extra])
    assert all(after[f] >= before[f] for f in before)


@FAST
@given(ENTRIES, st.integers(1, 31), st.integers(1, 90), ROLES)
def test_face_to_face_entry_never_changes_the_derivation(
        entries: list[dict[str, Any]], day: int, minutes: int, role: str) -> None:
    extra = entry(day, minutes, role, face_to_face=True)
    assert derived([*entries, extra]) == derived(entries)


@FAST
@given(ENTRIES, st.integers(2, 31), st.data())
def test_pre_consent_entry_never_changes_the_derivation(
        entries: list[dict[str, Any]], consent_day: int, data: st.DataObject) -> None:
    consent = f"2026-10-{consent_day:02d}"
    early = entry(data.draw(st.integers(1, consent_day - 1)), data.draw(st.integers(1, 90)),
                  data.draw(ROLES))
    assert derived([*entries, early], consent__obtained_on=consent) == \
        derived(entries, consent__obtained_on=consent)


@FAST
@given(st.lists(ENTRY, min_size=1, max_size=8), st.booleans(), st.data())
def test_a_claim_built_from_a_derived_set_validates(
        entries: list[dict[str, Any]], complex_ok: bool, data: st.DataObject) -> None:
    sets = derived(entries, complex_ok)
    if not sets:
        return
    chosen = data.draw(st.sampled_from(sets))
    keep_add_on = data.draw(st.booleans())
    lines = [line(c.code, c.units) for c in chosen if keep_add_on or c is chosen[0]]
    claim = build(time_entries=entries, service_lines=lines,
                  complexity=COMPLEX_OK if complex_ok else None)
    ctx = RuleContext(today=TODAY, code_table=TABLE, icd=IcdCodeSet.packaged())
    verdict = evaluate(claim, ctx)
    bad = [f for f in verdict.errors if f.rule.startswith("CCM-CODE")
           or f.rule in {"CCM-EXCL-01", "CCM-EXCL-02", "CCM-EXCL-03"}]
    assert bad == []
    claimed = {ln["code"]: ln["units"] for ln in lines}
    assert is_valid_code_set(claimed, sets, TABLE)
