"""The CCM claim interchange model and its loaders (JSON, JSON Lines, CSV).

The models are the source of truth for docs/claim-format.md: strict by design,
because a claim that loads "more or less" is a claim billed wrong. Loading checks shape and
format only; billing rules (NPI check digits, thresholds, exclusions) live in ``rules``.
Problems name the file, the claim and the field, never the offending value (it may be PHI).
"""

from __future__ import annotations

import calendar
import codecs
import contextlib
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal, get_args

import jiter
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from portalbot.errors import ClaimError
from portalbot.text import control_characters


class ClaimFileError(ClaimError):
    """The file as a whole cannot be read as a claim batch (missing, not JSON, wrong shape)."""


# --- field types ------------------------------------------------------------------------

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONEY_RE = re.compile(r"^-?\d{1,9}(\.\d{1,2})?$")
_MONEY_HINT = 'give money as a decimal string such as "62.00"'


def _parse_date(value: Any) -> date:
    """Accept ISO dates only: "03/04/2026" is ambiguous, and silent guessing bills wrong.

    Pydantic's own date type would also take "1654646400" as a Unix time, so dates are
    parsed here; this runs for every date of every claim, hence no regex on the happy path
    (with dashes at 4 and 7, `fromisoformat` takes nothing but YYYY-MM-DD).
    """
    if type(value) is str and len(value) == 10 and value[4] == value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            if _DATE_RE.match(value):
                raise ValueError("not a real calendar date; give an ISO YYYY-MM-DD date") from None
    elif type(value) is date:
        return value
    raise ValueError("give dates as ISO YYYY-MM-DD, such as \"2026-10-31\"")


def _parse_money(value: Any) -> Any:
    """Floats lose cents (0.1 + 0.2), so money travels as a decimal string."""
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not _MONEY_RE.match(value):
        raise ValueError(_MONEY_HINT)
    return Decimal(value)


def _refuse_controls(value: Any) -> Any:
    """No text field of a claim holds NUL, a line break, ESC or another C0 control: storage
    cannot keep NUL (PostgreSQL), and the others only ever arrive to forge what is shown."""
    if isinstance(value, str) and control_characters(value):
        raise ValueError(_CONTROL_HINT)
    return value


_CONTROL_HINT = ("must not contain control characters (NUL, tab, line break, ESC, …); "
                 "remove them in the system that exported the claim")
NoControls = BeforeValidator(_refuse_controls)

IsoDate = Annotated[date, BeforeValidator(_parse_date)]
Money = Annotated[
    Decimal,
    BeforeValidator(_parse_money),
    WithJsonSchema({"type": "string", "pattern": _MONEY_RE.pattern, "examples": ["62.00"]}),
]
# NoControls after the constraints wraps them, so it runs first (a line break in a claim_id
# is named as such, not as a pattern mismatch) and the length messages stay pydantic's own.
Text = Annotated[str, StringConstraints(min_length=1, max_length=200), NoControls]
Npi = Annotated[str, StringConstraints(pattern=r"^\d{10}$")]
ServiceMonth = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
ProcedureCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{5}$")]
Modifier = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")]
StateCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
PostalCode = Annotated[str, StringConstraints(pattern=r"^\d{5}(-?\d{4})?$")]
PlaceOfService = Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
ClaimId = Annotated[str, StringConstraints(pattern=r"^\S(.*\S)?$", max_length=64), NoControls]

# What a pattern mismatch means, in words a person exporting claims can act on.
_PATTERN_HINTS = {
    r"^\d{10}$": "an NPI is exactly 10 digits, such as \"1234567893\"",
    r"^\d{4}-(0[1-9]|1[0-2])$": "give the month as YYYY-MM, such as \"2026-10\"",
    r"^[A-Z0-9]{5}$": "a procedure code is 5 capital letters or digits, such as \"99490\"",
    r"^[A-Z0-9]{2}$": "a modifier is 2 capital letters or digits, such as \"25\"",
    r"^[A-Z]{2}$": "give the state as its 2-letter capital abbreviation, such as \"IL\"",
    r"^\d{5}(-?\d{4})?$": "give a 5- or 9-digit ZIP code, such as \"62701\"",
    r"^\d{2}$": "a place of service is a 2-digit code, such as \"11\"",
    r"^\S(.*\S)?$": "must not be empty or start or end with spaces",
}

_TYPE_HINTS = {
    "int_type": "give a whole number such as 20, without quotes",
    "bool_type": "give true or false, without quotes",
    "string_type": "give text in double quotes",
    "list_type": "give a JSON array [...]",
    "model_type": "give a JSON object {...}",
}

CarePlanElement = Literal[
    "problem_list", "expected_outcomes", "measurable_goals", "symptom_management",
    "planned_interventions", "medication_management", "community_resources",
    "care_coordination", "review_schedule",
]
CARE_PLAN_ELEMENTS: tuple[str, ...] = get_args(CarePlanElement)


def _field_error(field: str, message: str) -> PydanticCustomError:
    """A model-level error that still points at one field (pydantic would name the model)."""
    return PydanticCustomError("claim_field", "{message}", {"field": field, "message": message})


class _Strict(BaseModel):
    """Unknown fields are errors and nothing is coerced: "1" is not 1, 1 is not true."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- models -----------------------------------------------------------------------------

class Address(_Strict):
    line1: Text
    line2: Text | None = None
    city: Text
    state: StateCode
    postal_code: PostalCode


class Patient(_Strict):
    first_name: Text
    last_name: Text
    birth_date: IsoDate
    sex: Literal["F", "M", "U"]
    address: Address


class Subscriber(_Strict):
    member_id: Text
    group_number: Text | None = None
    relationship: Literal["self", "spouse", "child", "other"]
    first_name: Text | None = None
    last_name: Text | None = None
    birth_date: IsoDate | None = None

    @model_validator(mode="after")
    def _insured_named_unless_self(self) -> Subscriber:
        """The payer matches coverage on the insured; when that is not the patient we need them."""
        if self.relationship != "self":
            for name in ("first_name", "last_name", "birth_date"):
                if getattr(self, name) is None:
                    raise _field_error(
                        name, "required when relationship is not \"self\": give the insured "
                        "person's first_name, last_name and birth_date"
                    )
        return self


class BillingProvider(_Strict):
    name: Text
    npi: Npi
    tax_id: Text
    taxonomy: Text | None = None
    address: Address


class RenderingProvider(_Strict):
    name: Text
    npi: Npi


class ServiceLine(_Strict):
    code: ProcedureCode
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    units: int
    charge: Money
    date_of_service: IsoDate
    place_of_service: PlaceOfService
    diagnosis_pointers: list[int] = Field(min_length=1)


class Consent(_Strict):
    obtained_on: IsoDate
    method: Literal["verbal", "written"]
    document_ref: Text
    revoked_on: IsoDate | None = None


class CarePlan(_Strict):
    document_ref: Text
    last_reviewed_on: IsoDate | None = None
    shared_with_patient_on: IsoDate | None = None
    elements: list[CarePlanElement]


class TimeEntry(_Strict):
    date: IsoDate
    minutes: int = Field(ge=1, le=1440)
    performer_role: Literal["clinical_staff", "physician", "qhp"]
    performer: Text
    activity: Text
    face_to_face: bool


class OtherService(_Strict):
    code: ProcedureCode
    date: IsoDate


class InitiatingVisit(_Strict):
    date: IsoDate
    code: ProcedureCode


class Complexity(_Strict):
    medical_decision_making: Literal["straightforward", "low", "moderate", "high"]
    care_plan_revised_on: IsoDate


class InpatientStay(_Strict):
    admitted_on: IsoDate
    discharged_on: IsoDate

    @model_validator(mode="after")
    def _discharge_after_admission(self) -> InpatientStay:
        if self.discharged_on < self.admitted_on:
            raise _field_error("discharged_on", "must be on or after admitted_on")
        return self


class Claim(_Strict):
    """One patient, one payer, one calendar month of CCM, with the evidence to bill it."""

    claim_id: ClaimId
    version: int = Field(ge=1)
    frequency: Literal["original", "replacement", "void"] = "original"
    replaces: Text | None = None
    payer_id: Text
    service_month: ServiceMonth
    patient: Patient
    subscriber: Subscriber
    billing_provider: BillingProvider
    rendering_provider: RenderingProvider
    diagnoses: list[Text] = Field(min_length=1)
    service_lines: list[ServiceLine] = Field(min_length=1)
    consent: Consent | None = None
    care_plan: CarePlan | None = None
    time_entries: list[TimeEntry] = Field(default_factory=list)
    other_services: list[OtherService] = Field(default_factory=list)
    initiating_visit: InitiatingVisit | None = None
    complexity: Complexity | None = None
    inpatient_stays: list[InpatientStay] = Field(default_factory=list)

    @property
    def key(self) -> tuple[str, int]:
        """The idempotency key: the same (claim_id, version) is never submitted twice."""
        return (self.claim_id, self.version)

    @property
    def patient_month(self) -> tuple[str, str, str]:
        """(payer_id, member_id, service_month): only one CCM claim is paid per patient-month."""
        return (self.payer_id, self.subscriber.member_id, self.service_month)

    @property
    def month_start(self) -> date:
        year, month = map(int, self.service_month.split("-"))
        return date(year, month, 1)

    @property
    def month_end(self) -> date:
        year, month = map(int, self.service_month.split("-"))
        return date(year, month, calendar.monthrange(year, month)[1])


def claim_json_schema() -> dict[str, Any]:
    return Claim.model_json_schema()


# --- loading ----------------------------------------------------------------------------

@dataclass(frozen=True)
class LoadedClaim:
    claim: Claim
    location: str  # "claim #3" (1-based, JSON), "line 7" (JSONL), "row 4" (CSV)


@dataclass(frozen=True)
class ClaimProblem:
    source: str  # file name (basename)
    location: str
    claim_id: str | None
    field: str | None  # dotted path such as "service_lines[0].charge"
    message: str  # what was expected and how to fix it, never the offending value
    not_json: bool = False  # the record is not even JSON (or too long to be a claim)

    def __str__(self) -> str:
        where = f"{self.source}, {self.location}"
        if self.claim_id:
            where += f" (claim {self.claim_id})"
        what = f"{self.field}: {self.message}" if self.field else self.message
        return f"{where}: {what}"


@dataclass(frozen=True)
class ClaimBatchFile:
    path: Path
    content_hash: str  # sha256 hex of the file's bytes: the batch's identity in the ledger
    claims: list[LoadedClaim]
    problems: list[ClaimProblem]  # the first ``max_problems`` of them
    more_problems: int = 0  # unreadable records past those, counted but not kept

    @property
    def unreadable(self) -> int:
        return len(self.problems) + self.more_problems


def _field_path(loc: Iterable[int | str]) -> str | None:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or None


def _message(err: Any) -> str:
    """Turn a pydantic error into advice, using only its type, msg and context, never input."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field: the claim format has no such field (check the spelling or remove it)"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERN_HINTS:
        return str(_PATTERN_HINTS[ctx["pattern"]])
    if kind in _TYPE_HINTS:
        return _TYPE_HINTS[kind]
    return str(err["msg"]).removeprefix("Value error, ")


def _readable_claim_id(raw: Any) -> str | None:
    """The claim_id, if it is usable to name the claim in a message."""
    cid = raw.get("claim_id") if isinstance(raw, dict) else None
    return cid if isinstance(cid, str) and 0 < len(cid) <= 64 and cid.isprintable() else None


def _validate(raw: Any, source: str, location: str) -> Iterator[LoadedClaim | ClaimProblem]:
    claim_id = _readable_claim_id(raw)
    if not isinstance(raw, dict):
        yield ClaimProblem(source, location, None, None, "expected a JSON object (one claim)")
        return
    try:
        yield LoadedClaim(Claim.model_validate(raw), location)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            loc = list(err["loc"])
            if err["type"] == "claim_field":
                loc.append(err["ctx"]["field"])
            field = _field_path(loc)
            yield ClaimProblem(source, location, claim_id, field, _message(err))


def _parse_json(data: bytes) -> Any:
    """JSON as claims need it: a repeated key is refused (JSON keeps the last one, which for
    a claim hides an edit), and so are NaN and Infinity. jiter is pydantic's own parser."""
    return jiter.from_json(data, catch_duplicate_keys=True, allow_inf_nan=False)


def _json_documents(data: bytes, source: str) -> list[Any]:
    """The claim objects of a JSON file, parsed eagerly: a broken file fails as a whole."""
    try:
        doc = _parse_json(data.removeprefix(codecs.BOM_UTF8))
    except ValueError as exc:
        raise ClaimFileError(f"{source} is not valid JSON: {_json_reason(exc)}") from None
    if isinstance(doc, dict) and set(doc) == {"claims"} and isinstance(doc["claims"], list):
        doc = doc["claims"]
    if not isinstance(doc, list):
        raise ClaimFileError(f'{source}: expected an array of claims or {{"claims": [...]}}')
    return doc


def _iter_json(docs: list[Any], source: str) -> Iterator[LoadedClaim | ClaimProblem]:
    for index, raw in enumerate(docs, start=1):
        yield from _validate(raw, source, f"claim #{index}")


# Bytes a JSON text can begin with; a line starting with any other is garbage at once.
_JSON_START = frozenset(b'{["-0123456789tfn \t')
_NOT_A_VALUE = "not valid JSON: expected value (column 1)"


def _iter_jsonl(
    lines: Iterable[bytes | None], source: str, *, start: int = 1
) -> Iterator[LoadedClaim | ClaimProblem]:
    for number, raw_line in enumerate(lines, start=start):
        if raw_line is None:
            yield ClaimProblem(source, f"line {number}", None, None, _OVERLONG, not_json=True)
            continue
        line = raw_line.rstrip(b"\r\n")
        if not line.strip():
            continue
        location = f"line {number}"
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        if line[0] not in _JSON_START:  # no JSON value starts so: the parser's answer, sooner
            yield ClaimProblem(source, location, None, None, _NOT_A_VALUE, not_json=True)
            continue
        try:
            raw = _parse_json(line)
        except ValueError as exc:
            message = f"not valid JSON: {_json_reason(exc, one_line=True)}"
            yield ClaimProblem(source, location, None, None, message, not_json=True)
            continue
        yield from _validate(raw, source, location)


_JITER_ERROR = re.compile(r"^(?P<msg>.*) at line (?P<line>\d+) column (?P<col>\d+)$")
_DUPLICATE_KEY = re.compile(r'^Detected duplicate key "(?P<key>.*)"$')


def _json_reason(exc: ValueError, *, one_line: bool = False) -> str:
    """The parser's reason and position, without echoing the document."""
    found = _JITER_ERROR.match(str(exc))
    if found is None:
        return "the text is not JSON"
    msg = found["msg"]
    if duplicate := _DUPLICATE_KEY.match(msg):
        msg = f"the key {json.dumps(duplicate['key'][:64])} appears twice in one object"
    elif msg.startswith("invalid unicode"):
        msg = "the text is not UTF-8"
    where = f"column {found['col']}" if one_line else f"line {found['line']}, column {found['col']}"
    return f"{msg} ({where})"


def _without_duplicates(
    items: Iterable[LoadedClaim | ClaimProblem], source: str
) -> Iterator[LoadedClaim | ClaimProblem]:
    """One file must not hold the same (claim_id, version) twice: which one would we send?"""
    first_seen: dict[tuple[str, int], str] = {}
    for item in items:
        if isinstance(item, LoadedClaim):
            key = item.claim.key
            if key in first_seen:
                message = (f"version {key[1]} of this claim already appears at {first_seen[key]}; "
                           "each (claim_id, version) may appear once in a file")
                yield ClaimProblem(source, item.location, key[0], "claim_id", message)
                continue
            first_seen[key] = item.location
        yield item


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    formats = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv",
               ".837": "x12", ".x12": "x12", ".edi": "x12"}
    if suffix not in formats:
        raise ClaimFileError(
            f"{path.name}: unknown claims file type; use .json, .jsonl, .csv or .837 (X12 837P)"
        )
    return formats[suffix]


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ClaimFileError(f"{path.name}: cannot read the file ({exc.strerror})") from None


def _csv_reader(path: Path) -> Iterator[LoadedClaim | ClaimProblem]:
    try:
        from portalbot.claims_csv import read_csv_claims
    except ModuleNotFoundError as exc:
        if exc.name != "portalbot.claims_csv":
            raise  # a bug inside the CSV module must not pass for "not installed"
        raise ClaimFileError(f"{path.name}: CSV support is not installed") from None
    return read_csv_claims(path)


# A claim is a few kilobytes; a "line" of a megabyte is not one, and is never held whole.
MAX_LINE_BYTES = 1 << 20
_OVERLONG = (f"the line is longer than {MAX_LINE_BYTES >> 20} MiB, far more than any claim; "
             "it was skipped without being read into memory")
# Unreadable records reported one by one; past these they are only counted ("and N more").
DEFAULT_MAX_PROBLEMS = 200
_SKIP_CHUNK = 1 << 16


def _bounded_lines(handle: BinaryIO, digest: Any = None) -> Iterator[bytes | None]:
    """The file's lines, each at most MAX_LINE_BYTES; an overlong line is read past in
    chunks and comes back as None. Every byte goes through ``digest`` on the way."""
    while line := handle.readline(MAX_LINE_BYTES + 1):
        if digest is not None:
            digest.update(line)
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield line
            continue
        while rest := handle.readline(_SKIP_CHUNK):
            if digest is not None:
                digest.update(rest)
            if rest.endswith(b"\n"):
                break
        yield None


def _lines_then_close(handle: BinaryIO) -> Iterator[bytes | None]:
    with handle:
        yield from _bounded_lines(handle)


def _open_binary(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise ClaimFileError(f"{path.name}: cannot read the file ({exc.strerror})") from None


def read_claims(path: Path) -> Iterator[LoadedClaim | ClaimProblem]:
    """Claims and problems in file order; JSON Lines is streamed, so big files stay cheap.

    Raises ClaimFileError at once (not on first iteration) when the file cannot be a claim
    batch at all.
    """
    path = Path(path)
    kind = _format(path)
    items: Iterable[LoadedClaim | ClaimProblem]
    if kind == "csv":
        items = _csv_reader(path)
    elif kind == "json":
        items = _iter_json(_json_documents(_read_bytes(path), path.name), path.name)
    else:
        items = _iter_jsonl(_lines_then_close(_open_binary(path)), path.name)
    return _without_duplicates(items, path.name)


def _hash_file(path: Path, digest: Any) -> None:
    with _open_binary(path) as handle:
        while chunk := handle.read(_SKIP_CHUNK):
            digest.update(chunk)


def load_claims(
    path: Path, *, max_problems: int = DEFAULT_MAX_PROBLEMS, evidence: Path | None = None
) -> ClaimBatchFile:
    """Read a whole batch once: its hash identifies exactly the bytes the claims came from.

    Memory stays flat on any input: JSON Lines is read a bounded line at a time, only the
    first ``max_problems`` unreadable records are kept (the rest are counted), and a file
    whose first ``max_problems`` records are not JSON at all is refused at once as not a
    claims file, instead of being reported line by line to its end. ``evidence`` is the
    CCM evidence file for an X12 837P batch (``portalbot.x12``).
    """
    path = Path(path)
    kind = _format(path)
    digest = hashlib.sha256()
    claims: list[LoadedClaim] = []
    problems: list[ClaimProblem] = []
    more = 0
    with contextlib.ExitStack() as stack:
        items: Iterable[LoadedClaim | ClaimProblem]
        if kind == "x12":
            from portalbot.x12.professional import read_837p

            _hash_file(path, digest)
            items = [item for item, _had_evidence in read_837p(path, evidence)]
        elif kind == "csv":
            _hash_file(path, digest)
            items = _csv_reader(path)
        elif kind == "json":
            data = _read_bytes(path)
            digest.update(data)
            items = _iter_json(_json_documents(data, path.name), path.name)
        else:
            handle = stack.enter_context(_open_binary(path))
            items = _iter_jsonl(_bounded_lines(handle, digest), path.name)
        for item in _without_duplicates(items, path.name):
            if isinstance(item, LoadedClaim):
                claims.append(item)
            elif len(problems) < max_problems:
                problems.append(item)
            else:
                more += 1
                if not claims and all(p.not_json for p in problems):
                    raise ClaimFileError(
                        f"{path.name}: the first {len(problems)} records are not JSON claims "
                        f"(the first: {problems[0].location}: {problems[0].message}); "
                        "this is not a claims file"
                    )
    return ClaimBatchFile(path, digest.hexdigest(), claims, problems, more)
