"""Reading JSON and JSON Lines claim files: a strict parser (no repeated keys, no NaN), the
parser's reasons without the document, and lines read with a bound so a huge "line"
is never held whole."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import jiter

from portalbot.claim_problems import ClaimFileError, ClaimProblem, LoadedClaim, validate_record


def parse_json(data: bytes) -> Any:
    """JSON as claims need it: a repeated key is refused (JSON keeps the last one, which for
    a claim hides an edit), and so are NaN and Infinity. jiter is pydantic's own parser."""
    return jiter.from_json(data, catch_duplicate_keys=True, allow_inf_nan=False)


def json_documents(data: bytes, source: str) -> list[Any]:
    """The claim objects of a JSON file, parsed eagerly: a broken file fails as a whole."""
    try:
        doc = parse_json(data.removeprefix(codecs.BOM_UTF8))
    except ValueError as exc:
        raise ClaimFileError(f"{source} is not valid JSON: {_json_reason(exc)}") from None
    if isinstance(doc, dict) and set(doc) == {"claims"} and isinstance(doc["claims"], list):
        doc = doc["claims"]
    if not isinstance(doc, list):
        raise ClaimFileError(f'{source}: expected an array of claims or {{"claims": [...]}}')
    return doc


def iter_json(docs: list[Any], source: str) -> Iterator[LoadedClaim | ClaimProblem]:
    for index, raw in enumerate(docs, start=1):
        yield from validate_record(raw, source, f"claim #{index}")


# Bytes a JSON text can begin with; a line starting with any other is garbage at once.
_JSON_START = frozenset(b'{["-0123456789tfn \t')
_NOT_A_VALUE = "not valid JSON: expected value (column 1)"


def iter_jsonl(
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
            raw = parse_json(line)
        except ValueError as exc:
            message = f"not valid JSON: {_json_reason(exc, one_line=True)}"
            yield ClaimProblem(source, location, None, None, message, not_json=True)
            continue
        yield from validate_record(raw, source, location)


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


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ClaimFileError(f"{path.name}: cannot read the file ({exc.strerror})") from None


# A claim is a few kilobytes; a "line" of a megabyte is not one, and is never held whole.
MAX_LINE_BYTES = 1 << 20
_OVERLONG = (f"the line is longer than {MAX_LINE_BYTES >> 20} MiB, far more than any claim; "
             "it was skipped without being read into memory")
SKIP_CHUNK = 1 << 16


def bounded_lines(handle: BinaryIO, digest: Any = None) -> Iterator[bytes | None]:
    """The file's lines, each at most MAX_LINE_BYTES; an overlong line is read past in
    chunks and comes back as None. Every byte goes through ``digest`` on the way."""
    while line := handle.readline(MAX_LINE_BYTES + 1):
        if digest is not None:
            digest.update(line)
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield line
            continue
        while rest := handle.readline(SKIP_CHUNK):
            if digest is not None:
                digest.update(rest)
            if rest.endswith(b"\n"):
                break
        yield None


def lines_then_close(handle: BinaryIO) -> Iterator[bytes | None]:
    with handle:
        yield from bounded_lines(handle)


def open_binary(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise ClaimFileError(f"{path.name}: cannot read the file ({exc.strerror})") from None
