"""How claims are shown at the terminal: one claim's detail (its confirmation, or why it
stopped), the table of a batch, and the stable JSON object of one claim."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from portalbot.cli.common import out
from portalbot.cli.tables import Column, print_table, relative_path, state_text
from portalbot.ledger.states import NEEDS_PERSON_STATES

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


def claim_json(ledger: Ledger, record: ClaimRecord, data_dir: Path,
               screenshots: dict[int, str] | None = None) -> dict[str, Any]:
    """One claim in the ``ledger`` and ``submit`` JSON (README: "JSON shapes"); a held
    claim's reason is its first error finding, as the table shows. ``screenshots``: the
    claims' newest screenshots read at once (``Ledger.latest_screenshots``), for a batch."""
    screenshot = (screenshots.get(record.pk, "") if screenshots is not None
                  else latest_screenshot(ledger, record))
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


#: a batch table longer than this shows these rows and says how to list the rest: a
#: terminal table of 100,000 claims takes minutes to draw and nobody reads it
TABLE_ROWS = 500


def print_batch_table(
    ledger: Ledger, records: list[ClaimRecord], summary: RunSummary, dry_run: bool,
    data_dir: Path, more: str = "",
) -> None:
    """The batch's claims; past ``TABLE_ROWS``, the claims this run touched and those that
    need a person first, then a line with the count left out and ``more`` (where to see
    them)."""
    dry = {(r.claim_id, r.version): r for r in summary.results if r.state == "dry_run"}
    shown_records = _table_rows(records, summary)
    screenshots = ledger.latest_screenshots(r.pk for r in shown_records)
    rows = []
    for record in shown_records:
        shown = dry.get((record.claim_id, record.version))
        state = state_text("dry run") if shown else state_text(record.state)
        why = shown.detail if shown else detail(record)
        screenshot = (shown.screenshot if shown else screenshots.get(record.pk)) or ""
        rows.append((record.claim_id, record.version, record.payer_id, state, why,
                     relative_path(screenshot, data_dir)))
    print_table("Claims in this batch", BATCH_COLUMNS, rows)
    if len(records) > len(shown_records):
        out.print(f"… and {len(records) - len(shown_records):,} more claims in this batch, not "
                  f"shown{'; ' + more if more else ''}", highlight=False)


def _table_rows(records: list[ClaimRecord], summary: RunSummary) -> list[ClaimRecord]:
    if len(records) <= TABLE_ROWS:
        return records
    touched = {(r.claim_id, r.version) for r in summary.results}

    def interest(record: ClaimRecord) -> int:
        if (record.claim_id, record.version) in touched:
            return 0
        return 1 if record.state in NEEDS_PERSON_STATES | {"failed"} else 2

    chosen = sorted(records, key=interest)[:TABLE_ROWS]
    return sorted(chosen, key=lambda r: r.pk)
