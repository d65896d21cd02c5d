"""The command list: every command is where the list says, says what it does, and the
top-level help imports none of the heavy parts (ledger, engine, browser)."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from portalbot.cli import COMMANDS, load_command, main


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    first_line = (command.help or "").strip().splitlines()[0]
    assert COMMANDS[name][1] == first_line


def _every_command(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{prefix}{name} is listed but cannot be loaded"
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += _every_command(command, f"{prefix}{name} ")
    return found


def test_every_command_and_subcommand_has_help_text() -> None:
    silent = [name for name, command in _every_command(main) if not (command.help or "").strip()]
    assert silent == []


HEAVY = ("portalbot.ledger", "portalbot.engine", "playwright", "sqlalchemy", "structlog")


# rich is left out of the top-level help too (click prints it); `validate` imports its
# consoles with the module.
@pytest.mark.parametrize(("argv", "heavy"), [
    (["--help"], (*HEAVY, "rich")),
    (["validate", "--help"], HEAVY),
])
def test_help_does_not_import_the_ledger_or_the_engine(argv: list[str], heavy: tuple[str, ...]) -> None:
    probe = (
        "import sys\n"
        "from portalbot.cli import run\n"
        f"sys.argv = ['portalbot', *{argv!r}]\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        f"heavy = [m for m in {heavy!r} if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "HEAVY []" in done.stderr
