"""Helpers for legacy table-layout portals, where a field has no ``<label>``.

On such pages a person reads a field's name from the cell beside it ("Beneficiary MBI:"
then the box), and a grid's column from its header row. These helpers locate the same
way, so a redesign that renames ids and classes or reorders rows and columns changes
nothing here. Not an adapter: no ``payer_id``, so the registry skips this module.
"""

from __future__ import annotations

import re

from playwright.async_api import Frame, Locator, Page

from portalbot.errors import AdapterError

Scope = Page | Frame


def caption(text: str) -> re.Pattern[str]:
    """The caption cell's whole text: the name, an optional colon, nothing else."""
    return re.compile(rf"^\s*{re.escape(text)}\s*:?\s*$")


def _is_text(text: str) -> str:
    """An XPath test that the context node reads ``text``, with or without a colon."""
    if "'" in text:
        raise ValueError("captions with an apostrophe are not supported")
    return f"(normalize-space(.)='{text}' or normalize-space(.)='{text}:')"


async def cell_field(scope: Scope, text: str, payer_id: str | None = None) -> Locator:
    """The input or select in the cell right of the cell that reads ``text``."""
    field = scope.locator(
        f"xpath=//td[{_is_text(text)}]/following-sibling::td[1]"
        "//*[self::input or self::select or self::textarea]"
    )
    found = await field.count()
    if found != 1:
        problem = "has no field named" if not found else "has more than one field named"
        raise AdapterError(f"the form {problem} {text!r}", payer_id=payer_id, step="fill")
    return field


class Grid:
    """A table of input rows under a header row: cells found by row number and column name."""

    def __init__(self, scope: Scope, first_column: str, payer_id: str | None = None):
        self.scope = scope
        self.first_column = first_column
        self.payer_id = payer_id
        self.columns: dict[str, int] = {}

    async def read_header(self) -> Grid:
        header = self.scope.locator(f"xpath=//tr[th[{_is_text(self.first_column)}]]")
        if await header.count() != 1:
            raise AdapterError(
                f"no grid with a {self.first_column!r} column", payer_id=self.payer_id, step="fill"
            )
        names = [" ".join(h.split()) for h in await header.locator("th").all_inner_texts()]
        self.columns = {name.rstrip(":"): index + 1 for index, name in enumerate(names)}
        return self

    def cell(self, row: str, column: str) -> Locator:
        if column not in self.columns:
            raise AdapterError(
                f"the service-line grid has no column {column!r}", payer_id=self.payer_id,
                step="fill",
            )
        return self.scope.locator(
            f"xpath=//tr[th[{_is_text(self.first_column)}]]/ancestor::table[1]"
            f"//tr[td[1][{_is_text(row)}]]/td[{self.columns[column]}]//input"
        )
