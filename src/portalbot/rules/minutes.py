"""Which time entries count toward the month, and when each threshold was reached.

An entry counts when it is inside the service month, not face-to-face, on or after the
consent date and not during an inpatient stay on the claim (admission and discharge days
included). Excluded entries come back with the reason, so the findings can name them.
Without a consent date nothing is excluded for consent: the missing consent is its own
error, and the derivation stays informative.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from portalbot.claims import Claim, TimeEntry
from portalbot.rules.codes import MinutePath

PRACTITIONER_ROLES = frozenset({"physician", "qhp"})


class Exclusion(StrEnum):
    OUTSIDE_MONTH = "outside_month"
    FACE_TO_FACE = "face_to_face"
    BEFORE_CONSENT = "before_consent"
    INPATIENT = "inpatient_stay"


@dataclass(frozen=True)
class ExcludedEntry:
    index: int  # position in claim.time_entries
    reason: Exclusion
    entry: TimeEntry


@dataclass(frozen=True)
class MinuteCount:
    """Counted minutes on both paths, with cumulative totals by day for threshold dates."""

    staff_path: int
    practitioner: int
    counted: tuple[int, ...]
    excluded: tuple[ExcludedEntry, ...]
    days: tuple[date, ...] = ()
    staff_cumulative: tuple[int, ...] = ()
    practitioner_cumulative: tuple[int, ...] = ()

    def minutes(self, path: MinutePath) -> int:
        return self.staff_path if path is MinutePath.STAFF else self.practitioner

    def reached_on(self, path: MinutePath, minutes: int) -> date | None:
        """The day the counted minutes on `path` first reached `minutes`, or None."""
        if minutes <= 0:
            return self.days[0] if self.days else None
        totals = self.staff_cumulative if path is MinutePath.STAFF \
            else self.practitioner_cumulative
        i = bisect_left(totals, minutes)
        return self.days[i] if i < len(totals) else None


def count_minutes(claim: Claim, start: date | None = None,
                  end: date | None = None) -> MinuteCount:
    """Count the claim's minutes; `start`/`end` (the service month) may be passed in when
    the caller already has them."""
    if start is None or end is None:
        start, end = claim.month_start, claim.month_end
    counted: list[int] = []
    excluded: list[ExcludedEntry] = []
    per_day: dict[date, list[int]] = {}
    consent_on = claim.consent.obtained_on if claim.consent is not None else None
    stays = [(s.admitted_on, s.discharged_on) for s in claim.inpatient_stays]
    for index, entry in enumerate(claim.time_entries):
        day = entry.date
        reason: Exclusion | None = None
        if not start <= day <= end:
            reason = Exclusion.OUTSIDE_MONTH
        elif entry.face_to_face:
            reason = Exclusion.FACE_TO_FACE
        elif consent_on is not None and day < consent_on:
            reason = Exclusion.BEFORE_CONSENT
        elif stays and any(admitted <= day <= discharged for admitted, discharged in stays):
            reason = Exclusion.INPATIENT
        if reason is not None:
            excluded.append(ExcludedEntry(index, reason, entry))
            continue
        counted.append(index)
        totals = per_day.get(day)
        if totals is None:
            totals = per_day[day] = [0, 0]
        totals[0] += entry.minutes
        if entry.performer_role in PRACTITIONER_ROLES:
            totals[1] += entry.minutes
    days = tuple(sorted(per_day))
    staff_totals: list[int] = []
    practitioner_totals: list[int] = []
    staff_sum = practitioner_sum = 0
    for day in days:
        staff_sum += per_day[day][0]
        practitioner_sum += per_day[day][1]
        staff_totals.append(staff_sum)
        practitioner_totals.append(practitioner_sum)
    return MinuteCount(
        staff_path=staff_sum,
        practitioner=practitioner_sum,
        counted=tuple(counted),
        excluded=tuple(excluded),
        days=days,
        staff_cumulative=tuple(staff_totals),
        practitioner_cumulative=tuple(practitioner_totals),
    )
