from __future__ import annotations

from pathlib import Path

import pytest

from portalbot.errors import ConfigError
from portalbot.rules import ConditionTable, RuleContext, evaluate

from .conftest import build

CMS_EXAMPLES = {
    "dementia", "arthritis", "asthma", "atrial_fibrillation", "autism", "cancer", "copd",
    "depression", "diabetes", "heart_failure", "hypertension", "ischemic_heart_disease",
    "osteoporosis", "chronic_kidney_disease", "hiv", "hyperlipidemia", "stroke", "parkinsons",
}


def test_default_table_covers_cms_examples_with_sources() -> None:
    table = ConditionTable.default()
    assert {row.family for row in table.rows} >= CMS_EXAMPLES
    assert all(row.source for row in table.rows)


@pytest.mark.parametrize(("code", "family"), [
    ("E11.9", "diabetes"), ("E11.65", "diabetes"), ("I10", "hypertension"),
    ("N18.30", "chronic_kidney_disease"), ("G31.83", "dementia"), ("C50.911", "cancer"),
    ("M06.9", "arthritis"), ("M17.11", "arthritis"), ("J44.9", "copd"),
    ("G31.2", None), ("E78.6", None), ("S72.001A", None), ("nonsense", None),
])
def test_lookup_by_longest_prefix(code: str, family: str | None) -> None:
    row = ConditionTable.default().lookup(code)
    assert (row.family if row else None) == family


def test_distinct_means_distinct_families() -> None:
    families = ConditionTable.default().families(["E11.9", "E11.65", "I10", "Z79.4"])
    assert families == {"diabetes": ["E11.9", "E11.65"], "hypertension": ["I10"]}


def test_one_condition_suggests_principal_care_management(ctx: RuleContext) -> None:
    [finding] = [f for f in evaluate(build(diagnoses=["E11.9", "Z79.4"]), ctx).findings
                 if f.rule == "CCM-ELIG-01"]
    assert "principal care management" in finding.message
    assert "diabetes" in finding.message


def test_no_condition_does_not_suggest_pcm(ctx: RuleContext) -> None:
    [finding] = [f for f in evaluate(build(diagnoses=["Z79.4", "Z00.00"]), ctx).findings
                 if f.rule == "CCM-ELIG-01"]
    assert "principal care management" not in finding.message


def test_custom_table(tmp_path: Path) -> None:
    path = tmp_path / "conditions.csv"
    path.write_text("prefix,family,label,source\nZ794,insulin,Long-term insulin,local\n")
    assert ConditionTable.from_csv(path).lookup("Z79.4").family == "insulin"  # type: ignore[union-attr]
    path.write_text("code,family\nZ794,insulin\n")
    with pytest.raises(ConfigError):
        ConditionTable.from_csv(path)
