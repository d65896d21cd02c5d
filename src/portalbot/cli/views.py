"""How claims are shown at the terminal: one claim's detail (its confirmation, or why it
stopped) and the table of a batch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from portalbot.cli.common import out
from portalbot.text import cell

if TYPE_CHECKING:
    from portalbot.engine import RunSummary
    from portalbot.ledger import ClaimRecord, Ledger


def latest_screenshot(ledger: Ledger, record: ClaimRecord) -> str:
    for attempt in reversed(ledger.attempts(record.pk)):
        if attempt["screenshot"]:
            return str(attempt["screenshot"])
    return ""


def detail(record: ClaimRecord) -> str:
    """The confirmation of an accepted or pending claim; otherwise why it stopped (a held
    claim: its first error finding)."""
    if record.state in {"accepted", "pending"}:
        return record.confirmation or ""
    if record.state == "held":
        first = next((f for f in record.findings if f["severity"] == "error"), None)
        return f"{first['rule']}: {first['message']}" if first else "held"
    return record.reason or ""


def print_batch_table(
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
        why = shown.detail if shown else detail(record)
        screenshot = (shown.screenshot if shown else latest_screenshot(ledger, record)) or ""
        table.add_row(*map(cell, (record.claim_id, record.version, record.payer_id, state,
                                  why, screenshot)))
    out.print(table)
