"""The CCM rule book's catalogue (docs/ccm-rules.md): every rule id, severity and source.

An **error** holds the claim back; a **warning** lets it through and is recorded. Messages
name the field and the fix, never the patient's name, birth date or member ID.

| rule | severity | what it catches | source |
| --- | --- | --- | --- |
| CCM-TIME-01 | warning | face-to-face time entry excluded from CCM minutes | MLN909188 (2024); CMS CCM FAQ |
| CCM-TIME-02 | warning | time entry before the consent date excluded | MLN909188 (2024) |
| CCM-TIME-03 | warning | time entry outside the service month excluded | MLN909188; CY2020 PFS final rule |
| CCM-TIME-04 | warning | time entry during an inpatient stay on the claim excluded | CMS CCM FAQ |
| CCM-TIME-05 | warning | counted time on the day of another billed service (count no minute twice) | MLN909188 (2024); CMS CCM FAQ |
| CCM-TIME-06 | warning | identical time entries (probably logged twice) | MLN909188 (2024) |
| CCM-CODE-01 | error | claimed codes/units need more counted minutes than the month has | CY2020, CY2022 PFS final rules; MLN909188 |
| CCM-CODE-02 | error | no CCM code on the claim | MLN909188 |
| CCM-CODE-03 | error | complex CCM without moderate/high MDM and a care plan established or revised that month | CY2020 PFS final rule; MLN909188 |
| CCM-CODE-04 | error | units above the code's monthly limit (base once; 99439 at most 2) | CY2020, CY2022 PFS final rules |
| CCM-EXCL-01 | error | complex (99487/99489) with non-complex (99490/99439) | MLN909188 (2024) |
| CCM-EXCL-02 | error | 99491/99437 with 99490, 99439, 99487 or 99489 | CY2022 PFS final rule; MLN909188 |
| CCM-EXCL-03 | error | add-on without its own base on the claim | CPT add-on convention; MLN909188 |
| CCM-EXCL-04 | error | CCM with principal care management 99424-99427 | CY2022 PFS final rule; AAFP |
| CCM-EXCL-05 | error | CCM with advanced primary care management G0556-G0558 | CY2025 PFS final rule |
| CCM-EXCL-06 | error | another CCM claim for the same patient-month (batch or ledger) | MLN909188 (one practitioner per month) |
| CCM-EXCL-07 | warning | CCM with G0181/G0182 or ESRD monthly services 90951-90970 | MLN909188 (2015) |
| CCM-ELIG-01 | error | fewer than two distinct chronic conditions (one → suggests PCM) | MLN909188; CMS Chronic Conditions Warehouse |
| CCM-ELIG-02 | error | diagnosis not a valid, billable ICD-10-CM code (names the release) | HIPAA code sets; CMS ICD-10-CM files |
| CCM-ELIG-03 | error | no initiating visit | MLN909188; CMS CCM FAQ |
| CCM-ELIG-04 | error | initiating visit more than 12 months before CCM began | MLN909188; CMS CCM FAQ |
| CCM-CONSENT-01 | error | consent not documented | MLN909188 |
| CCM-CONSENT-02 | error | consent obtained after the service month | MLN909188 |
| CCM-CONSENT-03 | error | consent revoked before the service month | MLN909188; CMS CCM FAQ |
| CCM-PLAN-01 | error | no comprehensive care plan | MLN909188 |
| CCM-PLAN-02 | warning | a required care-plan element is missing (one finding each) | MLN909188 (care plan elements) |
| CCM-PLAN-03 | warning | care plan not shared with the patient | MLN909188 |
| CCM-PLAN-04 | warning | care plan not reviewed within the 12 months before the month's end | MLN909188 |
| CCM-CLAIM-01 | error | NPI fails the check digit | CMS NPI standard (Luhn over 80840) |
| CCM-CLAIM-02 | error | tax ID malformed | CMS-1500 box 25 / X12 837P |
| CCM-CLAIM-03 | error | diagnosis pointer outside the diagnosis list | CMS-1500 box 24E |
| CCM-CLAIM-04 | error | more than 4 diagnosis pointers on a line | CMS-1500 box 24E |
| CCM-CLAIM-05 | error | more than 12 diagnoses | CMS-1500 box 21 |
| CCM-CLAIM-06 | error | units below 1 | CMS-1500 box 24G |
| CCM-CLAIM-07 | error | charge not positive | CMS-1500 box 24F |
| CCM-CLAIM-08 | error | duplicate service lines | claims processing practice |
| CCM-CLAIM-09 | error | date of service outside the service month | MLN909188 |
| CCM-CLAIM-10 | error | date of service before the counted minutes reached the code's threshold | CMS CCM FAQ; CY2020 PFS |
| CCM-CLAIM-11 | error | service month in the future | MLN909188 |
| CCM-CLAIM-12 | warning | date of service more than 12 months ago (timely filing) | 42 CFR 424.44 |
| CCM-CLAIM-13 | warning | place of service not the billing location's usual code | CMS POS code set |

A void claim (frequency "void") withdraws a claim already accepted, so only the CCM-CLAIM
checks apply to it. The checks themselves live beside this module, one module per family
(``time_checks``, ``code_checks``, ``patient_checks``, ``claim_checks``), and
``portalbot.rules.checks`` runs them. This module is long because the table is written
twice on purpose: readable here without running anything, and as data below (a test keeps
them equal).
"""


from __future__ import annotations

from typing import NamedTuple

from portalbot.rules.codes import Severity
from portalbot.rules.model import Finding


class RuleInfo(NamedTuple):
    rule: str
    severity: Severity
    summary: str
    source: str


_RULE_LIST: tuple[RuleInfo, ...] = (
    RuleInfo("CCM-TIME-01", "warning",
             "face-to-face time entry excluded from CCM minutes",
             "MLN909188 (2024); CMS CCM FAQ"),
    RuleInfo("CCM-TIME-02", "warning",
             "time entry before the consent date excluded",
             "MLN909188 (2024)"),
    RuleInfo("CCM-TIME-03", "warning",
             "time entry outside the service month excluded",
             "MLN909188; CY2020 PFS final rule"),
    RuleInfo("CCM-TIME-04", "warning",
             "time entry during an inpatient stay on the claim excluded",
             "CMS CCM FAQ"),
    RuleInfo("CCM-TIME-05", "warning",
             "counted time on the day of another billed service (count no minute twice)",
             "MLN909188 (2024); CMS CCM FAQ"),
    RuleInfo("CCM-TIME-06", "warning",
             "identical time entries (probably logged twice)",
             "MLN909188 (2024)"),
    RuleInfo("CCM-CODE-01", "error",
             "claimed codes/units need more counted minutes than the month has",
             "CY2020, CY2022 PFS final rules; MLN909188"),
    RuleInfo("CCM-CODE-02", "error",
             "no CCM code on the claim",
             "MLN909188"),
    RuleInfo("CCM-CODE-03", "error",
             "complex CCM without moderate/high MDM and a care plan established or revised that month",
             "CY2020 PFS final rule; MLN909188"),
    RuleInfo("CCM-CODE-04", "error",
             "units above the code's monthly limit (base once; 99439 at most 2)",
             "CY2020, CY2022 PFS final rules"),
    RuleInfo("CCM-EXCL-01", "error",
             "complex (99487/99489) with non-complex (99490/99439)",
             "MLN909188 (2024)"),
    RuleInfo("CCM-EXCL-02", "error",
             "99491/99437 with 99490, 99439, 99487 or 99489",
             "CY2022 PFS final rule; MLN909188"),
    RuleInfo("CCM-EXCL-03", "error",
             "add-on without its own base on the claim",
             "CPT add-on convention; MLN909188"),
    RuleInfo("CCM-EXCL-04", "error",
             "CCM with principal care management 99424-99427",
             "CY2022 PFS final rule; AAFP"),
    RuleInfo("CCM-EXCL-05", "error",
             "CCM with advanced primary care management G0556-G0558",
             "CY2025 PFS final rule"),
    RuleInfo("CCM-EXCL-06", "error",
             "another CCM claim for the same patient-month (batch or ledger)",
             "MLN909188 (one practitioner per month)"),
    RuleInfo("CCM-EXCL-07", "warning",
             "CCM with G0181/G0182 or ESRD monthly services 90951-90970",
             "MLN909188 (2015)"),
    RuleInfo("CCM-ELIG-01", "error",
             "fewer than two distinct chronic conditions (one → suggests PCM)",
             "MLN909188; CMS Chronic Conditions Warehouse"),
    RuleInfo("CCM-ELIG-02", "error",
             "diagnosis not a valid, billable ICD-10-CM code (names the release)",
             "HIPAA code sets; CMS ICD-10-CM files"),
    RuleInfo("CCM-ELIG-03", "error",
             "no initiating visit",
             "MLN909188; CMS CCM FAQ"),
    RuleInfo("CCM-ELIG-04", "error",
             "initiating visit more than 12 months before CCM began",
             "MLN909188; CMS CCM FAQ"),
    RuleInfo("CCM-CONSENT-01", "error",
             "consent not documented",
             "MLN909188"),
    RuleInfo("CCM-CONSENT-02", "error",
             "consent obtained after the service month",
             "MLN909188"),
    RuleInfo("CCM-CONSENT-03", "error",
             "consent revoked before the service month",
             "MLN909188; CMS CCM FAQ"),
    RuleInfo("CCM-PLAN-01", "error",
             "no comprehensive care plan",
             "MLN909188"),
    RuleInfo("CCM-PLAN-02", "warning",
             "a required care-plan element is missing (one finding each)",
             "MLN909188 (care plan elements)"),
    RuleInfo("CCM-PLAN-03", "warning",
             "care plan not shared with the patient",
             "MLN909188"),
    RuleInfo("CCM-PLAN-04", "warning",
             "care plan not reviewed within the 12 months before the month's end",
             "MLN909188"),
    RuleInfo("CCM-CLAIM-01", "error",
             "NPI fails the check digit",
             "CMS NPI standard (Luhn over 80840)"),
    RuleInfo("CCM-CLAIM-02", "error",
             "tax ID malformed",
             "CMS-1500 box 25 / X12 837P"),
    RuleInfo("CCM-CLAIM-03", "error",
             "diagnosis pointer outside the diagnosis list",
             "CMS-1500 box 24E"),
    RuleInfo("CCM-CLAIM-04", "error",
             "more than 4 diagnosis pointers on a line",
             "CMS-1500 box 24E"),
    RuleInfo("CCM-CLAIM-05", "error",
             "more than 12 diagnoses",
             "CMS-1500 box 21"),
    RuleInfo("CCM-CLAIM-06", "error",
             "units below 1",
             "CMS-1500 box 24G"),
    RuleInfo("CCM-CLAIM-07", "error",
             "charge not positive",
             "CMS-1500 box 24F"),
    RuleInfo("CCM-CLAIM-08", "error",
             "duplicate service lines",
             "claims processing practice"),
    RuleInfo("CCM-CLAIM-09", "error",
             "date of service outside the service month",
             "MLN909188"),
    RuleInfo("CCM-CLAIM-10", "error",
             "date of service before the counted minutes reached the code's threshold",
             "CMS CCM FAQ; CY2020 PFS"),
    RuleInfo("CCM-CLAIM-11", "error",
             "service month in the future",
             "MLN909188"),
    RuleInfo("CCM-CLAIM-12", "warning",
             "date of service more than 12 months ago (timely filing)",
             "42 CFR 424.44"),
    RuleInfo("CCM-CLAIM-13", "warning",
             "place of service not the billing location's usual code",
             "CMS POS code set"),
)
RULES: dict[str, RuleInfo] = {rule.rule: rule for rule in _RULE_LIST}
"""Every rule id with its severity, summary and source; the module docstring shows the same
table (a test keeps them equal) so it can be read without running anything."""


def docstring_rules(doc: str) -> dict[str, RuleInfo]:
    """The rule table as written in a docstring (for the test that keeps the two equal)."""
    rules = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("CCM-"):
            severity: Severity = "error" if cells[1] == "error" else "warning"
            rules[cells[0]] = RuleInfo(cells[0], severity, cells[2], cells[3])
    return rules


def finding(rule: str, field: str, message: str) -> Finding:
    """A finding of `rule` at its catalogued severity (checks never choose the severity)."""
    return Finding(rule, RULES[rule].severity, field, message)
