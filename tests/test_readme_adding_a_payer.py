"""The README's "Adding a payer" is self-contained: every ``portalbot.*`` name it mentions
imports, every ``pb.*`` name is in ``portalbot.portal``, every ``portalbot <command>`` is a
command, every ``fixtures.*`` module imports, and every repository path it names exists
(a path with a ``<placeholder>`` is checked up to the placeholder; the recordings folder
the commands create is checked against ``recordings_dir``). Names are read from the
section's text, never listed here, so a name the README starts to mention is checked too.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

from portalbot import portal
from portalbot.authoring.record import recordings_dir
from portalbot.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SECTION = README[README.index("\n## Adding a payer\n"):]
SECTION = SECTION[: SECTION.index("\n## ", 1)]
EXAMPLE = "\n".join(re.findall(r"```python\n(.*?)```", SECTION, re.DOTALL))
SPANS = "\n".join(re.findall(r"`([^`\n]+)`", SECTION))
CODE = SPANS + "\n" + EXAMPLE
ROOTS = ("payers", "fixtures", "tests", "src", "bench", "docs", "deploy")


def _resolve(dotted: str) -> Any:
    """Import the longest module prefix of ``dotted``, then read the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(dotted)


DOTTED = sorted(set(re.findall(r"\b(?:portalbot|fixtures)(?:\.[A-Za-z_]\w*)+", CODE)))
PB = sorted(set(re.findall(r"\bpb\.([A-Za-z_]\w*)", CODE)))
COMMAND_WORDS = sorted(set(re.findall(r"^portalbot ([a-z][a-z-]*)", CODE, re.MULTILINE)))
# The worked example's own claim file is the one the reader writes: not in the repository.
PATHS = sorted({p.rstrip("/.,") for p in re.findall(r"[\w./<>-]+", SPANS)
                if p.split("/")[0] in ROOTS and "/" in p})
# Bare names in `code` spans: classes (CamelCase) and calls (`name(…)`).
NAMESPACES = ("portalbot.portal", "portalbot.totp", "portalbot.adapters", "portalbot.outcomes",
              "fixtures.portals.acme")  # a mock portal module (`create_app`)
BARE = sorted({n for n in re.findall(r"(?<![\w.])([A-Z][a-z]+[A-Z]\w*|[a-z_]+(?=\())", SPANS)}
              - {"portalbot"})


def test_the_section_names_things_to_check() -> None:
    assert len(DOTTED) >= 5 and len(PB) >= 20 and len(COMMAND_WORDS) >= 4 and len(PATHS) >= 6


@pytest.mark.parametrize("dotted", DOTTED)
def test_every_dotted_name_imports(dotted: str) -> None:
    if dotted == "portalbot.toml":  # the configuration file the settings read
        assert '"portalbot.toml"' in (ROOT / "src/portalbot/config.py").read_text()
        return
    if dotted == "portalbot.payers":  # the registry's entry-point group
        assert 'group="portalbot.payers"' in (
            ROOT / "src/portalbot/adapters/registry.py").read_text()
        return
    _resolve(dotted)


@pytest.mark.parametrize("name", PB)
def test_every_pb_name_is_in_the_toolkit(name: str) -> None:
    assert hasattr(portal, name), f"pb.{name} is not in portalbot.portal"


@pytest.mark.parametrize("word", COMMAND_WORDS)
def test_every_command_exists(word: str) -> None:
    assert word in COMMANDS, f"`portalbot {word}` is not a command"


@pytest.mark.parametrize("path", PATHS)
def test_every_repository_path_exists(path: str) -> None:
    known = path.split("<", 1)[0]
    if "<" in path:
        made = recordings_dir(ROOT, "x").parent
        if (ROOT / known) == made or (ROOT / known).resolve() == made.resolve():
            return  # the folder `portalbot record` creates
        assert (ROOT / known).exists() or (ROOT / known).parent.is_dir(), path
        return
    assert (ROOT / known).exists(), f"{path} is not in the repository"


@pytest.mark.parametrize("name", BARE)
def test_every_bare_name_is_in_a_module_the_section_names(name: str) -> None:
    homes = [m for m in NAMESPACES if hasattr(importlib.import_module(m), name)]
    hooks = {"check", "after_fill", "check_status", "find_submission", "to_form",
             "open_form", "route_from_har"}  # adapter hooks, and Playwright's own
    assert homes or name in hooks, f"{name} is in none of {NAMESPACES}"
    if name in hooks and name != "route_from_har":
        from portalbot.portal import LabelledFormAdapter
        assert hasattr(LabelledFormAdapter, name)


def test_the_worked_example_declares_an_adapter_under_100_lines() -> None:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(EXAMPLE, "README.md (Adding a payer)", "exec"), namespace)
    (adapter,) = [v for v in namespace.values() if isinstance(v, type)
                  and issubclass(v, portal.LabelledFormAdapter) and "payer_id" in vars(v)]
    assert adapter.portal_key_field == "account_number"
    assert {"member_id", "birth_date", "diagnoses", "lines"} <= set(adapter.form_type.model_fields)
    assert adapter.history_searchable and len(EXAMPLE.splitlines()) < 100
