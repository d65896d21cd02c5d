"""CCM-CLAIM: the claim form itself — identifiers, diagnosis pointers, units, charges and
dates of service."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from portalbot.claims import Claim
from portalbot.rules.analysis import Analysis, months_before
from portalbot.rules.catalogue import finding
from portalbot.rules.code_checks import needed_minutes
from portalbot.rules.context import RuleContext
from portalbot.rules.model import Finding

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
            yield finding("CCM-CLAIM-01", field,
                           f"NPI {npi} fails the check digit: copy the NPI again from NPPES")
    if not tax_id_ok(claim.billing_provider.tax_id):
        yield finding("CCM-CLAIM-02", "billing_provider.tax_id",
                       "the tax ID is malformed: give the 9-digit EIN, such as 12-3456789")
    n_dx = len(claim.diagnoses)
    if n_dx > 12:
        yield finding("CCM-CLAIM-05", "diagnoses",
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
            yield finding(
                "CCM-CLAIM-03", f"{where}.diagnosis_pointers",
                f"pointer(s) {', '.join(map(str, bad))} outside the diagnosis list (1-{n_dx}): "
                "point to diagnoses by their 1-based position")
        if len(line.diagnosis_pointers) > 4:
            yield finding(
                "CCM-CLAIM-04", f"{where}.diagnosis_pointers",
                f"{len(line.diagnosis_pointers)} diagnosis pointers; a line takes at most 4: "
                "keep the 4 most relevant")
        if line.units < 1:
            yield finding("CCM-CLAIM-06", f"{where}.units",
                           f"units are {line.units}; bill at least 1 unit or remove the line")
        if line.charge <= 0:
            yield finding("CCM-CLAIM-07", f"{where}.charge",
                           "the charge must be more than 0.00: give the practice's fee")
        key = (line.code, tuple(sorted(line.modifiers)) if line.modifiers else (),
               line.date_of_service)
        if key in seen_lines:
            yield finding(
                "CCM-CLAIM-08", where,
                f"line {i + 1} repeats line {seen_lines[key] + 1} ({line.code}, same modifiers "
                "and date): bill the code once with the right units")
        else:
            seen_lines[key] = i
        dos = line.date_of_service
        if not a.start <= dos <= a.end:
            yield finding(
                "CCM-CLAIM-09", f"{where}.date_of_service",
                f"date of service {dos.isoformat()} is outside the service month "
                f"{claim.service_month}: use a date in that month")
        elif line.code in a.claimed:
            yield from _threshold_date(claim, a, ctx, i)
        if dos < stale_before:
            yield finding(
                "CCM-CLAIM-12", f"{where}.date_of_service",
                f"date of service {dos.isoformat()} is more than 12 months ago: Medicare's "
                "timely filing limit has probably passed; check the payer's limit first")
        if line.place_of_service != usual_pos:
            yield finding(
                "CCM-CLAIM-13", f"{where}.place_of_service",
                f"place of service {line.place_of_service} is not the billing location's "
                f"usual {ctx.usual_place_of_service}: check it")
    if a.start > ctx.today:
        yield finding(
            "CCM-CLAIM-11", "service_month",
            f"the service month {claim.service_month} is in the future: bill it once "
            "its time has been spent")


def _threshold_date(claim: Claim, a: Analysis, ctx: RuleContext, i: int) -> Iterator[Finding]:
    """CMS allows billing from the day the minutes reach the threshold, not earlier. For an
    add-on that is the day the minutes reached what all its claimed units need."""
    line = claim.service_lines[i]
    ccm = ctx.code_table.codes[line.code]
    needed = needed_minutes(ccm, a.claimed[line.code], ctx.code_table)
    reached = a.count.reached_on(ccm.path, needed)
    if reached is not None and line.date_of_service < reached:
        yield finding(
            "CCM-CLAIM-10", f"service_lines[{i}].date_of_service",
            f"date of service {line.date_of_service.isoformat()} is before the counted "
            f"minutes reached the {needed} that {line.code} needs (on {reached.isoformat()}): "
            f"date the line {reached.isoformat()} or later")
