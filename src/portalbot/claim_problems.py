"""What loading a claim file yields: the claims, each with where it was, and the problems,
each naming the file, the claim and the field with advice, never the offending value (it
may be PHI). Also the one check across records every loader shares: a (claim_id, version)
appears once per file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from portalbot.claim_model import Claim
from portalbot.errors import ClaimError


class ClaimFileError(ClaimError):
    """The file as a whole cannot be read as a claim batch (missing, not JSON, wrong shape)."""


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


def field_path(loc: Iterable[int | str]) -> str | None:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or None


def problem_message(err: Any) -> str:
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


def validate_record(raw: Any, source: str, location: str) -> Iterator[LoadedClaim | ClaimProblem]:
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
            field = field_path(loc)
            yield ClaimProblem(source, location, claim_id, field, problem_message(err))


def without_duplicates(
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
