"""``portalbot ledger`` (what happened to each claim, and the ledger's upkeep: backup,
migrate, requeue) and ``portalbot worklist`` (the claims that need a person)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from portalbot.cli.common import (
    environment_errors,
    err,
    one_version,
    open_ledger,
    out,
    settings_for,
    usage_error,
)
from portalbot.cli.views import detail, latest_screenshot
from portalbot.text import cell, for_terminal, visible


@click.group(invoke_without_command=True)
@click.option("--batch", "batch_id", help="Only this batch.")
@click.option("--state", help="Only claims in this state.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def ledger(ctx: click.Context, batch_id: str | None, state: str | None, fmt: str) -> None:
    """What happened to each claim (default), and ledger maintenance."""
    if ctx.invoked_subcommand is not None:
        return
    from portalbot.ledger.urls import display_url

    settings = settings_for(ctx)
    store = open_ledger(settings)
    records = store.claims_in_batch(batch_id) if batch_id else store.all_claims(state)
    if state:
        records = [r for r in records if r.state == state]
    if fmt == "json":
        out.print_json(json.dumps([
            {"claim_id": r.claim_id, "version": r.version, "payer_id": r.payer_id,
             "state": r.state, "confirmation": r.confirmation, "reason_code": r.reason_code,
             "reason": r.reason, "portal_key": r.portal_key, "attempts": r.attempt_count,
             "screenshot": latest_screenshot(store, r) or None,
             "events": [{"at": e["at"].isoformat(), "from": e["from_state"], "to": e["to_state"],
                         "reason": e["reason"], "worker": e["worker"]} for e in store.events(r.pk)]}
            for r in records
        ]), ensure_ascii=True)  # JSON's own escapes: no control or BIDI character goes out raw
        return
    table = Table(title=Text(f"Ledger {visible(display_url(settings.resolved_ledger_url))}"))
    for column in ("claim", "v", "payer", "state", "confirmation or reason", "attempts", "portal key"):
        table.add_column(column, overflow="fold")
    for r in records:
        table.add_row(*map(cell, (r.claim_id, r.version, r.payer_id, r.state, detail(r),
                                  r.attempt_count, r.portal_key)))
    out.print(table)


@ledger.command("backup")
@click.argument("target", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def ledger_backup(ctx: click.Context, target: Path) -> None:
    """Copy a SQLite ledger while it is in use (PostgreSQL: use pg_dump)."""
    store = open_ledger(settings_for(ctx))
    with environment_errors():
        store.backup(target)
    err.print(f"portalbot: ledger copied to {for_terminal(target)}", highlight=False)


@ledger.command("migrate")
@click.pass_context
def ledger_migrate(ctx: click.Context) -> None:
    """Bring the ledger's schema to the newest version."""
    from portalbot.ledger.urls import display_url

    settings = settings_for(ctx)
    open_ledger(settings).close()  # opening migrates
    err.print(f"portalbot: ledger {for_terminal(display_url(settings.resolved_ledger_url))} is up to date",
              highlight=False)


@ledger.command("requeue")
@click.argument("claim_id")
@click.option("--version", type=click.IntRange(1), help="Which version (default: the newest).")
@click.option("--reason", required=True, help="What the person checked, for the ledger's record.")
@click.option("--checked-portal", is_flag=True,
              help="For an in_doubt claim: a person searched the portal and it is not there.")
@click.pass_context
def ledger_requeue(ctx: click.Context, claim_id: str, version: int | None, reason: str,
                   checked_portal: bool) -> None:
    """Put a failed or needs_human claim back on the queue after a person checked the portal."""
    from portalbot.claims import Claim
    from portalbot.ledger import RequeueRefused
    from portalbot.logs import register_claim_phi, scrub

    if not reason.strip():
        usage_error(f"claim {claim_id}: --reason is empty; say what was checked on the portal")
    store = open_ledger(settings_for(ctx))
    record = one_version(store, claim_id, version)
    register_claim_phi(Claim.model_validate(record.payload))  # a typed reason may name the patient
    person = getpass.getuser()
    try:
        requeued = store.requeue(record.pk, person, scrub(reason.strip()),
                                 checked_portal=checked_portal)
    except RequeueRefused as exc:
        usage_error(for_terminal(exc))
    err.print(f"portalbot: claim {claim_id} v{requeued.version} is queued again "
              f"(by {person}); `portalbot resubmit` or a worker will send it", highlight=False)


@click.command()
@click.option("--payer", "payers", multiple=True, help="Only these payers (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@click.option("--pending-days", type=click.FloatRange(0), default=14.0, show_default=True,
              help="List pending claims older than this.")
@click.pass_context
def worklist(ctx: click.Context, payers: tuple[str, ...], fmt: str, pending_days: float) -> None:
    """Claims that need a person, grouped by payer and reason, most urgent first."""
    from portalbot.worklist import build_worklist, to_csv

    settings = settings_for(ctx)
    ledger = open_ledger(settings)
    items = build_worklist(ledger, settings, payer_ids=list(payers) or None,
                           pending_days=pending_days)
    if fmt == "csv":
        click.echo(to_csv(items), nl=False)
        return
    table = Table(title=f"Worklist: {len(items)} claims")
    for column in ("payer", "reason", "claim", "v", "confirmation", "amount", "days left", "detail"):
        table.add_column(column, overflow="fold")
    group = None
    for item in items:
        if (item.payer_id, item.reason) != group:
            group = (item.payer_id, item.reason)
            table.add_section()
        days = "" if item.days_left is None else str(item.days_left)
        table.add_row(*map(cell, (item.payer_id, item.reason, item.claim_id, item.version,
                                  item.confirmation, f"{item.amount:.2f}", days, item.detail)))
    out.print(table)
