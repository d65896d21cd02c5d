"""The two CSV files as tables: the separator found from the header, the header checked
against the layout, rows trimmed and numbered as a spreadsheet shows them, and the whole
time-entries file read into entries keyed by (claim_id, version)."""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portalbot.claim_problems import ClaimFileError, ClaimProblem
from portalbot.claims_csv_cells import CONVERT, TIME_COLUMNS, CellError

TIME_SUFFIX = ".time.csv"


@dataclass
class CsvTable:
    """A CSV file opened for reading, its separator found from the header."""

    path: Path
    columns: dict[str, tuple[tuple[str, ...], str]]
    required: tuple[str, ...]
    header: list[str] = field(default_factory=list)
    layout: str = "fixtures/claims/csv/README.md"  # where the columns are documented

    def open(self) -> tuple[Any, csv.DictReader[str]]:
        try:
            handle = self.path.open(encoding="utf-8-sig", newline="")
            first = handle.readline()
            handle.seek(0)  # utf-8-sig skips the byte-order mark again after a rewind
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ClaimFileError(f"{self.path.name}: cannot read the file ({reason})") from None
        delimiter = ";" if first.count(";") > first.count(",") else ","
        reader = csv.DictReader(handle, delimiter=delimiter, restkey="\0extra")
        try:
            names = reader.fieldnames or []
        except (csv.Error, UnicodeDecodeError) as exc:
            handle.close()
            raise ClaimFileError(f"{self.path.name}: cannot read the header ({exc})") from None
        self.header = [n.strip().lower() for n in names]
        reader.fieldnames = self.header
        self._check_header()
        return handle, reader

    def _check_header(self) -> None:
        name = self.path.name
        if not self.header or not any(self.header):
            handle_msg = "the file is empty; the first row must name the columns"
            raise ClaimFileError(f"{name}: {handle_msg}")
        if not any(column in self.columns for column in self.header):
            raise ClaimFileError(f"{name}: row 1 names no known column; the first row must be "
                                 f"the header (see {self.layout})")
        seen = set()
        for index, column in enumerate(self.header, start=1):
            if column in seen:
                raise ClaimFileError(f"{name}, row 1, column {index}: this column appears "
                                     "twice")
            seen.add(column)
            if column not in self.columns:
                # The header's own text is not echoed: a file without a header would put a
                # patient's data here. Name the known column it resembles instead.
                close = difflib.get_close_matches(column, list(self.columns), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ClaimFileError(
                    f"{name}, row 1, column {index}: not a known column{hint}; the CSV "
                    f"layout is documented in {self.layout}")
        missing = [c for c in self.required if c not in seen]
        if missing:
            raise ClaimFileError(f"{name}: required column(s) missing: {', '.join(missing)}")


@dataclass
class CsvRow:
    number: int
    cells: dict[str, str]


def read_rows(table: CsvTable, handle: Any, reader: csv.DictReader[str]) -> Iterator[CsvRow | str]:
    """Trimmed rows, skipping empty ones; a str is a row-level problem."""
    with handle:
        try:
            for raw in reader:
                number = reader.line_num
                if raw.get("\0extra"):
                    yield f"row {number}: more cells than the header has columns"
                    continue
                cells = {k: (v or "").strip() for k, v in raw.items() if k != "\0extra"}
                if any(cells.values()):
                    yield CsvRow(number, cells)
        except (csv.Error, UnicodeDecodeError) as exc:
            yield f"row {reader.line_num + 1}: cannot be read as CSV ({exc})"


# --- time entries -----------------------------------------------------------------------

@dataclass
class TimeEntries:
    by_claim: dict[tuple[str, int], list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    problems: dict[tuple[str, int] | None, list[ClaimProblem]] = field(default_factory=dict)
    source: str = ""


def read_time_entries(path: Path) -> TimeEntries:
    result = TimeEntries(source=path.name)
    if not path.exists():
        return result
    table = CsvTable(path, TIME_COLUMNS, tuple(TIME_COLUMNS))
    handle, reader = table.open()
    for row in read_rows(table, handle, reader):
        if isinstance(row, str):
            location, _, message = row.partition(": ")
            result.problems.setdefault(None, []).append(
                ClaimProblem(path.name, location, None, None, message))
            continue
        claim_id = row.cells.get("claim_id") or None
        values: dict[str, Any] = {}
        problems = []
        for column, (path_, kind) in TIME_COLUMNS.items():
            text = row.cells.get(column, "")
            if not text:
                problems.append((column, "required cell is empty"))
                continue
            try:
                values[path_[0]] = CONVERT[kind](text)
            except CellError as exc:
                problems.append((column, str(exc)))
        key = (claim_id, values["version"]) if claim_id and "version" in values else None
        for column, message in problems:
            result.problems.setdefault(key, []).append(ClaimProblem(
                path.name, f"row {row.number}, column {column}", claim_id,
                f"time_entries.{column}", message))
        if key is not None and not problems:
            entry = {k: v for k, v in values.items() if k not in ("claim_id", "version")}
            result.by_claim.setdefault(key, []).append((row.number, entry))
    return result


def time_file_for(path: Path) -> Path:
    """``batch.csv`` -> ``batch.time.csv`` beside it."""
    return path.with_name(path.stem + TIME_SUFFIX)
