"""CCM-TIME: which time entries count toward the month's minutes, and which look doubtful."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from portalbot.claims import Claim
from portalbot.rules.analysis import Analysis
from portalbot.rules.catalogue import finding
from portalbot.rules.context import RuleContext
from portalbot.rules.minutes import Exclusion
from portalbot.rules.model import Finding

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
        yield finding(rule, f"time_entries[{excluded.index}]",
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
            yield finding(
                "CCM-TIME-05", f"time_entries[{index}]",
                f"{_entry_label(claim, index)} is on the day {', '.join(codes)} was billed: "
                "confirm these minutes were not also counted toward that service, and remove "
                "them from CCM time if they were (no minute counts twice)")
        key = (entry.date, entry.minutes, entry.performer_role, entry.performer,
               entry.activity)
        if key in seen:
            yield finding(
                "CCM-TIME-06", f"time_entries[{index}]",
                f"{_entry_label(claim, index)} repeats time entry {seen[key] + 1} exactly: "
                "remove it if it was logged twice, or tell the entries apart in activity")
        else:
            seen[key] = index
