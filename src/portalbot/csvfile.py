"""The one CSV writer: every CSV portalbot writes (worklist, report, …) goes through here.

Spreadsheets run a cell that begins with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(…)`` phones home, ``=cmd|' /C calc'!A0`` runs a program), and some also
start one after a leading tab or carriage return. The rule, applied to every cell:

    a cell that begins with = + - @ TAB CR or ' is written with one ' in front.

A spreadsheet shows the ``'`` as "this is text" and hides it; a program reading the file
gets every value back exactly by removing one leading ``'`` from any cell that has one
(``read_csv`` does). Prefixing cells that already begin with ``'`` is what makes the
round trip lossless: ``'x`` is written ``''x`` and read back as ``'x``.

Files are RFC 4180: comma separated, fields quoted where needed, CRLF line ends.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

QUOTE = "'"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PREFIXED = (*FORMULA_START, QUOTE)


def neutralise(value: object) -> str:
    """The cell text for ``value``: None is empty, dates are ISO, and formula starts get ``'``."""
    if value is None:
        text = ""
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    else:
        text = str(value)
    return QUOTE + text if text.startswith(_PREFIXED) else text


def restore(cell: str) -> str:
    """The value a neutralised cell was written from."""
    return cell[1:] if cell.startswith(QUOTE) else cell


def write_csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    """A header row of ``columns``, then one neutralised row per mapping (missing keys empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(column) for column in columns])
    for row in rows:
        writer.writerow([neutralise(row.get(column)) for column in columns])
    return buffer.getvalue()


def read_csv(text: str) -> list[dict[str, str]]:
    """Parse a file ``write_csv`` wrote back into its values (the rule above, undone)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [restore(cell) for cell in next(reader, [])]
    return [dict(zip(header, (restore(cell) for cell in row), strict=True)) for row in reader]
