"""``portalbot config init``: a commented ``portalbot.toml`` to start a server from.

Every setting is in it with its default, so the file is also the reference; it holds no
secret (logins live in the keyring) and is written owner-only like everything else.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from portalbot.cli.common import EXIT_USAGE, fail, say
from portalbot.text import for_terminal


def template() -> str:
    return resources.files("portalbot").joinpath("templates/portalbot.toml").read_text("utf-8")


@click.group("config")
def config_group() -> None:
    """Write and check the configuration file."""


@config_group.command("init")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False),
                default=Path("portalbot.toml"))
@click.option("--force", is_flag=True, help="Replace an existing file.")
def config_init(path: Path, force: bool) -> None:
    """Write a commented portalbot.toml at PATH (default: ./portalbot.toml)."""
    from portalbot.private import write_private

    if path.exists() and not force:
        fail(for_terminal(f"{path} exists; give --force to replace it"), EXIT_USAGE)
    write_private(path, template().encode("utf-8"))
    say(f"portalbot: wrote {for_terminal(path)}; edit data_dir, ledger_url and the payers, "
        "then `portalbot --config FILE config check`")


@config_group.command("check")
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Read the configuration (file, environment, options) and say what it resolves to."""
    from portalbot.cli.common import settings_for
    from portalbot.ledger.urls import display_url

    settings = settings_for(ctx)
    say(f"portalbot: configuration ok; data in {for_terminal(settings.data_dir)}, ledger "
        f"{for_terminal(display_url(settings.resolved_ledger_url))}, "
        f"payers configured: {', '.join(sorted(settings.payers)) or 'none'}")
