"""The one display rule (``portalbot.text``), the one CSV rule (``portalbot.csvfile``) and
the claim boundary that refuses control characters."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

from portalbot.claims import load_claims
from portalbot.csvfile import FORMULA_START, neutralise, read_csv, write_csv
from portalbot.text import cell, control_characters, for_terminal, visible
from tests.helpers import CLAIMS


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b[31mred", "\\x1b[31mred"),
    ("a\x00b", "a\\x00b"),
    ("one\ntwo\r\tx", "one\\ntwo\\r\\tx"),
    ("\u202eevil\u202c", "\\u202eevil\\u202c"),
    ("zero\u200bwidth\u2028line", "zero\\u200bwidth\\u2028line"),
    ("\x9b31m", "\\x9b31m"),  # the 8-bit CSI
    ("Ann Lee, café [/]", "Ann Lee, café [/]"),
])
def test_visible_writes_every_control_format_and_bidi_character_as_an_escape(
    raw: str, shown: str
) -> None:
    assert visible(raw) == shown


def test_a_traceback_may_keep_its_line_breaks_but_nothing_else() -> None:
    assert visible("line 1\nline\x1b 2", keep_newlines=True) == "line 1\nline\\x1b 2"


@pytest.mark.parametrize("value", ["CLM-[/]", "[link=https://evil.example/]x[/link]",
                                   "[black on black]hidden[/]", "[bold", "\\[x]"])
def test_markup_in_a_value_is_printed_literally_never_interpreted(value: str) -> None:
    console = Console(file=io.StringIO(), width=200, color_system="truecolor")
    table = Table()
    table.add_column("claim")
    table.add_row(cell(value))
    console.print(table)
    console.print(f"[bold]claim:[/] {for_terminal(value)}", highlight=False)
    printed = console.file.getvalue()  # type: ignore[attr-defined]
    assert printed.count(value) == 2
    assert "\x1b]8;" not in printed  # no terminal hyperlink


@given(st.lists(st.text(max_size=30), min_size=1, max_size=6))
def test_every_csv_cell_is_neutralised_and_parses_back_to_its_value(values: list[str]) -> None:
    columns = [f"c{n}" for n in range(len(values))]
    text = write_csv(columns, [dict(zip(columns, values, strict=True))])
    (row,) = read_csv(text)
    assert list(row.values()) == values
    import csv

    for raw in csv.reader(io.StringIO(text, newline="")):
        assert not any(value.startswith(FORMULA_START) for value in raw)


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'x"])
def test_the_documented_rule_prefixes_formula_starts_and_quotes_with_one_quote(value: str) -> None:
    assert neutralise(value) == "'" + value
    assert neutralise("plain") == "plain" and neutralise(None) == ""


def _claim_file(tmp_path: Path, edit: dict[str, object]) -> Path:
    document = json.loads((CLAIMS / "demo.json").read_text(encoding="utf-8"))
    claim = (document if isinstance(document, list) else document["claims"])[0]
    for dotted, value in edit.items():
        target = claim
        *parents, leaf = dotted.split(".")
        for part in parents:
            target = target[part]
        target[leaf] = value
    path = tmp_path / "one.json"
    path.write_text(json.dumps([claim]), encoding="utf-8")
    return path


@pytest.mark.parametrize("field", [
    "claim_id", "payer_id", "patient.first_name", "patient.address.line1", "subscriber.member_id",
    "billing_provider.name", "consent.document_ref",
])
@pytest.mark.parametrize("control", ["\x00", "\x1b", "\n", "\x7f"])
def test_the_claim_boundary_refuses_control_characters_naming_the_field(
    tmp_path: Path, field: str, control: str
) -> None:
    batch = load_claims(_claim_file(tmp_path, {field: f"AB{control}CD"}))
    assert batch.claims == []
    (problem,) = batch.problems
    assert problem.field == field
    assert problem.message.startswith("must not contain control characters")
    assert control not in str(problem)


def test_control_characters_allows_what_it_is_told_to() -> None:
    assert control_characters("a\x00b") and not control_characters("a\nb", allow="\n")
    assert not control_characters("plain text, café")
