"""Verdicts written as ``portalbot validate`` prints them, streamed with flat memory: the
JSON document one verdict per line, or the plain-text table.

A verdict is rendered to text once, where it is checked (in a worker process for a big
JSON Lines file), and travels as a small ``Rendered`` row: the process that writes only
joins strings. The table's first column is as wide as the longest claim_id, known only
at the end, so its rows and findings wait in two owner-only, already-unlinked temporary
files instead of in memory.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from typing import IO, Any, NamedTuple

from portalbot.rules.evaluate import (
    table_count,
    table_details,
    table_head,
    table_row,
    table_summary,
)
from portalbot.rules.model import Verdict
from portalbot.text import visible

FLUSH_CHARS = 1 << 20  # text gathered before one write to the stream


class Rendered(NamedTuple):
    """One verdict, ready to write: for JSON ``text`` is its object; for the table it is the
    row's summary and ``details`` its lines under "findings:" ("" when it has none)."""

    claim_id: str
    version: int
    billable: bool
    text: str
    details: str = ""


def render(verdict: Verdict, fmt: str) -> Rendered:
    if fmt == "json":
        return Rendered(verdict.claim_id, verdict.version, verdict.billable,
                        json.dumps(verdict.to_json()))
    return Rendered(verdict.claim_id, verdict.version, verdict.billable,
                    table_summary(verdict), "\n".join(table_details(verdict)))


class _Buffered:
    """Text gathered and written in big pieces (one write per megabyte, not per claim)."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        self._parts: list[str] = []
        self._size = 0

    def write(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= FLUSH_CHARS:
            self.flush()

    def flush(self) -> None:
        self.stream.write("".join(self._parts))
        self._parts.clear()
        self._size = 0


class JsonWriter:
    """``[`` verdict objects, then the unreadable records, ``]``: one item per line."""

    def __init__(self, stream: IO[str]):
        self.out = _Buffered(stream)
        self.checked = self.held = 0
        self._separator = "\n"
        self.out.write("[")

    def add(self, row: Rendered) -> None:
        self.checked += 1
        self.held += not row.billable
        self.out.write(self._separator)
        self.out.write(row.text)
        self._separator = ",\n"

    def finish(self, unreadable: Iterable[dict[str, Any]]) -> None:
        for entry in unreadable:
            self.out.write(self._separator + json.dumps(entry))
            self._separator = ",\n"
        self.out.write("\n]\n")
        self.out.flush()
        self.out.stream.flush()


class TableWriter:
    """``rules.render_table``'s text, written without holding the verdicts: the rows and
    the findings are spooled (they may name claims, so the files are owner-only and have
    no name) until the widest claim_id is known."""

    def __init__(self, stream: IO[str], *, width: int = 100):
        self.stream, self.width = stream, width
        self.checked = self.held = 0
        self._id_width = len("claim")
        # Closed by finish() or close(): they live as long as the writer.
        self._rows = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115
        self._details = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115
        self._rows_out, self._details_out = _Buffered(self._rows), _Buffered(self._details)
        self._any_details = False

    def add(self, row: Rendered) -> None:
        self.checked += 1
        self.held += not row.billable
        self._id_width = max(self._id_width, len(row.claim_id))
        self._rows_out.write(json.dumps([row.claim_id, row.version, row.billable, row.text])
                             + "\n")
        if row.details:
            self._any_details = True
            self._details_out.write(row.details + "\n")

    def finish(self) -> None:
        out = _Buffered(self.stream)
        with self._rows, self._details:
            self._rows_out.flush()
            self._details_out.flush()
            for line in table_head(self._id_width, width=self.width):
                out.write(visible(line) + "\n")
            self._rows.seek(0)
            for spooled in self._rows:
                claim_id, version, billable, summary = json.loads(spooled)
                out.write(visible(table_row(claim_id, version, billable, summary,
                                            id_width=self._id_width, width=self.width)) + "\n")
            out.write("\n" + table_count(self.checked, self.held) + "\n")
            if self._any_details:
                out.write("\nfindings:\n")
                self._details.seek(0)
                # Line by line, so ``visible`` takes its fast path; a line break stays one.
                for line in self._details:
                    out.write(visible(line.removesuffix("\n")) + "\n")
        out.flush()
        self.stream.flush()

    def close(self) -> None:
        self._rows.close()
        self._details.close()
