"""The ``portalbot`` command.

Exit status (every command): 0 — every claim touched has a recorded outcome (a rejection
is an outcome); 1 — claims need a person (needs_human, in_doubt, unreadable claims in the
file, held in ``validate``); 2 — bad invocation or an unreadable input file; 3 — the
environment is not usable (no browser, ledger unreachable, missing credentials, a
payer's circuit open); 4 — claims failed on an outage or on drift and their retry is
scheduled (the summary says when). A summary goes to standard error.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from portalbot import credentials as keyring_credentials
from portalbot.adapters import Credentials, discover_adapters
from portalbot.claims import Claim, ClaimBatchFile, ClaimFileError, claim_json_schema, load_claims
from portalbot.config import Settings, load_settings
from portalbot.engine import ClaimResult, Engine, RunSummary
from portalbot.errors import ConfigError, LedgerError, PortalbotError
from portalbot.evidence import EvidenceStore, write_private
from portalbot.intake import RuleChecker, intake
from portalbot.ledger import ClaimRecord, Ledger, RequeueRefused
from portalbot.ledger import faults as ledger_faults
from portalbot.ledger.states import NEEDS_PERSON_STATES
from portalbot.ledger.urls import LedgerUrlError, display_url
from portalbot.logs import configure as configure_logs
from portalbot.logs import get_logger, register_claim_phi, scrub
from portalbot.private import check_installation, restrict_umask
from portalbot.text import cell, for_terminal, visible

EXIT_OK, EXIT_NEEDS_PERSON, EXIT_USAGE, EXIT_ENVIRONMENT, EXIT_RETRY_SCHEDULED = 0, 1, 2, 3, 4

out = Console()
if not out.is_terminal:
    out = Console(width=240)  # a pipe or a log file: keep each claim on one line
err = Console(stderr=True, soft_wrap=True)
log = get_logger("portalbot.cli")


@contextmanager
def environment_errors() -> Iterator[None]:
    """Turn errors about the environment into exit status 3 with one clear line.

    A ledger fault (a full disk, a locked SQLite file, a lost PostgreSQL connection) is
    one of them wherever it strikes: the message says what to fix, never the SQL or a
    traceback, and nothing half-done was committed (every ledger write is a transaction).
    """
    try:
        yield
    except LedgerUrlError as exc:  # a bad --ledger is a usage error, not the environment
        err.print(f"[bold red]portalbot:[/] {for_terminal(exc)}", highlight=False)
        sys.exit(EXIT_USAGE)
    except (ConfigError, LedgerError) as exc:
        err.print(f"[bold red]portalbot:[/] {for_terminal(exc)}", highlight=False)
        sys.exit(EXIT_ENVIRONMENT)
    except Exception as exc:
        message = ledger_faults.describe(exc)
        if message is None:
            raise
        err.print(f"[bold red]portalbot:[/] {message}", highlight=False)
        sys.exit(EXIT_ENVIRONMENT)


class _Commands(click.Group):
    """Every command runs inside ``environment_errors``, so a ledger fault in any of them
    exits 3 with one line (a traceback would print the SQL, and with it claim data)."""

    def invoke(self, ctx: click.Context) -> Any:
        with environment_errors():
            return super().invoke(ctx)


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    options = ctx.find_root().params
    with environment_errors():
        return load_settings(
            options.get("config"),
            data_dir=options.get("data_dir"),
            ledger_url=options.get("ledger"),
            **overrides,
        )


def _open_ledger(settings: Settings) -> Ledger:
    with environment_errors():
        check_installation(settings.data_dir, settings.resolved_evidence_dir,
                           settings.sqlite_file, group_access=settings.group_access)
        return Ledger.open(settings.resolved_ledger_url)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(path_type=Path), help="portalbot.toml to read.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Where the ledger and evidence live.")
@click.option("--ledger", help="Ledger URL: sqlite:///FILE or postgresql://…")
@click.option("--log-json", is_flag=True, help="Log one JSON object per line.")
@click.option("--log-level", default="INFO", show_default=True)
@click.version_option(package_name="portalbot")
def main(config: Path | None, data_dir: Path | None, ledger: str | None, log_json: bool,
         log_level: str) -> None:
    """Submit finished CCM claims through payer portals, exactly once, with evidence."""
    restrict_umask()  # before anything is created: every file owner-only from its first byte
    configure_logs(json_output=log_json, level=log_level.upper())


# --- submit ---------------------------------------------------------------------------

@main.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--payer", "payers", multiple=True, help="Only these payers (repeatable).")
@click.option("--dry-run", is_flag=True, help="Fill each form and take its screenshot; never click submit.")
@click.option("--concurrency", type=click.IntRange(1, 32), help="Claims in flight at once.")
@click.option("--max-claims", type=click.IntRange(0), help="Stop after this many claims.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--evidence", type=click.Path(path_type=Path, dir_okay=False),
              help="CCM evidence for an X12 837P FILE, keyed by patient control number.")
@click.pass_context
def submit(ctx: click.Context, file: Path, payers: tuple[str, ...], dry_run: bool,
           concurrency: int | None, max_claims: int | None, no_progress: bool,
           evidence: Path | None = None) -> None:
    """Check and submit every claim in FILE (JSON, JSON Lines, CSV or X12 837P)."""
    settings = _settings(ctx, concurrency=concurrency)
    batch = _load_or_exit(file, settings, evidence)
    ledger = _open_ledger(settings)
    if dry_run:
        sys.exit(_rehearse(settings, ledger, batch, payers, max_claims, no_progress))
    intake_result = intake(ledger, settings, batch)
    batch_id = intake_result.batch_id
    queued = [r for r in intake_result.records if r.state in {"queued", "failed"}
              and (not payers or r.payer_id in payers)]
    engine = Engine(settings, ledger)
    summary = RunSummary()
    if queued:
        with environment_errors(), _progress(len(queued), no_progress) as advance:
            summary = asyncio.run(engine.run(
                batch_id=batch_id, payer_ids=list(payers) or None,
                max_claims=max_claims, on_result=advance,
            ))
    records = ledger.claims_in_batch(batch_id)
    _print_batch_table(ledger, records, summary, dry_run=False)
    out.print(f"\nLedger: {for_terminal(display_url(settings.resolved_ledger_url))}   batch {batch_id}",
              highlight=False)
    out.print(f"Evidence: {for_terminal(settings.resolved_evidence_dir)}", highlight=False)
    known = [r for r in intake_result.records if r.pk not in intake_result.new]
    not_again = sum(1 for r in known if r.state not in {"queued", "failed", "in_doubt"})
    sys.exit(_report(batch, records, summary, already=not_again))


def _rehearse(
    settings: Settings, ledger: Ledger, batch: ClaimBatchFile, payers: tuple[str, ...],
    max_claims: int | None, no_progress: bool,
) -> int:
    """A dry run: every form of the batch filled and photographed, nothing clicked, and
    nothing left in the ledger that a later run could submit. The claims go through a
    ledger of their own, deleted afterwards; the real ledger only lends its history (a
    correction is rehearsed as the replacement it would be)."""
    with tempfile.TemporaryDirectory(prefix="portalbot-dry-run-") as folder:
        rehearsal = Ledger.open(f"sqlite:///{Path(folder) / 'rehearsal.sqlite3'}")
        try:
            intake_result = intake(rehearsal, settings, batch)
            queued = [r for r in intake_result.records if r.state == "queued"
                      and (not payers or r.payer_id in payers)]
            summary = RunSummary()
            if queued:
                engine = Engine(settings, rehearsal, history=ledger)
                with environment_errors(), _progress(len(queued), no_progress) as advance:
                    summary = asyncio.run(engine.run(
                        batch_id=intake_result.batch_id, payer_ids=list(payers) or None,
                        dry_run=True, max_claims=max_claims, on_result=advance,
                    ))
            records = rehearsal.claims_in_batch(intake_result.batch_id)
            _print_batch_table(rehearsal, records, summary, dry_run=True)
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


def _run_exit_status(summary: RunSummary) -> int:
    """Exit status of a queue run: only the claims this run touched count."""
    for payer_id, reason in summary.blocked_payers.items():
        err.print(f"[bold red]portalbot:[/] payer {payer_id} not processed: {for_terminal(reason)}",
                  highlight=False)
    latest = summary.latest
    counts = ", ".join(f"{n} {state}" for state, n in sorted(summary.counts.items())) or "nothing due"
    err.print(f"portalbot: {len(latest)} claims processed ({counts})", highlight=False)
    if summary.overtaken:
        err.print(f"portalbot: {summary.overtaken} claims were changed by another worker first "
                  "and left to it", highlight=False)
    return _exit_for(summary.blocked_payers, [r.state for r in latest], summary.next_retry_at)


def _exit_for(blocked: dict[str, str], states: list[str], next_retry: datetime | None) -> int:
    """One rule for every run: blocked payers, then claims for a person, then retries."""
    if blocked:
        return EXIT_ENVIRONMENT
    if any(state in NEEDS_PERSON_STATES for state in states):
        return EXIT_NEEDS_PERSON
    failed = sum(1 for state in states if state == "failed")
    if failed:
        when = f"{next_retry:%Y-%m-%d %H:%M:%S} UTC" if next_retry else "later"
        err.print(f"portalbot: {failed} claims failed and will be retried; the next retry is due "
                  f"at {when} (`portalbot resubmit`, or a running worker, sends them)",
                  highlight=False)
        return EXIT_RETRY_SCHEDULED
    return EXIT_OK


def _queue_note(ledger: Ledger, payers: tuple[str, ...]) -> None:
    """What a run that found nothing due leaves waiting, so "nothing due" is never a mystery."""
    chosen = list(payers) or None
    busy = ledger.submitting_count(chosen)
    if busy:
        err.print(f"portalbot: {busy} claims are being submitted by another worker; they are "
                  "taken over only once its lease and post-click deadline have passed",
                  highlight=False)
    waiting = ledger.waiting(chosen)
    for state, (count, due) in sorted(waiting.items()):
        err.print(f"portalbot: {count} claims {state}, next due at {due:%Y-%m-%d %H:%M:%S} UTC",
                  highlight=False)


@main.command()
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
    settings = _settings(ctx, concurrency=concurrency)
    ledger = _open_ledger(settings)
    total = RunSummary()
    stop = _stop_on_signal()
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
    sys.exit(_run_exit_status(total))


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


@main.command()
@click.option("--payer", "payers", multiple=True, help="Only these payers (repeatable).")
@click.pass_context
def resubmit(ctx: click.Context, payers: tuple[str, ...]) -> None:
    """Send every claim whose retry is due and settle in-doubt ones, then exit (for cron)."""
    from portalbot.engine import default_worker_name, owner_is_dead

    settings = _settings(ctx)
    ledger = _open_ledger(settings)
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
            _queue_note(ledger, payers)
    finally:
        ledger.unlock("resubmit", holder)
    sys.exit(_run_exit_status(summary))


@main.command()
@click.option("--payer", "payers", multiple=True, help="Only these payers (repeatable).")
@click.option("--accepted-within-days", type=click.FloatRange(0), default=30.0, show_default=True,
              help="Also re-check accepted claims this recent.")
@click.pass_context
def status(ctx: click.Context, payers: tuple[str, ...], accepted_within_days: float) -> None:
    """Record what each payer now says about pending and recently accepted claims."""
    settings = _settings(ctx)
    ledger = _open_ledger(settings)
    with environment_errors():
        summary = asyncio.run(Engine(settings, ledger).check_statuses(
            payer_ids=list(payers) or None, accepted_within_days=accepted_within_days,
        ))
    table = Table(title="Status checks")
    for column in ("claim", "v", "payer", "state now", "detail", "screenshot"):
        table.add_column(column, overflow="fold")
    for result in summary.results:
        table.add_row(*map(cell, (result.claim_id, result.version, result.payer_id, result.state,
                                  result.detail, result.screenshot)))
    out.print(table)
    sys.exit(_run_exit_status(summary))


@main.command()
@click.option("--payer", "payers", multiple=True, help="Only these payers (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@click.option("--pending-days", type=click.FloatRange(0), default=14.0, show_default=True,
              help="List pending claims older than this.")
@click.pass_context
def worklist(ctx: click.Context, payers: tuple[str, ...], fmt: str, pending_days: float) -> None:
    """Claims that need a person, grouped by payer and reason, most urgent first."""
    from portalbot.worklist import build_worklist, to_csv

    settings = _settings(ctx)
    ledger = _open_ledger(settings)
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


def _stop_on_signal() -> threading.Event:
    """SIGTERM/SIGINT let the current run finish its claims, then stop the loop."""
    stop = threading.Event()

    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(ValueError):  # not the main thread (tests): no handler
            signal.signal(sig, handler)
    return stop


def _load_or_exit(file: Path, settings: Settings, evidence: Path | None = None) -> ClaimBatchFile:
    try:
        batch = load_claims(file, max_problems=settings.max_problems_reported, evidence=evidence)
    except ClaimFileError as exc:
        err.print(f"[bold red]portalbot:[/] {for_terminal(exc)}", highlight=False)
        sys.exit(EXIT_USAGE)
    for problem in batch.problems:
        err.print(f"[yellow]unreadable claim:[/] {for_terminal(problem)}", highlight=False)
    if batch.more_problems:
        err.print(f"[yellow]unreadable claim:[/] … and {batch.more_problems} more, not listed "
                  "(max_problems_reported in the config)", highlight=False)
    return batch


@contextmanager
def _progress(total: int, disabled: bool) -> Iterator[Callable[[ClaimResult], None]]:
    if disabled or not err.is_terminal:
        yield lambda _result: None
        return
    with Progress(
        TextColumn("submitting"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
        console=err, transient=True,
    ) as progress:
        task = progress.add_task("", total=total)
        yield lambda result: progress.update(task, advance=1, description=result.state)


def _latest_screenshot(ledger: Ledger, record: ClaimRecord) -> str:
    for attempt in reversed(ledger.attempts(record.pk)):
        if attempt["screenshot"]:
            return str(attempt["screenshot"])
    return ""


def _detail(record: ClaimRecord) -> str:
    if record.state in {"accepted", "pending"}:
        return record.confirmation or ""
    if record.state == "held":
        first = next((f for f in record.findings if f["severity"] == "error"), None)
        return f"{first['rule']}: {first['message']}" if first else "held"
    return record.reason or ""


def _print_batch_table(
    ledger: Ledger, records: list[ClaimRecord], summary: RunSummary, dry_run: bool
) -> None:
    dry = {(r.claim_id, r.version): r for r in summary.results if r.state == "dry_run"}
    table = Table(title="Claims in this batch", show_lines=False)
    for column in ("claim", "v", "payer", "outcome"):
        table.add_column(column, no_wrap=True)
    table.add_column("confirmation or reason", overflow="fold", ratio=1)
    table.add_column("screenshot", no_wrap=True, overflow="ignore")
    for record in records:
        shown = dry.get((record.claim_id, record.version))
        state = "dry run" if shown else record.state
        detail = shown.detail if shown else _detail(record)
        screenshot = (shown.screenshot if shown else _latest_screenshot(ledger, record)) or ""
        table.add_row(*map(cell, (record.claim_id, record.version, record.payer_id, state,
                                  detail, screenshot)))
    out.print(table)


def _report(
    batch: ClaimBatchFile, records: list[ClaimRecord], summary: RunSummary, already: int
) -> int:
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
    if batch.problems and not summary.blocked_payers:
        return EXIT_NEEDS_PERSON
    retry_at = [r.next_attempt_at for r in records if r.state == "failed" and r.next_attempt_at]
    return _exit_for(summary.blocked_payers, [r.state for r in records],
                     min(retry_at) if retry_at else None)


# --- validate ---------------------------------------------------------------------------

@main.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--fix", "fix_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write corrected copies of held claims (new versions) to this JSON file.")
@click.option("--evidence", type=click.Path(path_type=Path, dir_okay=False),
              help="CCM evidence for an X12 837P FILE, keyed by patient control number.")
@click.pass_context
def validate(ctx: click.Context, file: Path, fmt: str, fix_path: Path | None,
             evidence: Path | None = None) -> None:
    """Check claims against the CCM rules without submitting anything."""
    from portalbot import rules

    settings = _settings(ctx)
    batch = _load_or_exit(file, settings, evidence)
    with environment_errors():
        checker = RuleChecker(settings)
        verdicts = [checker.verdict(loaded.claim) for loaded in batch.claims]
    if fmt == "json":
        out.print_json(json.dumps([v.to_json() for v in verdicts]), ensure_ascii=True)
    else:
        out.print(visible(rules.render_table(verdicts), keep_newlines=True), highlight=False,
                  markup=False)
    if fix_path is not None:
        _write_fixes(rules, checker, batch, verdicts, fix_path)
    held = sum(1 for v in verdicts if not v.billable)
    err.print(f"portalbot: {len(verdicts)} claims checked, {held} held, "
              f"{batch.unreadable} unreadable", highlight=False)
    sys.exit(EXIT_NEEDS_PERSON if held or batch.problems else EXIT_OK)


def _write_fixes(rules: Any, checker: RuleChecker, batch: ClaimBatchFile, verdicts: list[Any],
                 fix_path: Path) -> None:
    fixed = []
    for loaded, verdict in zip(batch.claims, verdicts, strict=True):
        if verdict.billable:
            continue
        context = checker.context_for(loaded.claim.payer_id)
        proposal = rules.propose_fix(loaded.claim, verdict, context)
        if proposal is None:
            continue
        fixed.append(proposal.model_dump(mode="json"))
        for change in rules.describe_changes(loaded.claim, proposal):
            err.print(for_terminal(f"fix {loaded.claim.claim_id} v{proposal.version}: {change}"),
                      highlight=False)
    write_private(fix_path, (json.dumps(fixed, indent=2) + "\n").encode("utf-8"))  # PHI
    err.print(f"portalbot: {len(fixed)} corrected claims written to {for_terminal(fix_path)} for approval",
              highlight=False)


# --- ledger -------------------------------------------------------------------------------

@main.group(invoke_without_command=True)
@click.option("--batch", "batch_id", help="Only this batch.")
@click.option("--state", help="Only claims in this state.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def ledger(ctx: click.Context, batch_id: str | None, state: str | None, fmt: str) -> None:
    """What happened to each claim (default), and ledger maintenance."""
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(ctx)
    store = _open_ledger(settings)
    records = store.claims_in_batch(batch_id) if batch_id else store.all_claims(state)
    if state:
        records = [r for r in records if r.state == state]
    if fmt == "json":
        out.print_json(json.dumps([
            {"claim_id": r.claim_id, "version": r.version, "payer_id": r.payer_id,
             "state": r.state, "confirmation": r.confirmation, "reason_code": r.reason_code,
             "reason": r.reason, "portal_key": r.portal_key, "attempts": r.attempt_count,
             "screenshot": _latest_screenshot(store, r) or None,
             "events": [{"at": e["at"].isoformat(), "from": e["from_state"], "to": e["to_state"],
                         "reason": e["reason"], "worker": e["worker"]} for e in store.events(r.pk)]}
            for r in records
        ]), ensure_ascii=True)  # JSON's own escapes: no control or BIDI character goes out raw
        return
    table = Table(title=Text(f"Ledger {visible(display_url(settings.resolved_ledger_url))}"))
    for column in ("claim", "v", "payer", "state", "confirmation or reason", "attempts", "portal key"):
        table.add_column(column, overflow="fold")
    for r in records:
        table.add_row(*map(cell, (r.claim_id, r.version, r.payer_id, r.state, _detail(r),
                                  r.attempt_count, r.portal_key)))
    out.print(table)


@ledger.command("backup")
@click.argument("target", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def ledger_backup(ctx: click.Context, target: Path) -> None:
    """Copy a SQLite ledger while it is in use (PostgreSQL: use pg_dump)."""
    store = _open_ledger(_settings(ctx))
    with environment_errors():
        store.backup(target)
    err.print(f"portalbot: ledger copied to {for_terminal(target)}", highlight=False)


@ledger.command("migrate")
@click.pass_context
def ledger_migrate(ctx: click.Context) -> None:
    """Bring the ledger's schema to the newest version."""
    settings = _settings(ctx)
    _open_ledger(settings).close()  # opening migrates
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
    if not reason.strip():
        _usage_error(f"claim {claim_id}: --reason is empty; say what was checked on the portal")
    store = _open_ledger(_settings(ctx))
    record = _one_version(store, claim_id, version)
    register_claim_phi(Claim.model_validate(record.payload))  # a typed reason may name the patient
    person = getpass.getuser()
    try:
        requeued = store.requeue(record.pk, person, scrub(reason.strip()),
                                 checked_portal=checked_portal)
    except RequeueRefused as exc:
        _usage_error(str(exc))
    err.print(f"portalbot: claim {claim_id} v{requeued.version} is queued again "
              f"(by {person}); `portalbot resubmit` or a worker will send it", highlight=False)


def _one_version(store: Ledger, claim_id: str, version: int | None) -> ClaimRecord:
    """The named version of a claim, or its newest; exit 2 naming what is missing."""
    versions = store.versions_of(claim_id)
    if version is not None:
        versions = [r for r in versions if r.version == version]
    if not versions:
        which = f"claim {claim_id}" + (f" v{version}" if version is not None else "")
        _usage_error(f"{which} is not in the ledger (`portalbot ledger` lists them)")
    return versions[-1]


def _usage_error(message: str) -> NoReturn:
    err.print(f"[bold red]portalbot:[/] {message}", highlight=False)
    sys.exit(EXIT_USAGE)


# --- payers, credentials, evidence, schema ----------------------------------------------

@main.command("payers")
def list_payers() -> None:
    """The payers portalbot has adapters for."""
    table = Table(title="Payers")
    for column in ("payer", "name", "portal", "history search", "working"):
        table.add_column(column)
    for payer_id, adapter in sorted(discover_adapters().items()):
        table.add_row(payer_id, adapter.display_name, adapter.default_base_url,
                      "yes" if adapter.history_searchable else "no",
                      "yes" if adapter.working else f"no: {adapter.broken_reason}")
    out.print(table)


@main.group("payer")
def payer_group() -> None:
    """Pause or resume a payer for every worker."""


@payer_group.command("pause")
@click.argument("payer_id")
@click.option("--reason", default="paused by an operator", show_default=True)
@click.pass_context
def payer_pause(ctx: click.Context, payer_id: str, reason: str) -> None:
    _open_ledger(_settings(ctx)).open_circuit(payer_id, reason)
    err.print(f"portalbot: payer {for_terminal(payer_id)} paused")


@payer_group.command("resume")
@click.argument("payer_id")
@click.pass_context
def payer_resume(ctx: click.Context, payer_id: str) -> None:
    _open_ledger(_settings(ctx)).resume_payer(payer_id)
    err.print(f"portalbot: payer {for_terminal(payer_id)} resumed")


@main.group("credentials")
def credentials_group() -> None:
    """Portal passwords in the OS keyring (never in files or on command lines)."""


@credentials_group.command("set")
@click.argument("payer_id")
@click.option("--account", default="default", show_default=True)
@click.option("--username", prompt=True, help="The portal username (not a secret).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--totp", is_flag=True, help="Also ask for the account's TOTP secret.")
def credentials_set(payer_id: str, account: str, username: str, password_stdin: bool,
                    totp: bool) -> None:
    """Store the portal login for PAYER_ID's ACCOUNT.

    Where the portal's sign-in asks for more than a username and password (Keystone: NPI
    and PTAN), each is asked for too and kept beside the password.
    """
    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass("Password: ")
    secret = getpass.getpass("TOTP secret: ") if totp else None
    if not password:
        raise click.UsageError("an empty password was given")
    adapter = discover_adapters().get(payer_id)
    names = adapter.login_fields if adapter is not None else ()
    fields = {name: str(click.prompt(name.upper())).strip() for name in names}
    with environment_errors():
        keyring_credentials.store(
            payer_id, account, Credentials(username, password, secret, fields=fields)
        )
    err.print(for_terminal(f"portalbot: stored credentials for {payer_id} account {account}"))


@credentials_group.command("check")
@click.argument("payer_id")
@click.option("--account", default="default", show_default=True)
def credentials_check(payer_id: str, account: str) -> None:
    """Say whether the keyring holds a login for PAYER_ID's ACCOUNT."""
    with environment_errors():
        found = keyring_credentials.lookup(payer_id, account)
    err.print(for_terminal(f"portalbot: {payer_id} account {account}: username {found.username}, password set"))


@credentials_group.command("delete")
@click.argument("payer_id")
@click.option("--account", default="default", show_default=True)
def credentials_delete(payer_id: str, account: str) -> None:
    with environment_errors():
        removed = keyring_credentials.delete(payer_id, account)
    err.print(for_terminal(f"portalbot: {'deleted' if removed else 'nothing stored for'} {payer_id} account {account}"))


@main.group("evidence")
def evidence_group() -> None:
    """Screenshots, page HTML and traces."""


@evidence_group.command("purge")
@click.option("--older-than", "days", type=click.FloatRange(0), required=True, help="Days to keep.")
@click.pass_context
def evidence_purge(ctx: click.Context, days: float) -> None:
    """Delete evidence older than the retention period."""
    settings = _settings(ctx)
    ledger = _open_ledger(settings)
    removed = EvidenceStore(settings.resolved_evidence_dir).purge(days)
    ledger.mark_evidence_purged(removed)
    err.print(f"portalbot: removed evidence of {len(removed)} attempts; the ledger keeps their record")


@main.command("browser")
@click.option("--install", is_flag=True, help="Install a Chromium when none is found.")
@click.pass_context
def browser_command(ctx: click.Context, install: bool) -> None:
    """Say which Chromium portalbot will drive (and install one with --install)."""
    from portalbot.browser import install_chromium, locate_chromium

    settings = _settings(ctx)
    with environment_errors():
        found = (
            install_chromium(settings.browser, lambda line: err.print(f"portalbot: {line}"))
            if install else locate_chromium(settings.browser)
        )
    err.print(f"portalbot: browser: {found}", highlight=False)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the claim interchange format."""
    out.print_json(json.dumps(claim_json_schema()))


@main.command("check")
@click.argument("payer_ids", nargs=-1, metavar="[PAYER]...")
@click.pass_context
def check_command(ctx: click.Context, payer_ids: tuple[str, ...]) -> None:
    """Sign in to each portal, open its claim form, find every field; submit nothing."""
    from portalbot.check import check_payers

    settings = _settings(ctx)
    with environment_errors():
        results = asyncio.run(check_payers(settings, list(payer_ids) or None))
    for result in results:
        out.print(visible(result.line()), highlight=False, markup=False, soft_wrap=True)
    broken = [r.payer_id for r in results if not r.ok]
    if broken:
        err.print(f"portalbot: {len(broken)} of {len(results)} portals need attention: "
                  f"{', '.join(broken)}", highlight=False)
        sys.exit(EXIT_NEEDS_PERSON)
    err.print(f"portalbot: {len(results)} portals ok", highlight=False)


# --- review desk and reports (portalbot.review) --------------------------------------------
from portalbot.review.cli import report_command, review_group  # noqa: E402

main.add_command(review_group, "review")
main.add_command(report_command, "report")

# --- X12 in: 835 remittances, 277 acknowledgments (portalbot.x12) ---------------------------
from portalbot.x12.cli import ack_command, convert_command, remit_command  # noqa: E402

main.add_command(remit_command, "remit")
main.add_command(ack_command, "ack")
main.add_command(convert_command, "convert")

# --- adding a payer: record, scaffold (portalbot.authoring) ------------------------------
from portalbot.authoring.commands import record_command, scaffold_command  # noqa: E402

main.add_command(record_command, "record")
main.add_command(scaffold_command, "scaffold")


def run() -> None:
    try:
        main()
    except PortalbotError as exc:
        err.print(f"[bold red]portalbot:[/] {for_terminal(exc)}", highlight=False)
        sys.exit(EXIT_ENVIRONMENT)
