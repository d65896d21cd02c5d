from __future__ import annotations

import json
from dataclasses import replace

from portalbot.rules import BatchChecker, RuleContext, Verdict, evaluate, render_table
from portalbot.rules.model import Finding

from .conftest import PHI_VALUES, build, entry, line


def test_verdict_json_shape(ctx: RuleContext) -> None:
    verdict = evaluate(build(time_entries=[entry(10, 19)]), ctx)
    data = verdict.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["claim_id"] == "TEST-2026-10-0001" and data["version"] == 1
    assert data["billable"] is False
    assert data["findings"][0] == {
        "rule": "CCM-CODE-01", "severity": "error", "field": "service_lines[0].units",
        "message": data["findings"][0]["message"]}
    assert data["supported_code_sets"] == []


def test_supported_sets_in_json(ctx: RuleContext) -> None:
    data = evaluate(build(time_entries=[entry(10, 45, "physician")]), ctx).to_json()
    assert data["billable"] is True
    assert data["supported_code_sets"] == [
        [{"code": "99490", "units": 1}, {"code": "99439", "units": 1}],
        [{"code": "99491", "units": 1}],
    ]


def test_evaluate_is_pure(ctx: RuleContext) -> None:
    claim = build(time_entries=[entry(10, 19)])
    assert evaluate(claim, ctx) == evaluate(claim, ctx)


def test_warnings_do_not_hold_a_claim(ctx: RuleContext) -> None:
    verdict = evaluate(build(care_plan__shared_with_patient_on=None), ctx)
    assert verdict.billable and verdict.warnings and not verdict.errors


def test_batch_flags_second_claim_for_same_patient_month(ctx: RuleContext) -> None:
    batch = BatchChecker(ctx)
    first = batch.check(build(claim_id="A-1"))
    correction = batch.check(build(claim_id="A-1", version=2))
    second = batch.check(build(claim_id="B-2"))
    other_month = batch.check(build(claim_id="C-3", service_month="2026-09",
                                    time_entries=[entry("2026-09-10", 25)],
                                    service_lines=[line("99490", dos="2026-09-30")]))
    assert first.billable and correction.billable and other_month.billable
    [dup] = second.errors
    assert dup.rule == "CCM-EXCL-06" and "A-1" in dup.message
    assert not any(v in dup.message for v in PHI_VALUES)
    assert batch.patient_months == 2


def test_void_is_not_a_duplicate(ctx: RuleContext) -> None:
    batch = BatchChecker(ctx)
    batch.check(build(claim_id="A-1"))
    assert batch.check(build(claim_id="B-2", frequency="void")).billable


def test_void_runs_only_claim_checks(ctx: RuleContext) -> None:
    verdict = evaluate(build(frequency="void", consent=None, care_plan=None,
                             billing_provider__npi="1234567890"), ctx)
    assert {f.rule for f in verdict.findings} == {"CCM-CLAIM-01"}


def test_batch_asks_the_ledger(ctx: RuleContext) -> None:
    asked = []

    def ledger(payer_id: str, member_id: str, month: str) -> set[str]:
        asked.append((payer_id, month))
        return {"LEDGER-7"}

    verdict = BatchChecker(ctx, known_elsewhere=ledger).check(build())
    assert asked == [("acme", "2026-10")]
    assert [f.rule for f in verdict.errors] == ["CCM-EXCL-06"]


def test_context_lookup_callable(ctx: RuleContext) -> None:
    context = replace(ctx, other_patient_month_claims=lambda p, m, s: ["TEST-2026-10-0001"])
    assert evaluate(build(), context).billable


def test_render_table_one_line_per_claim_then_findings(ctx: RuleContext) -> None:
    good = evaluate(build(claim_id="GOOD-1"), ctx)
    bad = evaluate(build(claim_id="BAD-2", time_entries=[entry(10, 19)],
                         care_plan__shared_with_patient_on=None), ctx)
    text = render_table([good, bad])
    lines = text.split("findings:")[0].splitlines()
    [good_line] = [x for x in lines if x.startswith("GOOD-1 ")]
    [bad_line] = [x for x in lines if x.startswith("BAD-2 ")]
    assert "billable" in good_line
    assert "held" in bad_line and "CCM-CODE-01" in bad_line
    assert "2 claim(s): 1 billable, 1 held" in text
    assert text.index("findings:") < text.index("CCM-PLAN-03")
    assert "supports: none" in text


def test_render_table_empty() -> None:
    assert "0 claim(s)" in render_table([])


def test_verdict_properties() -> None:
    error = Finding("CCM-CODE-01", "error", "x", "m")
    warning = Finding("CCM-PLAN-03", "warning", "y", "n")
    verdict = Verdict("C", 1, (warning, error), ())
    assert verdict.errors == (error,) and verdict.warnings == (warning,)
    assert not verdict.billable
