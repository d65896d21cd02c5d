"""``portalbot worklist``: the claims that need a person, grouped so one payer call (or
one fix at the practice, for held claims) settles many."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from portalbot.cli.common import err, open_ledger, settings_for
from portalbot.cli.tables import Column, print_table, state_text

WORKLIST_COLUMNS = (
    Column("payer", drop=2), Column("reason", drop=1, wrap=True), Column("claim", keep=True),
    Column("v", drop=3), Column("state", keep=True),
    Column("confirmation or detail", keep=True, wrap=True),
    Column("amount", drop=4), Column("days left", drop=5),
)


@click.command()
@click.option("--payer", "payers", multiple=True, help="Only these payers (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--pending-days", type=click.FloatRange(0), default=14.0, show_default=True,
              help="List pending claims older than this.")
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True,
              help="How many claims the table shows (csv and json: every claim).")
@click.pass_context
def worklist(ctx: click.Context, payers: tuple[str, ...], fmt: str, pending_days: float,
             limit: int) -> None:
    """Claims that need a person, grouped by payer and reason, most urgent first."""
    from portalbot.cli.choices import check_names, ledger_payers
    from portalbot.worklist import build_worklist, to_csv

    settings = settings_for(ctx)
    ledger = open_ledger(settings)
    if payers:
        check_names("payer", payers, ledger_payers(ledger))
    items = build_worklist(ledger, settings, payer_ids=list(payers) or None,
                           pending_days=pending_days)
    if fmt == "csv":
        click.echo(to_csv(items), nl=False)
        return
    if fmt == "json":
        shown = [{**asdict(item), "amount": f"{item.amount:.2f}",
                  "date_of_service": item.date_of_service and item.date_of_service.isoformat(),
                  "filing_deadline": item.filing_deadline and item.filing_deadline.isoformat()}
                 for item in items]
        sys.stdout.write(json.dumps(shown, ensure_ascii=True) + "\n")
        return
    rows = [(item.payer_id, item.reason, item.claim_id, item.version, state_text(item.state),
             " ".join(filter(None, (item.confirmation, item.detail))), f"{item.amount:.2f}",
             "" if item.days_left is None else str(item.days_left)) for item in items[:limit]]
    print_table(f"Worklist: {len(items)} claims", WORKLIST_COLUMNS, rows)
    if len(items) > limit:
        err.print(f"portalbot: the {limit} most urgent shown; every claim: `--limit "
                  f"{len(items)}` or `--format csv`", highlight=False)
