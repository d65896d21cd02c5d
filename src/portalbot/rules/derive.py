"""Which code sets the counted minutes support, and whether a claimed set is one of them.

Per family, from the rule book: the base when the path's minutes reach its threshold, plus
⌊(minutes − threshold) / increment⌋ add-on units, capped by the table. No rounding, no
midpoint: 39 staff minutes is 99490 alone. A claimed set is valid when it is one of the
supported sets or a subset of one that keeps each add-on with its base.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from portalbot.claims import Claim
from portalbot.rules.codes import CodeTable, Family
from portalbot.rules.minutes import MinuteCount
from portalbot.rules.model import CodeSet, CodeUnits

COMPLEX_DECISION_MAKING = frozenset({"moderate", "high"})


def complexity_holds(claim: Claim, start: date | None = None,
                     end: date | None = None) -> bool:
    """Complex CCM also needs moderate or high decision making and a care plan established
    or substantially revised in the service month."""
    c = claim.complexity
    if c is None:
        return False
    start = start or claim.month_start
    end = end or claim.month_end
    return (
        c is not None
        and c.medical_decision_making in COMPLEX_DECISION_MAKING
        and start <= c.care_plan_revised_on <= end
    )


def family_units(family: Family, count: MinuteCount, table: CodeTable, *,
                 capped: bool = True) -> dict[str, int]:
    """{base: 1, add-on: n} the minutes support in one family (add-on omitted at 0),
    or {} when the base threshold is not reached. Complexity is not considered here."""
    base, add_on = table.family_codes(family)
    minutes = count.minutes(base.path)
    if minutes < base.threshold_minutes:
        return {}
    assert add_on.increment_minutes is not None
    extra = (minutes - base.threshold_minutes) // add_on.increment_minutes
    if capped and add_on.unit_cap is not None:
        extra = min(extra, add_on.unit_cap)
    units = {base.code: 1}
    if extra > 0:
        units[add_on.code] = extra
    return units


def derive_code_sets(count: MinuteCount, table: CodeTable, *,
                     complexity_ok: bool) -> tuple[CodeSet, ...]:
    """The largest set of each family the month supports, in the table's family order."""
    key = (count.staff_path, count.practitioner, complexity_ok)
    cached = table.derivations.get(key)
    if cached is None:
        cached = _derive(count, table, complexity_ok)
        if len(table.derivations) < 10_000:
            table.derivations[key] = cached
    return cached


def _derive(count: MinuteCount, table: CodeTable, complexity_ok: bool) -> tuple[CodeSet, ...]:
    sets: list[CodeSet] = []
    for family in table.families:
        base, _ = table.family_codes(family)
        if base.requires_complexity and not complexity_ok:
            continue
        units = family_units(family, count, table)
        if units:
            sets.append(tuple(CodeUnits(code, n) for code, n in units.items()))
    return tuple(sets)


def claimed_units(claim: Claim, table: CodeTable) -> dict[str, int]:
    """Units of each CCM code on the claim, summed over its service lines."""
    units: dict[str, int] = {}
    for line in claim.service_lines:
        if table.is_ccm(line.code):
            units[line.code] = units.get(line.code, 0) + line.units
    return units


def is_valid_code_set(claimed: Mapping[str, int], supported: tuple[CodeSet, ...],
                      table: CodeTable) -> bool:
    """True when `claimed` is a supported set or a subset of one that keeps every add-on
    with its base (a set with no CCM code at all is not valid)."""
    if not claimed or any(n < 1 for n in claimed.values()):
        return False
    for code in claimed:
        ccm = table.get(code)
        if ccm is None:
            return False
        if ccm.base is not None and ccm.base not in claimed:
            return False
    for code_set in supported:
        allowed = {c.code: c.units for c in code_set}
        if all(n <= allowed.get(code, 0) for code, n in claimed.items()):
            return True
    return False
