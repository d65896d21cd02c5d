"""``portalbot validate`` (the CCM rules over a claim file, nothing submitted; ``--fix``
proposes corrected versions) and ``portalbot schema`` (the claim format's JSON Schema).

Imports the rules and the claim model only when the command runs, so its help is fast.
"""

from __future__ import annotations

import io
import itertools
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from portalbot.cli.common import (
    EXIT_NEEDS_PERSON,
    EXIT_OK,
    environment_errors,
    err,
    load_or_exit,
    out,
    say,
    settings_for,
    usage_error,
)
from portalbot.text import for_terminal

if TYPE_CHECKING:
    from portalbot.claims import ClaimBatchFile
    from portalbot.payer_rules import RuleChecker
    from portalbot.verdict_output import Rendered, TableWriter


@click.command()
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
    settings = settings_for(ctx)
    if fix_path is None and evidence is None and file.suffix.lower() in {".jsonl", ".ndjson"}:
        rows, problems, unreadable = _parallel(file, settings, fmt)
    else:
        rows, problems, unreadable = _serial(file, settings, evidence, fix_path, fmt)
    with environment_errors():
        first = next(rows, None)  # a file refused as a whole is refused before output
        counts = _write(fmt, itertools.chain([first] if first else [], rows), problems)
    checked, held = counts
    err.print(f"portalbot: {checked} claims checked, {held} held, "
              f"{unreadable()} unreadable", highlight=False)
    sys.exit(EXIT_NEEDS_PERSON if held or unreadable() else EXIT_OK)


Rows = Iterator["Rendered"]  # verdicts rendered for the output format


def _parallel(file: Path, settings: Any, fmt: str) -> tuple[Rows, Callable[[], list[Any]],
                                                            Callable[[], int]]:
    """JSON Lines on every core (portalbot.validation); problems are known once it ends."""
    from portalbot.claims import ClaimFileError
    from portalbot.validation import Merge, check_file

    merge = Merge(file.name, settings.max_problems_reported, fmt)

    def verdicts() -> Rows:
        try:
            yield from check_file(file, settings, merge)
        except ClaimFileError as exc:
            usage_error(for_terminal(exc))
        _report_problems(merge.problems, merge.more_problems)

    return verdicts(), lambda: merge.problems, lambda: len(merge.problems) + merge.more_problems


def _serial(file: Path, settings: Any, evidence: Path | None, fix_path: Path | None,
            fmt: str) -> tuple[Rows, Callable[[], list[Any]], Callable[[], int]]:
    """Every other input (a JSON array, CSV, X12, or with --fix/--evidence) in this process:
    the file is loaded whole, as ``submit`` loads it."""
    from portalbot import rules
    from portalbot.payer_rules import RuleChecker
    from portalbot.verdict_output import render

    batch = load_or_exit(file, settings, evidence)
    with environment_errors():
        checker = RuleChecker(settings)
    if fix_path is None:
        rows: Rows = (render(checker.verdict(loaded.claim), fmt) for loaded in batch.claims)
    else:
        listed = [checker.verdict(loaded.claim) for loaded in batch.claims]
        _write_fixes(rules, checker, batch, listed, fix_path)
        rows = (render(verdict, fmt) for verdict in listed)
    return rows, lambda: batch.problems, lambda: batch.unreadable


def _report_problems(problems: list[Any], more: int) -> None:
    for problem in problems:
        say(f"[yellow]unreadable claim:[/] {for_terminal(problem)}")
    if more:
        say(f"[yellow]unreadable claim:[/] … and {more} more, not listed "
            "(max_problems_reported in the config)")


def _write(fmt: str, rows: Rows, problems: Callable[[], list[Any]]) -> tuple[int, int]:
    """Verdicts to stdout, streamed when stdout is a file or a pipe (JSON one verdict a
    line, the table spooled until its widths are known); pretty-printed on a terminal."""
    from portalbot.verdict_output import JsonWriter

    stream = sys.stdout
    if stream.isatty():
        return _write_terminal(fmt, list(rows), problems)
    if fmt == "json":
        writer = JsonWriter(stream)
        for row in rows:
            writer.add(row)
        writer.finish(unreadable_entries(problems()))
        return writer.checked, writer.held
    table = _write_table(rows, stream)
    return table.checked, table.held


def _write_terminal(fmt: str, rows: list[Rendered], problems: Callable[[], list[Any]]
                    ) -> tuple[int, int]:
    held = sum(1 for row in rows if not row.billable)
    if fmt == "json":
        document = [json.loads(row.text) for row in rows] + unreadable_entries(problems())
        out.print_json(json.dumps(document), ensure_ascii=True)
        return len(rows), held
    text = io.StringIO()
    _write_table(rows, text)
    out.print(text.getvalue(), highlight=False, markup=False)
    return len(rows), held


def _write_table(rows: Iterable[Rendered], stream: Any) -> TableWriter:
    from portalbot.verdict_output import TableWriter

    table = TableWriter(stream)
    try:
        for row in rows:
            table.add(row)
        table.finish()
    finally:
        table.close()
    return table


def unreadable_entries(problems: list[Any]) -> list[dict[str, Any]]:
    """Each unreadable record once, after the verdicts: ``{"claim_id": ... or null,
    "unreadable": true, "location": "line 7", "problems": [{"field", "message"}]}``."""
    entries: dict[str, dict[str, Any]] = {}
    for p in problems:
        entry = entries.setdefault(p.location, {"claim_id": p.claim_id, "unreadable": True,
                                                "location": p.location, "problems": []})
        entry["problems"].append({"field": p.field, "message": p.message})
    return list(entries.values())


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
    from portalbot.evidence import write_private

    write_private(fix_path, (json.dumps(fixed, indent=2) + "\n").encode("utf-8"))  # PHI
    err.print(f"portalbot: {len(fixed)} corrected claims written to {for_terminal(fix_path)} for approval",
              highlight=False)


@click.command()
def schema() -> None:
    """Print the JSON Schema of the claim interchange format."""
    from portalbot.claims import claim_json_schema

    out.print_json(json.dumps(claim_json_schema()))
