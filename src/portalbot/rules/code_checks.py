"""CCM-CODE and CCM-EXCL: the codes and units billed against the minutes, and the codes that
may not be billed together (on the claim, in the batch or in the ledger)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from portalbot.claims import Claim
from portalbot.rules.analysis import Analysis
from portalbot.rules.catalogue import finding
from portalbot.rules.codes import CcmCode, CodeKind, CodeTable, Family, MinutePath
from portalbot.rules.context import RuleContext
from portalbot.rules.derive import family_units
from portalbot.rules.model import Finding


def _path_words(path: MinutePath) -> str:
    return "staff-path" if path is MinutePath.STAFF else "physician/QHP"


def needed_minutes(code: CcmCode, units: int, table: CodeTable) -> int:
    """Counted minutes `units` of `code` need (an add-on's include its base's threshold)."""
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
        yield finding(
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
                needed = needed_minutes(ccm, units, table)
                label = code if units == 1 else f"{code}×{units}"
                yield finding(
                    "CCM-CODE-01", f"service_lines[{line}].units",
                    f"{label} needs {needed} counted {_path_words(ccm.path)} minutes; the "
                    f"month has {minutes} (no rounding). " + (
                        f"The minutes support: {a.supported_text}. Bill one of those, or add "
                        "the missing documented time" if a.supported_text != "none" else
                        "They support no CCM code this month; add the missing documented time "
                        "or do not bill CCM for this month"))
            cap = ccm.unit_cap
            if cap is not None and units > cap:
                yield finding(
                    "CCM-CODE-04", f"service_lines[{line}].units",
                    f"{code} is limited to {cap} unit{'s' if cap != 1 else ''} a month under "
                    f"the {table.name} code table; the claim bills {units}. Reduce the units "
                    f"(the minutes support: {a.supported_text})")
        if base.requires_complexity and not a.complexity_ok:
            mdm = claim.complexity.medical_decision_making if claim.complexity else None
            recorded = (f"the claim records {mdm} medical decision making; "
                        if mdm in {"straightforward", "low"} else "")
            yield finding(
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
        yield finding(
            "CCM-EXCL-01", first(families[Family.COMPLEX]),
            f"complex CCM ({', '.join(families[Family.COMPLEX])}) and non-complex CCM "
            f"({', '.join(families[Family.NON_COMPLEX])}) may not be billed in the same month: "
            f"keep one family (the minutes support: {a.supported_text})")
    if Family.PRACTITIONER in families and len(families) > 1:
        others = sorted(c for f, cs in families.items() if f is not Family.PRACTITIONER
                        for c in cs)
        yield finding(
            "CCM-EXCL-02", first(families[Family.PRACTITIONER]),
            f"{', '.join(families[Family.PRACTITIONER])} (physician/QHP CCM) may not be billed "
            f"with {', '.join(others)} in the same month: keep one family "
            f"(the minutes support: {a.supported_text})")
    for code in a.claimed:
        ccm = table.codes[code]
        if ccm.base is not None and ccm.base not in a.claimed:
            yield finding(
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
                yield finding(group.rule, field, f"{code}: {group.reason}; {fix}")


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
    return finding(
        "CCM-EXCL-06", "service_month",
        f"another CCM claim ({shown}) is for the same payer, member and service month; only "
        "one practitioner is paid for CCM per patient per month: void or drop one of them "
        "(a corrected claim must keep the same claim_id with a new version)")
