"""Claims from CSV: the flat layout spreadsheets and EHR report writers can produce.

Two files side by side:

* ``NAME.csv`` — one row per **service line**. Claim columns are repeated on every row of
  the claim and must agree; the rows of one claim (same ``claim_id`` and ``version``) are
  adjacent. Lists live in one cell, separated by ``|``.
* ``NAME.time.csv`` — the time entries, one row each, keyed by ``claim_id`` and ``version``.
  Optional: without it every claim has no time entries (and the rules will say so).

Claims file columns (``*`` = required in the header; the rest may be left out):

=============================== ===========================================================
column                          claim field
=============================== ===========================================================
claim_id*, version*             ``claim_id``, ``version`` (whole number)
frequency, replaces             ``frequency`` (original/replacement/void), ``replaces``
payer_id*, service_month*       ``payer_id``, ``service_month`` (YYYY-MM)
patient_first_name, patient_last_name, patient_birth_date, patient_sex
patient_address_line1, patient_address_line2, patient_city, patient_state,
patient_postal_code             ``patient.address.*``
subscriber_member_id, subscriber_group_number, subscriber_relationship,
subscriber_first_name, subscriber_last_name, subscriber_birth_date   ``subscriber.*``
billing_name, billing_npi, billing_tax_id, billing_taxonomy, billing_address_line1,
billing_address_line2, billing_city, billing_state, billing_postal_code
                                ``billing_provider.*`` (address under ``address``)
rendering_name, rendering_npi   ``rendering_provider.*``
diagnoses*                      ``diagnoses``: ``E11.9|I10|N18.30``, primary first
line_code*, line_modifiers, line_units*, line_charge*, line_date_of_service*,
line_place_of_service*, line_diagnosis_pointers*
                                this row's service line; modifiers ``25|GT``, pointers
                                ``1|2|3``, charge as ``64.00``
consent_obtained_on, consent_method, consent_document_ref, consent_revoked_on
care_plan_document_ref, care_plan_last_reviewed_on, care_plan_shared_with_patient_on,
care_plan_elements              elements ``problem_list|expected_outcomes|...``
other_services                  ``99214@2026-10-12|99495@2026-10-02`` (code@date)
initiating_visit_date, initiating_visit_code
complexity_medical_decision_making, complexity_care_plan_revised_on
inpatient_stays                 ``2026-10-05/2026-10-09|...`` (admitted/discharged)
=============================== ===========================================================

A group (consent, care plan, initiating visit, complexity) whose cells are all empty is
absent (``null``). Time file columns: ``claim_id, version, date, minutes, performer_role,
performer, activity, face_to_face`` (``true``/``false``), all required.

Quirks handled on purpose: a UTF-8 byte-order mark is skipped; a ``;`` separator (what
European spreadsheet locales write) is detected from the header; spaces around cells are
trimmed. Dates must be ISO ``YYYY-MM-DD``: ``03/04/2026`` is refused with a message rather
than guessed, because a guessed date bills the wrong month. Problems name the file, the
row (the header is row 1, as a spreadsheet shows it) and the column, never the value.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from portalbot.claim_model import Claim
from portalbot.claim_problems import (
    ClaimFileError,
    ClaimProblem,
    LoadedClaim,
    problem_message,
)
from portalbot.claims_csv_cells import (
    CLAIM_COLUMNS,
    CONVERT,
    GROUPS_WITH_LISTS,
    LINE_COLUMNS,
    LIST_SEPARATOR,
    PATH_TO_COLUMN,
    REQUIRED_CLAIM_COLUMNS,
    TIME_COLUMNS,
    WHOLE_NUMBER,
    CellError,
    put,
)
from portalbot.claims_csv_files import (
    TIME_SUFFIX,
    CsvRow,
    CsvTable,
    TimeEntries,
    read_rows,
    read_time_entries,
    time_file_for,
)

__all__ = [
    "CLAIM_COLUMNS",
    "LINE_COLUMNS",
    "LIST_SEPARATOR",
    "REQUIRED_CLAIM_COLUMNS",
    "TIME_COLUMNS",
    "TIME_SUFFIX",
    "CellError",
    "read_csv_claims",
    "time_file_for",
]

@dataclass
class _Group:
    key: tuple[str, str]
    rows: list[CsvRow]


def _groups(rows: Iterator[CsvRow | str], source: str) -> Iterator[_Group | ClaimProblem]:
    """Adjacent rows of the same (claim_id, version) form one claim."""
    seen: dict[tuple[str, str], int] = {}
    current: _Group | None = None
    for row in rows:
        if isinstance(row, str):
            location, _, message = row.partition(": ")
            yield ClaimProblem(source, location, None, None, message)
            continue
        key = (row.cells.get("claim_id", ""), row.cells.get("version", ""))
        if current is not None and key == current.key:
            current.rows.append(row)
            continue
        if current is not None:
            yield current
        if key in seen:
            current = None
            yield ClaimProblem(
                source, f"row {row.number}, column claim_id", key[0] or None, "claim_id",
                f"the rows of one claim must be adjacent; this claim started at row "
                f"{seen[key]}")
            continue
        seen[key] = row.number
        current = _Group(key, [row])
    if current is not None:
        yield current


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


class _ClaimBuilder:
    def __init__(self, source: str, time: TimeEntries):
        self.source = source
        self.time = time

    def build(self, group: _Group) -> Iterator[LoadedClaim | ClaimProblem]:
        first = group.rows[0]
        claim_id = group.key[0] or None
        data: dict[str, Any] = {}
        problems: list[ClaimProblem] = []

        def problem(row: int, column: str | None, fld: str | None, message: str,
                    source: str | None = None) -> None:
            where = f"row {row}" + (f", column {column}" if column else "")
            problems.append(ClaimProblem(source or self.source, where, claim_id, fld, message))

        for column, (path, kind) in CLAIM_COLUMNS.items():
            text = first.cells.get(column, "")
            for other in group.rows[1:]:
                if other.cells.get(column, "") != text:
                    problem(other.number, column, ".".join(path),
                            f"differs from the claim's first row (row {first.number}); claim "
                            "columns must repeat the same value on every line of the claim")
            if not text:
                continue
            try:
                put(data, path, CONVERT[kind](text))
            except CellError as exc:
                problem(first.number, column, ".".join(path), str(exc))
        for group_path, list_name in GROUPS_WITH_LISTS.items():
            if group_path[0] in data:
                data[group_path[0]].setdefault(list_name, [])
        lines = []
        for i, row in enumerate(group.rows):
            service_line: dict[str, Any] = {}
            for column, (path, kind) in LINE_COLUMNS.items():
                text = row.cells.get(column, "")
                if not text:
                    continue
                try:
                    put(service_line, path, CONVERT[kind](text))
                except CellError as exc:
                    problem(row.number, column, f"service_lines[{i}].{path[0]}", str(exc))
            lines.append(service_line)
        data["service_lines"] = lines
        time_key = self._time_key(group)
        entries = self.time.by_claim.pop(time_key, []) if time_key else []
        data["time_entries"] = [entry for _, entry in entries]
        problems.extend(self.time.problems.pop(time_key, []) if time_key else [])
        if problems:
            yield from problems
            return
        try:
            yield LoadedClaim(Claim.model_validate(data), f"row {first.number}")
        except ValidationError as exc:
            for err in exc.errors(include_input=False, include_url=False):
                loc = tuple(err["loc"])
                if err["type"] == "claim_field":
                    loc = (*loc, err["ctx"]["field"])
                number, where, source = self._locate(loc, group, entries)
                problem(number, where, _field_path(loc), problem_message(err), source)
            yield from problems

    @staticmethod
    def _time_key(group: _Group) -> tuple[str, int] | None:
        claim_id, version = group.key
        return (claim_id, int(version)) if claim_id and WHOLE_NUMBER.match(version) else None

    def _locate(self, loc: tuple[Any, ...], group: _Group,
                entries: list[tuple[int, dict[str, Any]]]) -> tuple[int, str | None, str]:
        """Row, column and file of a field the model refused."""
        first = group.rows[0].number
        if loc[:1] == ("service_lines",) and len(loc) > 1 and isinstance(loc[1], int):
            row = group.rows[loc[1]].number if loc[1] < len(group.rows) else first
            column = f"line_{loc[2]}" if len(loc) > 2 and isinstance(loc[2], str) else None
            return row, column if column in LINE_COLUMNS else None, self.source
        if loc[:1] == ("time_entries",) and len(loc) > 1 and isinstance(loc[1], int):
            row = entries[loc[1]][0] if loc[1] < len(entries) else first
            column = loc[2] if len(loc) > 2 and loc[2] in TIME_COLUMNS else None
            return row, column, self.time.source
        names = tuple(p for p in loc if isinstance(p, str))
        while names:
            if names in PATH_TO_COLUMN:
                return first, PATH_TO_COLUMN[names], self.source
            names = names[:-1]
        return first, None, self.source

    def leftovers(self) -> Iterator[ClaimProblem]:
        """Time entries that belong to no claim in the claims file."""
        for key, problems in self.time.problems.items():
            yield from problems
            if key is not None:
                self.time.by_claim.pop(key, None)
        for (claim_id, version), entries in self.time.by_claim.items():
            yield ClaimProblem(
                self.time.source, f"row {entries[0][0]}, column claim_id", claim_id,
                "time_entries",
                f"time entries for version {version} of a claim that is not in the claims "
                "file: check claim_id and version")


def read_csv_claims(path: Path) -> Iterator[LoadedClaim | ClaimProblem]:
    """Claims and problems in file order. The headers of both files, and the whole time file,
    are read at once (so a file that cannot be a claim batch raises ClaimFileError here);
    the claims file is then streamed."""
    path = Path(path)
    if path.name.endswith(TIME_SUFFIX):
        raise ClaimFileError(f"{path.name} is a time-entries file; give the claims file")
    time = read_time_entries(time_file_for(path))
    table = CsvTable(path, {**CLAIM_COLUMNS, **LINE_COLUMNS}, REQUIRED_CLAIM_COLUMNS)
    handle, reader = table.open()
    return _stream(path, table, handle, reader, time)


def _stream(path: Path, table: CsvTable, handle: Any, reader: csv.DictReader[str],
            time: TimeEntries) -> Iterator[LoadedClaim | ClaimProblem]:
    builder = _ClaimBuilder(path.name, time)
    for group in _groups(read_rows(table, handle, reader), path.name):
        if isinstance(group, ClaimProblem):
            yield group
        else:
            yield from builder.build(group)
    yield from builder.leftovers()
