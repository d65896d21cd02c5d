"""Batch reports for people without the review app: one self-contained HTML file, or CSV.

Reports hold PHI, so they are written owner-only (0600) like evidence. The HTML carries its
own Content-Security-Policy (no script at all), every value is escaped, and screenshots
are embedded as data URIs so the file works when mailed or archived; ``link`` mode refers
to the evidence files instead, for batches too large to embed. Only screenshots that
resolve inside the evidence directory are read.
"""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import jinja2

from portalbot.csvfile import write_csv
from portalbot.errors import PortalbotError
from portalbot.evidence import write_private
from portalbot.ledger import ClaimRecord, Ledger
from portalbot.review import store
from portalbot.review.views import summarize

ScreenshotMode = Literal["embed", "link", "none"]


class UnknownBatch(PortalbotError):
    """The batch id is not in the ledger."""


@dataclass(frozen=True)
class ReportRow:
    claim_pk: int
    claim_id: str
    version: int
    payer_id: str
    patient: str
    birth_date: str
    member_id: str
    service_month: str
    diagnoses: str
    codes: str
    total_charge: str
    state: str
    confirmation: str
    payer_claim_number: str
    reason_code: str
    reason: str
    outcome_text: str
    attempts: int
    attempt_id: str
    attempt_number: int | None
    finished_at: datetime | None
    verdict: str
    verdict_by: str
    verdict_note: str
    verdict_at: datetime | None
    screenshot: str


def _held_findings(record: ClaimRecord) -> str:
    """Why the rules held a claim: its error findings, rule id first (the fix is in each)."""
    errors = [f for f in record.findings if f.get("severity") == "error"]
    return "; ".join(f"{f['rule']}: {f['message']}" for f in errors)


def _reason(record: ClaimRecord) -> str:
    if record.state == "held" and not record.reason:
        return _held_findings(record)
    return record.reason or ""


def _outcome_text(record: ClaimRecord) -> str:
    # The ledger's reason is the outcome's own summary, reason code included.
    if record.state in {"accepted", "pending"}:
        return f"confirmation {record.confirmation}" if record.confirmation else record.state
    return _reason(record)


def report_rows(ledger: Ledger, batch_id: str) -> list[ReportRow]:
    """One row per claim of the batch, with its latest finished attempt and verdict."""
    latest = {item.claim_pk: item for item in store.queue(ledger.engine, store.QueueFilter(batch=batch_id))}
    rows = []
    for record in ledger.claims_in_batch(batch_id):
        summary = summarize(record.payload)
        item = latest.get(record.pk)
        attempt = store.attempt_row(ledger.engine, item.attempt_id) if item else None
        last_verdict = next(
            (v for v in reversed(store.verdicts(ledger.engine, record.pk))
             if item and v.attempt_id == item.attempt_id),
            None,
        )
        rows.append(ReportRow(
            claim_pk=record.pk, claim_id=record.claim_id, version=record.version,
            payer_id=record.payer_id, patient=summary.patient, birth_date=summary.birth_date,
            member_id=summary.member_id, service_month=summary.service_month,
            diagnoses=" ".join(summary.diagnoses), codes=summary.codes,
            total_charge=summary.total_charge, state=record.state,
            confirmation=record.confirmation or "",
            payer_claim_number=record.payer_claim_number or "",
            reason_code=record.reason_code or "", reason=_reason(record),
            outcome_text=_outcome_text(record), attempts=record.attempt_count,
            attempt_id=item.attempt_id if item else "",
            attempt_number=item.attempt_number if item else None,
            finished_at=item.finished_at if item else None,
            verdict=last_verdict.verdict if last_verdict else "",
            verdict_by=last_verdict.reviewer if last_verdict else "",
            verdict_note=last_verdict.note if last_verdict else "",
            verdict_at=last_verdict.at if last_verdict else None,
            screenshot=(attempt or {}).get("screenshot") or "",
        ))
    return rows


def _batch(ledger: Ledger, batch_id: str) -> dict[str, object]:
    for batch in ledger.batches():
        if batch["id"] == batch_id:
            return batch
    raise UnknownBatch("no batch with that id in the ledger (see `portalbot ledger`)")


def _image_src(row: ReportRow, evidence_dir: Path, mode: ScreenshotMode) -> str | None:
    if mode == "none" or not row.screenshot:
        return None
    path = store.contained(Path(row.screenshot), evidence_dir)
    if path is None:
        return None
    if mode == "link":
        return path.as_uri()
    media = "image/jpeg" if path.suffix.lower() in {".jpg", ".jpeg"} else "image/png"
    return f"data:{media};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def render_html(
    ledger: Ledger, batch_id: str, evidence_dir: Path, *, screenshots: ScreenshotMode = "embed",
    now: datetime | None = None,
) -> str:
    batch = _batch(ledger, batch_id)
    rows = report_rows(ledger, batch_id)
    by_payer: dict[str, Counter[str]] = {}
    for row in rows:
        by_payer.setdefault(row.payer_id, Counter())[row.state] += 1
    shown = []
    for row in rows:
        src = _image_src(row, evidence_dir, screenshots)
        shown.append({**asdict(row), "image_src": src,
                      "screenshot_missing": screenshots != "none" and bool(row.screenshot) and src is None})
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("portalbot.review", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = lambda value: value.strftime("%Y-%m-%d %H:%M UTC") if value else ""
    return env.get_template("report.html").render(
        batch=batch, rows=shown, by_payer=by_payer,
        states=sorted({row.state for row in rows}),
        generated_at=now or ledger.clock(),
        img_src={"embed": "data:", "link": "file:", "none": "'none'"}[screenshots],
    )


CSV_COLUMNS = (
    "claim_id", "version", "payer_id", "patient", "birth_date", "member_id", "service_month",
    "diagnoses", "codes", "total_charge", "state", "confirmation", "payer_claim_number",
    "reason_code", "reason", "attempts", "attempt_id", "finished_at", "verdict", "verdict_by",
    "verdict_note", "verdict_at", "screenshot",
)


def render_csv(ledger: Ledger, batch_id: str) -> str:
    """The batch as CSV, through the project's one spreadsheet-safe writer."""
    _batch(ledger, batch_id)
    return write_csv(CSV_COLUMNS, (asdict(row) for row in report_rows(ledger, batch_id)))


def write_report(path: Path, text: str) -> None:
    """Owner-only, whatever the umask: a report is PHI."""
    write_private(path, text.encode("utf-8"))


def audit_report(ledger: Ledger, batch_id: str, fmt: str) -> None:
    """A report discloses every claim of the batch: one audit row each (no reviewer: the CLI)."""
    now = ledger.clock()
    for record in ledger.claims_in_batch(batch_id):
        store.record_audit(ledger.engine, None, f"report:{fmt}", now, claim_pk=record.pk)
