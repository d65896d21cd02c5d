"""Reading X12 files with pyx12: envelopes, loops and structural errors, never a traceback.

pyx12 parses each segment against the 5010 implementation guide's map and tells which loop
it belongs to (``/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000/2100/CLP``); the mappers in this
package work from those loop ids and never re-implement the grammar. Two things are added
around pyx12:

- **One reader per interchange.** pyx12 counts IEA segments across a whole file, so a file
  of several ISA…IEA interchanges is cut at each ISA (whose own delimiters then apply) and
  each interchange is read on its own.
- **Maps pyx12 does not index** (``portalbot.x12.maps``): 837P 005010X222A2 is read with
  pyx12's A1 map (A2, the 2010 errata, changed code values and situational rules, not
  segments or loops), and the 277 claim status response 005010X212 with portalbot's
  corrected copy of pyx12's X212 map, whose HL loops pyx12 4.0 nests wrongly.

Errors are reported with the file, the segment's ordinal in the file, its id and its loop,
in portalbot's own words. pyx12's messages quote element values (which may be PHI), so they
are never passed on.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyx12.error_handler
import pyx12.errors
import pyx12.params
import pyx12.x12context

from portalbot.errors import PortalbotError
from portalbot.x12.maps import EXTRA_MAPS, map_path

ISA_LENGTH = 106

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


class X12FileError(PortalbotError):
    """An X12 file that cannot be read: the message names file, segment, loop and problem."""


@dataclass(frozen=True)
class Segment:
    """One segment with the loop pyx12's map put it in."""

    id: str
    loop: str
    path: str
    ordinal: int
    data: Any  # pyx12.segment.Segment

    def value(self, ref: str) -> str:
        """The element (``CLP01``) or component (``SVC01-2``), "" when absent."""
        found = self.data.get_value(ref)
        return found.strip() if isinstance(found, str) else ""


@dataclass(frozen=True)
class Transaction:
    """One ST…SE transaction set with the envelope values around it."""

    file: str
    interchange: str
    sender: str
    functional_id: str
    version: str
    set_id: str
    control: str
    segments: tuple[Segment, ...]

    def loops(self, loop_id: str, first: str) -> Iterator[tuple[Segment, ...]]:
        """Each occurrence of a loop (e.g. "2100" starting at CLP) with its inner loops."""
        current: list[Segment] = []
        inside = False
        for segment in self.segments:
            starts = segment.id == first and segment.loop == loop_id
            if starts:
                if current:
                    yield tuple(current)
                current, inside = [segment], True
            elif inside and _within(segment, loop_id):
                current.append(segment)
            elif inside:
                yield tuple(current)
                current, inside = [], False
        if current:
            yield tuple(current)

    def first(self, segment_id: str, loop: str | None = None) -> Segment | None:
        return next((s for s in self.segments
                     if s.id == segment_id and (loop is None or s.loop == loop)), None)


def _within(segment: Segment, loop_id: str) -> bool:
    return f"/{loop_id}/" in segment.path


@dataclass
class _Problem:
    where: tuple[str, str, int]
    text: str


@dataclass
class _Collector(pyx12.error_handler.errh_null):
    """pyx12's error-handler interface: remembers where each error was raised."""

    offset: int = 0
    problems: list[_Problem] = field(default_factory=list)
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
        self.problems.append(_Problem(self.here, f"{refdes or 'an element'}: {problem}"))

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
        self.problems.append(_Problem(where, problem))


def loop_of(path: str) -> str:
    """The innermost loop of a pyx12 map path: ".../2000/2100/CLP" -> "2100"."""
    parts = [p for p in path.split("/") if p]
    return parts[-2] if len(parts) >= 2 else (parts[0] if parts else "?")


def read_x12(path: Path, *, expect: frozenset[str] | None = None) -> list[Transaction]:
    """Every transaction set in the file; ``X12FileError`` when any part is malformed."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise X12FileError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    transactions: list[Transaction] = []
    offset = 0
    for chunk in split_interchanges(path.name, text):
        found, count = _read_interchange(path.name, chunk, offset)
        transactions += found
        offset += count
    if not transactions:
        raise X12FileError(f"{path.name}: holds no transaction set (ST…SE)")
    for transaction in transactions:
        if expect is not None and transaction.set_id not in expect:
            wanted = " or ".join(sorted(expect))
            raise X12FileError(
                f"{path.name}: transaction set {transaction.control} is of type "
                f"{transaction.set_id}, not {wanted}; give this command {wanted} files"
            )
    return transactions


def split_interchanges(name: str, text: str) -> list[str]:
    """Cut a file at each ISA; each interchange keeps the delimiters its own ISA declares."""
    text = text.lstrip()
    pieces: list[str] = []
    while text:
        if not text.startswith("ISA") or len(text) < ISA_LENGTH:
            where = "the file" if not pieces else f"interchange {len(pieces) + 1}"
            raise X12FileError(
                f"{name}: {where} does not start with a complete ISA segment "
                f"({ISA_LENGTH} characters, delimiters at fixed places); "
                "is this an X12 file, and was it cut short?"
            )
        terminator = text[ISA_LENGTH - 1]
        following = re.compile(re.escape(terminator) + r"\s*(?=ISA)")
        match = following.search(text, ISA_LENGTH)
        end = match.end() if match else len(text)
        pieces.append(text[:end])
        text = text[end:].lstrip()
    return pieces


def _reader(chunk: str, errh: _Collector) -> pyx12.x12context.X12ContextReader:
    reader = pyx12.x12context.X12ContextReader(pyx12.params.params(), errh, io.StringIO(chunk),
                                               map_path=map_path())
    for icvn, version, functional_id, map_file, abbr in EXTRA_MAPS:
        if reader.map_index_if.get_filename(icvn, version, functional_id) is None:
            reader.map_index_if.add_map(icvn, version, functional_id, None, map_file, abbr)
    return reader


def _read_interchange(name: str, chunk: str, offset: int) -> tuple[list[Transaction], int]:
    errh = _Collector(offset=offset)
    element = chunk[3]
    isa = chunk[:ISA_LENGTH].split(element)
    if len(isa) != 17:
        raise X12FileError(
            f"{name}: segment {offset + 1} (ISA): the interchange header must have 16 "
            f"elements separated by the character after 'ISA'; it has {len(isa) - 1}. "
            "Were the delimiters changed after the ISA was written?"
        )
    try:
        reader = _reader(chunk, errh)
        builder = _Builder(name, isa)
        count = 0
        for node in reader.iter_segments():
            count = node.cur_line_number or count
            builder.add(node, offset)
        reader.src.cleanup()
        errh.handle_errors(reader.src.pop_errors())
    except pyx12.errors.EngineError:
        raise X12FileError(
            f"{name}: segment {errh.here[2]} ({errh.here[0]}): this transaction type or "
            "version (GS01/GS08) has no pyx12 map; portalbot reads 835 005010X221A1, "
            "277CA 005010X214, 277 005010X212 and 837P 005010X222A1/A2"
        ) from None
    except (pyx12.errors.X12Error, ValueError, IndexError, KeyError, AttributeError,
            TypeError):
        # pyx12 gave up; what it noticed before that says more than where it stopped.
        errh.problems.append(_Problem(errh.here, "cannot be parsed from here on; check the "
                                      "delimiters the ISA declares"))
        raise X12FileError(_describe(name, errh.problems)) from None
    if errh.problems:
        raise X12FileError(_describe(name, errh.problems))
    return builder.done(), count


def _describe(name: str, problems: list[_Problem]) -> str:
    lines = [f"{name}: not a valid X12 file ({len(problems)} problems); nothing was recorded"]
    for problem in problems[:10]:
        seg_id, loop, ordinal = problem.where
        lines.append(f"  segment {ordinal} ({seg_id}, loop {loop}): {problem.text}")
    if len(problems) > 10:
        lines.append(f"  … and {len(problems) - 10} more")
    return "\n".join(lines)


class _Builder:
    """Collects segments into transactions as pyx12 yields them."""

    def __init__(self, name: str, isa: list[str]):
        self.name = name
        self.isa = isa
        self.group: tuple[str, str] = ("", "")
        self.current: list[Segment] = []
        self.header: tuple[str, str] = ("", "")
        self.transactions: list[Transaction] = []

    def add(self, node: Any, offset: int) -> None:
        seg = node.seg_data
        seg_id = seg.get_seg_id()
        path = node.x12_map_node.get_path()
        ordinal = offset + (node.cur_line_number or 0)
        if seg_id == "GS":
            self.group = (seg.get_value("GS01") or "", seg.get_value("GS08") or "")
        elif seg_id == "ST":
            self.current = []
            self.header = (seg.get_value("ST01") or "", seg.get_value("ST02") or "")
        elif seg_id == "SE":
            self.transactions.append(Transaction(
                file=self.name, interchange=self.isa[13].strip(), sender=self.isa[6].strip(),
                functional_id=self.group[0], version=self.group[1], set_id=self.header[0],
                control=self.header[1], segments=tuple(self.current),
            ))
        elif seg_id not in {"ISA", "IEA", "GE"}:
            self.current.append(Segment(seg_id, loop_of(path), path, ordinal, seg))

    def done(self) -> list[Transaction]:
        return self.transactions
