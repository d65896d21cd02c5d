"""``portalbot ledger`` (what happened to each claim, and the ledger's upkeep: backup,
migrate, requeue; ``ledger show`` is in ``cli.show``).

The default view holds at any ledger size: counts by payer and state, then the newest
claims a page at a time; every claim only with ``--all``, streamed.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

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
from portalbot.cli.tables import Column, print_table, short_batch, state_text
from portalbot.cli.views import claim_json, detail
from portalbot.text import cell, for_terminal, visible

if TYPE_CHECKING:
    from portalbot.ledger import ClaimRecord, Ledger

LEDGER_COLUMNS = (
    Column("claim", keep=True), Column("v", drop=1), Column("payer", drop=2),
    Column("state", keep=True), Column("confirmation or reason", keep=True, wrap=True),
    Column("batch", drop=3), Column("attempts", drop=4), Column("portal key", drop=5),
)
_STREAM_PAGE = 500


@click.group(invoke_without_command=True)
@click.option("--batch", "batch_id", help="Only this batch (its id or a unique prefix).")
@click.option("--state", help="Only claims in this state.")
@click.option("--payer", "payers", multiple=True, help="Only these payers (repeatable).")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True,
              help="How many of the newest claims to list.")
@click.option("--before", type=click.IntRange(1), help="The next page: claims older than this ledger id.")
@click.option("--all", "everything", is_flag=True, help="Every matching claim, oldest first (streamed).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="json and csv write the claims only, a claim at a time.")
@click.pass_context
def ledger(ctx: click.Context, batch_id: str | None, state: str | None, payers: tuple[str, ...],
           limit: int, before: int | None, everything: bool, fmt: str) -> None:
    """What happened to each claim (default), and ledger maintenance."""
    if ctx.invoked_subcommand is not None:
        return
    from portalbot.cli.choices import check_names, check_state, ledger_payers, resolve_batch

    settings = settings_for(ctx)
    store = open_ledger(settings)
    if state:
        check_state(state)
    if payers:
        check_names("payer", payers, ledger_payers(store))
    if batch_id:
        batch_id = resolve_batch(store, batch_id)
    payer_ids = list(payers) or None
    records: Iterable[ClaimRecord]
    if everything:
        records = store.iter_claims(state=state, batch_id=batch_id, payer_ids=payer_ids)
    else:
        records = store.recent_claims(limit, before=before, state=state, batch_id=batch_id,
                                      payer_ids=payer_ids)
    if fmt == "json":
        _write_json(store, records, settings.data_dir)
        return
    if fmt == "csv":
        _write_csv(records)
        return
    from portalbot.ledger.urls import display_url

    out.print(Text(f"Ledger {visible(display_url(settings.resolved_ledger_url))}"))
    counts = store.state_counts(payer_ids=payer_ids, batch_id=batch_id)
    _print_counts(counts, state)
    if everything:
        _print_pages(records)
        return
    page = list(records)
    _print_claims(f"Newest {len(page)} claims", page)
    if len(page) == limit:
        err.print(f"portalbot: older claims: `portalbot ledger --before {page[-1].pk}`; "
                  "every claim: `--all`", highlight=False)


def _write_json(store: Ledger, records: Iterable[ClaimRecord], data_dir: Path) -> None:
    """A JSON array written a claim at a time, so ``--all`` never holds the ledger."""
    sys.stdout.write("[")
    for n, record in enumerate(records):
        shown = claim_json(store, record, data_dir)
        shown["events"] = [
            {"at": e["at"].isoformat(), "from": e["from_state"], "to": e["to_state"],
             "reason": e["reason"], "worker": e["worker"]}
            for e in store.events(record.pk)
        ]
        sys.stdout.write(("," if n else "") + json.dumps(shown, ensure_ascii=True))
    sys.stdout.write("]\n")


CSV_COLUMNS = ("claim_id", "version", "payer_id", "state", "detail", "batch_id", "attempts",
               "portal_key", "confirmation", "reason_code")


def _write_csv(records: Iterable[ClaimRecord]) -> None:
    """CSV through the project's spreadsheet-safe writer, a page of claims at a time."""
    from itertools import islice

    from portalbot.csvfile import write_csv

    header = True
    claims = iter(records)
    while page := list(islice(claims, _STREAM_PAGE)):
        text = write_csv(CSV_COLUMNS, [
            {"claim_id": r.claim_id, "version": r.version, "payer_id": r.payer_id,
             "state": r.state, "detail": detail(r), "batch_id": r.batch_id,
             "attempts": r.attempt_count, "portal_key": r.portal_key,
             "confirmation": r.confirmation or "", "reason_code": r.reason_code or ""}
            for r in page
        ])
        sys.stdout.write(text if header else text.split("\n", 1)[1])
        header = False
    if header:
        sys.stdout.write(write_csv(CSV_COLUMNS, []))


def _print_counts(counts: dict[tuple[str, str], int], state: str | None) -> None:
    states = sorted({s for _p, s in counts})
    table = Table(title="Claims by payer and state")
    table.add_column("payer")
    for name in states:
        table.add_column(state_text(name), justify="right")
    table.add_column("total", justify="right")
    for payer in sorted({p for p, _s in counts}):
        row = [counts.get((payer, name), 0) for name in states]
        table.add_row(cell(payer), *(str(n) for n in row), str(sum(row)))
    out.print(table)


def _rows(records: Iterable[ClaimRecord]) -> list[tuple[object, ...]]:
    return [(r.claim_id, r.version, r.payer_id, state_text(r.state), detail(r),
             short_batch(r.batch_id), r.attempt_count, r.portal_key) for r in records]


def _print_claims(title: str, records: list[ClaimRecord]) -> None:
    print_table(title, LEDGER_COLUMNS, _rows(records))


def _print_pages(records: Iterable[ClaimRecord]) -> None:
    page: list[ClaimRecord] = []
    for record in records:
        page.append(record)
        if len(page) == _STREAM_PAGE:
            _print_claims("Claims", page)
            page = []
    if page:
        _print_claims("Claims", page)


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


def _register_show() -> None:
    from portalbot.cli.show import ledger_show

    ledger.add_command(ledger_show)


_register_show()
