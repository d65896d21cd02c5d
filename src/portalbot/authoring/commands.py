"""``portalbot record`` and ``portalbot scaffold``: the commands for adding a payer.

Registered on the main group by one line at the end of ``portalbot.cli``; they import
the CLI's helpers inside the commands (the CLI imports this module at its end).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from portalbot import credentials as keyring_credentials
from portalbot.logs import register_secrets


@click.command("record")
@click.argument("payer_id")
@click.option("--case", "claim_ids", multiple=True,
              help="Record this declared case (repeatable; default: the first case).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Where to keep the recording (default: payers/recordings/PAYER_ID).")
@click.option("--account", default="default", show_default=True)
@click.pass_context
def record_command(ctx: click.Context, payer_id: str, claim_ids: tuple[str, ...],
                   out: Path | None, account: str) -> None:
    """Keep one real portal session of PAYER_ID as a HAR recording, for its tests.

    Signs in, opens the claim form and fills it with the adapter's case; submits only
    where the adapter has a test mode. Passwords and cookies are scrubbed from the file."""
    from portalbot.adapters import adapter_for
    from portalbot.authoring.record import case_claim, record, recordings_dir
    from portalbot.cli.common import environment_errors, err, settings_for
    from portalbot.text import for_terminal

    settings = settings_for(ctx)
    with environment_errors():
        adapter_type = adapter_for(payer_id)
        adapter = adapter_type(settings.payer(payer_id).base_url)
        login = keyring_credentials.lookup(payer_id, account)
        register_secrets(login.password, login.totp_secret)
        cases = [c for c in adapter.cases if not claim_ids or c.claim_id in claim_ids][
            : len(claim_ids) or 1]
        if not cases:
            raise click.UsageError(f"{payer_id} declares no such case")
        folder = out or recordings_dir(Path.cwd(), payer_id)
        for case in cases:
            kept = asyncio.run(record(adapter, case, case_claim(case), login, folder,
                                      settings.browser,
                                      submit=bool(getattr(adapter, "test_mode", False))))
            how = "through submission (test mode)" if kept.submitted else "up to the submit button"
            err.print(for_terminal(f"portalbot: recorded {payer_id} {case.claim_id} {how}: "
                                   f"{folder / kept.har}"), highlight=False)


@click.command("scaffold")
@click.argument("payer_id")
@click.option("--url", required=True, help="The claim form's address.")
@click.option("--sign-in-url", help="The sign-in page (default: the form's address).")
@click.option("--account", default="default", show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing payers/PAYER_ID.py.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the draft (default: payers/PAYER_ID.py).")
@click.pass_context
def scaffold_command(ctx: click.Context, payer_id: str, url: str, sign_in_url: str | None,
                     account: str, force: bool, out: Path | None) -> None:
    """Write a draft adapter for PAYER_ID from its claim form at --url.

    Signs in with the keyring credentials, reads the form and writes every labelled field,
    the known ones mapped, the rest marked TODO."""
    from portalbot.authoring.scaffold import scaffold
    from portalbot.cli.common import environment_errors, err, settings_for
    from portalbot.text import for_terminal

    settings = settings_for(ctx)
    with environment_errors():
        login = keyring_credentials.lookup(payer_id, account)
        register_secrets(login.password, login.totp_secret)
        target = out or Path.cwd() / "payers" / f"{payer_id}.py"
        draft = asyncio.run(scaffold(payer_id, url, sign_in_url, login, target,
                                     settings.browser, force=force))
    err.print(for_terminal(f"portalbot: wrote {draft.path}: {len(draft.fields)} fields, "
                           f"{draft.mapped} mapped; edit the TODOs"), highlight=False)
