"""The ``portalbot`` command.

Exit status (every command): 0 — every claim touched has a recorded outcome (a rejection
is an outcome); 1 — claims need a person (needs_human, in_doubt, unreadable claims in the
file, held in ``validate``); 2 — bad invocation or an unreadable input file; 3 — the
environment is not usable (no browser, ledger unreachable, missing credentials, a
payer's circuit open). A summary goes to standard error.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from portalbot import credentials as keyring_credentials
from portalbot.adapters import Credentials, discover_adapters
from portalbot.claims import ClaimBatchFile, ClaimFileError, claim_json_schema, load_claims
from portalbot.config import Settings, load_settings
from portalbot.engine import ClaimResult, Engine, RunSummary
from portalbot.errors import ConfigError, LedgerError, PortalbotError
from portalbot.evidence import EvidenceStore, write_private
from portalbot.intake import RuleChecker, intake
from portalbot.ledger import ClaimRecord, Ledger
from portalbot.ledger.states import NEEDS_PERSON_STATES
from portalbot.logs import configure as configure_logs
from portalbot.logs import get_logger

EXIT_OK, EXIT_NEEDS_PERSON, EXIT_USAGE, EXIT_ENVIRONMENT = 0, 1, 2, 3

out = Console()
if not out.is_terminal:
    out = Console(width=240)  # a pipe or a log file: keep each claim on one line
err = Console(stderr=True, soft_wrap=True)
log = get_logger("portalbot.cli")


@contextmanager
def environment_errors() -> Iterator[None]:
    """Turn errors about the environment into exit status 3 with one clear line."""
    try:
        yield
    except (ConfigError, LedgerError) as exc:
        err.print(f"[bold red]portalbot:[/] {exc}", highlight=False)
        sys.exit(EXIT_ENVIRONMENT)


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
        return Ledger.open(settings.resolved_ledger_url)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(path_type=Path), help="portalbot.toml to read.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Where the ledger and evidence live.")
@click.option("--ledger", help="Ledger URL: sqlite:///FILE or postgresql://…")
@click.option("--log-json", is_flag=True, help="Log one JSON object per line.")
@click.option("--log-level", default="INFO", show_default=True)
@click.version_option(package_name="portalbot")
def main(config: Path | None, data_dir: Path | None, ledger: str | None, log_json: bool,
         log_level: str) -> None:
    """Submit finished CCM claims through payer portals, exactly once, with evidence."""
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
    batch = _load_or_exit(file, evidence)
    ledger = _open_ledger(settings)
    intake_result = intake(ledger, settings, batch)
    batch_id = intake_result.batch_id
    queued = [r for r in intake_result.records if r.state in {"queued", "failed"}
              and (not payers or r.payer_id in payers)]
    engine = Engine(settings, ledger)
    summary = RunSummary()
    if queued:
        with environment_errors(), _progress(len(queued), no_progress) as advance:
            summary = asyncio.run(engine.run(
                batch_id=batch_id, payer_ids=list(payers) or None, dry_run=dry_run,
                max_claims=max_claims, on_result=advance,
            ))
    records = ledger.claims_in_batch(batch_id)
    _print_batch_table(ledger, records, summary, dry_run)
    out.print(f"\nLedger: {settings.resolved_ledger_url}   batch {batch_id}", highlight=False)
    out.print(f"Evidence: {settings.resolved_evidence_dir}", highlight=False)
    sys.exit(_report(batch, records, summary, already=intake_result.already_known))


def _run_exit_status(summary: RunSummary) -> int:
    """Exit status of a queue run: only the claims this run touched count."""
    for payer_id, reason in summary.blocked_payers.items():
        err.print(f"[bold red]portalbot:[/] payer {payer_id} not processed: {reason}", highlight=False)
    counts = ", ".join(f"{n} {state}" for state, n in sorted(summary.counts.items())) or "nothing due"
    err.print(f"portalbot: {len(summary.results)} claims processed ({counts})", highlight=False)
    if summary.blocked_payers:
        return EXIT_ENVIRONMENT
    if any(r.state in NEEDS_PERSON_STATES for r in summary.results):
        return EXIT_NEEDS_PERSON
    return EXIT_OK


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
            break
        stop.wait(idle_seconds)
    sys.exit(_run_exit_status(total))


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
        if ledger.due_count(list(payers) or None):
            with environment_errors():
                summary = asyncio.run(Engine(settings, ledger).run(payer_ids=list(payers) or None))
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
        table.add_row(result.claim_id, str(result.version), result.payer_id, result.state,
                      result.detail, result.screenshot or "")
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
        table.add_row(item.payer_id, item.reason, item.claim_id, str(item.version),
                      item.confirmation, f"{item.amount:.2f}", days, item.detail)
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


def _load_or_exit(file: Path, evidence: Path | None = None) -> ClaimBatchFile:
    try:
        batch = load_claims(file, evidence=evidence)
    except ClaimFileError as exc:
        err.print(f"[bold red]portalbot:[/] {exc}", highlight=False)
        sys.exit(EXIT_USAGE)
    for problem in batch.problems:
        err.print(f"[yellow]unreadable claim:[/] {problem}", highlight=False)
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
        table.add_row(record.claim_id, str(record.version), record.payer_id, state, detail,
                      screenshot)
    out.print(table)


def _report(
    batch: ClaimBatchFile, records: list[ClaimRecord], summary: RunSummary, already: int
) -> int:
    counts: dict[str, int] = {}
    for record in records:
        counts[record.state] = counts.get(record.state, 0) + 1
    sent = sum(1 for r in summary.results if r.submitted)
    parts = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    err.print(f"portalbot: {len(records)} claims ({parts}); {sent} submitted in this run", highlight=False)
    if already:
        err.print(
            f"portalbot: {already} claims were already in the ledger and were not submitted again",
            highlight=False,
        )
    if batch.problems:
        err.print(f"portalbot: {len(batch.problems)} claims in the file could not be read (above)")
    for payer_id, reason in summary.blocked_payers.items():
        err.print(f"[bold red]portalbot:[/] payer {payer_id} not processed: {reason}", highlight=False)
    if summary.blocked_payers:
        return EXIT_ENVIRONMENT
    needs_person = [r for r in records if r.state in NEEDS_PERSON_STATES]
    if needs_person or batch.problems:
        err.print(f"portalbot: {len(needs_person)} claims need a person (`portalbot ledger`)")
        return EXIT_NEEDS_PERSON
    return EXIT_OK


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
    batch = _load_or_exit(file, evidence)
    with environment_errors():
        checker = RuleChecker(settings)
        verdicts = [checker.verdict(loaded.claim) for loaded in batch.claims]
    if fmt == "json":
        out.print_json(json.dumps([v.to_json() for v in verdicts]))
    else:
        out.print(rules.render_table(verdicts), highlight=False, markup=False)
    if fix_path is not None:
        _write_fixes(rules, checker, batch, verdicts, fix_path)
    held = sum(1 for v in verdicts if not v.billable)
    err.print(f"portalbot: {len(verdicts)} claims checked, {held} held, "
              f"{len(batch.problems)} unreadable", highlight=False)
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
            err.print(f"fix {loaded.claim.claim_id} v{proposal.version}: {change}", highlight=False)
    write_private(fix_path, (json.dumps(fixed, indent=2) + "\n").encode("utf-8"))  # PHI
    err.print(f"portalbot: {len(fixed)} corrected claims written to {fix_path} for approval",
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
        ]))
        return
    table = Table(title=f"Ledger {settings.resolved_ledger_url}")
    for column in ("claim", "v", "payer", "state", "confirmation or reason", "attempts", "portal key"):
        table.add_column(column, overflow="fold")
    for r in records:
        table.add_row(r.claim_id, str(r.version), r.payer_id, r.state, _detail(r),
                      str(r.attempt_count), r.portal_key)
    out.print(table)


@ledger.command("backup")
@click.argument("target", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def ledger_backup(ctx: click.Context, target: Path) -> None:
    """Copy a SQLite ledger while it is in use (PostgreSQL: use pg_dump)."""
    store = _open_ledger(_settings(ctx))
    with environment_errors():
        store.backup(target)
    err.print(f"portalbot: ledger copied to {target}", highlight=False)


@ledger.command("migrate")
@click.pass_context
def ledger_migrate(ctx: click.Context) -> None:
    """Bring the ledger's schema to the newest version."""
    settings = _settings(ctx)
    with environment_errors():
        Ledger.open(settings.resolved_ledger_url, migrate=True).close()
    err.print(f"portalbot: ledger {settings.resolved_ledger_url} is up to date", highlight=False)


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
    err.print(f"portalbot: payer {payer_id} paused")


@payer_group.command("resume")
@click.argument("payer_id")
@click.pass_context
def payer_resume(ctx: click.Context, payer_id: str) -> None:
    _open_ledger(_settings(ctx)).resume_payer(payer_id)
    err.print(f"portalbot: payer {payer_id} resumed")


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
    err.print(f"portalbot: stored credentials for {payer_id} account {account}")


@credentials_group.command("check")
@click.argument("payer_id")
@click.option("--account", default="default", show_default=True)
def credentials_check(payer_id: str, account: str) -> None:
    """Say whether the keyring holds a login for PAYER_ID's ACCOUNT."""
    with environment_errors():
        found = keyring_credentials.lookup(payer_id, account)
    err.print(f"portalbot: {payer_id} account {account}: username {found.username}, password set")


@credentials_group.command("delete")
@click.argument("payer_id")
@click.option("--account", default="default", show_default=True)
def credentials_delete(payer_id: str, account: str) -> None:
    with environment_errors():
        removed = keyring_credentials.delete(payer_id, account)
    err.print(f"portalbot: {'deleted' if removed else 'nothing stored for'} {payer_id} account {account}")


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
        out.print(result.line(), highlight=False, markup=False, soft_wrap=True)
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


def run() -> None:
    try:
        main()
    except PortalbotError as exc:
        err.print(f"[bold red]portalbot:[/] {exc}", highlight=False)
        sys.exit(EXIT_ENVIRONMENT)
