"""The payer-call worklist: every claim that needs a person, grouped so one call settles many.

A claim is on the list when its newest version is denied, rejected, needs_human, in_doubt,
pending for longer than the configured number of days, flagged by a reviewer, or held by
the CCM rules. Groups are (payer, reason); the most urgent group — the one whose claim is
closest to the payer's timely-filing limit — comes first, and so does the most urgent
claim inside each group. Held claims come after the payer calls, grouped by the rule that
held them: they are fixed at the practice (the chart, the claim file), not on the phone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal

from portalbot.config import Settings
from portalbot.csvfile import write_csv
from portalbot.ledger import ClaimRecord, Ledger

ATTENTION_STATES = ("denied", "rejected", "needs_human", "in_doubt", "held")
HELD_REASON = "held: fix at the practice"


@dataclass(frozen=True)
class WorkItem:
    payer_id: str
    reason: str
    claim_id: str
    version: int
    state: str
    confirmation: str
    amount: Decimal
    date_of_service: date | None
    filing_deadline: date | None
    days_left: int | None
    detail: str


def _reason(record: ClaimRecord, flagged_note: str | None) -> str:
    if flagged_note is not None:
        return "flagged by a reviewer"
    if record.state in {"rejected", "denied"}:
        return f"{record.state} {record.reason_code}" if record.reason_code else record.state
    if record.state == "pending":
        return "pending too long"
    if record.state == "held":
        first = _first_error(record)
        return f"{HELD_REASON} ({first['rule']})" if first else HELD_REASON
    return record.state


def _first_error(record: ClaimRecord) -> dict[str, str] | None:
    return next((f for f in record.findings if f.get("severity") == "error"), None)


def _detail(record: ClaimRecord, flagged_note: str | None) -> str:
    if flagged_note is not None:
        return flagged_note
    if record.state == "held":
        first = _first_error(record)
        return f"{first['rule']}: {first['message']}" if first else ""
    return record.reason or ""


def _item(
    record: ClaimRecord, settings: Settings, today: date, flagged_note: str | None
) -> WorkItem:
    lines = record.payload.get("service_lines", [])
    amount = sum((Decimal(line["charge"]) * line["units"] for line in lines), Decimal("0"))
    dates = [date.fromisoformat(line["date_of_service"]) for line in lines]
    served = min(dates) if dates else None
    deadline = (
        served + timedelta(days=settings.payer(record.payer_id).timely_filing_days)
        if served else None
    )
    return WorkItem(
        payer_id=record.payer_id,
        reason=_reason(record, flagged_note),
        claim_id=record.claim_id,
        version=record.version,
        state=record.state,
        confirmation=record.confirmation or "",
        amount=amount,
        date_of_service=served,
        filing_deadline=deadline,
        days_left=(deadline - today).days if deadline else None,
        detail=_detail(record, flagged_note),
    )


def _urgency(item: WorkItem) -> int:
    return item.days_left if item.days_left is not None else 10**6


def build_worklist(
    ledger: Ledger,
    settings: Settings,
    *,
    today: date | None = None,
    now: datetime | None = None,
    payer_ids: list[str] | None = None,
    pending_days: float = 14.0,
    flagged: dict[int, str] | None = None,
) -> list[WorkItem]:
    """The claims that need a person, grouped by payer and reason, most urgent first."""
    now = now or ledger.clock()
    today = today or now.date()
    flagged = flagged if flagged is not None else _flagged(ledger)
    stale = now - timedelta(days=pending_days)
    # Read by index: the attention states, stale pending claims and the flagged ones, never
    # the whole ledger (each a newest version).
    candidates = {r.pk: r for r in ledger.attention_claims(
        ATTENTION_STATES, pending_before=stale, payer_ids=payer_ids)}
    for record in ledger.newest_of(sorted(set(flagged) - set(candidates))):
        if not payer_ids or record.payer_id in payer_ids:
            candidates[record.pk] = record
    items = [_item(record, settings, today, flagged.get(record.pk))
             for _pk, record in sorted(candidates.items())]
    groups: dict[tuple[str, str], list[WorkItem]] = {}
    for item in sorted(items, key=_urgency):
        groups.setdefault((item.payer_id, item.reason), []).append(item)
    ordered = sorted(groups.values(), key=lambda group: (
        group[0].reason.startswith(HELD_REASON), _urgency(group[0]), group[0].payer_id))
    return [item for group in ordered for item in group]


def _flagged(ledger: Ledger) -> dict[int, str]:
    return {f.claim_pk: f"{f.reviewer}: {f.note}" for f in ledger.flagged_claims()}


CSV_COLUMNS = [f.name for f in fields(WorkItem)]


def to_csv(items: list[WorkItem]) -> str:
    """The worklist as CSV, through the project's one spreadsheet-safe writer."""
    rows = []
    for item in items:
        row = asdict(item)
        row["amount"] = f"{item.amount:.2f}"
        rows.append(row)
    return write_csv(CSV_COLUMNS, rows)
