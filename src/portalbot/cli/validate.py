"""``portalbot validate`` (the CCM rules over a claim file, nothing submitted; ``--fix``
proposes corrected versions) and ``portalbot schema`` (the claim format's JSON Schema).

Imports the rules and the claim model only when the command runs, so its help is fast.
"""

from __future__ import annotations

import json
import sys
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
    settings_for,
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
    from portalbot import rules
    from portalbot.intake import RuleChecker

    settings = settings_for(ctx)
    batch = load_or_exit(file, settings, evidence)
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
    from portalbot.evidence import write_private

    write_private(fix_path, (json.dumps(fixed, indent=2) + "\n").encode("utf-8"))  # PHI
    err.print(f"portalbot: {len(fixed)} corrected claims written to {for_terminal(fix_path)} for approval",
              highlight=False)


@click.command()
def schema() -> None:
    """Print the JSON Schema of the claim interchange format."""
    from portalbot.claims import claim_json_schema

    out.print_json(json.dumps(claim_json_schema()))
