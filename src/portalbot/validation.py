"""`portalbot validate` over a big JSON Lines file on every core: the per-claim work
(parsing, the claim format, the CCM rules, rendering the verdict as text) in a process
pool, the cross-claim checks in the parent as a merge.

A claim's verdict depends on nothing outside it except two checks that need the whole
file: a (claim_id, version) may appear once, and one claim per patient-month
(CCM-EXCL-06). The parent only cuts the file into byte ranges at line ends (it never
reads the claims); each worker reads its range, checks its claims and sends back small
rows — the rendered verdict, its findings as tuples, and what the merge needs. The parent
sees the ranges in file order and applies the file-wide checks exactly as the streaming
``BatchChecker`` would, re-rendering the rare verdict the merge adds a finding to.
Memory stays flat: a range at a time in flight per worker, and only the patient-months
(not the claims) remembered.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from itertools import chain, islice
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, TypeVar

from portalbot.claim_json import MAX_LINE_BYTES, bounded_lines, iter_jsonl, open_binary
from portalbot.claim_model import Claim
from portalbot.claim_problems import ClaimFileError, ClaimProblem
from portalbot.config import Settings
from portalbot.rules.analysis import Analysis
from portalbot.rules.checks import analyse, duplicate_finding_for, run_checks
from portalbot.rules.model import CodeUnits, Finding, Verdict
from portalbot.verdict_output import Rendered, render

CHUNK_BYTES = 4 << 20  # a range's size: ~2,500 claims, so few round trips per worker
_SCAN = 1 << 16


class Checked(NamedTuple):
    """A claim checked on its own, compact for the trip between processes."""

    line: int  # within its range, 0-based
    patient_month: tuple[str, str, str]
    frequency: str
    row: Rendered
    findings: tuple[tuple[str, str, str, str], ...]
    supported: tuple[tuple[tuple[str, int], ...], ...]


Item = Checked | tuple[int, ClaimProblem]
T = TypeVar("T")
_checker: Any = None
_fmt = "json"


def use_rules(settings: Settings) -> None:
    """Build the rules once per process; a forked worker inherits the parent's."""
    global _checker
    if _checker is None or _checker.settings is not settings:
        from portalbot.payer_rules import RuleChecker

        _checker = RuleChecker(settings)


def each_claim(lines: list[bytes | None], first: bool,
               make: Callable[[int, Claim, Analysis, tuple[Finding, ...]], T],
               ) -> tuple[int, list[T | tuple[int, ClaimProblem]]]:
    """One range's lines: each claim parsed, validated and checked on its own (the rules
    from ``use_rules``), then turned by ``make`` into what goes back to the parent."""
    start = 1 if first else 2  # only the file's first line may start with a byte-order mark
    items: list[T | tuple[int, ClaimProblem]] = []
    for item in iter_jsonl(lines, "", start=start):
        line = int(item.location.removeprefix("line ")) - start
        if isinstance(item, ClaimProblem):
            items.append((line, item))
            continue
        claim = item.claim
        context = _checker.context_for(claim.payer_id)
        analysis = analyse(claim, context.code_table)
        items.append(make(line, claim, analysis, tuple(run_checks(claim, analysis, context))))
    return len(lines), items


def _init_worker(settings: Settings, fmt: str) -> None:
    global _fmt
    _fmt = fmt
    use_rules(settings)


def _checked(line: int, claim: Claim, analysis: Analysis, findings: tuple[Finding, ...]
             ) -> Checked:
    verdict = Verdict(claim.claim_id, claim.version, findings, analysis.supported)
    return Checked(
        line, claim.patient_month, claim.frequency, render(verdict, _fmt),
        tuple((f.rule, f.severity, f.field, f.message) for f in findings),
        tuple(tuple((c.code, c.units) for c in s) for s in analysis.supported))


def _check(lines: list[bytes | None], first: bool) -> tuple[int, list[Item]]:
    return each_claim(lines, first, _checked)


def _check_range(path: Path, start: int, end: int) -> tuple[int, list[Item]]:
    return _check(read_range(path, start, end), first=start == 0)


def read_range(path: Path, start: int, end: int) -> list[bytes | None]:
    with open_binary(path) as handle:
        handle.seek(start)
        return _range_lines(handle, start, end)


def _range_lines(handle: BinaryIO, start: int, end: int) -> list[bytes | None]:
    """The lines of [start, end) as ``bounded_lines`` gives them (an overlong one as None).
    A range of normal lines is read at once; one holding an overlong line, line by line."""
    if end - start > CHUNK_BYTES + MAX_LINE_BYTES:
        lines = []
        for line in bounded_lines(handle):
            lines.append(line)
            if handle.tell() >= end:
                break
        return lines
    split: list[bytes | None] = list(handle.read(end - start).split(b"\n"))
    if split and split[-1] == b"":
        split.pop()  # the range ends with a line break
    return [None if line is not None and len(line) > MAX_LINE_BYTES else line
            for line in split]


def _ranges(path: Path) -> Iterator[tuple[int, int]]:
    """[start, end) byte ranges of about CHUNK_BYTES, each ending after a line break."""
    with open_binary(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        start = 0
        while start < size:
            end = _line_end(handle, start + CHUNK_BYTES, size)
            yield start, end
            start = end


def _line_end(handle: BinaryIO, at: int, size: int) -> int:
    """Just past the first line break at or after byte ``at - 1`` (or the file's end);
    read in small pieces, so even a gigabyte "line" is never held."""
    if at >= size:
        return size
    handle.seek(at - 1)
    position = at - 1
    while piece := handle.read(_SCAN):
        found = piece.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(piece)
    return size


class Merge:
    """The file-wide checks, applied in file order: what ``without_duplicates`` and
    ``BatchChecker`` do for the serial path."""

    def __init__(self, source: str, max_problems: int, fmt: str = "json"):
        self.source, self.max_problems, self.fmt = source, max_problems, fmt
        self.first_seen: dict[tuple[str, int], str] = {}
        self.months: dict[tuple[str, str, str], tuple[str, ...]] = {}
        self.problems: list[ClaimProblem] = []
        self.more_problems = self.claims = 0
        self.lines = 0  # lines of the ranges merged so far

    def add_range(self, lines: int, items: Iterable[Item]) -> Iterator[Rendered]:
        base = self.next_range(lines)
        for item in items:
            if isinstance(item, Checked):
                row = self.add(item, f"line {base + item.line}")
                if row is not None:
                    yield row
            else:
                self.add_problem(*item, base)

    def next_range(self, lines: int) -> int:
        """The file's line number of the next range's first line."""
        base, self.lines = self.lines + 1, self.lines + lines
        return base

    def add_problem(self, line: int, problem: ClaimProblem, base: int) -> None:
        self._problem(replace(problem, source=self.source, location=f"line {base + line}"))

    def first_time(self, key: tuple[str, int], location: str) -> bool:
        """Whether this (claim_id, version) is new to the file; a repeat is a problem."""
        if key in self.first_seen:
            self._problem(ClaimProblem(
                self.source, location, key[0], "claim_id",
                f"version {key[1]} of this claim already appears at {self.first_seen[key]}; "
                "each (claim_id, version) may appear once in a file"))
            return False
        self.first_seen[key] = location
        self.claims += 1
        return True

    def remember(self, patient_month: tuple[str, str, str], claim_id: str,
                 frequency: str) -> tuple[str, ...]:
        """The claim ids earlier in the file for this patient-month; this one is added."""
        known = self.months.get(patient_month, ())
        if frequency != "void" and claim_id not in known:
            self.months[patient_month] = (*known, claim_id)
        return known

    def add(self, item: Checked, location: str) -> Rendered | None:
        row = item.row
        if not self.first_time((row.claim_id, row.version), location):
            return None
        known = self.remember(item.patient_month, row.claim_id, item.frequency)
        duplicate = duplicate_finding_for(row.claim_id, item.frequency, known) if known else None
        if duplicate is None:
            return row
        verdict = Verdict(row.claim_id, row.version,
                          (*(Finding(*f) for f in item.findings), duplicate),  # type: ignore[arg-type]
                          tuple(tuple(CodeUnits(*c) for c in s) for s in item.supported))
        return render(verdict, self.fmt)

    def _problem(self, problem: ClaimProblem) -> None:
        if len(self.problems) < self.max_problems:
            self.problems.append(problem)
            return
        self.more_problems += 1
        if not self.claims and all(p.not_json for p in self.problems):
            first = self.problems[0]
            raise ClaimFileError(
                f"{self.source}: the first {len(self.problems)} records are not JSON claims "
                f"(the first: {first.location}: {first.message}); this is not a claims file")


def workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_file(path: Path, settings: Settings, merge: Merge) -> Iterator[Rendered]:
    """The rendered verdicts of a JSON Lines file in file order; problems collect in
    ``merge``."""
    for lines, items in ranges_in_order(path, _check_range, _check, _init_worker,
                                        (settings, merge.fmt)):
        yield from merge.add_range(lines, items)


def ranges_in_order(
    path: Path, work: Callable[[Path, int, int], T], work_lines: Callable[[list[bytes | None], bool], T],
    initializer: Callable[..., None], initargs: tuple[Any, ...],
) -> Iterator[T]:
    """``work`` on each byte range of a JSON Lines file, across a process pool, the answers
    in file order. A file of one range, or a machine of one core, is worked here without a
    pool; so is what is not a regular file (a pipe cannot be cut into ranges), a chunk of
    lines at a time through ``work_lines``."""
    initializer(*initargs)  # before the pool: forked workers inherit what it builds
    if not path.is_file():
        yield from _in_process_lines(path, work_lines)
        return
    ranges = _ranges(path)
    first = list(islice(ranges, 2))
    if len(first) < 2 or workers() < 2:
        for start, end in chain(first, ranges):
            yield work(path, start, end)
        return
    with ProcessPoolExecutor(workers(), initializer=initializer, initargs=initargs) as pool:
        pending: deque[Future[T]] = deque()
        for start, end in chain(first, ranges):
            # map() would submit every range at once; a bounded window keeps memory flat.
            pending.append(pool.submit(work, path, start, end))
            if len(pending) > 2 * workers():
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _in_process_lines(path: Path, work_lines: Callable[[list[bytes | None], bool], T]) -> Iterator[T]:
    with open_binary(path) as handle:
        lines = bounded_lines(handle)
        first = True
        while chunk := list(islice(lines, 2_000)):
            yield work_lines(chunk, first)
            first = False
