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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyx12.error_handler
import pyx12.errors
import pyx12.params
import pyx12.x12context

from portalbot.errors import PortalbotError
from portalbot.x12.maps import EXTRA_MAPS, map_path
from portalbot.x12.problems import Collector, Problem, describe, loop_of

ISA_LENGTH = 106


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


def _reader(chunk: str, errh: Collector) -> pyx12.x12context.X12ContextReader:
    reader = pyx12.x12context.X12ContextReader(pyx12.params.params(), errh, io.StringIO(chunk),
                                               map_path=map_path())
    for icvn, version, functional_id, map_file, abbr in EXTRA_MAPS:
        if reader.map_index_if.get_filename(icvn, version, functional_id) is None:
            reader.map_index_if.add_map(icvn, version, functional_id, None, map_file, abbr)
    return reader


def _read_interchange(name: str, chunk: str, offset: int) -> tuple[list[Transaction], int]:
    errh = Collector(offset=offset)
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
        errh.problems.append(Problem(errh.here, "cannot be parsed from here on; check the "
                                      "delimiters the ISA declares"))
        raise X12FileError(describe(name, errh.problems)) from None
    if errh.problems:
        raise X12FileError(describe(name, errh.problems))
    return builder.done(), count


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
