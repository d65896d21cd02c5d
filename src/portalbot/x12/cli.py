"""``portalbot remit`` (835 in), ``portalbot ack`` (277CA and 277 in) and ``portalbot convert`` (837P).

Registered in ``portalbot.cli.COMMANDS`` and imported only when one of them runs.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click
from rich.table import Table

from portalbot.ledger import Ledger
from portalbot.ledger.remits import ALREADY, NOT_APPLIED, UNMATCHED, RemitResult
from portalbot.text import cell, for_terminal
from portalbot.x12.reader import X12FileError

EXIT_OK, EXIT_NEEDS_PERSON, EXIT_USAGE = 0, 1, 2


def _fail_unreadable(exc: X12FileError) -> None:
    from portalbot.cli.common import err

    err.print(f"[bold red]portalbot:[/] {for_terminal(exc)}", highlight=False)
    sys.exit(EXIT_USAGE)


@click.command("remit")
@click.argument("files", nargs=-1,
                type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--dry-run", is_flag=True, help="Show what would be recorded; record nothing.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--accept-unbalanced", is_flag=True,
              help="Record a remittance whose payment differs from its claims less PLB.")
@click.option("--unmatched", "list_unmatched", is_flag=True,
              help="List what 835s and 277s sent that no claim in the ledger explains.")
@click.pass_context
def remit_command(ctx: click.Context, files: tuple[Path, ...], dry_run: bool, fmt: str,
                  accept_unbalanced: bool, list_unmatched: bool) -> None:
    """Record the payments and denials in 835 remittance FILES (paid, denied, reversed)."""
    from portalbot.cli.common import err, open_ledger, settings_for
    from portalbot.engine import default_worker_name
    from portalbot.x12.imports import dry_run as preview
    from portalbot.x12.imports import read_all, record_all

    if list_unmatched:
        if files:
            raise click.UsageError("--unmatched lists what the ledger keeps; give it no files")
        _print_unmatched(open_ledger(settings_for(ctx)), fmt)
        return
    if not files:
        raise click.UsageError("give the 835 files to record (or --unmatched)")
    try:
        remittances = read_all(list(files))
    except X12FileError as exc:
        _fail_unreadable(exc)
        return
    ledger = open_ledger(settings_for(ctx))
    for remittance in remittances:
        if not remittance.balanced:
            err.print(
                f"[yellow]unbalanced:[/] {for_terminal(remittance.file)} trace "
                f"{for_terminal(remittance.payment.trace)}: "
                f"the payment is {remittance.payment.amount}, its claims less provider "
                f"adjustments (PLB) come to {remittance.expected_amount}"
                + ("" if accept_unbalanced or dry_run else
                   "; not recorded (--accept-unbalanced records it)"),
                highlight=False,
            )
    if dry_run:
        shown = preview(ledger, remittances)
        if fmt == "json":
            click.echo(json.dumps(shown, indent=2))
        else:
            _print_preview(shown)
        sys.exit(EXIT_OK if all(r.balanced for r in remittances) else EXIT_NEEDS_PERSON)
    imported = record_all(ledger, remittances, worker=default_worker_name(),
                          accept_unbalanced=accept_unbalanced)
    if fmt == "json":
        click.echo(json.dumps([_result_dict(r) for r in imported.results], indent=2))
    else:
        _print_results("Remittances", imported.results)
    status = _summary("claim payments", imported.results)
    sys.exit(EXIT_NEEDS_PERSON if imported.held_unbalanced else status)


def _result_dict(result: RemitResult) -> dict[str, object]:
    entry = result.entry
    return {
        "file": entry.file_name, "trace": entry.trace,
        "patient_control_number": entry.patient_control_number,
        "verdict": entry.verdict, "reason_code": entry.reason_code, "outcome": result.outcome,
        "claim": ({"claim_id": result.claim.claim_id, "version": result.claim.version,
                   "state": result.claim.state} if result.claim else None),
        "note": result.note,
    }


def _print_preview(shown: dict[str, object]) -> None:
    from portalbot.cli.common import out

    for remittance in shown["files"]:  # type: ignore[attr-defined]
        payment = remittance["payment"]
        table = Table(title=for_terminal(
            f"{remittance['file']}: {remittance['payer']}, {payment['method']} "
            f"{payment['amount']} on {payment['date']}, trace {payment['trace']}"
            f"{'' if remittance['balanced'] else ' (UNBALANCED)'}"
        ))
        for column in ("patient control no.", "status", "charge", "paid", "adjustments", "claim"):
            table.add_column(column, overflow="fold")
        for claim in remittance["claims"]:
            adjustments = [a for line in claim["lines"] for a in line["adjustments"]]
            codes = ", ".join(f"{a['group']}-{a['reason']} {a['amount']}"
                              for a in claim["adjustments"] + adjustments)
            matched = claim["matched"]
            table.add_row(*map(cell, (
                claim["patient_control_number"], claim["status_code"], claim["charge"],
                claim["paid"], codes,
                f"{matched['claim_id']} v{matched['version']}" if matched else "unmatched")))
        out.print(table)


UNMATCHED_COLUMNS = ("file_name", "kind", "patient_control_number", "payer_claim_number",
                     "verdict", "charge", "paid", "payment_date", "recorded_at")


def _print_unmatched(ledger: Ledger, fmt: str) -> None:
    from portalbot.cli.common import err, out
    from portalbot.ledger.remits import unmatched_remits

    kept = [{c: row[c] for c in UNMATCHED_COLUMNS} for row in unmatched_remits(ledger)]
    if fmt == "json":
        click.echo(json.dumps(kept, indent=2, default=str))
        return
    table = Table(title=f"Unmatched: {len(kept)}")
    for column in UNMATCHED_COLUMNS:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in kept:
        table.add_row(*(cell(row[c] if row[c] is not None else "") for c in UNMATCHED_COLUMNS))
    out.print(table)
    err.print(f"portalbot: {len(kept)} claim payments and statuses no claim explains"
              if kept else "portalbot: nothing unmatched", highlight=False)


def _print_results(title: str, results: list[RemitResult]) -> None:
    from portalbot.cli.common import out

    table = Table(title=title)
    for column in ("file", "patient control no.", "verdict", "code", "claim", "state now", "outcome"):
        table.add_column(column, overflow="fold")
    for result in results:
        entry, claim = result.entry, result.claim
        table.add_row(*map(cell, (
            entry.file_name, entry.patient_control_number, entry.verdict,
            entry.reason_code or "", claim.claim_id if claim else "",
            claim.state if claim else "", result.outcome)))
    out.print(table)


def _summary(noun: str, results: list[RemitResult]) -> int:
    """One line on standard error; exit 1 when something needs a person."""
    from portalbot.cli.common import err

    outcomes = Counter(r.outcome for r in results)
    verdicts = Counter(r.entry.verdict for r in results if r.outcome != ALREADY)
    if results and outcomes[ALREADY] == len(results):
        err.print(f"portalbot: nothing recorded: these {len(results)} {noun} were imported "
                  "before", highlight=False)
        return EXIT_OK
    told = ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items()))
    done = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
    err.print(f"portalbot: {len(results)} {noun} ({told}): {done}", highlight=False)
    for result in results:
        if result.outcome in {UNMATCHED, NOT_APPLIED}:
            err.print(f"[yellow]{result.outcome}:[/] {for_terminal(result.entry.file_name)} "
                      "patient control number "
                      f"{for_terminal(result.entry.patient_control_number)}: {result.note} "
                      "(kept in the ledger's remits table)", highlight=False)
    return EXIT_NEEDS_PERSON if outcomes[UNMATCHED] or outcomes[NOT_APPLIED] else EXIT_OK


@click.command("ack")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_context
def ack_command(ctx: click.Context, files: tuple[Path, ...], fmt: str) -> None:
    """Record the claim statuses in 277CA and 277 FILES (accepted, pending, rejected)."""
    from portalbot.cli.common import err, open_ledger, settings_for
    from portalbot.engine import default_worker_name
    from portalbot.x12.imports import record_acks

    ledger = open_ledger(settings_for(ctx))
    try:
        imported = record_acks(ledger, list(files), worker=default_worker_name())
    except X12FileError as exc:
        _fail_unreadable(exc)
        return
    results = imported.results
    if fmt == "json":
        click.echo(json.dumps([_result_dict(r) for r in results], indent=2))
    else:
        _print_results("Acknowledgments", results)
    status = _summary("claim statuses", results)
    for ack, rejection in imported.batch_rejections:
        err.print(f"[bold yellow]rejected batch:[/] {for_terminal(ack.file)} ({ack.kind} "
                  f"{for_terminal(ack.reference)}): the payer rejected at the {rejection.level} "
                  f"level ({for_terminal(', '.join(rejection.codes))}); "
                  "the claims of the batch it answers are not listed one by one: fix what the "
                  "codes name and send the batch again", highlight=False)
    sys.exit(EXIT_NEEDS_PERSON if imported.batch_rejections else status)


@click.command("convert")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--evidence", type=click.Path(path_type=Path, dir_okay=False),
              help="CCM evidence (JSON or CSV) keyed by patient control number (CLM01).")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The claims file (JSON) to write; owner-only.")
def convert_command(file: Path, evidence: Path | None, out_path: Path) -> None:
    """Write the claims of an X12 837P FILE in portalbot's own JSON format, for a person to read."""
    from portalbot.claims import ClaimFileError, ClaimProblem
    from portalbot.cli.common import err
    from portalbot.evidence import write_private
    from portalbot.x12.professional import read_837p

    try:
        items = list(read_837p(file, evidence))
    except ClaimFileError as exc:
        err.print(f"[bold red]portalbot:[/] {for_terminal(exc)}", highlight=False)
        sys.exit(EXIT_USAGE)
    claims, missing, problems = [], 0, 0
    for item, had_evidence in items:
        if isinstance(item, ClaimProblem):
            problems += 1
            err.print(f"[yellow]unreadable claim:[/] {for_terminal(item)}", highlight=False)
            continue
        claims.append(item.claim.model_dump(mode="json"))
        missing += 0 if had_evidence else 1
    write_private(out_path, (json.dumps({"claims": claims}, indent=2) + "\n").encode())
    err.print(f"portalbot: {len(claims)} claims written to {for_terminal(out_path)}"
              + (f"; {missing} have no CCM evidence and will be held by the rules" if missing else "")
              + (f"; {problems} unreadable" if problems else ""), highlight=False)
    sys.exit(EXIT_NEEDS_PERSON if problems or missing else EXIT_OK)
