"""``authoring.draft.render`` without a browser: the shape chosen from how fields are
named, and a draft that always imports (the live-portal test is tests/e2e/test_scaffold.py)."""

from __future__ import annotations

from typing import Any

import pytest

from portalbot.authoring.draft import render, shape
from portalbot.authoring.form_reader import FormField
from portalbot.portal import Each, LabelledFormAdapter, TableFormAdapter, WizardAdapter


def _field(label: str, **about: Any) -> FormField:
    return FormField(label, about.pop("type", "text"), about.pop("options", ()), False, 0,
                     **about)


def _adapter(fields: list[FormField], frame: str | None = None) -> type[LabelledFormAdapter]:
    text, _ = render("newpayer", "https://p.example", "/claims/new", "/login", fields, frame)
    namespace: dict[str, Any] = {"__name__": "draft"}
    exec(compile(text, "draft.py", "exec"), namespace)
    return namespace["NewpayerAdapter"]  # type: ignore[no-any-return]


def test_a_table_layout_drafts_caption_cells_and_a_lines_grid() -> None:
    fields = [_field("Beneficiary MBI", how="cell"), _field("Patient Control No", how="cell"),
              *(_field(f"Line {n} {c}", how="column", row=str(n), column=c, first="Line")
                for n in (1, 2) for c in ("HCPCS", "Units"))]
    assert shape(fields) == "table"
    adapter = _adapter(fields, frame="main")
    assert issubclass(adapter, TableFormAdapter)
    assert adapter.frame == "main" and adapter.grid_first_column == "Line"
    lines = adapter.fields[-1]
    assert isinstance(lines, Each) and lines.within == "{n}" and lines.most == 2
    assert [b.label for b in lines.boxes] == ["HCPCS", "Units"]
    assert adapter.portal_key_field == "patient_control_no"


def test_steps_some_hidden_draft_a_wizard_whose_last_step_is_the_review() -> None:
    fields = [_field("Member ID", step="Step 1: Patient", level=2),
              _field("Sex", type="radio", options=("Female", "Male"), step="Step 1: Patient",
                     level=2),
              _field("Line 1 procedure code", type="combobox", step="Step 2: Services",
                     level=2, hidden=True, add="Add service line"),
              _field("I certify", type="checkbox", step="Step 3: Review", level=2, hidden=True)]
    assert shape(fields) == "wizard"
    adapter = _adapter(fields)
    assert issubclass(adapter, WizardAdapter)
    assert [s.ready.name for s in adapter.steps] == ["Step 1: Patient", "Step 2: Services",
                                                     "Step 3: Review"]
    assert type(adapter.steps[-1]).__name__ == "Review"
    sex = adapter.steps[0].fields[1]
    assert sex.kind == "radio" and dict(sex.options) == {"F": "Female", "M": "Male"}
    lines = adapter.steps[1].fields[0]
    assert isinstance(lines, Each) and lines.add == "Add service line"
    assert lines.boxes[0].kind == "autocomplete"


@pytest.mark.parametrize("hidden", [False, True])
def test_fieldsets_all_shown_are_one_form_not_a_wizard(hidden: bool) -> None:
    fields = [_field("Member ID", step="Patient"), _field("Billing NPI", step="Provider",
                                                          hidden=hidden)]
    assert shape(fields) == ("wizard" if hidden else "labelled")
    if not hidden:
        adapter = _adapter(fields)
        assert not issubclass(adapter, (WizardAdapter, TableFormAdapter))
        unknown = [*fields, _field("Favourite colour")]
        draft = render("newpayer", "https://p", "/", "/", unknown)[0]
        (line,) = [x for x in draft.splitlines() if "Favourite colour" in x]
        assert 'lambda _row: ""' in line and "TODO: map it" in line
