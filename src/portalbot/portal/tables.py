"""The legacy table-layout shape, where a field has no ``<label>``.

On such pages a person reads a field's name from the cell beside it ("Beneficiary MBI:"
then the box), and a grid's column from its header row. ``cell_field`` and ``Grid``
locate the same way, so a redesign that renames ids and classes or reorders rows and
columns changes nothing. ``TableFormAdapter`` runs a field map on such a page: a box's
label is its caption cell; a repeating group with ``within="{n}"`` is a grid row (the
row whose first cell reads the item's number), its boxes' labels the grid's columns.
"""

from __future__ import annotations

import re
from typing import ClassVar

from playwright.async_api import Locator

from portalbot.errors import AdapterError
from portalbot.portal.fields import Fill
from portalbot.portal.kit import Container
from portalbot.portal.labelled import LabelledFormAdapter


def caption(text: str) -> re.Pattern[str]:
    """The caption cell's whole text: the name, an optional colon, nothing else."""
    return re.compile(rf"^\s*{re.escape(text)}\s*:?\s*$")


def _is_text(text: str) -> str:
    """An XPath test that the context node reads ``text``, with or without a colon."""
    if "'" in text:
        raise ValueError("captions with an apostrophe are not supported")
    return f"(normalize-space(.)='{text}' or normalize-space(.)='{text}:')"


async def cell_field(scope: Container, text: str) -> Locator:
    """The input or select in the cell right of the cell that reads ``text``."""
    field = scope.locator(
        f"xpath=//td[{_is_text(text)}]/following-sibling::td[1]"
        "//*[self::input or self::select or self::textarea]"
    )
    found = await field.count()
    if found != 1:
        problem = "has no field named" if not found else "has more than one field named"
        raise AdapterError(f"the form {problem} {text!r}", step="fill")
    return field


class Grid:
    """A table of input rows under a header row: cells found by row number and column name."""

    def __init__(self, scope: Container, first_column: str):
        self.scope = scope
        self.first_column = first_column
        self.columns: dict[str, int] = {}

    async def read_header(self) -> Grid:
        header = self.scope.locator(f"xpath=//tr[th[{_is_text(self.first_column)}]]")
        if await header.count() != 1:
            raise AdapterError(f"no grid with a {self.first_column!r} column", step="fill")
        names = [" ".join(h.split()) for h in await header.locator("th").all_inner_texts()]
        self.columns = {name.rstrip(":"): index + 1 for index, name in enumerate(names)}
        return self

    def cell(self, row: str, column: str) -> Locator:
        if column not in self.columns:
            raise AdapterError(f"the service-line grid has no column {column!r}", step="fill")
        return self.scope.locator(
            f"xpath=//tr[th[{_is_text(self.first_column)}]]/ancestor::table[1]"
            f"//tr[td[1][{_is_text(row)}]]/td[{self.columns[column]}]//input"
        )


async def _put(field: Locator, value: str | bool) -> None:
    if isinstance(value, bool):
        await field.set_checked(value)
    elif await field.evaluate("(el) => el.tagName") == "SELECT":
        await field.select_option(value)
    else:
        await field.fill(value)


class TableFormAdapter(LabelledFormAdapter):
    """A labelled-form adapter whose labels are caption cells and whose lines are a grid."""

    grid_first_column: ClassVar[str] = "Ln"

    async def fill_part(self, scope: Container, part: Fill) -> None:
        if part.within is None:
            for text, value in part.labels.items():
                await _put(await cell_field(scope, text), value)
            return
        grid = await Grid(scope, self.grid_first_column).read_header()
        for column, value in part.labels.items():
            await _put(grid.cell(part.within, column), value)
