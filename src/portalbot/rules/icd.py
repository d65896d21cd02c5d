"""Which ICD-10-CM codes are valid and billable, and against which release.

The packaged code set comes from the `simple-icd-10-cm` package (its code list; billable =
leaf codes, i.e. no longer code extends them). It ages: CMS publishes a new code file every
October (and sometimes April), so a CMS `icd10cm-codes-YYYY.txt` (or `icd10cm-order-YYYY.txt`)
named in configuration replaces it, and a new code is never refused for a stale package.
Every finding about a code names `IcdCodeSet.release`.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import metadata
from pathlib import Path

from portalbot.errors import ConfigError

_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
_ORDER_LINE = re.compile(r"^\d{5} ([A-Z0-9]{3,7}) +([01]) ")
_CODES_LINE = re.compile(r"^([A-Z][0-9A-Z]{2,6})(?:\s|$)")


class IcdStatus(StrEnum):
    BILLABLE = "billable"
    HEADER = "header"  # a real category or subcategory, but not specific enough to bill
    UNKNOWN = "unknown"
    MALFORMED = "malformed"


def normalize(code: str) -> str | None:
    """The dotless capital form ("e11.9 " -> "E119"), or None when it cannot be a code."""
    text = code.strip().upper()
    if not _SHAPE.match(text):
        return None
    return text.replace(".", "")


def _leaves(codes: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Split a code list into (billable leaves, headers): a header has a longer extension."""
    ordered = sorted(set(codes))
    billable: set[str] = set()
    headers: set[str] = set()
    for i, code in enumerate(ordered):
        has_child = i + 1 < len(ordered) and ordered[i + 1].startswith(code)
        (headers if has_child else billable).add(code)
    return frozenset(billable), frozenset(headers)


@dataclass(frozen=True)
class IcdCodeSet:
    """A release of ICD-10-CM: billable codes and headers, dotless and capitalised."""

    release: str
    billable: frozenset[str] = field(repr=False)
    headers: frozenset[str] = field(default=frozenset(), repr=False)
    _seen: dict[str, IcdStatus] = field(default_factory=dict, init=False, repr=False,
                                        compare=False)

    def status(self, code: str) -> IcdStatus:
        """The code's status in this release (answers are remembered: claims repeat codes)."""
        known = self._seen.get(code)
        if known is None:
            known = self._status(code)
            if len(self._seen) < 100_000:
                self._seen[code] = known
        return known

    def _status(self, code: str) -> IcdStatus:
        key = normalize(code)
        if key is None:
            return IcdStatus.MALFORMED
        if key in self.billable:
            return IcdStatus.BILLABLE
        if key in self.headers:
            return IcdStatus.HEADER
        return IcdStatus.UNKNOWN

    def is_billable(self, code: str) -> bool:
        return self.status(code) is IcdStatus.BILLABLE

    @classmethod
    def from_codes(cls, codes: Iterable[str], release: str) -> IcdCodeSet:
        """A code set from a list of codes (headers are found as codes with extensions)."""
        keys = [k for k in (normalize(c) for c in codes) if k]
        billable, headers = _leaves(keys)
        return cls(release, billable, headers)

    @classmethod
    def from_cms_file(cls, path: Path | str, release: str) -> IcdCodeSet:
        """Read CMS's `icd10cm-codes-YYYY.txt` (billable codes: code, spaces, description)
        or `icd10cm-order-YYYY.txt` (order number, code, billable flag, descriptions)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the ICD-10-CM code file {path.name}: {exc}") from None
        billable: set[str] = set()
        headers: set[str] = set()
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            order = _ORDER_LINE.match(line)
            if order:
                (billable if order.group(2) == "1" else headers).add(order.group(1))
                continue
            plain = _CODES_LINE.match(line)
            if not plain:
                raise ConfigError(
                    f"{path.name}, line {number}: not a CMS ICD-10-CM code or order file line "
                    "(expected a dotless code, spaces, then the description)")
            billable.add(plain.group(1))
        if not billable:
            raise ConfigError(f"{path.name}: no ICD-10-CM codes found")
        if not headers:
            # The codes file lists billable codes only; any code that is a strict prefix of
            # another is a header someone put in by hand, so keep the leaves only.
            billable_f, headers_f = _leaves(billable)
            return cls(release, billable_f, headers_f)
        return cls(release, frozenset(billable), frozenset(headers))

    @classmethod
    def packaged(cls) -> IcdCodeSet:
        """The release packaged with simple-icd-10-cm; loaded once, on first use."""
        return _packaged()


def _package_version() -> str:
    try:
        return metadata.version("simple-icd-10-cm")
    except metadata.PackageNotFoundError:  # pragma: no cover - it is a dependency
        return "unknown"


def _code_list_file() -> Path | None:
    """The package's own code list, found without importing it: the import builds the whole
    classification tree (seconds), and a code list is all we need."""
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        lists = sorted(Path(location, "data").glob("code-list-*.txt"))
        if lists:
            return lists[-1]
    return None


def _release_name(code_list: Path | None) -> str:
    label = "unknown release"
    if code_list is not None:
        label = code_list.stem.removeprefix("code-list-").replace("-", " ")
    return f"ICD-10-CM {label} (simple-icd-10-cm {_package_version()})"


def _codes_from_list(text: str) -> list[str]:
    """Codes of the package's list, dropping chapters ("1") and blocks ("A00-A09")."""
    codes = []
    for line in text.splitlines():
        name = line.split(" ", 1)[0].replace(".", "").strip()
        if name and "-" not in name and not name.isdigit():
            codes.append(name)
    return codes


def _codes_from_tree() -> tuple[frozenset[str], frozenset[str]]:
    """The slow, documented path through the package's API (used if its data moved)."""
    import simple_icd_10_cm as cm

    billable: set[str] = set()
    headers: set[str] = set()
    for code in cm.get_all_codes(with_dots=False):
        if "-" in code or code.isdigit():
            continue
        (billable if cm.is_leaf(code) else headers).add(code)
    return frozenset(billable), frozenset(headers)


@cache
def _packaged() -> IcdCodeSet:
    code_list = _code_list_file()
    if code_list is not None:
        billable, headers = _leaves(_codes_from_list(code_list.read_text(encoding="utf-8")))
    else:  # pragma: no cover - depends on the package's layout
        billable, headers = _codes_from_tree()
    return IcdCodeSet(_release_name(code_list), billable, headers)
