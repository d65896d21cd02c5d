"""The exit status of a run, and what a run that found nothing due leaves waiting.

One rule for every command that runs claims: blocked payers (3), then claims that need a
person (1), then claims whose retry is scheduled (4), else 0.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from portalbot.cli.common import (
    EXIT_ENVIRONMENT,
    EXIT_NEEDS_PERSON,
    EXIT_OK,
    EXIT_RETRY_SCHEDULED,
    err,
)
from portalbot.ledger.states import NEEDS_PERSON_STATES
from portalbot.text import for_terminal

if TYPE_CHECKING:
    from portalbot.engine import RunSummary
    from portalbot.ledger import Ledger


def run_exit_status(summary: RunSummary) -> int:
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
    return exit_for(summary.blocked_payers, [r.state for r in latest], summary.next_retry_at)


def exit_for(blocked: dict[str, str], states: list[str], next_retry: datetime | None) -> int:
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


def queue_note(ledger: Ledger, payers: tuple[str, ...]) -> None:
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
