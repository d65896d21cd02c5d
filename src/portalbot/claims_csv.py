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
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import portalbot.claims as claims_module
from portalbot.claims import Claim, ClaimFileError, ClaimProblem, LoadedClaim

LIST_SEPARATOR = "|"
TIME_SUFFIX = ".time.csv"

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_US_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}$")
_INT = re.compile(r"^[+-]?\d+$")

# column -> (path in the claim, kind). Kinds: text, int, date, list, int_list, services, stays.
CLAIM_COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "claim_id": (("claim_id",), "text"),
    "version": (("version",), "int"),
    "frequency": (("frequency",), "text"),
    "replaces": (("replaces",), "text"),
    "payer_id": (("payer_id",), "text"),
    "service_month": (("service_month",), "text"),
    "patient_first_name": (("patient", "first_name"), "text"),
    "patient_last_name": (("patient", "last_name"), "text"),
    "patient_birth_date": (("patient", "birth_date"), "date"),
    "patient_sex": (("patient", "sex"), "text"),
    "patient_address_line1": (("patient", "address", "line1"), "text"),
    "patient_address_line2": (("patient", "address", "line2"), "text"),
    "patient_city": (("patient", "address", "city"), "text"),
    "patient_state": (("patient", "address", "state"), "text"),
    "patient_postal_code": (("patient", "address", "postal_code"), "text"),
    "subscriber_member_id": (("subscriber", "member_id"), "text"),
    "subscriber_group_number": (("subscriber", "group_number"), "text"),
    "subscriber_relationship": (("subscriber", "relationship"), "text"),
    "subscriber_first_name": (("subscriber", "first_name"), "text"),
    "subscriber_last_name": (("subscriber", "last_name"), "text"),
    "subscriber_birth_date": (("subscriber", "birth_date"), "date"),
    "billing_name": (("billing_provider", "name"), "text"),
    "billing_npi": (("billing_provider", "npi"), "text"),
    "billing_tax_id": (("billing_provider", "tax_id"), "text"),
    "billing_taxonomy": (("billing_provider", "taxonomy"), "text"),
    "billing_address_line1": (("billing_provider", "address", "line1"), "text"),
    "billing_address_line2": (("billing_provider", "address", "line2"), "text"),
    "billing_city": (("billing_provider", "address", "city"), "text"),
    "billing_state": (("billing_provider", "address", "state"), "text"),
    "billing_postal_code": (("billing_provider", "address", "postal_code"), "text"),
    "rendering_name": (("rendering_provider", "name"), "text"),
    "rendering_npi": (("rendering_provider", "npi"), "text"),
    "diagnoses": (("diagnoses",), "list"),
    "consent_obtained_on": (("consent", "obtained_on"), "date"),
    "consent_method": (("consent", "method"), "text"),
    "consent_document_ref": (("consent", "document_ref"), "text"),
    "consent_revoked_on": (("consent", "revoked_on"), "date"),
    "care_plan_document_ref": (("care_plan", "document_ref"), "text"),
    "care_plan_last_reviewed_on": (("care_plan", "last_reviewed_on"), "date"),
    "care_plan_shared_with_patient_on": (("care_plan", "shared_with_patient_on"), "date"),
    "care_plan_elements": (("care_plan", "elements"), "list"),
    "other_services": (("other_services",), "services"),
    "initiating_visit_date": (("initiating_visit", "date"), "date"),
    "initiating_visit_code": (("initiating_visit", "code"), "text"),
    "complexity_medical_decision_making": (("complexity", "medical_decision_making"), "text"),
    "complexity_care_plan_revised_on": (("complexity", "care_plan_revised_on"), "date"),
    "inpatient_stays": (("inpatient_stays",), "stays"),
}
LINE_COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "line_code": (("code",), "text"),
    "line_modifiers": (("modifiers",), "list"),
    "line_units": (("units",), "int"),
    "line_charge": (("charge",), "text"),
    "line_date_of_service": (("date_of_service",), "date"),
    "line_place_of_service": (("place_of_service",), "text"),
    "line_diagnosis_pointers": (("diagnosis_pointers",), "int_list"),
}
TIME_COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "claim_id": (("claim_id",), "text"),
    "version": (("version",), "int"),
    "date": (("date",), "date"),
    "minutes": (("minutes",), "int"),
    "performer_role": (("performer_role",), "text"),
    "performer": (("performer",), "text"),
    "activity": (("activity",), "text"),
    "face_to_face": (("face_to_face",), "bool"),
}
REQUIRED_CLAIM_COLUMNS = ("claim_id", "version", "payer_id", "service_month", "diagnoses",
                          *(c for c in LINE_COLUMNS if c != "line_modifiers"))
_GROUPS_WITH_LISTS = {("care_plan",): "elements"}
_PATH_TO_COLUMN = {path: name for name, (path, _) in CLAIM_COLUMNS.items()}


class CellError(ValueError):
    """A cell that cannot be read; the message is advice, never the cell's value."""


# --- cells ------------------------------------------------------------------------------

def _date(text: str) -> str:
    if _ISO_DATE.match(text):
        return text
    if _US_DATE.match(text):
        raise CellError("dates must be YYYY-MM-DD; this looks like MM/DD/YYYY (give "
                        "2026-10-31, not 10/31/2026)")
    raise CellError("dates must be YYYY-MM-DD, such as 2026-10-31")


def _int(text: str) -> int:
    if not _INT.match(text):
        raise CellError("give a whole number, such as 1")
    return int(text)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()]


def _services(text: str) -> list[dict[str, str]]:
    services = []
    for part in _split(text):
        code, sep, when = (p.strip() for p in part.partition("@"))
        if not sep or not code or not when:
            raise CellError("give other services as CODE@YYYY-MM-DD separated by |, such as "
                            "99214@2026-10-12")
        services.append({"code": code, "date": _date(when)})
    return services


def _stays(text: str) -> list[dict[str, str]]:
    stays = []
    for part in _split(text):
        admitted, sep, discharged = (p.strip() for p in part.partition("/"))
        if not sep or not admitted or not discharged:
            raise CellError("give inpatient stays as ADMITTED/DISCHARGED dates separated by |, "
                            "such as 2026-10-05/2026-10-09")
        stays.append({"admitted_on": _date(admitted), "discharged_on": _date(discharged)})
    return stays


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise CellError("give true or false")


_CONVERT = {
    "text": lambda text: text,
    "int": _int,
    "date": _date,
    "list": _split,
    "int_list": lambda text: [_int(p) for p in _split(text)],
    "services": _services,
    "stays": _stays,
    "bool": _bool,
}


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


# --- files ------------------------------------------------------------------------------

@dataclass
class _Table:
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
class _Row:
    number: int
    cells: dict[str, str]


def _rows(table: _Table, handle: Any, reader: csv.DictReader[str]) -> Iterator[_Row | str]:
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
                    yield _Row(number, cells)
        except (csv.Error, UnicodeDecodeError) as exc:
            yield f"row {reader.line_num + 1}: cannot be read as CSV ({exc})"


# --- time entries -----------------------------------------------------------------------

@dataclass
class _TimeEntries:
    by_claim: dict[tuple[str, int], list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    problems: dict[tuple[str, int] | None, list[ClaimProblem]] = field(default_factory=dict)
    source: str = ""


def _read_time_entries(path: Path) -> _TimeEntries:
    result = _TimeEntries(source=path.name)
    if not path.exists():
        return result
    table = _Table(path, TIME_COLUMNS, tuple(TIME_COLUMNS))
    handle, reader = table.open()
    for row in _rows(table, handle, reader):
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
                values[path_[0]] = _CONVERT[kind](text)
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


# --- claims -----------------------------------------------------------------------------

@dataclass
class _Group:
    key: tuple[str, str]
    rows: list[_Row]


def _groups(rows: Iterator[_Row | str], source: str) -> Iterator[_Group | ClaimProblem]:
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


def _error_message(err: Any) -> str:
    describe = getattr(claims_module, "_message", None)
    if describe is not None:
        return str(describe(err))
    return str(err["msg"]).removeprefix("Value error, ")  # pragma: no cover


class _ClaimBuilder:
    def __init__(self, source: str, time: _TimeEntries):
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
                _put(data, path, _CONVERT[kind](text))
            except CellError as exc:
                problem(first.number, column, ".".join(path), str(exc))
        for group_path, list_name in _GROUPS_WITH_LISTS.items():
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
                    _put(service_line, path, _CONVERT[kind](text))
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
                problem(number, where, _field_path(loc), _error_message(err), source)
            yield from problems

    @staticmethod
    def _time_key(group: _Group) -> tuple[str, int] | None:
        claim_id, version = group.key
        return (claim_id, int(version)) if claim_id and _INT.match(version) else None

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
            if names in _PATH_TO_COLUMN:
                return first, _PATH_TO_COLUMN[names], self.source
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


def time_file_for(path: Path) -> Path:
    """``batch.csv`` -> ``batch.time.csv`` beside it."""
    return path.with_name(path.stem + TIME_SUFFIX)


def read_csv_claims(path: Path) -> Iterator[LoadedClaim | ClaimProblem]:
    """Claims and problems in file order. The headers of both files, and the whole time file,
    are read at once (so a file that cannot be a claim batch raises ClaimFileError here);
    the claims file is then streamed."""
    path = Path(path)
    if path.name.endswith(TIME_SUFFIX):
        raise ClaimFileError(f"{path.name} is a time-entries file; give the claims file")
    time = _read_time_entries(time_file_for(path))
    table = _Table(path, {**CLAIM_COLUMNS, **LINE_COLUMNS}, REQUIRED_CLAIM_COLUMNS)
    handle, reader = table.open()
    return _stream(path, table, handle, reader, time)


def _stream(path: Path, table: _Table, handle: Any, reader: csv.DictReader[str],
            time: _TimeEntries) -> Iterator[LoadedClaim | ClaimProblem]:
    builder = _ClaimBuilder(path.name, time)
    for group in _groups(_rows(table, handle, reader), path.name):
        if isinstance(group, ClaimProblem):
            yield group
        else:
            yield from builder.build(group)
    yield from builder.leftovers()
