"""``portalbot submit``: check a claim file, queue what is billable, submit it, and say
what became of every claim (``--dry-run`` rehearses it in a throwaway ledger)."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from portalbot.claims import ClaimBatchFile
from portalbot.cli.choices import adapter_payers, check_names
from portalbot.cli.common import (
    EXIT_ENVIRONMENT,
    EXIT_NEEDS_PERSON,
    EXIT_OK,
    environment_errors,
    err,
    open_ledger,
    out,
    prepare_or_exit,
    say_problems,
    settings_for,
    usage_error,
)
from portalbot.cli.exits import exit_for
from portalbot.cli.tables import short_batch
from portalbot.cli.views import claim_json, print_batch_table, unreadable_json
from portalbot.config import Settings
from portalbot.engine import ClaimResult, Engine, RunSummary
from portalbot.intake import IntakeResult, intake
from portalbot.intake_prepare import PreparedBatch
from portalbot.ledger import ClaimRecord, Ledger
from portalbot.ledger.loading import BatchRow, Refused
from portalbot.ledger.states import NEEDS_PERSON_STATES
from portalbot.ledger.urls import display_url
from portalbot.text import for_terminal


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--payer", "payers", multiple=True, help="Only these payers (repeatable).")
@click.option("--dry-run", is_flag=True, help="Fill each form and take its screenshot; never click submit.")
@click.option("--concurrency", type=click.IntRange(1, 32), help="Claims in flight at once.")
@click.option("--max-claims", type=click.IntRange(0), help="Stop after this many claims.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="json: one object for the batch (README: JSON shapes).")
@click.option("--evidence", type=click.Path(path_type=Path, dir_okay=False),
              help="CCM evidence for an X12 837P FILE, keyed by patient control number.")
@click.pass_context
def submit(ctx: click.Context, file: Path, payers: tuple[str, ...], dry_run: bool,
           concurrency: int | None, max_claims: int | None, no_progress: bool,
           fmt: str = "table", evidence: Path | None = None) -> None:
    """Check and submit every claim in FILE (JSON, JSON Lines, CSV or X12 837P)."""
    settings = settings_for(ctx, concurrency=concurrency)
    known = adapter_payers()  # imports the adapters while the heap is still small
    batch = prepare_or_exit(file, settings, evidence)
    gc.freeze()  # the batch lives until the command ends: no collection need walk it again
    check_names("payer", payers, known | (_payers_in(batch) if set(payers) - known else set()))
    ledger = open_ledger(settings)
    if dry_run:
        sys.exit(_rehearse(settings, ledger, batch, payers, max_claims, no_progress))
    intake_result = _intake(ledger, settings, batch)
    batch_id = intake_result.batch_id
    _say_intake(intake_result)
    queued = [r for r in intake_result.records if r.state in {"queued", "failed"}
              and (not payers or r.payer_id in payers)]
    summary = RunSummary()
    ran = bool(queued) and max_claims != 0  # --max-claims 0: load, and stop there
    if ran:
        engine = Engine(settings, ledger)
        with environment_errors(), progress_bar(len(queued), no_progress) as advance:
            summary = asyncio.run(engine.run(
                batch_id=batch_id, payer_ids=list(payers) or None,
                max_claims=max_claims, on_result=advance,
            ))
    records = ledger.claims_in_batch(batch_id, payload=False) if ran else intake_result.records
    if fmt == "json":
        screenshots = ledger.latest_screenshots(r.pk for r in records)
        sys.stdout.write(json.dumps({
            "batch_id": batch_id,
            "already_loaded": _earlier_json(intake_result),
            "claims": [claim_json(ledger, r, settings.data_dir, screenshots) for r in records],
            "unreadable": [unreadable_json(problem) for problem in batch.problems],
            "not_recorded": [_refused_json(r) for r in intake_result.refused],
            "submitted_in_this_run": sum(1 for r in summary.latest if r.submitted),
        }, ensure_ascii=True) + "\n")
        sys.exit(_report(batch, records, summary, intake_result))
    print_batch_table(ledger, records, summary, dry_run=False, data_dir=settings.data_dir,
                      more=f"`portalbot ledger --batch {short_batch(batch_id)} --all` lists "
                           "every one")
    out.print(f"\nLedger: {for_terminal(display_url(settings.resolved_ledger_url))}   batch {batch_id}",
              highlight=False)
    out.print(f"Evidence: {for_terminal(settings.resolved_evidence_dir)}", highlight=False)
    sys.exit(_report(batch, records, summary, intake_result))


def _payers_in(batch: ClaimBatchFile | PreparedBatch) -> set[str]:
    if isinstance(batch, PreparedBatch):
        return {row.payer_id for row in batch.read_all()}
    return {loaded.claim.payer_id for loaded in batch.claims}


def _intake(ledger: Ledger, settings: Settings, batch: ClaimBatchFile | PreparedBatch) -> IntakeResult:
    """Intake, then (for a streamed batch, read as it went in) its unreadable claims."""
    from portalbot.claims import ClaimFileError

    with environment_errors():
        try:
            result = intake(ledger, settings, batch)
        except ClaimFileError as exc:  # the file went away while it was being read
            usage_error(for_terminal(exc))
    if isinstance(batch, PreparedBatch):
        say_problems(batch)
    return result


def _say_intake(result: IntakeResult) -> None:
    """The twin-batch line, and each claim the ledger would not take (the rest went in)."""
    if result.earlier is not None:
        err.print(f"portalbot: this file was already loaded as batch "
                  f"{short_batch(result.earlier.id)} on {_day(result.earlier)}; nothing new "
                  "to load", highlight=False)
    for refused in result.refused:
        claim = refused.claim
        err.print(f"[yellow]not recorded:[/] {for_terminal(claim.location)}: claim "
                  f"{for_terminal(claim.claim_id)} v{claim.version}: {for_terminal(refused.why)}",
                  highlight=False)


def _day(earlier: BatchRow) -> str:
    return f"{(earlier.loaded_at or earlier.created_at):%Y-%m-%d %H:%M} UTC"


def _earlier_json(result: IntakeResult) -> dict[str, str] | None:
    earlier = result.earlier
    if earlier is None:
        return None
    return {"batch_id": earlier.id, "created_at": earlier.created_at.isoformat(),
            "loaded_at": (earlier.loaded_at or earlier.created_at).isoformat()}


def _refused_json(refused: Refused) -> dict[str, object]:
    claim = refused.claim
    return {"location": claim.location, "claim_id": claim.claim_id, "version": claim.version,
            "message": refused.why}


def _not_again(intake_result: IntakeResult) -> int:
    known = [r for r in intake_result.records if r.pk not in intake_result.new]
    return sum(1 for r in known if r.state not in {"queued", "failed", "in_doubt"})


def _rehearse(
    settings: Settings, ledger: Ledger, batch: ClaimBatchFile | PreparedBatch, payers: tuple[str, ...],
    max_claims: int | None, no_progress: bool,
) -> int:
    """A dry run: every form of the batch filled and photographed, nothing clicked, and
    nothing left in the ledger that a later run could submit. The claims go through a
    ledger of their own, deleted afterwards; the real ledger only lends its history (a
    correction is rehearsed as the replacement it would be)."""
    with tempfile.TemporaryDirectory(prefix="portalbot-dry-run-") as folder:
        rehearsal = Ledger.open(f"sqlite:///{Path(folder) / 'rehearsal.sqlite3'}")
        try:
            intake_result = _intake(rehearsal, settings, batch)
            queued = [r for r in intake_result.records if r.state == "queued"
                      and (not payers or r.payer_id in payers)]
            summary = RunSummary()
            if queued:
                engine = Engine(settings, rehearsal, history=ledger)
                with environment_errors(), progress_bar(len(queued), no_progress) as advance:
                    summary = asyncio.run(engine.run(
                        batch_id=intake_result.batch_id, payer_ids=list(payers) or None,
                        dry_run=True, max_claims=max_claims, on_result=advance,
                    ))
            records = rehearsal.claims_in_batch(intake_result.batch_id)
            print_batch_table(rehearsal, records, summary, dry_run=True,
                              data_dir=settings.data_dir)
        finally:
            rehearsal.close()
    out.print(f"\nDry run: nothing was submitted and nothing was queued. "
              f"Evidence: {for_terminal(settings.resolved_evidence_dir)}", highlight=False)
    rehearsed = sum(1 for r in summary.latest if r.state == "dry_run")
    err.print(f"portalbot: {rehearsed} of {len(records)} claims filled and photographed; "
              "none submitted", highlight=False)
    for payer_id, reason in summary.blocked_payers.items():
        err.print(f"[bold red]portalbot:[/] payer {payer_id} not processed: {for_terminal(reason)}",
                  highlight=False)
    if summary.blocked_payers:
        return EXIT_ENVIRONMENT
    held = [r for r in records if r.state in NEEDS_PERSON_STATES | {"held"}]
    return EXIT_NEEDS_PERSON if held or batch.problems else EXIT_OK


def _report(
    batch: ClaimBatchFile | PreparedBatch, records: list[ClaimRecord], summary: RunSummary,
    intake_result: IntakeResult,
) -> int:
    already = _not_again(intake_result)
    counts: dict[str, int] = {}
    for record in records:
        counts[record.state] = counts.get(record.state, 0) + 1
    sent = sum(1 for r in summary.latest if r.submitted)
    parts = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    err.print(f"portalbot: {len(records)} claims ({parts}); {sent} submitted in this run", highlight=False)
    if already:
        err.print(
            f"portalbot: {already} claims were already in the ledger and were not submitted again",
            highlight=False,
        )
    if batch.problems:
        err.print(f"portalbot: {batch.unreadable} claims in the file could not be read (above)")
    for payer_id, reason in summary.blocked_payers.items():
        err.print(f"[bold red]portalbot:[/] payer {payer_id} not processed: {for_terminal(reason)}",
                  highlight=False)
    needs_person = [r for r in records if r.state in NEEDS_PERSON_STATES]
    if needs_person:
        err.print(f"portalbot: {len(needs_person)} claims need a person (`portalbot ledger`)")
    if intake_result.refused:
        err.print(f"portalbot: {len(intake_result.refused)} claims were not recorded (above); "
                  "the rest of the file was", highlight=False)
    if (batch.problems or intake_result.refused) and not summary.blocked_payers:
        return EXIT_NEEDS_PERSON
    retry_at = [r.next_attempt_at for r in records if r.state == "failed" and r.next_attempt_at]
    return exit_for(summary.blocked_payers, [r.state for r in records],
                     min(retry_at) if retry_at else None)


@contextmanager
def progress_bar(total: int, disabled: bool, console: Console | None = None,
                 ) -> Iterator[Callable[[ClaimResult], None]]:
    """A bar with the time left; log lines print above it (rich redirects standard error
    through its console, and the log writes to whatever standard error is then)."""
    if disabled or not (console or err).is_terminal:
        yield lambda _result: None
        return
    with Progress(
        TextColumn("submitting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.description}"),
        console=console or err, transient=True, redirect_stderr=True,
    ) as progress:
        task = progress.add_task("", total=total)
        yield lambda result: progress.update(task, advance=1, description=result.state)
