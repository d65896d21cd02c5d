"""CCM-ELIG, CCM-CONSENT and CCM-PLAN: what the patient's record must show before CCM is
billed — chronic conditions, an initiating visit, consent and a care plan."""

from __future__ import annotations

from collections.abc import Iterator

from portalbot.claims import CARE_PLAN_ELEMENTS, Claim
from portalbot.rules.analysis import Analysis, months_before
from portalbot.rules.catalogue import finding
from portalbot.rules.context import RuleContext
from portalbot.rules.icd import IcdStatus
from portalbot.rules.model import Finding


def check_eligibility(claim: Claim, a: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    families = ctx.conditions.families(claim.diagnoses)
    if len(families) < 2:
        found = ", ".join(f.replace("_", " ") for f in families) or "none"
        advice = ("bill principal care management (99424-99427) for a single chronic "
                  "condition instead, or add the second chronic condition if documented"
                  if len(families) == 1 else
                  "add the patient's chronic conditions to diagnoses if documented")
        yield finding(
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
        yield finding("CCM-ELIG-02", f"diagnoses[{i}]", f"{label} {why}")
    visit = claim.initiating_visit
    if visit is None:
        yield finding(
            "CCM-ELIG-03", "initiating_visit",
            "no initiating visit: CCM must start at a face-to-face E/M, annual wellness visit "
            "or welcome-to-Medicare exam by the billing practitioner; record that visit")
    elif claim.consent is not None:
        began = claim.consent.obtained_on
        if visit.date < months_before(began, 12):
            yield finding(
                "CCM-ELIG-04", "initiating_visit.date",
                f"the initiating visit ({visit.date.isoformat()}) is more than 12 months "
                f"before CCM began ({began.isoformat()}): the patient needs a new initiating "
                "visit by the billing practitioner before CCM can be billed")


# --- CCM-CONSENT ------------------------------------------------------------------------

def check_consent(claim: Claim, a: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    consent = claim.consent
    if consent is None:
        yield finding(
            "CCM-CONSENT-01", "consent",
            "no documented consent: record when (obtained_on), how (verbal or written) and "
            "where (document_ref) the patient agreed to CCM, before any time is counted")
        return
    if consent.obtained_on > a.end:
        yield finding(
            "CCM-CONSENT-02", "consent.obtained_on",
            f"consent was obtained ({consent.obtained_on.isoformat()}) after the service month "
            f"{claim.service_month}: no time that month can count; bill CCM from the month "
            "consent was obtained")
    if consent.revoked_on is not None and consent.revoked_on < a.start:
        yield finding(
            "CCM-CONSENT-03", "consent.revoked_on",
            f"consent was revoked ({consent.revoked_on.isoformat()}) before the service month "
            f"{claim.service_month}; revocation takes effect at the end of its month, so later "
            "months may not be billed: drop this claim or record renewed consent")


# --- CCM-PLAN ---------------------------------------------------------------------------

def check_care_plan(claim: Claim, a: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    plan = claim.care_plan
    if plan is None:
        yield finding(
            "CCM-PLAN-01", "care_plan",
            "no comprehensive care plan: record the care plan (document_ref) the CCM "
            "services follow")
        return
    present = set(plan.elements)
    for element in CARE_PLAN_ELEMENTS if len(present) < len(CARE_PLAN_ELEMENTS) else ():
        if element not in present:
            yield finding(
                "CCM-PLAN-02", "care_plan.elements",
                f"the care plan lacks {element.replace('_', ' ')!r} ({element}): add it to "
                "the plan and list it in care_plan.elements")
    if plan.shared_with_patient_on is None:
        yield finding(
            "CCM-PLAN-03", "care_plan.shared_with_patient_on",
            "no record that a copy of the care plan was given to the patient: give one and "
            "record the date")
    oldest = months_before(a.end, 12)
    if plan.last_reviewed_on is None or plan.last_reviewed_on < oldest:
        when = (plan.last_reviewed_on.isoformat() if plan.last_reviewed_on
                else "never recorded")
        yield finding(
            "CCM-PLAN-04", "care_plan.last_reviewed_on",
            f"the care plan was last reviewed {when}, not within the 12 months before "
            f"{a.end.isoformat()}: review it and record last_reviewed_on")
