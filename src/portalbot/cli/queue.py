"""The unattended commands: ``worker`` (work the queue until stopped), ``resubmit`` (send
what is due, then exit; for a timer) and ``status`` (ask the portals about pending and
recently accepted claims)."""

from __future__ import annotations

import asyncio
import sys

import click

from portalbot.cli.common import (
    EXIT_OK,
    environment_errors,
    err,
    open_ledger,
    settings_for,
    stop_on_signal,
)
from portalbot.cli.exits import queue_note, run_exit_status
from portalbot.cli.tables import Column, print_table, relative_path, state_text
from portalbot.config import Settings
from portalbot.engine import Engine, RunSummary
from portalbot.ledger import Ledger

STATUS_COLUMNS = (
    Column("claim", keep=True), Column("v", drop=1), Column("payer", drop=2),
    Column("state now", keep=True), Column("detail", keep=True, wrap=True),
    Column("screenshot", drop=9),
)


@click.command()
@click.option("--concurrency", type=click.IntRange(1, 32), help="Claims in flight at once.")
@click.option("--payer", "payers", multiple=True, help="Only these payers (repeatable).")
@click.option("--until-empty", is_flag=True, help="Exit once no claim is due.")
@click.option("--max-claims", type=click.IntRange(0), help="Stop after this many claims.")
@click.option("--idle-seconds", type=click.FloatRange(0.1), default=30.0, show_default=True,
              help="How long to wait when nothing is due.")
@click.pass_context
def worker(ctx: click.Context, concurrency: int | None, payers: tuple[str, ...], until_empty: bool,
           max_claims: int | None, idle_seconds: float) -> None:
    """Work the ledger's queue: queued claims, due retries and in-doubt reconciliation."""
    settings = settings_for(ctx, concurrency=concurrency)
    ledger = open_ledger(settings)
    total = RunSummary()
    stop = stop_on_signal()
    while not stop.is_set():
        Engine(settings, ledger).reclaim()
        if ledger.due_count(list(payers) or None):
            with environment_errors():
                summary = asyncio.run(Engine(settings, ledger).run(
                    payer_ids=list(payers) or None, max_claims=max_claims,
                ))
            total.results += summary.results
            total.blocked_payers.update(summary.blocked_payers)
            if summary.blocked_payers or max_claims is not None:
                break
            if summary.results:
                continue
        if until_empty:
            settling = _settling_soon(ledger, settings, payers)
            if settling is None:
                break
            stop.wait(min(idle_seconds, settling))
            continue
        stop.wait(idle_seconds)
    sys.exit(run_exit_status(total))


def _settling_soon(ledger: Ledger, settings: Settings, payers: tuple[str, ...]) -> float | None:
    """Seconds until an in-doubt claim is due for reconciliation, when that is within one
    post-click deadline: ``--until-empty`` waits for its own run's claims to settle
    rather than leave them in doubt for the next one. None: nothing settles soon."""
    waiting = ledger.waiting(list(payers) or None).get("in_doubt")
    if waiting is None:
        return None
    seconds = (waiting[1] - ledger.clock()).total_seconds()
    # Already due but not taken: another worker holds it, and it is that worker's to settle.
    return seconds if 0 < seconds <= settings.post_click_deadline_s else None


@click.command()
@click.option("--payer", "payers", multiple=True, help="Only these payers (repeatable).")
@click.pass_context
def resubmit(ctx: click.Context, payers: tuple[str, ...]) -> None:
    """Send every claim whose retry is due and settle in-doubt ones, then exit (for cron)."""
    from portalbot.engine import default_worker_name, owner_is_dead

    settings = settings_for(ctx)
    ledger = open_ledger(settings)
    holder = default_worker_name()
    if not ledger.try_lock("resubmit", holder, dead_owner=owner_is_dead):
        err.print("portalbot: another resubmit is running; nothing to do")
        sys.exit(EXIT_OK)
    try:
        summary = RunSummary()
        engine = Engine(settings, ledger)
        with environment_errors():
            engine.reclaim()
            if ledger.due_count(list(payers) or None):
                summary = asyncio.run(engine.run(payer_ids=list(payers) or None))
        if not summary.results:
            queue_note(ledger, payers)
    finally:
        ledger.unlock("resubmit", holder)
    sys.exit(run_exit_status(summary))


@click.command()
@click.option("--payer", "payers", multiple=True, help="Only these payers (repeatable).")
@click.option("--accepted-within-days", type=click.FloatRange(0), default=30.0, show_default=True,
              help="Also re-check accepted claims this recent.")
@click.pass_context
def status(ctx: click.Context, payers: tuple[str, ...], accepted_within_days: float) -> None:
    """Record what each payer now says about pending and recently accepted claims."""
    settings = settings_for(ctx)
    ledger = open_ledger(settings)
    with environment_errors():
        summary = asyncio.run(Engine(settings, ledger).check_statuses(
            payer_ids=list(payers) or None, accepted_within_days=accepted_within_days,
        ))
    rows = [(r.claim_id, r.version, r.payer_id, state_text(r.state), r.detail,
             relative_path(r.screenshot, settings.data_dir)) for r in summary.results]
    print_table("Status checks", STATUS_COLUMNS, rows)
    sys.exit(run_exit_status(summary))
