from __future__ import annotations

import pytest

from portalbot.rules import CodeKind, CodeTable, Family, MinutePath, RuleContext


def test_default_table_is_medicare() -> None:
    table = CodeTable.default()
    assert table.codes["99439"].unit_cap == 2
    assert table.codes["99437"].unit_cap is None
    assert table.codes["99489"].unit_cap is None
    assert table.codes["99491"].path is MinutePath.PRACTITIONER
    assert table.codes["99489"].base == "99487"
    assert table.codes["99487"].requires_complexity
    assert table.family_codes(Family.NON_COMPLEX)[1].kind is CodeKind.ADD_ON
    assert table.families == (Family.NON_COMPLEX, Family.PRACTITIONER, Family.COMPLEX)


def test_exclusion_groups() -> None:
    groups = {g.rule: g for g in CodeTable.default().exclusions}
    assert groups["CCM-EXCL-04"].codes == {"99424", "99425", "99426", "99427"}
    assert groups["CCM-EXCL-05"].codes == {"G0556", "G0557", "G0558"}
    assert {"G0181", "G0182", "90951", "90970"} <= groups["CCM-EXCL-07"].codes
    assert "90971" not in groups["CCM-EXCL-07"].codes
    assert groups["CCM-EXCL-07"].severity == "warning"


def test_with_caps_returns_a_variant_and_leaves_the_default() -> None:
    variant = CodeTable.default().with_caps({"99437": 1})
    assert variant.codes["99437"].unit_cap == 1
    assert CodeTable.default().codes["99437"].unit_cap is None


@pytest.mark.parametrize("caps", [{"99999": 1}, {"99490": 2}, {"99439": -1}])
def test_with_caps_refuses_nonsense(caps: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        CodeTable.default().with_caps(caps)


def test_readme_lists_every_rule() -> None:
    from pathlib import Path

    import portalbot.rules as rules

    readme = (Path(rules.__file__).parent / "README.md").read_text()
    for rule in rules.RULES.values():
        assert f"| {rule.rule} | {rule.severity} |" in readme
    assert len(rules.RULES) == 41


def test_exclusions_are_found_on_service_lines_too(ctx: RuleContext) -> None:
    from portalbot.rules import evaluate

    from .conftest import build, line

    verdict = evaluate(build(service_lines=[line("99490"), line("99427", dos="2026-10-30"),
                                            line("G0556", dos="2026-10-29")]), ctx)
    found = {(f.rule, f.field) for f in verdict.errors}
    assert ("CCM-EXCL-04", "service_lines[1].code") in found
    assert ("CCM-EXCL-05", "service_lines[2].code") in found


def test_care_plan_oversight_is_a_warning(ctx: RuleContext) -> None:
    from portalbot.rules import evaluate

    from .conftest import build

    verdict = evaluate(build(other_services=[{"code": "G0181", "date": "2026-10-03"}]), ctx)
    assert verdict.billable
    assert [f.rule for f in verdict.warnings] == ["CCM-EXCL-07"]


def test_module_docstring_table_matches_the_rule_data() -> None:
    from portalbot.rules import catalogue, checks

    assert catalogue.docstring_rules(catalogue.__doc__ or "") == catalogue.RULES
    assert checks.RULES is catalogue.RULES  # the old import path still answers
