"""``portalbot scaffold`` against each mock portal: the draft imports, lists every field
the form has (the labels the payer's own adapter fills), and maps the known ones."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import stat
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from portalbot import credentials
from portalbot.authoring.scaffold import scaffold
from portalbot.cli import main
from portalbot.config import BrowserSettings
from portalbot.portal import Box, Each, LabelledFormAdapter

from .conftest import Portals

FORMS = {  # payer: (claim form, sign-in page, a label and the expression it must map to)
    "acme": ("/claims/new", "/login", "Member ID", '"subscriber.member_id"'),
    "blueriver": ("/app/claims/new", "/signin", "Line {n} units", '"units"'),
    "keystone": ("/claims/entry", "/", "Beneficiary MBI", '"subscriber.member_id"'),
}


def _draft(tmp_path: Path, portals: Portals, payer_id: str) -> tuple[ModuleType, str]:
    form, sign_in, _, _ = FORMS[payer_id]
    base = portals.server(payer_id).base_url
    out = tmp_path / f"{payer_id}.py"
    asyncio.run(scaffold(payer_id, base + form, base + sign_in, portals.login(payer_id), out,
                         BrowserSettings(action_timeout_s=8.0)))
    spec = importlib.util.spec_from_file_location(f"draft_{payer_id}", out)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, out.read_text()


def _adapter(module: ModuleType) -> type[LabelledFormAdapter]:
    return next(v for v in vars(module).values() if isinstance(v, type)
                and issubclass(v, LabelledFormAdapter) and "payer_id" in vars(v))


def _declared_labels(fields: tuple[Box | Each, ...]) -> set[str]:
    found = set()
    for spec in fields:
        boxes = [spec] if isinstance(spec, Box) else list(spec.boxes)
        for box in boxes:
            found.add(box.label.format(n=1, letter="A").replace("Line 1", "Line {n}"))
    return found


@pytest.mark.browser
@pytest.mark.parametrize("payer_id", sorted(FORMS))
def test_scaffold_drafts_an_adapter_that_imports_lists_every_field_and_maps_known_ones(
        payer_id: str, tmp_path: Path, portals: Portals) -> None:
    portals.reset_all()
    module, text = _draft(tmp_path, portals, payer_id)
    draft = _adapter(module)
    assert draft.payer_id == payer_id and draft.form_type is not None
    drafted = _declared_labels(draft.fields)
    drafted |= {label.removeprefix("Line {n} ") for label in drafted}  # a grid's column
    if payer_id != "blueriver":  # a declarative adapter: every label it fills is in the draft
        from portalbot.adapters import discover_adapters
        real = discover_adapters()[payer_id]
        wanted = {re.sub(r"\s+", " ", lbl) for lbl in _declared_labels(real.fields)}  # type: ignore[attr-defined]
        assert wanted <= drafted, sorted(wanted - drafted)
    _, _, label, expr = FORMS[payer_id]
    assert f"{label!r}, {expr}" in text, f"{label} is not mapped to {expr}"
    assert "pb.key(" in text, "the portal key's box is not recognised"
    assert "TODO" in text
    assert stat.S_IMODE((tmp_path / f"{payer_id}.py").stat().st_mode) == 0o600


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
