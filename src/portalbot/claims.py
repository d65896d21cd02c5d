"""Loading claim files (JSON, JSON Lines, CSV, X12 837P) into the claim interchange model.

The models are the source of truth for docs/claim-format.md: strict by design,
because a claim that loads "more or less" is a claim billed wrong. Loading checks shape and
format only; billing rules (NPI check digits, thresholds, exclusions) live in ``rules``.
Problems name the file, the claim and the field, never the offending value (it may be PHI).

The model, its field types, the problems and the JSON readers live in their own modules
(``claim_model``, ``claim_fields``, ``claim_problems``, ``claim_json``); every name they had
when they lived here is re-exported, so ``from portalbot.claims import Claim`` keeps working.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from portalbot.claim_fields import (
    CARE_PLAN_ELEMENTS,
    CarePlanElement,
    ClaimId,
    IsoDate,
    Modifier,
    Money,
    NoControls,
    Npi,
    PlaceOfService,
    PostalCode,
    ProcedureCode,
    ServiceMonth,
    StateCode,
    Text,
)
from portalbot.claim_json import (
    MAX_LINE_BYTES,
    SKIP_CHUNK,
    bounded_lines,
    iter_json,
    iter_jsonl,
    json_documents,
    lines_then_close,
    open_binary,
    read_bytes,
)
from portalbot.claim_model import (
    Address,
    BillingProvider,
    CarePlan,
    Claim,
    Complexity,
    Consent,
    InitiatingVisit,
    InpatientStay,
    OtherService,
    Patient,
    RenderingProvider,
    ServiceLine,
    Subscriber,
    TimeEntry,
    claim_json_schema,
)
from portalbot.claim_problems import (
    ClaimBatchFile,
    ClaimFileError,
    ClaimProblem,
    LoadedClaim,
    without_duplicates,
)
from portalbot.gcpause import gc_paused

__all__ = [
    "CARE_PLAN_ELEMENTS",
    "DEFAULT_MAX_PROBLEMS",
    "MAX_LINE_BYTES",
    "Address",
    "BillingProvider",
    "CarePlan",
    "CarePlanElement",
    "Claim",
    "ClaimBatchFile",
    "ClaimFileError",
    "ClaimId",
    "ClaimProblem",
    "Complexity",
    "Consent",
    "InitiatingVisit",
    "InpatientStay",
    "IsoDate",
    "LoadedClaim",
    "Modifier",
    "Money",
    "NoControls",
    "Npi",
    "OtherService",
    "Patient",
    "PlaceOfService",
    "PostalCode",
    "ProcedureCode",
    "RenderingProvider",
    "ServiceLine",
    "ServiceMonth",
    "StateCode",
    "Subscriber",
    "Text",
    "TimeEntry",
    "claim_json_schema",
    "load_claims",
    "read_claims",
]


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    formats = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv",
               ".837": "x12", ".x12": "x12", ".edi": "x12"}
    if suffix not in formats:
        raise ClaimFileError(
            f"{path.name}: unknown claims file type; use .json, .jsonl, .csv or .837 (X12 837P)"
        )
    return formats[suffix]


def _csv_reader(path: Path) -> Iterator[LoadedClaim | ClaimProblem]:
    try:
        from portalbot.claims_csv import read_csv_claims
    except ModuleNotFoundError as exc:
        if exc.name != "portalbot.claims_csv":
            raise  # a bug inside the CSV module must not pass for "not installed"
        raise ClaimFileError(f"{path.name}: CSV support is not installed") from None
    return read_csv_claims(path)


# Unreadable records reported one by one; past these they are only counted ("and N more").
DEFAULT_MAX_PROBLEMS = 200


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
        items = iter_json(json_documents(read_bytes(path), path.name), path.name)
    else:
        items = iter_jsonl(lines_then_close(open_binary(path)), path.name)
    return without_duplicates(items, path.name)


def _hash_file(path: Path, digest: Any) -> None:
    with open_binary(path) as handle:
        while chunk := handle.read(SKIP_CHUNK):
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
            data = read_bytes(path)
            digest.update(data)
            items = iter_json(json_documents(data, path.name), path.name)
        else:
            handle = stack.enter_context(open_binary(path))
            items = iter_jsonl(bounded_lines(handle, digest), path.name)
        stack.enter_context(gc_paused())
        for item in without_duplicates(items, path.name):
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
