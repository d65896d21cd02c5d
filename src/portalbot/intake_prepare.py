"""A JSON Lines file made ready for the ledger on every core, for ``portalbot submit``.

Each worker process reads a byte range of the file (``validation.ranges_in_order``),
parses and checks each claim on its own — the claim format, the CCM rules — and writes it
as the JSON the ledger stores; it sends back one compact row per claim. The parent merges
the rows in file order with the checks that need the whole file, exactly as the serial
loader does: a (claim_id, version) appears once, and which other claims came earlier for
the same patient-month. Intake then adds what needs the ledger (the patient-months it
already holds, the payers with an adapter) and writes them a chunk at a time.

The parent never builds the claims: 100,000 of them as pydantic models held 1.7 GB and
spent a third of the load in the cycle collector; as rows they take a few hundred MB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Any, NamedTuple

from portalbot.claim_json import SKIP_CHUNK, open_binary
from portalbot.claim_model import Claim
from portalbot.claim_problems import ClaimProblem
from portalbot.config import Settings
from portalbot.ledger.records import RawJson
from portalbot.rules.analysis import Analysis
from portalbot.rules.model import Finding as RuleFinding
from portalbot.validation import Merge, each_claim, ranges_in_order, read_range, use_rules

Finding = dict[str, Any]


class Prepared(NamedTuple):
    """One claim as intake writes it, its rules checked except those across claims."""

    line: int  # within its range, 0-based (until the merge places it)
    claim_id: str
    version: int
    payer_id: str
    service_month: str
    member_id: str
    frequency: str
    replaces: str | None
    payload: RawJson
    findings: tuple[Finding, ...]
    patient_month: tuple[str, str, str]
    location: str = ""
    earlier: tuple[str, ...] = ()  # claim ids earlier in the file for its patient-month


Item = Prepared | tuple[int, ClaimProblem]


class PreparedBatch:
    """What ``claims.load_claims`` gives, as rows instead of claims, and streamed: the
    workers read on while intake writes. ``claims`` holds the rows handed out so far;
    ``problems`` are complete once every row has been."""

    def __init__(self, path: Path, content_hash: str, rows: Iterator[Prepared],
                 merge: Merge):
        self.path, self.content_hash = path, content_hash
        self.claims: list[Prepared] = []
        self._rows, self._merge = rows, merge
        self._done = False

    @property
    def problems(self) -> list[ClaimProblem]:
        return self._merge.problems

    @property
    def more_problems(self) -> int:
        return self._merge.more_problems

    @property
    def unreadable(self) -> int:
        return len(self.problems) + self.more_problems

    @property
    def complete(self) -> bool:
        return self._done

    def next_chunk(self, size: int) -> list[Prepared]:
        """The next ``size`` rows (fewer at the end, none after); kept in ``claims``."""
        chunk = list(islice(self._rows, size))
        self._done = len(chunk) < size
        self.claims += chunk
        return chunk

    def read_all(self) -> list[Prepared]:
        while not self._done:
            self.next_chunk(10_000)
        return self.claims

    def forget(self) -> None:
        """Drop the rows handed out so far (intake has written them)."""
        self.claims = []


def _prepared(line: int, claim: Claim, analysis: Analysis,
              findings: tuple[RuleFinding, ...]) -> Prepared:
    return Prepared(
        line, claim.claim_id, claim.version, claim.payer_id, claim.service_month,
        claim.subscriber.member_id, claim.frequency, claim.replaces,
        RawJson(claim.model_dump_json()),
        tuple(f.to_json() for f in findings),
        claim.patient_month)


def _prepare(lines: list[bytes | None], first: bool) -> tuple[int, list[Item]]:
    return each_claim(lines, first, _prepared)


def _prepare_range(path: Path, start: int, end: int) -> tuple[int, list[Item]]:
    return _prepare(read_range(path, start, end), first=start == 0)


class _PreparedMerge(Merge):
    def add_items(self, lines: int, items: Iterable[Item]) -> Iterator[Prepared]:
        base = self.next_range(lines)
        for item in items:
            if isinstance(item, Prepared):
                location = f"line {base + item.line}"
                if self.first_time((item.claim_id, item.version), location):
                    earlier = self.remember(item.patient_month, item.claim_id, item.frequency)
                    yield item._replace(location=location, earlier=earlier)
            else:
                self.add_problem(*item, base)


def prepare_file(path: Path, settings: Settings, *, max_problems: int) -> PreparedBatch:
    """Read, check and serialize a JSON Lines file's claims; see the module docstring.
    Raises ``ClaimFileError`` for a file that cannot be read or is not a claims file: the
    file is read until its first claim (or its end) before this returns, so that a file
    of garbage is refused here, not after intake has begun."""
    digest = hashlib.sha256()
    with open_binary(path) as handle:
        while chunk := handle.read(SKIP_CHUNK * 16):
            digest.update(chunk)
    merge = _PreparedMerge(path.name, max_problems)
    rows = (row for lines, items in ranges_in_order(
        path, _prepare_range, _prepare, use_rules, (settings,))
        for row in merge.add_items(lines, items))
    first = next(rows, None)
    batch = PreparedBatch(path, digest.hexdigest(), chain([first] if first else [], rows), merge)
    if first is None:
        batch.next_chunk(1)  # the end: problems are complete
    return batch
