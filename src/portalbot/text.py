"""Every value is data: one way to show text that came from a claim, a portal or a request.

Claim files, portal pages and HTTP requests are written by people portalbot does not
control. Shown as they are, their text is *interpreted*: ``[/]`` or ``[link=…]`` is rich
markup (a crash, a hidden hyperlink, black-on-black text), ESC starts a terminal escape
sequence, a BIDI override reorders what a person reads, a newline forges a log line, a NUL
truncates a C string. ``visible`` is the one rule for all of them: every control and
format character (Unicode categories Cc and Cf, and the line and paragraph separators) is
written as a Python-style escape (``\\x1b``, ``\\x00``, ``\\n``, ``\\u202e``), so the text
reads as it is stored. ``for_terminal`` and ``cell`` add rich's markup escaping on top,
for the CLI's messages and tables.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

# Controls, format characters (BIDI overrides, zero-width), line/paragraph separators and
# lone surrogates (which no terminal encoding can write).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


@lru_cache(maxsize=256)
def _escape(char: str) -> str:
    if unicodedata.category(char) not in _INVISIBLE_CATEGORIES:
        return char
    code = ord(char)
    if char in _SHORT:
        return _SHORT[char]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(value: object, *, keep_newlines: bool = False) -> str:
    """``value`` as text with every control, format and BIDI character shown as an escape.

    ``keep_newlines`` leaves ``\\n`` alone, for multi-line text such as a traceback whose
    lines are the log's own (everything else in it is still escaped).
    """
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if text.isprintable():  # the usual case: nothing to escape (C-speed check)
        return text
    return "".join(
        char if keep_newlines and char == "\n" else _escape(char) for char in text
    )


def for_terminal(value: object) -> str:
    """``visible`` text with rich markup escaped: safe inside a rich-printed message.

    rich is imported on first use, not with this module: ``portalbot --help`` loads this
    module and prints nothing through rich."""
    from rich.markup import escape as escape_markup

    return escape_markup(visible(value))


def cell(value: object) -> Text:
    """A rich table cell: a ``Text`` (never parsed as markup) of the ``visible`` value."""
    from rich.text import Text

    return Text(visible(value))


_C0_CONTROLS = frozenset(chr(code) for code in (*range(0x20), 0x7F))


def control_characters(text: str, *, allow: str = "") -> bool:
    """Whether ``text`` holds a C0 control character (NUL, ESC, newline, …) or DEL, other
    than those in ``allow``. Storage refuses NUL (PostgreSQL text cannot hold it) and no
    claim field or form value has a use for the others."""
    return not _C0_CONTROLS.isdisjoint(text) and any(
        char in _C0_CONTROLS and char not in allow for char in text
    )
