from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from portalbot.errors import ConfigError
from portalbot.rules import IcdCodeSet, IcdStatus, RuleContext, default_context, evaluate
from portalbot.rules.icd import _codes_from_tree

from .conftest import TODAY, build


@pytest.mark.parametrize(("code", "status"), [
    ("E11.9", IcdStatus.BILLABLE),
    ("E119", IcdStatus.BILLABLE),
    (" e11.9 ", IcdStatus.BILLABLE),
    ("I10", IcdStatus.BILLABLE),
    ("S72.001A", IcdStatus.BILLABLE),
    ("E11", IcdStatus.HEADER),
    ("A00.2", IcdStatus.UNKNOWN),
    ("E1.19", IcdStatus.MALFORMED),
    ("A00-A09", IcdStatus.MALFORMED),
])
def test_packaged_statuses(icd: IcdCodeSet, code: str, status: IcdStatus) -> None:
    assert icd.status(code) is status


def test_packaged_release_is_named(icd: IcdCodeSet) -> None:
    assert icd.release.startswith("ICD-10-CM ")
    assert "simple-icd-10-cm" in icd.release
    assert IcdCodeSet.packaged() is icd  # loaded once


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_packaged_leaves_match_the_package_tree(icd: IcdCodeSet) -> None:
    billable, headers = _codes_from_tree()
    assert icd.billable == billable
    assert icd.headers == headers


def test_cms_codes_file_replaces_the_package(tmp_path: Path, ctx: RuleContext) -> None:
    cms = tmp_path / "icd10cm-codes-2027.txt"
    cms.write_text("E119    Type 2 diabetes mellitus without complications\n"
                   "I10     Essential (primary) hypertension\n"
                   "A002    A code that only the newer release has\n")
    newer = IcdCodeSet.from_cms_file(cms, release="FY2027")
    assert newer.status("A00.2") is IcdStatus.BILLABLE
    assert ctx.icd.status("A00.2") is IcdStatus.UNKNOWN
    claim = build(diagnoses=["E11.9", "I10", "A00.2"])
    assert "CCM-ELIG-02" not in {f.rule for f in evaluate(claim, replace(ctx, icd=newer)).findings}
    [stale] = [f for f in evaluate(claim, ctx).findings if f.rule == "CCM-ELIG-02"]
    assert ctx.icd.release in stale.message


def test_cms_order_file_knows_headers(tmp_path: Path) -> None:
    order = tmp_path / "icd10cm-order-2027.txt"
    order.write_text(
        "00001 E11     0 Type 2 diabetes mellitus                                     Type 2\n"
        "00002 E119    1 Type 2 diabetes mellitus without complications               Type 2\n")
    codes = IcdCodeSet.from_cms_file(order, release="FY2027")
    assert codes.status("E11") is IcdStatus.HEADER
    assert codes.status("E11.9") is IcdStatus.BILLABLE


def test_finding_names_the_configured_release(tmp_path: Path) -> None:
    cms = tmp_path / "codes.txt"
    cms.write_text("E119 Type 2 diabetes\nI10 Hypertension\n")
    context = default_context(today=TODAY, icd_file=cms, icd_release="FY2027")
    verdict = evaluate(build(diagnoses=["E11.9", "I10", "N18.30"]), context)
    [finding] = [f for f in verdict.findings if f.rule == "CCM-ELIG-02"]
    assert "FY2027" in finding.message and finding.field == "diagnoses[2]"


def test_unreadable_cms_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "codes.txt"
    bad.write_text("this is not a code file\n")
    with pytest.raises(ConfigError, match="line 1"):
        IcdCodeSet.from_cms_file(bad, release="X")
    with pytest.raises(ConfigError):
        IcdCodeSet.from_cms_file(tmp_path / "missing.txt", release="X")


def test_malformed_diagnosis_is_not_echoed(ctx: RuleContext) -> None:
    verdict = evaluate(build(diagnoses=["E11.9", "I10", "Zelda Q"]), ctx)
    [finding] = [f for f in verdict.findings if f.rule == "CCM-ELIG-02"]
    assert "Zelda" not in finding.message
    assert finding.field == "diagnoses[2]" and ctx.icd.release in finding.message
