"""``portalbot validate`` (the CCM rules over a claim file, nothing submitted; ``--fix``
proposes corrected versions) and ``portalbot schema`` (the claim format's JSON Schema).

Imports the rules and the claim model only when the command runs, so its help is fast.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Callable, Iterator
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
from portalbot.text import for_terminal, visible

if TYPE_CHECKING:
    from portalbot.claims import ClaimBatchFile
    from portalbot.intake import RuleChecker


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
        verdicts, problems, unreadable = _parallel(file, settings)
    else:
        verdicts, problems, unreadable = _serial(file, settings, evidence, fix_path)
    with environment_errors():
        first = next(verdicts, None)  # a file refused as a whole is refused before output
        counts = _write(fmt, itertools.chain([first] if first else [], verdicts), problems)
    checked, held = counts
    err.print(f"portalbot: {checked} claims checked, {held} held, "
              f"{unreadable()} unreadable", highlight=False)
    sys.exit(EXIT_NEEDS_PERSON if held or unreadable() else EXIT_OK)


Verdicts = Iterator[Any]


def _parallel(file: Path, settings: Any) -> tuple[Verdicts, Callable[[], list[Any]],
                                                  Callable[[], int]]:
    """JSON Lines on every core (portalbot.validation); problems are known once it ends."""
    from portalbot.claims import ClaimFileError
    from portalbot.validation import Merge, check_file

    merge = Merge(file.name, settings.max_problems_reported)

    def verdicts() -> Verdicts:
        try:
            yield from check_file(file, settings, merge)
        except ClaimFileError as exc:
            usage_error(for_terminal(exc))
        _report_problems(merge.problems, merge.more_problems)

    return verdicts(), lambda: merge.problems, lambda: len(merge.problems) + merge.more_problems


def _serial(file: Path, settings: Any, evidence: Path | None,
            fix_path: Path | None) -> tuple[Verdicts, Callable[[], list[Any]], Callable[[], int]]:
    from portalbot import rules
    from portalbot.intake import RuleChecker

    batch = load_or_exit(file, settings, evidence)
    with environment_errors():
        checker = RuleChecker(settings)
    if fix_path is None:
        verdicts: Verdicts = (checker.verdict(loaded.claim) for loaded in batch.claims)
    else:
        listed = [checker.verdict(loaded.claim) for loaded in batch.claims]
        _write_fixes(rules, checker, batch, listed, fix_path)
        verdicts = iter(listed)
    return verdicts, lambda: batch.problems, lambda: batch.unreadable


def _report_problems(problems: list[Any], more: int) -> None:
    for problem in problems:
        say(f"[yellow]unreadable claim:[/] {for_terminal(problem)}")
    if more:
        say(f"[yellow]unreadable claim:[/] … and {more} more, not listed "
            "(max_problems_reported in the config)")


def _write(fmt: str, verdicts: Verdicts, problems: Callable[[], list[Any]]) -> tuple[int, int]:
    """Verdicts to stdout: JSON streamed one verdict at a time when stdout is a file or a
    pipe (pretty-printed only on a terminal); the table needs every row for its widths."""
    from portalbot import rules

    stream = sys.stdout
    checked = held = 0
    if fmt == "json" and not stream.isatty():
        stream.write("[")
        separator = "\n"
        for verdict in verdicts:
            checked += 1
            held += not verdict.billable
            stream.write(separator + json.dumps(verdict.to_json()))
            separator = ",\n"
        for entry in unreadable_entries(problems()):
            stream.write(separator + json.dumps(entry))
            separator = ",\n"
        stream.write("\n]\n")
        stream.flush()
        return checked, held
    listed = list(verdicts)
    checked, held = len(listed), sum(1 for v in listed if not v.billable)
    if fmt == "json":
        document = [v.to_json() for v in listed] + unreadable_entries(problems())
        out.print_json(json.dumps(document), ensure_ascii=True)
    elif stream.isatty():
        out.print(visible(rules.render_table(listed), keep_newlines=True), highlight=False,
                  markup=False)
    else:
        stream.write(visible(rules.render_table(listed), keep_newlines=True))
    return checked, held


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
