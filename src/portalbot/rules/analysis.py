"""What several checks share, computed once per claim: the month's bounds, the counted
minutes, the claimed units, whether complexity holds and the code sets the minutes support."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache

from portalbot.claims import Claim
from portalbot.rules.codes import CodeTable
from portalbot.rules.context import RuleContext
from portalbot.rules.derive import claimed_units, complexity_holds, derive_code_sets
from portalbot.rules.minutes import MinuteCount, count_minutes
from portalbot.rules.model import CodeSet, Finding, format_code_sets


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
