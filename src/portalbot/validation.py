"""`portalbot validate` over a big JSON Lines file on every core: the per-claim work
(parsing, the claim format, the CCM rules) in a process pool, the cross-claim checks in
the parent as a merge.

A claim's verdict depends on nothing outside it except two checks that need the whole
file: a (claim_id, version) may appear once, and one claim per patient-month
(CCM-EXCL-06). Workers take chunks of raw lines and send back verdicts without those;
the parent sees the chunks in file order and adds them, exactly as the streaming
``BatchChecker`` would. Memory stays flat: a chunk at a time in flight per worker, and
only the patient-months (not the claims) remembered.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from itertools import chain, islice
from pathlib import Path
from typing import Any

from portalbot.claim_json import bounded_lines, iter_jsonl, open_binary
from portalbot.claim_problems import ClaimFileError, ClaimProblem
from portalbot.config import Settings
from portalbot.rules.checks import analyse, duplicate_finding_for, run_checks
from portalbot.rules.model import Verdict

CHUNK_LINES = 2_000


@dataclass(frozen=True)
class Checked:
    """A verdict on everything but the cross-claim checks, and what those need."""

    verdict: Verdict
    patient_month: tuple[str, str, str]
    frequency: str
    location: str


Item = Checked | ClaimProblem
_checker: Any = None


def _init_worker(settings: Settings) -> None:
    global _checker
    from portalbot.intake import RuleChecker

    _checker = RuleChecker(settings)


def _check_lines(start: int, lines: list[bytes | None]) -> list[Item]:
    """One chunk: parse, validate and check each claim on its own (in a worker)."""
    items: list[Item] = []
    for item in iter_jsonl(lines, "", start=start):
        if isinstance(item, ClaimProblem):
            items.append(item)
            continue
        claim = item.claim
        context = _checker.context_for(claim.payer_id)
        analysis = analyse(claim, context.code_table)
        findings = tuple(run_checks(claim, analysis, context))
        verdict = Verdict(claim.claim_id, claim.version, findings, analysis.supported)
        items.append(Checked(verdict, claim.patient_month, claim.frequency, item.location))
    return items


def _chunks(path: Path) -> Iterator[tuple[int, list[bytes | None]]]:
    with open_binary(path) as handle:
        lines = bounded_lines(handle)
        start = 1
        while chunk := list(islice(lines, CHUNK_LINES)):
            yield start, chunk
            start += len(chunk)


class Merge:
    """The file-wide checks, applied in file order: what ``without_duplicates`` and
    ``BatchChecker`` do for the serial path."""

    def __init__(self, source: str, max_problems: int):
        self.source, self.max_problems = source, max_problems
        self.first_seen: dict[tuple[str, int], str] = {}
        self.months: dict[tuple[str, str, str], tuple[str, ...]] = {}
        self.problems: list[ClaimProblem] = []
        self.more_problems = self.claims = 0

    def add(self, item: Item) -> Verdict | None:
        if isinstance(item, ClaimProblem):
            self._problem(replace(item, source=self.source))
            return None
        verdict = item.verdict
        key = (verdict.claim_id, verdict.version)
        if key in self.first_seen:
            self._problem(ClaimProblem(
                self.source, item.location, key[0], "claim_id",
                f"version {key[1]} of this claim already appears at {self.first_seen[key]}; "
                "each (claim_id, version) may appear once in a file"))
            return None
        self.first_seen[key] = item.location
        self.claims += 1
        known = self.months.get(item.patient_month, ())
        duplicate = duplicate_finding_for(verdict.claim_id, item.frequency, known)
        if item.frequency != "void" and verdict.claim_id not in known:
            self.months[item.patient_month] = (*known, verdict.claim_id)
        if duplicate is None:
            return verdict
        return replace(verdict, findings=(*verdict.findings, duplicate))

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


def check_file(path: Path, settings: Settings, merge: Merge) -> Iterator[Verdict]:
    """The verdicts of a JSON Lines file in file order; problems collect in ``merge``.
    One chunk (a small file) is checked here, without starting a pool."""
    chunks = _chunks(path)
    first = list(islice(chunks, 2))
    if len(first) < 2 or workers() < 2:
        _init_worker(settings)
        results: Iterator[list[Item]] = (_check_lines(s, c) for s, c in chain(first, chunks))
        yield from _merged(results, merge)
        return
    with ProcessPoolExecutor(workers(), initializer=_init_worker,
                             initargs=(settings,)) as pool:
        pending = chain(first, chunks)
        # map() submits every chunk at once; bound what is in flight so memory stays flat.
        yield from _merged(_bounded_map(pool, pending, 2 * workers()), merge)


def _bounded_map(pool: ProcessPoolExecutor, chunks: Any, window: int) -> Iterator[list[Item]]:
    from collections import deque

    iterator = iter(chunks)
    futures: deque[Any] = deque(pool.submit(_check_lines, s, c) for s, c in islice(iterator, window))
    while futures:
        result = futures.popleft().result()
        for start, chunk in islice(iterator, 1):
            futures.append(pool.submit(_check_lines, start, chunk))
        yield result


def _merged(results: Iterator[list[Item]], merge: Merge) -> Iterator[Verdict]:
    for chunk in results:
        for item in chunk:
            verdict = merge.add(item)
            if verdict is not None:
                yield verdict


