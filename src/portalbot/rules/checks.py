"""Every check of the CCM rule book (docs/ccm-rules.md), each with a rule id.

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
checks apply to it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from typing import NamedTuple

from portalbot.claims import CARE_PLAN_ELEMENTS, Claim
from portalbot.rules.codes import CcmCode, CodeKind, CodeTable, Family, MinutePath, Severity
from portalbot.rules.context import RuleContext
from portalbot.rules.derive import (
    claimed_units,
    complexity_holds,
    derive_code_sets,
    family_units,
)
from portalbot.rules.icd import IcdStatus
from portalbot.rules.minutes import Exclusion, MinuteCount, count_minutes
from portalbot.rules.model import CodeSet, Finding, format_code_sets


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


def _finding(rule: str, field: str, message: str) -> Finding:
    return Finding(rule, RULES[rule].severity, field, message)


@lru_cache(maxsize=4096)
def months_before(day: date, months: int) -> date:
    """The same day `months` earlier (the month's last day when it has no such day)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


@dataclass(frozen=True)
class Analysis:
    """What several checks share, computed once per claim."""

    count: MinuteCount
    claimed: dict[str, int]
    complexity_ok: bool
    supported: tuple[CodeSet, ...]
    first_line: dict[str, int]  # code -> index of its first service line
    start: date  # first and last day of the service month
    end: date

    @cached_property
    def supported_text(self) -> str:
        return format_code_sets(self.supported)


@lru_cache(maxsize=256)
def month_bounds(service_month: str) -> tuple[date, date]:
    """First and last day of a "YYYY-MM" month (claims of a batch share a few months)."""
    year, month = int(service_month[:4]), int(service_month[5:7])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def analyse(claim: Claim, table: CodeTable) -> Analysis:
    start, end = month_bounds(claim.service_month)
    count = count_minutes(claim, start, end)
    complexity_ok = complexity_holds(claim, start, end)
    first_line: dict[str, int] = {}
    for i, line in enumerate(claim.service_lines):
        first_line.setdefault(line.code, i)
    return Analysis(
        count=count,
        claimed=claimed_units(claim, table),
        complexity_ok=complexity_ok,
        supported=derive_code_sets(count, table, complexity_ok=complexity_ok),
        first_line=first_line,
        start=start,
        end=end,
    )


Check = Callable[[Claim, Analysis, RuleContext], Iterable[Finding]]


# --- CCM-TIME ---------------------------------------------------------------------------

_EXCLUSION_RULES = {
    Exclusion.FACE_TO_FACE: (
        "CCM-TIME-01",
        "is face-to-face and does not count toward CCM (in-person work belongs to other "
        "codes); bill it under the visit code, or correct face_to_face if it was not in person"),
    Exclusion.BEFORE_CONSENT: (
        "CCM-TIME-02",
        "is before consent was obtained and does not count; only time on or after "
        "consent.obtained_on counts"),
    Exclusion.OUTSIDE_MONTH: (
        "CCM-TIME-03",
        "is outside the service month and does not count (time never carries between "
        "months); move it to the claim for its own month"),
    Exclusion.INPATIENT: (
        "CCM-TIME-04",
        "falls within an inpatient stay on the claim and does not count; remove it"),
}


def _entry_label(claim: Claim, index: int) -> str:
    entry = claim.time_entries[index]
    return f"time entry {index + 1} ({entry.date.isoformat()}, {entry.minutes} min)"


def check_time(claim: Claim, a: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    for excluded in a.count.excluded:
        rule, why = _EXCLUSION_RULES[excluded.reason]
        yield _finding(rule, f"time_entries[{excluded.index}]",
                       f"{_entry_label(claim, excluded.index)} {why}")
    if len(a.count.counted) < 2 and not claim.other_services:
        return
    other_days: dict[date, list[str]] = {}
    for service in claim.other_services:
        other_days.setdefault(service.date, []).append(service.code)
    seen: dict[tuple[object, ...], int] = {}
    for index in a.count.counted:
        entry = claim.time_entries[index]
        codes = other_days.get(entry.date)
        if codes:
            yield _finding(
                "CCM-TIME-05", f"time_entries[{index}]",
                f"{_entry_label(claim, index)} is on the day {', '.join(codes)} was billed: "
                "confirm these minutes were not also counted toward that service, and remove "
                "them from CCM time if they were (no minute counts twice)")
        key = (entry.date, entry.minutes, entry.performer_role, entry.performer,
               entry.activity)
        if key in seen:
            yield _finding(
                "CCM-TIME-06", f"time_entries[{index}]",
                f"{_entry_label(claim, index)} repeats time entry {seen[key] + 1} exactly: "
                "remove it if it was logged twice, or tell the entries apart in activity")
        else:
            seen[key] = index


# --- CCM-CODE and the CCM exclusions ----------------------------------------------------

def _path_words(path: MinutePath) -> str:
    return "staff-path" if path is MinutePath.STAFF else "physician/QHP"


def _needed_minutes(code: CcmCode, units: int, table: CodeTable) -> int:
    if code.kind is CodeKind.BASE:
        return code.threshold_minutes
    assert code.base is not None and code.increment_minutes is not None
    return table.codes[code.base].threshold_minutes + units * code.increment_minutes


def _claimed_families(claimed: dict[str, int], table: CodeTable) -> dict[Family, list[str]]:
    families: dict[Family, list[str]] = {}
    for code in claimed:
        families.setdefault(table.codes[code].family, []).append(code)
    return families


def check_codes(claim: Claim, a: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    table = ctx.code_table
    if not a.claimed:
        yield _finding(
            "CCM-CODE-02", "service_lines",
            f"no CCM code on the claim: bill one of the codes the minutes support "
            f"({a.supported_text}) from {table.ccm_code_list()}")
        return
    for family, codes in _claimed_families(a.claimed, table).items():
        base, add_on = table.family_codes(family)
        uncapped = family_units(family, a.count, table, capped=False)
        minutes = a.count.minutes(base.path)
        for code in (c for c in (base.code, add_on.code) if c in a.claimed):
            units = a.claimed[code]
            ccm = table.codes[code]
            line = a.first_line[code]
            supported_units = uncapped.get(code, 0)
            short = supported_units == 0 if ccm.kind is CodeKind.BASE \
                else units > supported_units
            if short:
                needed = _needed_minutes(ccm, units, table)
                label = code if units == 1 else f"{code}×{units}"
                yield _finding(
                    "CCM-CODE-01", f"service_lines[{line}].units",
                    f"{label} needs {needed} counted {_path_words(ccm.path)} minutes; the "
                    f"month has {minutes} (no rounding). " + (
                        f"The minutes support: {a.supported_text}. Bill one of those, or add "
                        "the missing documented time" if a.supported_text != "none" else
                        "They support no CCM code this month; add the missing documented time "
                        "or do not bill CCM for this month"))
            cap = ccm.unit_cap
            if cap is not None and units > cap:
                yield _finding(
                    "CCM-CODE-04", f"service_lines[{line}].units",
                    f"{code} is limited to {cap} unit{'s' if cap != 1 else ''} a month under "
                    f"the {table.name} code table; the claim bills {units}. Reduce the units "
                    f"(the minutes support: {a.supported_text})")
        if base.requires_complexity and not a.complexity_ok:
            mdm = claim.complexity.medical_decision_making if claim.complexity else None
            recorded = (f"the claim records {mdm} medical decision making; "
                        if mdm in {"straightforward", "low"} else "")
            yield _finding(
                "CCM-CODE-03", "complexity",
                f"{recorded}{'/'.join(codes)} is complex CCM and needs moderate or high medical decision "
                "making and a care plan established or substantially revised in the service "
                "month (complexity.care_plan_revised_on); record them, or bill what the "
                f"minutes support without complexity: {a.supported_text}")


def check_ccm_combinations(claim: Claim, a: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    table = ctx.code_table
    families = _claimed_families(a.claimed, table)

    def first(codes: Iterable[str]) -> str:
        return f"service_lines[{min(a.first_line[c] for c in codes)}].code"

    if Family.COMPLEX in families and Family.NON_COMPLEX in families:
        yield _finding(
            "CCM-EXCL-01", first(families[Family.COMPLEX]),
            f"complex CCM ({', '.join(families[Family.COMPLEX])}) and non-complex CCM "
            f"({', '.join(families[Family.NON_COMPLEX])}) may not be billed in the same month: "
            f"keep one family (the minutes support: {a.supported_text})")
    if Family.PRACTITIONER in families and len(families) > 1:
        others = sorted(c for f, cs in families.items() if f is not Family.PRACTITIONER
                        for c in cs)
        yield _finding(
            "CCM-EXCL-02", first(families[Family.PRACTITIONER]),
            f"{', '.join(families[Family.PRACTITIONER])} (physician/QHP CCM) may not be billed "
            f"with {', '.join(others)} in the same month: keep one family "
            f"(the minutes support: {a.supported_text})")
    for code in a.claimed:
        ccm = table.codes[code]
        if ccm.base is not None and ccm.base not in a.claimed:
            yield _finding(
                "CCM-EXCL-03", f"service_lines[{a.first_line[code]}].code",
                f"add-on {code} needs its base code {ccm.base} on the same claim: add "
                f"{ccm.base} or remove {code}")


_EXCLUDED_CODES: dict[int, tuple[CodeTable, frozenset[str]]] = {}


def _excluded_codes(table: CodeTable) -> frozenset[str]:
    """Every code of every exclusion group: most claims have none, so check that first."""
    cached = _EXCLUDED_CODES.get(id(table))
    if cached is None or cached[0] is not table:
        cached = (table, frozenset().union(*(g.codes for g in table.exclusions)))
        _EXCLUDED_CODES[id(table)] = cached
    return cached[1]


def check_other_exclusions(claim: Claim, a: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    if not a.claimed:
        return
    excluded = _excluded_codes(ctx.code_table)
    if not any(line.code in excluded for line in claim.service_lines) and \
            not any(s.code in excluded for s in claim.other_services):
        return
    places = [(f"service_lines[{i}].code", line.code)
              for i, line in enumerate(claim.service_lines)]
    places += [(f"other_services[{i}].code", s.code) for i, s in enumerate(claim.other_services)]
    for group in ctx.code_table.exclusions:
        for field, code in places:
            if code in group.codes:
                fix = ("bill only one of them for this month" if group.severity == "error"
                       else "confirm the payer allows both this month")
                yield _finding(group.rule, field, f"{code}: {group.reason}; {fix}")


def duplicate_finding(claim: Claim, others: Iterable[str]) -> Finding | None:
    """CCM-EXCL-06 for a claim whose patient-month is also claimed under another claim_id."""
    return duplicate_finding_for(claim.claim_id, claim.frequency, others)


def duplicate_finding_for(claim_id: str, frequency: str, others: Iterable[str]) -> Finding | None:
    """CCM-EXCL-06 from the two fields it reads (the parallel validator has no Claim)."""
    other_ids = sorted(set(others) - {claim_id})
    if not other_ids or frequency == "void":
        return None
    shown = ", ".join(other_ids[:3]) + (f" and {len(other_ids) - 3} more"
                                        if len(other_ids) > 3 else "")
    return _finding(
        "CCM-EXCL-06", "service_month",
        f"another CCM claim ({shown}) is for the same payer, member and service month; only "
        "one practitioner is paid for CCM per patient per month: void or drop one of them "
        "(a corrected claim must keep the same claim_id with a new version)")


# --- CCM-ELIG ---------------------------------------------------------------------------

def check_eligibility(claim: Claim, a: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    families = ctx.conditions.families(claim.diagnoses)
    if len(families) < 2:
        found = ", ".join(f.replace("_", " ") for f in families) or "none"
        advice = ("bill principal care management (99424-99427) for a single chronic "
                  "condition instead, or add the second chronic condition if documented"
                  if len(families) == 1 else
                  "add the patient's chronic conditions to diagnoses if documented")
        yield _finding(
            "CCM-ELIG-01", "diagnoses",
            f"CCM needs at least two distinct chronic conditions expected to last 12 months "
            f"or more; the diagnoses show {len(families)} ({found}): {advice}")
    release = ctx.icd.release
    for i, code in enumerate(claim.diagnoses):
        status = ctx.icd.status(code)
        if status is IcdStatus.BILLABLE:
            continue
        if status is IcdStatus.HEADER:
            why = (f"is a category, not a billable code, in {release}: code it to the "
                   "highest specificity (one of its subcodes)")
        elif status is IcdStatus.MALFORMED:
            why = (f"is not shaped like an ICD-10-CM code (checked against {release}): give "
                   "a code such as E11.9")
        else:
            why = (f"is not in {release}: check the code, or name a newer CMS code file in "
                   "the configuration if it is new")
        # A malformed entry could be any text, so only a well-formed code is echoed.
        label = "the diagnosis" if status is IcdStatus.MALFORMED else f"diagnosis {code!r}"
        yield _finding("CCM-ELIG-02", f"diagnoses[{i}]", f"{label} {why}")
    visit = claim.initiating_visit
    if visit is None:
        yield _finding(
            "CCM-ELIG-03", "initiating_visit",
            "no initiating visit: CCM must start at a face-to-face E/M, annual wellness visit "
            "or welcome-to-Medicare exam by the billing practitioner; record that visit")
    elif claim.consent is not None:
        began = claim.consent.obtained_on
        if visit.date < months_before(began, 12):
            yield _finding(
                "CCM-ELIG-04", "initiating_visit.date",
                f"the initiating visit ({visit.date.isoformat()}) is more than 12 months "
                f"before CCM began ({began.isoformat()}): the patient needs a new initiating "
                "visit by the billing practitioner before CCM can be billed")


# --- CCM-CONSENT ------------------------------------------------------------------------

def check_consent(claim: Claim, a: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    consent = claim.consent
    if consent is None:
        yield _finding(
            "CCM-CONSENT-01", "consent",
            "no documented consent: record when (obtained_on), how (verbal or written) and "
            "where (document_ref) the patient agreed to CCM, before any time is counted")
        return
    if consent.obtained_on > a.end:
        yield _finding(
            "CCM-CONSENT-02", "consent.obtained_on",
            f"consent was obtained ({consent.obtained_on.isoformat()}) after the service month "
            f"{claim.service_month}: no time that month can count; bill CCM from the month "
            "consent was obtained")
    if consent.revoked_on is not None and consent.revoked_on < a.start:
        yield _finding(
            "CCM-CONSENT-03", "consent.revoked_on",
            f"consent was revoked ({consent.revoked_on.isoformat()}) before the service month "
            f"{claim.service_month}; revocation takes effect at the end of its month, so later "
            "months may not be billed: drop this claim or record renewed consent")


# --- CCM-PLAN ---------------------------------------------------------------------------

def check_care_plan(claim: Claim, a: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    plan = claim.care_plan
    if plan is None:
        yield _finding(
            "CCM-PLAN-01", "care_plan",
            "no comprehensive care plan: record the care plan (document_ref) the CCM "
            "services follow")
        return
    present = set(plan.elements)
    for element in CARE_PLAN_ELEMENTS if len(present) < len(CARE_PLAN_ELEMENTS) else ():
        if element not in present:
            yield _finding(
                "CCM-PLAN-02", "care_plan.elements",
                f"the care plan lacks {element.replace('_', ' ')!r} ({element}): add it to "
                "the plan and list it in care_plan.elements")
    if plan.shared_with_patient_on is None:
        yield _finding(
            "CCM-PLAN-03", "care_plan.shared_with_patient_on",
            "no record that a copy of the care plan was given to the patient: give one and "
            "record the date")
    oldest = months_before(a.end, 12)
    if plan.last_reviewed_on is None or plan.last_reviewed_on < oldest:
        when = (plan.last_reviewed_on.isoformat() if plan.last_reviewed_on
                else "never recorded")
        yield _finding(
            "CCM-PLAN-04", "care_plan.last_reviewed_on",
            f"the care plan was last reviewed {when}, not within the 12 months before "
            f"{a.end.isoformat()}: review it and record last_reviewed_on")


# --- CCM-CLAIM --------------------------------------------------------------------------

_TAX_ID = re.compile(r"^(\d{2}-?\d{7}|\d{3}-\d{2}-\d{4})$")


@lru_cache(maxsize=4096)
def npi_check_digit_ok(npi: str) -> bool:
    """Luhn over "80840" + the NPI (the NPI standard's prefix for US health identifiers)."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed("80840" + npi)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


@lru_cache(maxsize=4096)
def tax_id_ok(tax_id: str) -> bool:
    if not _TAX_ID.match(tax_id):
        return False
    digits = tax_id.replace("-", "")
    return digits != "000000000" and not digits.startswith("00")


def check_claim(claim: Claim, a: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    for field, npi in (("billing_provider.npi", claim.billing_provider.npi),
                       ("rendering_provider.npi", claim.rendering_provider.npi)):
        if not npi_check_digit_ok(npi):
            yield _finding("CCM-CLAIM-01", field,
                           f"NPI {npi} fails the check digit: copy the NPI again from NPPES")
    if not tax_id_ok(claim.billing_provider.tax_id):
        yield _finding("CCM-CLAIM-02", "billing_provider.tax_id",
                       "the tax ID is malformed: give the 9-digit EIN, such as 12-3456789")
    n_dx = len(claim.diagnoses)
    if n_dx > 12:
        yield _finding("CCM-CLAIM-05", "diagnoses",
                       f"{n_dx} diagnoses; a claim holds at most 12: keep the 12 most relevant "
                       "(chronic conditions first)")
    seen_lines: dict[tuple[object, ...], int] = {}
    stale_before = months_before(ctx.today, 12)
    usual_pos = ctx.usual_place_of_service
    for i, line in enumerate(claim.service_lines):
        where = f"service_lines[{i}]"
        pointers = line.diagnosis_pointers
        bad = [p for p in pointers if not 1 <= p <= n_dx]
        if bad:
            yield _finding(
                "CCM-CLAIM-03", f"{where}.diagnosis_pointers",
                f"pointer(s) {', '.join(map(str, bad))} outside the diagnosis list (1-{n_dx}): "
                "point to diagnoses by their 1-based position")
        if len(line.diagnosis_pointers) > 4:
            yield _finding(
                "CCM-CLAIM-04", f"{where}.diagnosis_pointers",
                f"{len(line.diagnosis_pointers)} diagnosis pointers; a line takes at most 4: "
                "keep the 4 most relevant")
        if line.units < 1:
            yield _finding("CCM-CLAIM-06", f"{where}.units",
                           f"units are {line.units}; bill at least 1 unit or remove the line")
        if line.charge <= 0:
            yield _finding("CCM-CLAIM-07", f"{where}.charge",
                           "the charge must be more than 0.00: give the practice's fee")
        key = (line.code, tuple(sorted(line.modifiers)) if line.modifiers else (),
               line.date_of_service)
        if key in seen_lines:
            yield _finding(
                "CCM-CLAIM-08", where,
                f"line {i + 1} repeats line {seen_lines[key] + 1} ({line.code}, same modifiers "
                "and date): bill the code once with the right units")
        else:
            seen_lines[key] = i
        dos = line.date_of_service
        if not a.start <= dos <= a.end:
            yield _finding(
                "CCM-CLAIM-09", f"{where}.date_of_service",
                f"date of service {dos.isoformat()} is outside the service month "
                f"{claim.service_month}: use a date in that month")
        elif line.code in a.claimed:
            yield from _threshold_date(claim, a, ctx, i)
        if dos < stale_before:
            yield _finding(
                "CCM-CLAIM-12", f"{where}.date_of_service",
                f"date of service {dos.isoformat()} is more than 12 months ago: Medicare's "
                "timely filing limit has probably passed; check the payer's limit first")
        if line.place_of_service != usual_pos:
            yield _finding(
                "CCM-CLAIM-13", f"{where}.place_of_service",
                f"place of service {line.place_of_service} is not the billing location's "
                f"usual {ctx.usual_place_of_service}: check it")
    if a.start > ctx.today:
        yield _finding(
            "CCM-CLAIM-11", "service_month",
            f"the service month {claim.service_month} is in the future: bill it once "
            "its time has been spent")


def _threshold_date(claim: Claim, a: Analysis, ctx: RuleContext, i: int) -> Iterator[Finding]:
    """CMS allows billing from the day the minutes reach the threshold, not earlier. For an
    add-on that is the day the minutes reached what all its claimed units need."""
    line = claim.service_lines[i]
    ccm = ctx.code_table.codes[line.code]
    needed = _needed_minutes(ccm, a.claimed[line.code], ctx.code_table)
    reached = a.count.reached_on(ccm.path, needed)
    if reached is not None and line.date_of_service < reached:
        yield _finding(
            "CCM-CLAIM-10", f"service_lines[{i}].date_of_service",
            f"date of service {line.date_of_service.isoformat()} is before the counted "
            f"minutes reached the {needed} that {line.code} needs (on {reached.isoformat()}): "
            f"date the line {reached.isoformat()} or later")


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
