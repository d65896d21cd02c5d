"""The payers and their set-up: ``payers`` (the adapters), ``payer pause|resume`` (for
every worker), ``credentials`` (portal logins in the OS keyring), ``check`` (each
portal's sign-in and form, nothing submitted), ``browser`` and ``evidence purge``."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys

import click
from rich.table import Table

from portalbot import credentials as keyring_credentials
from portalbot.adapters import Credentials, discover_adapters
from portalbot.cli.choices import adapter_payers, check_name, check_names, ledger_payers
from portalbot.cli.common import (
    EXIT_NEEDS_PERSON,
    environment_errors,
    err,
    open_ledger,
    out,
    settings_for,
)
from portalbot.evidence import EvidenceStore
from portalbot.text import for_terminal, visible


@click.command("payers")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def list_payers(fmt: str) -> None:
    """The payers portalbot has adapters for."""
    if fmt == "json":
        sys.stdout.write(json.dumps([
            {"payer_id": payer_id, "name": adapter.display_name,
             "portal": adapter.default_base_url, "history_search": adapter.history_searchable,
             "working": adapter.working, "broken_reason": adapter.broken_reason or None}
            for payer_id, adapter in sorted(discover_adapters().items())
        ], ensure_ascii=True) + "\n")
        return
    table = Table(title="Payers")
    for column in ("payer", "name", "portal", "history search", "working"):
        table.add_column(column)
    for payer_id, adapter in sorted(discover_adapters().items()):
        table.add_row(payer_id, adapter.display_name, adapter.default_base_url,
                      "yes" if adapter.history_searchable else "no",
                      "yes" if adapter.working else f"no: {adapter.broken_reason}")
    out.print(table)


@click.group("payer")
def payer_group() -> None:
    """Pause or resume a payer for every worker."""


@payer_group.command("pause")
@click.argument("payer_id")
@click.option("--reason", default="paused by an operator", show_default=True)
@click.pass_context
def payer_pause(ctx: click.Context, payer_id: str, reason: str) -> None:
    """Stop every worker sending PAYER_ID's claims until it is resumed."""
    ledger = open_ledger(settings_for(ctx))
    check_name("payer", payer_id, ledger_payers(ledger))
    ledger.open_circuit(payer_id, reason)
    err.print(f"portalbot: payer {for_terminal(payer_id)} paused")


@payer_group.command("resume")
@click.argument("payer_id")
@click.pass_context
def payer_resume(ctx: click.Context, payer_id: str) -> None:
    """Let workers send PAYER_ID's claims again (closes its circuit, whatever opened it)."""
    ledger = open_ledger(settings_for(ctx))
    check_name("payer", payer_id, ledger_payers(ledger))
    ledger.resume_payer(payer_id)
    err.print(f"portalbot: payer {for_terminal(payer_id)} resumed")


@click.group("credentials")
def credentials_group() -> None:
    """Portal passwords in the OS keyring (never in files or on command lines)."""


@credentials_group.command("set")
@click.argument("payer_id")
@click.option("--account", default="default", show_default=True)
@click.option("--username", help="The portal username (not a secret); asked for if left out.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--totp", is_flag=True, help="Also ask for the account's TOTP secret.")
def credentials_set(payer_id: str, account: str, username: str | None, password_stdin: bool,
                    totp: bool) -> None:
    """Store the portal login for PAYER_ID's ACCOUNT.

    Where the portal's sign-in asks for more than a username and password (Keystone: NPI
    and PTAN), each is asked for too and kept beside the password. With
    ``--password-stdin`` nothing is prompted for unless standard input is a terminal: the
    password is the first line, then the TOTP secret and the other fields, a line each.
    """
    check_name("payer", payer_id, adapter_payers())
    username = username or _ask("Username", secret=False)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else _ask("Password")
    secret = _ask("TOTP secret") if totp else None
    if not password:
        raise click.UsageError("an empty password was given")
    adapter = discover_adapters().get(payer_id)
    names = adapter.login_fields if adapter is not None else ()
    fields = {name: _ask(name.upper(), secret=False).strip() for name in names}
    with environment_errors():
        keyring_credentials.store(
            payer_id, account, Credentials(username, password, secret, fields=fields)
        )
    err.print(for_terminal(f"portalbot: stored credentials for {payer_id} account {account}"))


def _ask(label: str, *, secret: bool = True) -> str:
    """Prompt at a terminal; from a pipe read the next line, printing nothing."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(f"{label}: ") if secret else str(click.prompt(label))


@credentials_group.command("check")
@click.argument("payer_id")
@click.option("--account", default="default", show_default=True)
def credentials_check(payer_id: str, account: str) -> None:
    """Say whether the keyring holds a login for PAYER_ID's ACCOUNT."""
    check_name("payer", payer_id, adapter_payers())
    with environment_errors():
        found = keyring_credentials.lookup(payer_id, account)
    err.print(for_terminal(f"portalbot: {payer_id} account {account}: username {found.username}, password set"))


@credentials_group.command("delete")
@click.argument("payer_id")
@click.option("--account", default="default", show_default=True)
def credentials_delete(payer_id: str, account: str) -> None:
    """Remove the login for PAYER_ID's ACCOUNT from the keyring."""
    check_name("payer", payer_id, adapter_payers())
    with environment_errors():
        removed = keyring_credentials.delete(payer_id, account)
    err.print(for_terminal(f"portalbot: {'deleted' if removed else 'nothing stored for'} {payer_id} account {account}"))


@click.group("evidence")
def evidence_group() -> None:
    """Screenshots, page HTML and traces."""


@evidence_group.command("purge")
@click.option("--older-than", "days", type=click.FloatRange(0), required=True, help="Days to keep.")
@click.pass_context
def evidence_purge(ctx: click.Context, days: float) -> None:
    """Delete evidence older than the retention period."""
    settings = settings_for(ctx)
    ledger = open_ledger(settings)
    removed = EvidenceStore(settings.resolved_evidence_dir).purge(days)
    ledger.mark_evidence_purged(removed)
    err.print(f"portalbot: removed evidence of {len(removed)} attempts; the ledger keeps their record")


@click.command("browser")
@click.option("--install", is_flag=True, help="Install a Chromium when none is found.")
@click.pass_context
def browser_command(ctx: click.Context, install: bool) -> None:
    """Say which Chromium portalbot will drive (and install one with --install)."""
    from portalbot.browser import install_chromium, locate_chromium

    settings = settings_for(ctx)
    with environment_errors():
        found = (
            install_chromium(settings.browser, lambda line: err.print(f"portalbot: {line}"))
            if install else locate_chromium(settings.browser)
        )
    err.print(f"portalbot: browser: {found}", highlight=False)


@click.command("check")
@click.argument("payer_ids", nargs=-1, metavar="[PAYER]...")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_context
def check_command(ctx: click.Context, payer_ids: tuple[str, ...], fmt: str) -> None:
    """Sign in to each portal, open its claim form, find every field; submit nothing."""
    from portalbot.check import check_payers

    check_names("payer", payer_ids, adapter_payers())
    settings = settings_for(ctx)
    with environment_errors():
        results = asyncio.run(check_payers(settings, list(payer_ids) or None))
    if fmt == "json":
        sys.stdout.write(json.dumps([
            {"payer_id": r.payer_id, "ok": r.ok, "detail": r.detail,
             "screenshot": r.screenshot, "trace": r.trace} for r in results
        ], ensure_ascii=True) + "\n")
    for result in results if fmt == "text" else ():
        out.print(visible(result.line()), highlight=False, markup=False, soft_wrap=True)
    broken = [r.payer_id for r in results if not r.ok]
    if broken:
        err.print(f"portalbot: {len(broken)} of {len(results)} portals need attention: "
                  f"{', '.join(broken)}", highlight=False)
        sys.exit(EXIT_NEEDS_PERSON)
    err.print(f"portalbot: {len(results)} portals ok", highlight=False)
