"""pyx12's errors in portalbot's words: where (segment ordinal, id, loop) and what, never a value.

pyx12 reports a problem through its error-handler interface while it walks the segments;
``Collector`` remembers the last place it was told of and turns each error code into a
sentence from the tables below (pyx12's codes are the 999's IK304/IK403/IK501/AK905 and the
TA1's), so an error message never quotes an element value, which may be PHI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pyx12.error_handler

SEGMENT_PROBLEMS = {
    "1": "unrecognized segment id",
    "2": "unexpected segment",
    "3": "a mandatory segment is missing",
    "4": "the loop occurs more often than the guide allows",
    "5": "the segment occurs more often than the guide allows",
    "6": "the segment is not defined in this transaction set",
    "7": "the segment is out of sequence",
    "8": "the segment has data element errors",
}
ELEMENT_PROBLEMS = {
    "1": "a mandatory data element is missing",
    "2": "a conditionally required data element is missing",
    "3": "too many data elements",
    "4": "the data element is too short",
    "5": "the data element is too long",
    "6": "the data element has an invalid character (an amount or number that is not one)",
    "7": "the data element holds a code the guide does not allow",
    "8": "the data element is not a valid date",
    "9": "the data element is not a valid time",
    "10": "the data element must not be present together with another",
    "12": "the data element repeats more often than allowed",
    "13": "the composite has too many components",
}
ENVELOPE_PROBLEMS = {
    ("st", "1"): "transaction set not supported",
    ("st", "2"): "the transaction set trailer (SE) is missing",
    ("st", "3"): "the SE control number does not match its ST",
    ("st", "4"): "SE01 does not match the number of segments in the transaction set",
    ("st", "23"): "the ST control number is not unique within its group",
    ("gs", "1"): "functional group not supported",
    ("gs", "2"): "functional group version not supported",
    ("gs", "3"): "the functional group trailer (GE) is missing, or a transaction set in it is not closed",
    ("gs", "4"): "the GE control number does not match its GS",
    ("gs", "5"): "GE01 does not match the number of transaction sets in the group",
    ("gs", "6"): "the GS control number is not unique",
    ("isa", "001"): "the IEA control number does not match its ISA",
    ("isa", "021"): "IEA01 does not match the number of functional groups",
    ("isa", "023"): "the interchange trailer (IEA) is missing: the file ends early",
    ("isa", "024"): "the interchange content is invalid (a group left open)",
    ("isa", "025"): "the interchange control number is not unique in the file",
}
# pyx12 reports these while reading the trailer, before it says the trailer was reached.
TRAILER_ERRORS = {
    ("st", "3"): ("SE", "ST_LOOP"), ("st", "4"): ("SE", "ST_LOOP"),
    ("gs", "4"): ("GE", "GS_LOOP"), ("gs", "5"): ("GE", "GS_LOOP"),
    ("isa", "001"): ("IEA", "ISA_LOOP"), ("isa", "021"): ("IEA", "ISA_LOOP"),
}
# pyx12's own warning about `NM1*QC*1*X~`-style trailing separators is not an error.
IGNORED = {("seg", "SEG1")}
_SEGMENT_ID_ONLY = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_SEGMENT_ID = re.compile(r"\(([A-Z][A-Z0-9]{1,2})\)")


@dataclass
class Problem:
    where: tuple[str, str, int]
    text: str


@dataclass
class Collector(pyx12.error_handler.errh_null):
    """pyx12's error-handler interface: remembers where each error was raised."""

    offset: int = 0
    problems: list[Problem] = field(default_factory=list)
    here: tuple[str, str, int] = ("ISA", "ISA_LOOP", 1)

    def __post_init__(self) -> None:
        super().__init__()

    def _at(self, seg_id: str, loop: str, ordinal: int) -> None:
        self.here = (seg_id, loop, self.offset + ordinal)

    def add_isa_loop(self, seg: Any, src: Any) -> None:
        self._at("ISA", "ISA_LOOP", src.get_cur_line())

    def add_gs_loop(self, seg: Any, src: Any) -> None:
        self._at("GS", "GS_LOOP", src.get_cur_line())

    def add_st_loop(self, seg: Any, src: Any) -> None:
        self._at("ST", "ST_LOOP", src.get_cur_line())

    def close_st_loop(self, node: Any, seg: Any, src: Any) -> None:
        self._at("SE", "ST_LOOP", src.get_cur_line())

    def close_gs_loop(self, node: Any, seg: Any, src: Any) -> None:
        self._at("GE", "GS_LOOP", src.get_cur_line())

    def close_isa_loop(self, node: Any, seg: Any, src: Any) -> None:
        self._at("IEA", "ISA_LOOP", src.get_cur_line())

    def add_seg(self, map_node: Any, seg: Any, seg_count: int, cur_line: int,
                ls_id: str | None) -> None:
        seg_id = str(seg.get_seg_id())
        if not _SEGMENT_ID_ONLY.fullmatch(seg_id):  # never echo what may be data
            seg_id = "segment id not recognized"
        self._at(seg_id, loop_of(map_node.get_path()) if map_node else "?", cur_line)

    def handle_errors(self, err_list: list[tuple[str, str, str, Any, int | None]]) -> None:
        for kind, code, text, _value, line in err_list:
            self._record(kind, code, text, line)

    def isa_error(self, err_cde: str, err_str: str) -> None:
        self._record("isa", err_cde, err_str)

    def gs_error(self, err_cde: str, err_str: str) -> None:
        self._record("gs", err_cde, err_str)

    def st_error(self, err_cde: str, err_str: str) -> None:
        self._record("st", err_cde, err_str)

    def seg_error(self, err_cde: str, err_str: str, err_value: Any = None,
                  src_line: int | None = None) -> None:
        self._record("seg", err_cde, err_str, src_line)

    def ele_error(self, err_cde: str, err_str: str, err_value: Any,
                  refdes: str | None = None) -> None:
        problem = ELEMENT_PROBLEMS.get(err_cde, f"data element error {err_cde}")
        self.problems.append(Problem(self.here, f"{refdes or 'an element'}: {problem}"))

    def _record(self, kind: str, code: str, text: str, _line: int | None = None) -> None:
        if (kind, code) in IGNORED:
            return
        if kind == "seg":
            problem = SEGMENT_PROBLEMS.get(code, f"segment error {code}")
            named = _SEGMENT_ID.search(text or "")
            if code == "3" and named:
                problem += f": {named.group(1)}"
        else:
            problem = ENVELOPE_PROBLEMS.get((kind, code), f"{kind.upper()} envelope error {code}")
        where = self.here
        if (kind, code) in TRAILER_ERRORS:
            trailer, loop = TRAILER_ERRORS[(kind, code)]
            where = (trailer, loop, self.here[2] + 1)
        self.problems.append(Problem(where, problem))


def loop_of(path: str) -> str:
    """The innermost loop of a pyx12 map path: ".../2000/2100/CLP" -> "2100"."""
    parts = [p for p in path.split("/") if p]
    return parts[-2] if len(parts) >= 2 else (parts[0] if parts else "?")


def describe(name: str, problems: list[Problem]) -> str:
    lines = [f"{name}: not a valid X12 file ({len(problems)} problems); nothing was recorded"]
    for problem in problems[:10]:
        seg_id, loop, ordinal = problem.where
        lines.append(f"  segment {ordinal} ({seg_id}, loop {loop}): {problem.text}")
    if len(problems) > 10:
        lines.append(f"  … and {len(problems) - 10} more")
    return "\n".join(lines)
