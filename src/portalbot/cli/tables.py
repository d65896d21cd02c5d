"""The one way the CLI draws a table of claims, so it fits the terminal at any width.

What a biller reads a claims table for — the claim id, its outcome and its confirmation
or reason — is never cut: those columns are kept and wrap (a long id folds onto a second
line rather than losing its tail), and a confirmation number is never split while it fits
on a line. The other columns are extras, dropped whole, least useful first (the
screenshot path before anything else), when the width cannot hold them. States are
coloured and still spelled out, so the table reads the same without colour.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table
from rich.text import Text

from portalbot.cli.common import out
from portalbot.text import visible

STATE_STYLES = {
    "accepted": "green", "paid": "green", "pending": "cyan",
    "rejected": "red", "denied": "red", "duplicate": "red",
    "held": "yellow", "needs_human": "yellow", "in_doubt": "yellow",
    "failed": "magenta",
}

#: a wrapping column gets at least this much room (or its longest word, if longer)
_MIN_WRAP = 20


@dataclass(frozen=True)
class Column:
    """``keep``: never dropped. ``drop``: among the extras, a higher number goes first."""

    header: str
    keep: bool = False
    drop: int = 0
    wrap: bool = False


def state_text(state: str) -> Text:
    """A state as coloured text; the word itself carries the meaning."""
    return Text(visible(state), style=STATE_STYLES.get(state, ""))


def short_batch(batch_id: str) -> str:
    """A batch id as people type it: its first 8 characters (any unique prefix works)."""
    return batch_id[:8]


def relative_path(path: str | None, data_dir: Path) -> str:
    """An evidence path relative to the data directory (shorter, and it still finds it)."""
    if not path:
        return ""
    try:
        return str(Path(path).relative_to(data_dir))
    except ValueError:
        return path


def _needed(column: Column, cells: list[Text]) -> int:
    texts = [column.header, *(c.plain for c in cells)]
    if column.wrap:
        longest_word = max((len(w) for t in texts for w in t.split()), default=1)
        return max(longest_word, min(_MIN_WRAP, max(len(t) for t in texts)))
    return max(len(t) for t in texts)


def table_width() -> int:
    """The width to draw for: ``COLUMNS`` when set (read now, not when the console was
    made), else the terminal's (240 into a pipe, so each claim stays on one line)."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) >= 20 else out.width


def print_table(title: str | Text, columns: Sequence[Column],
                rows: Sequence[Sequence[object]]) -> None:
    """Draw ``rows`` on standard output, fitted to the width."""
    width = table_width()
    out.print(fitted_table(title, columns, rows, width), width=width)


def fitted_table(title: str | Text, columns: Sequence[Column],
                 rows: Sequence[Sequence[object]], width: int) -> Table:
    """A table of ``rows`` for ``width``: the kept columns always, the extras that still
    fit after them."""
    cells = [[c if isinstance(c, Text) else Text(visible(c)) for c in row] for row in rows]
    needed = [_needed(col, [row[i] for row in cells]) + 3 for i, col in enumerate(columns)]
    room = width - 1 - sum(n for n, col in zip(needed, columns, strict=True) if col.keep)
    shown = {i for i, col in enumerate(columns) if col.keep}
    extras = sorted((i for i, col in enumerate(columns) if not col.keep),
                    key=lambda i: columns[i].drop)
    for i in extras:
        if needed[i] <= room:
            shown.add(i)
            room -= needed[i]
    kept = sorted(shown)
    widths = _wrap_widths(columns, cells, kept, needed, room) if room >= 0 else {}
    table = Table(title=title)
    for i in kept:  # room < 0: rich shares out the width and the kept columns fold
        table.add_column(columns[i].header, overflow="fold",
                         width=widths.get(i), min_width=needed[i] - 3 if room >= 0 else None)
    for row in cells:
        table.add_row(*(row[i] for i in kept))
    return table


def _wrap_widths(columns: Sequence[Column], cells: list[list[Text]], kept: list[int],
                 needed: list[int], room: int) -> dict[int, int]:
    """The wrapping columns' widths: each its minimum, then the room left shared out in
    column order up to each one's natural width (rich's own ratio sharing overshoots)."""
    widths: dict[int, int] = {}
    for i in (i for i in kept if columns[i].wrap):
        natural = max([len(columns[i].header), *(len(row[i].plain) for row in cells)])
        grow = max(0, min(natural - (needed[i] - 3), room))
        room -= grow
        widths[i] = needed[i] - 3 + grow
    return widths
