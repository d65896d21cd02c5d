"""``portalbot scaffold`` against each mock portal: the draft imports, is of the portal's
shape, lists every field the form has, and maps the known ones.

"Every field" is not a list written here: the test signs in to the portal in Chromium,
marks every control of the claim form (all wizard steps, hidden ones included; the
legacy table's unlabelled boxes), then resolves each of the draft's labels the way its
base class will at run time (``get_by_label``, a radio group or combobox by name, a
caption cell, a grid row and column) — every control must be reached by exactly one
drafted label, and every drafted label must reach exactly one control. "The known ones"
are compared with the payer's own hand-written adapter: a box both declare under the same
label must map the same claim field.
"""

from __future__ import annotations

import asyncio
import importlib.util
import stat
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.async_api import Frame, Locator, async_playwright

from portalbot import credentials
from portalbot.adapters import Credentials, discover_adapters
from portalbot.authoring.scaffold import scaffold, sign_in
from portalbot.browser import launch
from portalbot.cli import main
from portalbot.config import BrowserSettings
from portalbot.portal import (
    Box,
    Each,
    Grid,
    LabelledFormAdapter,
    TableFormAdapter,
    WizardAdapter,
    cell_field,
)
from portalbot.portal.fields import LETTERS

from .conftest import Portals

FORMS = {  # payer: (claim form, sign-in page)
    "acme": ("/claims/new", "/login"),
    "blueriver": ("/app/claims/new", "/signin"),
    "keystone": ("/claims/entry", "/"),
}
BROWSER = BrowserSettings(action_timeout_s=8.0)
# Every form control a person can fill; radio buttons of one name are one field.
MARK_CONTROLS = """() => {
  const skip = new Set(["hidden", "submit", "button", "reset", "image"]);
  const controls = [...document.querySelectorAll("input, select, textarea")]
    .filter(el => !skip.has((el.getAttribute("type") || "").toLowerCase()));
  const marks = {}; const shown = {};
  controls.forEach((el, n) => {
    const mark = el.type === "radio" ? "radio:" + el.name : String(n);
    el.dataset.truth = mark;
    shown[mark] = el.outerHTML.slice(0, 160);
  });
  return shown;
}"""


def _draft(tmp_path: Path, portals: Portals, payer_id: str) -> tuple[ModuleType, str]:
    form, sign_in_path = FORMS[payer_id]
    base = portals.server(payer_id).base_url
    out = tmp_path / f"{payer_id}.py"
    asyncio.run(scaffold(payer_id, base + form, base + sign_in_path, portals.login(payer_id),
                         out, BROWSER))
    spec = importlib.util.spec_from_file_location(f"draft_{payer_id}", out)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, out.read_text()


def _adapter(module: ModuleType) -> type[LabelledFormAdapter]:
    return next(v for v in vars(module).values() if isinstance(v, type)
                and issubclass(v, LabelledFormAdapter) and "payer_id" in vars(v))


def _labels(fields: tuple[Box | Each, ...]) -> list[tuple[Box, str, str | None]]:
    """Every concrete label a field map fills: (box, label, the item's row or None)."""
    found: list[tuple[Box, str, str | None]] = []
    for spec in fields:
        if isinstance(spec, Box):
            found.append((spec, spec.label, None))
            continue
        for n in range(1, spec.most + 1):
            names = {"n": n, "letter": LETTERS[n - 1]}
            within = spec.within.format(**names) if spec.within else None
            found.extend((box, box.label.format(**names), within) for box in spec.boxes)
    return found


async def _reach(adapter: type[LabelledFormAdapter], frame: Frame, box: Box, label: str,
                 row: str | None) -> Locator:
    """The controls a drafted label reaches, located as the adapter's base class will."""
    if issubclass(adapter, TableFormAdapter):
        if row is None:
            return await cell_field(frame, label)
        grid = await Grid(frame, adapter.grid_first_column).read_header()
        return grid.cell(row, label)
    if box.kind == "radio":
        return frame.get_by_role("radiogroup", name=label, exact=True,
                                 include_hidden=True).locator("input[type=radio]")
    if box.kind == "autocomplete":
        return frame.get_by_role("combobox", name=label, exact=True, include_hidden=True)
    return frame.get_by_label(label, exact=True)


async def _reached(adapter: type[LabelledFormAdapter], base_url: str, form_path: str,
                   sign_in_path: str, login: Credentials) -> tuple[dict[str, str],
                                                                    dict[str, list[str]]]:
    """Sign in, open the form in Chromium, mark its controls and resolve every drafted
    label: (every control's mark → its HTML, each label → the marks it reached)."""
    async with async_playwright() as playwright:
        browser = await launch(playwright, BROWSER)
        try:
            page = await (await browser.new_context()).new_page()
            page.set_default_timeout(BROWSER.action_timeout_s * 1000)
            await sign_in(page, base_url + sign_in_path, login)
            await page.goto(base_url + form_path)
            await page.wait_for_load_state("networkidle")
            frame = page.main_frame
            controls: dict[str, str] = await frame.evaluate(MARK_CONTROLS)
            reached: dict[str, list[str]] = {}
            for box, label, row in _labels(adapter.fields):
                found = await _reach(adapter, frame, box, label, row)
                marks = await found.evaluate_all("els => els.map(e => e.dataset.truth || '')")
                reached[f"{label} (row {row})" if row else label] = sorted(set(marks))
        finally:
            await browser.close()
    return controls, reached


def _shape(adapter: type[Any]) -> str:
    return next(base.__name__ for base in (WizardAdapter, TableFormAdapter, LabelledFormAdapter)
                if issubclass(adapter, base))


@pytest.mark.browser
@pytest.mark.parametrize("payer_id", sorted(FORMS))
def test_scaffold_drafts_an_adapter_that_imports_lists_every_field_and_maps_known_ones(
        payer_id: str, tmp_path: Path, portals: Portals) -> None:
    portals.reset_all()
    module, text = _draft(tmp_path, portals, payer_id)
    draft = _adapter(module)
    real = discover_adapters()[payer_id]
    assert draft.payer_id == payer_id and draft.form_type is not None
    assert _shape(draft) == _shape(real), "the draft is not of the portal's shape"
    assert stat.S_IMODE((tmp_path / f"{payer_id}.py").stat().st_mode) == 0o600

    form, sign_in_path = FORMS[payer_id]
    portals.reset_all()  # forgets the one-time code the scaffold signed in with
    controls, reached = asyncio.run(_reached(draft, portals.server(payer_id).base_url, form,
                                             sign_in_path, portals.login(payer_id)))
    assert len(controls) > 10
    ambiguous = {label: marks for label, marks in reached.items() if len(marks) != 1}
    assert not ambiguous, f"drafted labels reaching no control or several: {ambiguous}"
    missed = set(controls) - {marks[0] for marks in reached.values()}
    assert not missed, f"controls the draft does not list: {[controls[m] for m in missed]}"

    # known fields mapped: the same claim field as the hand-written adapter's same label
    mine = {label: box for box, label, _ in _labels(draft.fields)}
    theirs = {label: box for box, label, _ in _labels(real.fields)}  # type: ignore[attr-defined]
    shared = [label for label in mine if label in theirs and isinstance(theirs[label].value, str)
              and isinstance(mine[label].value, str)]
    assert len(shared) >= 8, shared
    wrong = {label: (mine[label].value, theirs[label].value) for label in shared
             if mine[label].value != theirs[label].value}
    assert not wrong, f"drafted mappings that differ from the adapter's: {wrong}"
    for label in ("patient.last_name", "subscriber.member_id", "rendering_provider.npi",
                  "patient.birth_date", "date_of_service", "code", "filing.portal_key"):
        assert any(box.value == label for box in mine.values()), f"nothing maps {label}"
    unmapped = [line for line in text.splitlines() if 'lambda _row: ""' in line]
    assert all("TODO" in line for line in unmapped)


@pytest.mark.browser
def test_scaffold_refuses_to_overwrite_without_force(tmp_path: Path, portals: Portals) -> None:
    base = portals.server("acme").base_url
    credentials.store("acme", "default", portals.login("acme"))
    out = tmp_path / "acme.py"
    out.write_text("# mine\n")
    args = ["--data-dir", str(tmp_path / "data"), "scaffold", "acme", "--url",
            base + "/claims/new", "--sign-in-url", base + "/login", "--out", str(out)]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 3 and "--force" in refused.output
    assert out.read_text() == "# mine\n"
    done = CliRunner().invoke(main, [*args, "--force"])
    assert done.exit_code == 0, done.output
    assert "class AcmeAdapter(pb.LabelledFormAdapter)" in out.read_text()
