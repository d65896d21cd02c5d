"""structlog set-up whose last line of defence is redaction.

Two layers keep PHI and secrets out of log lines: keys that can only hold sensitive data
are masked whatever their value, and every string value is scrubbed of the sensitive
values of the claim being worked on (names, birth dates in the formats portals use,
member IDs) and of any value registered for the whole process (passwords). Callers
should not log PHI in the first place; this catches what slips through, such as text
copied from a page.

structlog itself (about a tenth of a second to import: it brings asyncio and rich's
traceback renderer) is imported only when a logger is first asked for. ``configure`` before
that only remembers the set-up, so ``portalbot validate --help`` never pays for it; no
line can be logged before a logger exists, and ``get_logger`` applies the set-up first,
so no line ever escapes the redaction.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, MutableMapping
from contextvars import ContextVar
from datetime import date
from typing import Any

from portalbot.text import visible

MASK = "[redacted]"
SENSITIVE_KEYS = frozenset(
    {
        "password", "secret", "totp_secret", "otp", "token", "first_name", "last_name",
        "patient", "patient_name", "birth_date", "member_id", "subscriber", "name", "address",
    }
)


def _usable(values: Iterable[str | None]) -> set[str]:
    """Values long enough to scrub without masking ordinary words."""
    return {v.strip() for v in values if v and len(v.strip()) >= 3}


def _pattern(values: set[str]) -> re.Pattern[str] | None:
    ordered = sorted(values, key=len, reverse=True)  # longest first: "Ann Lee" before "Ann"
    return re.compile("|".join(re.escape(v) for v in ordered), re.IGNORECASE) if ordered else None


class Redactor:
    """Removes sensitive values from any text: those registered for the whole process, and
    those of the claim the current task is working on.

    A claim's values are kept per task (a context variable), not added to one growing
    pattern: a worker that ran for a month would otherwise recompile a pattern of every
    patient it ever saw before each claim, and scan every log line against all of them.
    Each task works one claim at a time, so its claim's values cover what it logs.
    """

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._global: re.Pattern[str] | None = None
        self._claim: ContextVar[re.Pattern[str] | None] = ContextVar(
            f"portalbot-claim-phi-{id(self)}", default=None
        )

    def register(self, values: Iterable[str | None]) -> None:
        """Scrub these values everywhere, for the life of the process."""
        fresh = _usable(values)
        with self._lock:
            if fresh - self._values:
                self._values |= fresh
                self._global = _pattern(self._values)

    def working_on(self, values: Iterable[str | None]) -> None:
        """Scrub these values from what the current task logs, until its next claim."""
        self._claim.set(_pattern(_usable(values)))

    def scrub(self, text: str) -> str:
        for pattern in (self._claim.get(), self._global):
            if pattern is not None:
                text = pattern.sub(MASK, text)
        return text


redactor = Redactor()


def date_spellings(value: date) -> list[str]:
    """The ways portals print a date, so a birth date is caught in any of them."""
    return [
        value.isoformat(),
        value.strftime("%m/%d/%Y"),
        value.strftime("%m%d%Y"),
        value.strftime("%Y%m%d"),
    ]


def register_claim_phi(claim: Any) -> None:
    """Register a claim's identifying values before anything about it can be logged.

    They hold for the current task (asyncio task or thread) until it registers its next
    claim; call this first thing wherever a claim is taken up."""
    patient = claim.patient
    subscriber = claim.subscriber
    values: list[str | None] = [
        patient.first_name,
        patient.last_name,
        f"{patient.first_name} {patient.last_name}",
        subscriber.member_id,
        getattr(subscriber, "first_name", None),
        getattr(subscriber, "last_name", None),
        patient.address.line1 if patient.address else None,
    ]
    values += date_spellings(patient.birth_date)
    insured_birth = getattr(subscriber, "birth_date", None)
    if insured_birth:
        values += date_spellings(insured_birth)
    redactor.working_on(values)


def register_secrets(*values: str | None) -> None:
    """Scrub these (passwords, TOTP secrets) from everything, for the life of the process."""
    redactor.register(values)


def scrub(text: str) -> str:
    return redactor.scrub(text)


def _each_string(value: Any, change: Callable[[str], str], masked: frozenset[str] = frozenset()) -> Any:
    """``value`` with ``change`` applied to every string in it, and the values of the keys
    in ``masked`` replaced by the mask, however deep."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {k: MASK if k in masked else _each_string(v, change, masked) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_each_string(v, change, masked) for v in value]
    return value


def _redact_value(value: Any) -> Any:
    return _each_string(value, redactor.scrub, SENSITIVE_KEYS)


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key in SENSITIVE_KEYS:
            event_dict[key] = MASK
        else:
            event_dict[key] = _redact_value(event_dict[key])
    return event_dict


def _visible_value(value: Any, *, keep_newlines: bool = False) -> Any:
    return _each_string(value, lambda text: visible(text, keep_newlines=keep_newlines))


def visible_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Every value is data: control, format and BIDI characters become visible escapes, so
    a claim id or a request path cannot colour a terminal, forge a log line or reorder text.
    A traceback keeps its own line breaks."""
    for key in list(event_dict):
        event_dict[key] = _visible_value(event_dict[key], keep_newlines=key == "exception")
    return event_dict


class _StandardError:
    """Whatever ``sys.stderr`` is at the moment of writing: while a progress bar is live,
    rich routes it through the bar's console, so a log line prints above the bar instead
    of breaking it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


_pending: dict[str, Any] | None = None


def configure(*, json_output: bool = False, level: str = "INFO", stream: Any = None) -> None:
    """Log to standard error: readable on a terminal, one JSON object a line with --log-json.

    Applied now if structlog is already loaded, else when the first logger is made."""
    global _pending
    _pending = {"json_output": json_output, "level": level, "stream": stream}
    if "structlog" in sys.modules:
        _apply_pending()


def _apply_pending() -> None:
    global _pending
    if _pending is None:
        return
    wanted, _pending = _pending, None
    _apply(**wanted)


def _apply(*, json_output: bool, level: str, stream: Any) -> None:
    import structlog

    stream = stream or _StandardError()
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_processor,
            visible_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "portalbot") -> Any:
    import structlog

    _apply_pending()
    return structlog.get_logger(name)
