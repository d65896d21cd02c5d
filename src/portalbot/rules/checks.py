"""Runs every check of the CCM rule book on a claim, in the rule book's order.

The rules (ids, severities, sources) are catalogued in `portalbot.rules.catalogue`; the
checks live one family per module. The names they had when they all lived here are
re-exported, so ``from portalbot.rules.checks import analyse`` keeps working.
"""

from __future__ import annotations

from portalbot.claims import Claim
from portalbot.rules.analysis import Analysis, Check, analyse, month_bounds, months_before
from portalbot.rules.catalogue import RULES, RuleInfo, docstring_rules, finding
from portalbot.rules.claim_checks import check_claim, npi_check_digit_ok, tax_id_ok
from portalbot.rules.code_checks import (
    check_ccm_combinations,
    check_codes,
    check_other_exclusions,
    duplicate_finding,
    duplicate_finding_for,
    needed_minutes,
)
from portalbot.rules.context import RuleContext
from portalbot.rules.model import Finding
from portalbot.rules.patient_checks import check_care_plan, check_consent, check_eligibility
from portalbot.rules.time_checks import check_time

__all__ = [
    "CHECKS",
    "RULES",
    "VOID_CHECKS",
    "Analysis",
    "Check",
    "RuleInfo",
    "analyse",
    "check_care_plan",
    "check_ccm_combinations",
    "check_claim",
    "check_codes",
    "check_consent",
    "check_eligibility",
    "check_other_exclusions",
    "check_time",
    "docstring_rules",
    "duplicate_finding",
    "duplicate_finding_for",
    "finding",
    "month_bounds",
    "months_before",
    "needed_minutes",
    "npi_check_digit_ok",
    "run_checks",
    "tax_id_ok",
]

CHECKS: tuple[Check, ...] = (
    check_time,
    check_codes,
    check_ccm_combinations,
    check_other_exclusions,
    check_eligibility,
    check_consent,
    check_care_plan,
    check_claim,
)
VOID_CHECKS: tuple[Check, ...] = (check_claim,)


def run_checks(claim: Claim, a: Analysis, ctx: RuleContext) -> list[Finding]:
    checks = VOID_CHECKS if claim.frequency == "void" else CHECKS
    findings: list[Finding] = []
    for check in checks:
        findings.extend(check(claim, a, ctx))
    return findings
