from __future__ import annotations

from datetime import date

from portalbot.rules import MinutePath
from portalbot.rules.minutes import Exclusion, count_minutes

from .conftest import build, entry


def test_counts_staff_and_practitioner_paths() -> None:
    count = count_minutes(build(time_entries=[entry(3, 10), entry(4, 12, "physician"),
                                              entry(5, 8, "qhp")]))
    assert (count.staff_path, count.practitioner) == (30, 20)
    assert count.counted == (0, 1, 2)
    assert count.excluded == ()


def test_excluded_entries_carry_their_reason() -> None:
    claim = build(
        consent__obtained_on="2026-10-04",
        inpatient_stays=[{"admitted_on": "2026-10-20", "discharged_on": "2026-10-22"}],
        time_entries=[entry(3, 5), entry(6, 7, face_to_face=True), entry("2026-11-01", 9),
                      entry(20, 11), entry(22, 13), entry(23, 17)])
    count = count_minutes(claim)
    assert [(e.index, e.reason) for e in count.excluded] == [
        (0, Exclusion.BEFORE_CONSENT), (1, Exclusion.FACE_TO_FACE),
        (2, Exclusion.OUTSIDE_MONTH), (3, Exclusion.INPATIENT), (4, Exclusion.INPATIENT)]
    assert count.staff_path == 17


def test_without_consent_date_nothing_is_excluded_for_consent() -> None:
    count = count_minutes(build(consent=None, time_entries=[entry(1, 25)]))
    assert count.staff_path == 25


def test_threshold_dates() -> None:
    count = count_minutes(build(time_entries=[entry(12, 15), entry(5, 10, "physician"),
                                              entry(20, 30, "physician")]))
    assert count.reached_on(MinutePath.STAFF, 20) == date(2026, 10, 12)
    assert count.reached_on(MinutePath.STAFF, 25) == date(2026, 10, 12)
    assert count.reached_on(MinutePath.STAFF, 26) == date(2026, 10, 20)
    assert count.reached_on(MinutePath.PRACTITIONER, 30) == date(2026, 10, 20)
    assert count.reached_on(MinutePath.STAFF, 56) is None
