"""The CCM code table, held as data so that a payer's variant is configuration, not a fork.

Medicare's table (CMS MLN909188; CY2020/CY2022 Physician Fee Schedule final rules) is
`CodeTable.default()`. A payer that caps 99437 at one unit, say, is
`CodeTable.default().with_caps({"99437": 1})`; nothing else in the rules changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

Severity = Literal["error", "warning"]


class CodeKind(StrEnum):
    BASE = "base"
    ADD_ON = "add_on"


class MinutePath(StrEnum):
    """Whose minutes a code counts.

    STAFF counts clinical staff, physicians and QHPs (the practitioner's own minutes count
    as staff minutes too); PRACTITIONER counts only physicians and QHPs.
    """

    STAFF = "staff"
    PRACTITIONER = "practitioner"


class Family(StrEnum):
    """A base code and its add-on; families are mutually exclusive within a month."""

    NON_COMPLEX = "non_complex"
    PRACTITIONER = "practitioner"
    COMPLEX = "complex"


@dataclass(frozen=True)
class CcmCode:
    """One CCM code. `threshold_minutes` is what the base needs; `increment_minutes` is
    what each further unit of an add-on needs on top of its base's threshold."""

    code: str
    kind: CodeKind
    family: Family
    path: MinutePath
    threshold_minutes: int
    increment_minutes: int | None = None
    base: str | None = None
    unit_cap: int | None = 1
    requires_complexity: bool = False
    description: str = ""


@dataclass(frozen=True)
class ExclusionGroup:
    """Codes that may not (or should not) be billed in the same month as CCM by the same
    practice. `rule` is the finding's rule id."""

    name: str
    codes: frozenset[str]
    rule: str
    severity: Severity
    reason: str


def _code_range(prefix: str, start: int, stop: int, width: int) -> frozenset[str]:
    return frozenset(f"{prefix}{n:0{width}d}" for n in range(start, stop + 1))


_DEFAULT_CODES: tuple[CcmCode, ...] = (
    CcmCode("99490", CodeKind.BASE, Family.NON_COMPLEX, MinutePath.STAFF, 20,
            description="CCM, first 20 minutes of clinical staff time"),
    CcmCode("99439", CodeKind.ADD_ON, Family.NON_COMPLEX, MinutePath.STAFF, 20,
            increment_minutes=20, base="99490", unit_cap=2,
            description="CCM, each additional 20 minutes of clinical staff time"),
    CcmCode("99491", CodeKind.BASE, Family.PRACTITIONER, MinutePath.PRACTITIONER, 30,
            description="CCM, first 30 minutes personally by a physician or QHP"),
    CcmCode("99437", CodeKind.ADD_ON, Family.PRACTITIONER, MinutePath.PRACTITIONER, 30,
            increment_minutes=30, base="99491", unit_cap=None,
            description="CCM, each additional 30 minutes by a physician or QHP"),
    CcmCode("99487", CodeKind.BASE, Family.COMPLEX, MinutePath.STAFF, 60,
            requires_complexity=True,
            description="complex CCM, first 60 minutes of clinical staff time"),
    CcmCode("99489", CodeKind.ADD_ON, Family.COMPLEX, MinutePath.STAFF, 60,
            increment_minutes=30, base="99487", unit_cap=None, requires_complexity=True,
            description="complex CCM, each additional 30 minutes of clinical staff time"),
)

_DEFAULT_EXCLUSIONS: tuple[ExclusionGroup, ...] = (
    ExclusionGroup(
        "principal care management", _code_range("", 99424, 99427, 5), "CCM-EXCL-04", "error",
        "CCM and principal care management (99424-99427) may not be billed by the same "
        "practice for the same month"),
    ExclusionGroup(
        "advanced primary care management", _code_range("G", 556, 558, 4), "CCM-EXCL-05",
        "error",
        "CCM and advanced primary care management (G0556-G0558) may not be billed by the "
        "same practice for the same month"),
    ExclusionGroup(
        "care plan oversight or ESRD monthly services",
        frozenset({"G0181", "G0182"}) | _code_range("", 90951, 90970, 5), "CCM-EXCL-07",
        "warning",
        "CMS's 2015 guidance excludes CCM in the same month as home health or hospice care "
        "plan oversight (G0181, G0182) or ESRD monthly services (90951-90970); current "
        "status is unclear"),
)


@dataclass(frozen=True)
class CodeTable:
    """CCM codes and the exclusion groups checked against them."""

    codes: Mapping[str, CcmCode]
    exclusions: tuple[ExclusionGroup, ...] = ()
    name: str = "medicare"
    _families: Mapping[Family, tuple[CcmCode, CcmCode]] = field(
        init=False, repr=False, compare=False)
    derivations: dict[tuple[int, int, bool], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    """Derived code sets by (staff-path, practitioner minutes, complexity): a cache."""

    def __post_init__(self) -> None:
        codes = MappingProxyType(dict(self.codes))
        object.__setattr__(self, "codes", codes)
        families: dict[Family, tuple[CcmCode, CcmCode]] = {}
        for code in codes.values():
            if code.kind is CodeKind.ADD_ON:
                if code.base is None or code.base not in codes:
                    raise ValueError(f"add-on {code.code} names unknown base {code.base}")
                base = codes[code.base]
                if base.family is not code.family or base.kind is not CodeKind.BASE:
                    raise ValueError(f"add-on {code.code} and base {base.code} disagree")
                if code.increment_minutes is None or code.increment_minutes <= 0:
                    raise ValueError(f"add-on {code.code} needs a positive increment")
                families[code.family] = (base, code)
        object.__setattr__(self, "_families", MappingProxyType(families))

    @classmethod
    def default(cls) -> CodeTable:
        """Medicare's table: 99439 capped at 2 units, 99437 and 99489 uncapped."""
        return cls({c.code: c for c in _DEFAULT_CODES}, _DEFAULT_EXCLUSIONS)

    def with_caps(self, caps: Mapping[str, int | None], name: str | None = None) -> CodeTable:
        """A payer's variant with different add-on unit caps (None = uncapped)."""
        codes = dict(self.codes)
        for code, cap in caps.items():
            if code not in codes:
                raise ValueError(f"unknown CCM code {code!r}")
            if codes[code].kind is CodeKind.BASE and cap != 1:
                raise ValueError(f"base code {code} is one unit a month; its cap is fixed")
            if cap is not None and cap < 0:
                raise ValueError(f"cap for {code} must be 0 or more")
            codes[code] = replace(codes[code], unit_cap=cap)
        return CodeTable(codes, self.exclusions, name or f"{self.name}+caps")

    def with_exclusions(self, exclusions: Iterable[ExclusionGroup],
                        name: str | None = None) -> CodeTable:
        """A variant with a different list of same-month exclusion groups."""
        return CodeTable(self.codes, tuple(exclusions), name or self.name)

    def get(self, code: str) -> CcmCode | None:
        return self.codes.get(code)

    def is_ccm(self, code: str) -> bool:
        return code in self.codes

    @property
    def families(self) -> tuple[Family, ...]:
        return tuple(self._families)

    def family_codes(self, family: Family) -> tuple[CcmCode, CcmCode]:
        """(base, add-on) of a family."""
        return self._families[family]

    def ccm_code_list(self) -> str:
        return ", ".join(self.codes)
