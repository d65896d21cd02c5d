"""Chronic conditions by ICD-10-CM prefix, for the "two or more chronic conditions" rule.

CCM needs two *distinct* conditions: E11.9 and E11.65 are both diabetes, so codes map to a
condition family and families are counted. The table (`data/chronic_conditions.csv`:
prefix, family, label, source) follows CMS's Chronic Conditions Warehouse condition list and
the examples in MLN909188. The longest matching prefix wins. A practice can pass its own
table to `ConditionTable.from_csv`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from io import StringIO
from pathlib import Path

from portalbot.errors import ConfigError
from portalbot.rules.icd import normalize

_COLUMNS = ("prefix", "family", "label", "source")


@dataclass(frozen=True)
class ChronicCondition:
    prefix: str
    family: str
    label: str
    source: str


@dataclass(frozen=True)
class ConditionTable:
    rows: tuple[ChronicCondition, ...] = field(repr=False)
    _by_prefix: dict[str, ChronicCondition] = field(init=False, repr=False, compare=False)
    _lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _seen: dict[str, ChronicCondition | None] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_prefix = {row.prefix: row for row in self.rows}
        object.__setattr__(self, "_by_prefix", by_prefix)
        object.__setattr__(self, "_lengths",
                           tuple(sorted({len(p) for p in by_prefix}, reverse=True)))

    def lookup(self, code: str) -> ChronicCondition | None:
        """The condition a diagnosis code belongs to, or None when it is not chronic."""
        if code in self._seen:
            return self._seen[code]
        row = self._lookup(code)
        if len(self._seen) < 100_000:
            self._seen[code] = row
        return row

    def _lookup(self, code: str) -> ChronicCondition | None:
        key = normalize(code)
        if key is None:
            return None
        for length in self._lengths:
            row = self._by_prefix.get(key[:length])
            if row is not None:
                return row
        return None

    def families(self, codes: Iterable[str]) -> dict[str, list[str]]:
        """Distinct condition families among the codes, each with the codes that show it."""
        found: dict[str, list[str]] = {}
        for code in codes:
            row = self.lookup(code)
            if row is not None:
                found.setdefault(row.family, []).append(code)
        return found

    @classmethod
    def from_csv(cls, path: Path | str) -> ConditionTable:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the chronic-condition table {path.name}: {exc}") \
                from None
        return cls._parse(text, path.name)

    @classmethod
    def default(cls) -> ConditionTable:
        return _default()

    @classmethod
    def _parse(cls, text: str, name: str) -> ConditionTable:
        reader = csv.DictReader(StringIO(text))
        if tuple(reader.fieldnames or ()) != _COLUMNS:
            raise ConfigError(f"{name}: expected the columns {', '.join(_COLUMNS)}")
        rows = []
        for row in reader:
            prefix = row["prefix"].strip().upper().replace(".", "")
            if not prefix or not row["family"].strip():
                raise ConfigError(f"{name}, row {reader.line_num}: prefix and family are needed")
            rows.append(ChronicCondition(prefix, row["family"].strip(), row["label"].strip(),
                                         row["source"].strip()))
        return cls(tuple(rows))


@cache
def _default() -> ConditionTable:
    text = resources.files("portalbot.rules").joinpath("data/chronic_conditions.csv") \
        .read_text(encoding="utf-8")
    return ConditionTable._parse(text, "chronic_conditions.csv")
