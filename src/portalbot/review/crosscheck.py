"""The machine cross-check: does the page the portal showed bear out what the ledger says?

For each attempt the desk looks for the confirmation number and the portal key the ledger
recorded in the *visible text* of the saved page HTML (not its markup: a value inside an
attribute, a comment or a script is not something the portal showed a person). Reviewers
then spend their attention on the mismatches, and may verify every matched attempt at once.

Some portals never show one of the values on their answer page (Keystone's acceptance page
has no portal key): an adapter declares what its page shows (``acceptance_shows``), and a
value the portal never shows is "not shown by this portal", neither looked for nor a
mismatch.

Evidence files never change once written, so results are cached by file identity (path,
size, modification time) and the values looked for; a queue page of 100 attempts parses
each page once per process.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

MATCH, MISMATCH, UNCHECKED = "match", "mismatch", "unchecked"
# The values looked for, by their names in an adapter's ``acceptance_shows``.
VALUES = ("confirmation", "portal_key")
NOT_SHOWN_BY_PORTAL = "not shown by this portal"
# A saved page larger than this is not read (a portal page is a few hundred kilobytes).
MAX_HTML_BYTES = 8 * 1024 * 1024
_HIDDEN_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title"})
_UNSHOWN_INPUTS = frozenset({"hidden", "password", "checkbox", "radio", "file", "image"})
# Attempts whose page is the portal's answer about the claim (the others: a sign-in page, a
# form filled in a dry run, an error) are not held to the ledger's values.
ANSWERED = frozenset({"accepted", "pending", "rejected", "duplicate", "paid", "denied",
                      "unchanged"})
_VOID_TAGS = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
})


@dataclass(frozen=True)
class Value:
    """One recorded value and whether the page shows it (None: nothing recorded)."""

    name: str
    recorded: str | None
    shown: bool
    expected: bool = True  # False: this portal's page never shows it

    @property
    def status(self) -> str:
        if not self.recorded:
            return "not recorded"
        if not self.expected:
            return NOT_SHOWN_BY_PORTAL
        return "shown" if self.shown else "not on the page"


@dataclass(frozen=True)
class CrossCheck:
    status: str  # match, mismatch or unchecked
    why: str
    values: tuple[Value, ...] = ()

    @property
    def matched(self) -> bool:
        return self.status == MATCH


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[bool] = []  # per open element: is it hidden (itself or above)?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_TAGS:
            # A filled-in text box shows its value (a form the portal showed again).
            found = dict(attrs)
            if (tag == "input" and found.get("type", "text") not in _UNSHOWN_INPUTS
                    and not (self._stack and self._stack[-1]) and "hidden" not in found):
                self.parts.append(found.get("value") or "")
            return
        inherited = bool(self._stack and self._stack[-1])
        hidden = tag in _HIDDEN_TAGS or any(name == "hidden" for name, _ in attrs)
        self._stack.append(inherited or hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID_TAGS and self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self._stack and self._stack[-1]):
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The text a person sees in ``html``, whitespace collapsed."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def check_attempt(attempt: dict[str, object], confirmation: str | None,
                  portal_key: str | None, shows: tuple[str, ...] = VALUES) -> CrossCheck:
    """The cross-check of one ledger attempt row against its claim's recorded values;
    ``shows`` names the values the portal's page shows (the adapter's declaration)."""
    if attempt.get("result") not in ANSWERED:
        return CrossCheck(UNCHECKED, "this attempt recorded no answer from the portal")
    html = attempt.get("html")
    return check(html if isinstance(html, str) else None, confirmation, portal_key, shows)


def check(html_file: str | Path | None, confirmation: str | None,
          portal_key: str | None, shows: tuple[str, ...] = VALUES) -> CrossCheck:
    """The cross-check of one attempt's saved page against the ledger's values."""
    if not confirmation and not portal_key:
        return CrossCheck(UNCHECKED, "the ledger recorded no confirmation or portal key")
    if not any(value for value, name in ((confirmation, "confirmation"),
                                         (portal_key, "portal_key")) if name in shows):
        return CrossCheck(UNCHECKED, "this portal's page shows none of the values recorded",
                          _unlooked(confirmation, portal_key, shows))
    if not html_file:
        return CrossCheck(UNCHECKED, "no page HTML was saved for this attempt")
    try:
        info = os.stat(html_file)
    except OSError:
        return CrossCheck(UNCHECKED, "the saved page HTML is missing")
    if info.st_size > MAX_HTML_BYTES:
        return CrossCheck(UNCHECKED, "the saved page HTML is too large to read")
    return _cached(str(html_file), info.st_size, info.st_mtime_ns, confirmation or "",
                   portal_key or "", tuple(shows))


def _unlooked(confirmation: str | None, portal_key: str | None,
              shows: tuple[str, ...]) -> tuple[Value, ...]:
    return tuple(Value(label, recorded or None, False, key in shows) for key, label, recorded in (
        ("confirmation", "confirmation", confirmation), ("portal_key", "portal key", portal_key)
    ))


@functools.lru_cache(maxsize=4096)
def _cached(path: str, size: int, mtime_ns: int, confirmation: str,
            portal_key: str, shows: tuple[str, ...]) -> CrossCheck:
    try:
        text = visible_text(Path(path).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return CrossCheck(UNCHECKED, "the saved page HTML cannot be read")
    squashed = text.replace(" ", "")
    values = tuple(
        Value(label, recorded or None,
              key in shows and bool(recorded) and recorded.replace(" ", "") in squashed,
              key in shows)
        for key, label, recorded in (("confirmation", "confirmation", confirmation),
                                     ("portal_key", "portal key", portal_key))
    )
    missing = [v.name for v in values if v.recorded and v.expected and not v.shown]
    if missing:
        return CrossCheck(MISMATCH, f"the page does not show the {' or the '.join(missing)}",
                          values)
    return CrossCheck(MATCH, "the page shows " + " and ".join(
        f"the {v.name}" for v in values if v.recorded and v.expected), values)


@functools.lru_cache(maxsize=64)
def portal_shows(payer_id: str) -> tuple[str, ...]:
    """The values the payer's adapter declares its answer page shows (both when the payer
    has no adapter here: a desk may run where not every adapter is installed)."""
    from portalbot.adapters import adapter_for
    from portalbot.errors import PortalbotError

    try:
        return tuple(adapter_for(payer_id).acceptance_shows)
    except (PortalbotError, ImportError):
        return VALUES
