"""The CCM evidence beside an 837P: a JSON or CSV file keyed by patient control number (CLM01).

A practice-management system's 837P says nothing of consent, care plan or minutes, so they
come from a companion file, documented in ``docs/claim-format.md``:

- **JSON**: ``{"claims": {PCN: {...}}}``, ``{PCN: {...}}`` or ``[{"patient_control_number":
  PCN, ...}]``, each entry holding the claim format's own evidence fields;
- **CSV**: ``NAME.csv``, one row per claim, with the evidence columns of the claim CSV layout
  (``consent_obtained_on``, ``care_plan_elements``, ``other_services``, …) and a
  ``patient_control_number`` column; and ``NAME.time.csv`` beside it, one row per time
  entry, keyed by ``patient_control_number``. The cells are read by the claim CSV reader
  (``portalbot.claims_csv``), with its quirks (byte-order mark, ``;``) and its messages.

A problem in one claim's evidence makes that claim unreadable, naming the evidence file, the
row (or entry) and the column; the other claims load. Evidence for a patient control number
the 837P does not have is reported, never silently dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from portalbot.claims import ClaimFileError, ClaimProblem
from portalbot.claims_csv_cells import (
    CLAIM_COLUMNS,
    CONVERT,
    GROUPS_WITH_LISTS,
    TIME_COLUMNS,
    CellError,
    put,
)
from portalbot.claims_csv_files import CsvTable, read_rows, time_file_for

EVIDENCE_FIELDS = ("consent", "care_plan", "time_entries", "other_services", "initiating_visit",
                   "complexity", "inpatient_stays")
# Keys an evidence entry may set besides the evidence: what an 837P cannot say.
EVIDENCE_OVERRIDES = ("version", "payer_id", "service_month")
KEY = "patient_control_number"
LAYOUT = "docs/claim-format.md"

_KEY_COLUMN: dict[str, tuple[tuple[str, ...], str]] = {KEY: ((KEY,), "text")}
EVIDENCE_COLUMNS = {**_KEY_COLUMN, **{
    name: spec for name, spec in CLAIM_COLUMNS.items()
    if spec[0][0] in EVIDENCE_FIELDS or spec[0][0] in EVIDENCE_OVERRIDES
}}
EVIDENCE_TIME_COLUMNS = {**_KEY_COLUMN, **{
    name: spec for name, spec in TIME_COLUMNS.items() if name not in ("claim_id", "version")
}}
_COLUMN_OF = {spec[0]: name for name, spec in EVIDENCE_COLUMNS.items()}


@dataclass(frozen=True)
class Origin:
    """Where one claim's evidence came from, to point a problem at its row and column."""

    source: str
    location: str
    row: int | None = None
    time_source: str = ""
    time_rows: tuple[int, ...] = ()

    def locate(self, field_path: str) -> tuple[str, str]:
        """(file, "row 3, column consent_method") of an evidence field the model refused."""
        if self.row is None:
            return self.source, self.location
        head, _, rest = field_path.partition(".")
        if head.startswith("time_entries[") and self.time_rows:
            index = int(head[len("time_entries["):-1])
            row = self.time_rows[index] if index < len(self.time_rows) else self.time_rows[0]
            column = rest.split(".")[0].split("[")[0]
            where = f"row {row}" + (f", column {column}" if column in TIME_COLUMNS else "")
            return self.time_source, where
        names = tuple(p.split("[")[0] for p in field_path.split("."))
        while names and names not in _COLUMN_OF:
            names = names[:-1]
        where = f"row {self.row}" + (f", column {_COLUMN_OF[names]}" if names else "")
        return self.source, where


@dataclass
class Evidence:
    """The evidence entries of one companion file, by patient control number."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    problems: dict[str, list[ClaimProblem]] = field(default_factory=dict)
    stray: list[ClaimProblem] = field(default_factory=list)

    def relocate(self, pcn: str, problem: ClaimProblem) -> ClaimProblem:
        """A problem with an evidence field, pointed at the evidence file rather than the 837P."""
        origin = self.origins.get(pcn)
        head = (problem.field or "").split(".")[0].split("[")[0]
        if origin is None or head not in EVIDENCE_FIELDS:
            return problem
        source, location = origin.locate(problem.field or "")
        return replace(problem, source=source, location=location)

    def leftovers(self, seen: set[str]) -> list[ClaimProblem]:
        """What belongs to no claim of the 837P: rows without a number, and entries (or bad
        time entries) for patient control numbers the 837P does not have."""
        unused = [
            ClaimProblem(origin.source, origin.location, pcn, KEY,
                         "evidence for a patient control number (CLM01) that is not in the 837P "
                         "file: check the number, or give the 837P it belongs to")
            for pcn, origin in self.origins.items() if pcn not in seen
        ]
        orphans = [problem for pcn, problems in self.problems.items()
                   if pcn not in seen and pcn not in self.origins for problem in problems]
        return self.stray + unused + orphans


def load_evidence(path: Path | None) -> Evidence:
    """The companion file's entries; ``ClaimFileError`` when the file as a whole is unusable."""
    if path is None:
        return Evidence()
    if path.suffix.lower() == ".csv":
        return _from_csv(path)
    return _from_json(path)


# --- JSON --------------------------------------------------------------------------------

def _from_json(path: Path) -> Evidence:
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise ClaimFileError(f"{path.name}: cannot read the evidence file ({exc.strerror})") from None
    except ValueError as exc:
        raise ClaimFileError(f"{path.name}: not JSON ({type(exc).__name__}); the evidence "
                             f"file is JSON or CSV keyed by patient control number ({LAYOUT})"
                             ) from None
    evidence = Evidence()
    for pcn, entry in _json_entries(path, data):
        evidence.origins[pcn] = Origin(path.name, f"entry {pcn}")
        unknown = sorted(set(entry) - set(EVIDENCE_FIELDS) - set(EVIDENCE_OVERRIDES))
        if unknown:
            evidence.problems[pcn] = [ClaimProblem(
                path.name, f"entry {pcn}", pcn, unknown[0],
                "not an evidence field; evidence entries hold "
                + ", ".join(EVIDENCE_FIELDS + EVIDENCE_OVERRIDES))]
        else:
            evidence.entries[pcn] = entry
    return evidence


def _json_entries(path: Path, data: Any) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(data, dict) and isinstance(data.get("claims"), dict | list):
        data = data["claims"]
    if isinstance(data, list):
        entries = []
        for number, item in enumerate(data, start=1):
            if not isinstance(item, dict) or not item.get(KEY):
                raise ClaimFileError(f"{path.name}: entry #{number} has no {KEY}")
            entries.append((str(item[KEY]), {k: v for k, v in item.items() if k != KEY}))
        return entries
    if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
        return [(str(k), v) for k, v in data.items()]
    raise ClaimFileError(f"{path.name}: the evidence file must map each patient control number "
                         f"(CLM01) to its consent, care_plan, time_entries, … ({LAYOUT})")


# --- CSV ---------------------------------------------------------------------------------

def _from_csv(path: Path) -> Evidence:
    if path.name.endswith(".time.csv"):
        raise ClaimFileError(f"{path.name} is a time-entries file; give the evidence file "
                             "(NAME.csv, with NAME.time.csv beside it)")
    evidence = Evidence()
    time_path = time_file_for(path)
    times = _csv_times(time_path, evidence) if time_path.exists() else {}
    table = CsvTable(path, EVIDENCE_COLUMNS, (KEY,), layout=LAYOUT)
    handle, reader = table.open()
    for row in read_rows(table, handle, reader):
        if isinstance(row, str):
            location, _, message = row.partition(": ")
            evidence.stray.append(ClaimProblem(path.name, location, None, None, message))
            continue
        pcn = row.cells.get(KEY, "")
        if not pcn:
            evidence.stray.append(ClaimProblem(
                path.name, f"row {row.number}, column {KEY}", None, KEY,
                "required cell is empty: give the claim's patient control number (CLM01)"))
            continue
        if pcn in evidence.origins:
            evidence.problems.setdefault(pcn, []).append(ClaimProblem(
                path.name, f"row {row.number}, column {KEY}", pcn, KEY,
                f"a second row for this claim (the first is row {evidence.origins[pcn].row}); "
                "give each claim's evidence on one row, its time entries in the .time.csv"))
            continue
        entry, problems = _csv_entry(path.name, row.number, row.cells)
        rows = times.pop(pcn, [])
        evidence.origins[pcn] = Origin(path.name, f"row {row.number}", row.number,
                                       time_path.name, tuple(n for n, _ in rows))
        entry["time_entries"] = [e for _, e in rows]
        if problems or pcn in evidence.problems:
            evidence.problems.setdefault(pcn, []).extend(problems)
        else:
            evidence.entries[pcn] = entry
    for pcn, rows in times.items():
        evidence.stray.append(ClaimProblem(
            time_path.name, f"row {rows[0][0]}, column {KEY}", pcn, "time_entries",
            f"time entries for a patient control number that has no row in {path.name}: "
            "check the number, or add the claim's row"))
    return evidence


def _csv_entry(source: str, number: int, cells: dict[str, str]
               ) -> tuple[dict[str, Any], list[ClaimProblem]]:
    entry: dict[str, Any] = {}
    problems = []
    pcn = cells[KEY]
    for column, (path, kind) in EVIDENCE_COLUMNS.items():
        text = cells.get(column, "")
        if column == KEY or not text:
            continue
        try:
            put(entry, path, CONVERT[kind](text))
        except CellError as exc:
            problems.append(ClaimProblem(source, f"row {number}, column {column}", pcn,
                                         ".".join(path), str(exc)))
    for (group,), list_name in GROUPS_WITH_LISTS.items():
        if group in entry:
            entry[group].setdefault(list_name, [])
    return entry, problems


def _csv_times(path: Path, evidence: Evidence) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Time entries by patient control number; a bad row makes its claim unreadable."""
    table = CsvTable(path, EVIDENCE_TIME_COLUMNS, tuple(EVIDENCE_TIME_COLUMNS), layout=LAYOUT)
    handle, reader = table.open()
    found: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for row in read_rows(table, handle, reader):
        if isinstance(row, str):
            location, _, message = row.partition(": ")
            evidence.stray.append(ClaimProblem(path.name, location, None, None, message))
            continue
        pcn = row.cells.get(KEY, "")
        values: dict[str, Any] = {}
        for column, (spec, kind) in EVIDENCE_TIME_COLUMNS.items():
            text = row.cells.get(column, "")
            problem = "required cell is empty" if not text else None
            if text and column != KEY:
                try:
                    values[spec[0]] = CONVERT[kind](text)
                except CellError as exc:
                    problem = str(exc)
            if problem is not None:
                bad = ClaimProblem(path.name, f"row {row.number}, column {column}", pcn or None,
                                   f"time_entries.{column}", problem)
                (evidence.problems.setdefault(pcn, []) if pcn else evidence.stray).append(bad)
        if pcn and len(values) == len(EVIDENCE_TIME_COLUMNS) - 1:
            found.setdefault(pcn, []).append((row.number, values))
    return found
