"""How claims are shown at the terminal: one claim's detail (its confirmation, or why it
stopped), the table of a batch, and the stable JSON object of one claim."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from portalbot.cli.tables import Column, print_table, relative_path, state_text

if TYPE_CHECKING:
    from portalbot.claims import ClaimProblem
    from portalbot.engine import RunSummary
    from portalbot.ledger import ClaimRecord, Ledger

BATCH_COLUMNS = (
    Column("claim", keep=True), Column("v", drop=1), Column("payer", drop=2),
    Column("outcome", keep=True), Column("confirmation or reason", keep=True, wrap=True),
    Column("screenshot", drop=9),
)


def latest_screenshot(ledger: Ledger, record: ClaimRecord) -> str:
    for attempt in reversed(ledger.attempts(record.pk)):
        if attempt["screenshot"]:
            return str(attempt["screenshot"])
    return ""


def error_findings(record: ClaimRecord) -> list[dict[str, Any]]:
    return [f for f in record.findings if f["severity"] == "error"]


def detail(record: ClaimRecord) -> str:
    """The confirmation of an accepted or pending claim; otherwise why it stopped (a held
    claim: its first error finding)."""
    if record.state in {"accepted", "pending"}:
        return record.confirmation or ""
    if record.state == "held":
        first = next(iter(error_findings(record)), None)
        return f"{first['rule']}: {first['message']}" if first else "held"
    return record.reason or ""


def findings_json(record: ClaimRecord) -> list[dict[str, Any]]:
    return [{"rule": f.get("rule"), "severity": f.get("severity"), "message": f.get("message")}
            for f in record.findings]


def claim_json(ledger: Ledger, record: ClaimRecord, data_dir: Path) -> dict[str, Any]:
    """One claim in the ``ledger`` and ``submit`` JSON (README: "JSON shapes"); a held
    claim's reason is its first error finding, as the table shows."""
    screenshot = latest_screenshot(ledger, record)
    return {
        "claim_id": record.claim_id, "version": record.version, "payer_id": record.payer_id,
        "state": record.state, "batch_id": record.batch_id,
        "confirmation": record.confirmation, "reason_code": record.reason_code,
        "reason": record.reason or (detail(record) if record.state == "held" else None),
        "findings": findings_json(record), "portal_key": record.portal_key,
        "attempts": record.attempt_count,
        "screenshot": relative_path(screenshot, data_dir) or None,
    }


def unreadable_json(problem: ClaimProblem) -> dict[str, Any]:
    """A claim the file holds but portalbot could not read: where, which field, the fix."""
    return {"location": f"{problem.source}, {problem.location}", "claim_id": problem.claim_id,
            "field": problem.field, "message": problem.message}


def print_batch_table(
    ledger: Ledger, records: list[ClaimRecord], summary: RunSummary, dry_run: bool,
    data_dir: Path,
) -> None:
    dry = {(r.claim_id, r.version): r for r in summary.results if r.state == "dry_run"}
    rows = []
    for record in records:
        shown = dry.get((record.claim_id, record.version))
        state = state_text("dry run") if shown else state_text(record.state)
        why = shown.detail if shown else detail(record)
        screenshot = (shown.screenshot if shown else latest_screenshot(ledger, record)) or ""
        rows.append((record.claim_id, record.version, record.payer_id, state, why,
                     relative_path(screenshot, data_dir)))
    print_table("Claims in this batch", BATCH_COLUMNS, rows)
