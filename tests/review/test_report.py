"""Batch reports: self-contained HTML that opens in Chromium, and spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import io
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.sync_api import Page, expect

from portalbot.cli import main
from portalbot.report import render_csv
from portalbot.review import store
from tests.review.conftest import DeskData


def _report(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "report", *args])
    return result.exit_code, result.output


@pytest.mark.browser
def test_the_report_opens_in_chromium_and_shows_every_claim_of_the_batch(
    page: Page, desk: DeskData, tmp_path: Path
) -> None:
    hostile = "<script>document.title='pwned'</script>"
    desk.add("NORTHSIDE-2026-10-000001", first="Marguerite", last="Ollander")
    desk.add("NORTHSIDE-2026-10-000002", first="Theodore", last=hostile, rejected=True)
    desk.add("NORTHSIDE-2026-10-000003", first="Ines", last="Calloway")
    other_batch = desk.ledger.create_batch("november.json", "1" * 64, 1, 0)
    desk.batch_id = other_batch
    desk.add("NORTHSIDE-2026-11-000009")  # not in the reported batch
    first_batch = desk.ledger.batches()[0]["id"]
    out = tmp_path / "report.html"

    code, output = _report(tmp_path, first_batch, "--out", str(out))

    assert code == 0, output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    page.goto(out.as_uri())
    rows = page.locator("#claims tbody tr")
    expect(rows).to_have_count(3)
    for claim in desk.claims[:3]:
        expect(page.locator("#claims")).to_contain_text(claim.claim_id)
        expect(page.locator(f"#claim-{claim.pk}")).to_contain_text(claim.member_id)
    expect(page.locator("#claims")).not_to_contain_text("NORTHSIDE-2026-11-000009")
    expect(page.locator("#claims")).to_contain_text(hostile)  # shown as text
    assert page.title() != "pwned"
    widths = page.locator("section.claim img").evaluate_all(
        "imgs => imgs.map(i => i.complete && i.naturalWidth)"
    )
    assert widths == [65, 66, 67]  # the three screenshots, embedded, in ledger order


def test_report_of_an_unknown_batch_is_a_usage_error(desk: DeskData, tmp_path: Path) -> None:
    code, _output = _report(tmp_path, "f" * 32, "--out", str(tmp_path / "r.html"))
    assert code == 2
    assert not (tmp_path / "r.html").exists()


def test_csv_report_is_owner_only_and_spreadsheet_safe(desk: DeskData, tmp_path: Path) -> None:
    desk.add("NORTHSIDE-2026-10-000001", first="=HYPERLINK(\"http://x\")", last="Ollander")
    reviewer_id = store.add_reviewer(desk.ledger.engine, "bob", "scrypt$x", desk.ledger.clock())
    store.add_verdict(desk.ledger.engine, desk.claims[0].attempt_id, reviewer_id, "flagged",
                      "+wrong member", desk.ledger.clock())
    out = tmp_path / "report.csv"

    code, output = _report(tmp_path, desk.batch_id, "--out", str(out), "--format", "csv")

    assert code == 0, output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 1
    assert rows[0]["patient"].startswith("'=HYPERLINK")
    assert rows[0]["verdict"] == "flagged" and rows[0]["verdict_by"] == "bob"
    assert rows[0]["verdict_note"] == "'+wrong member"
    assert rows[0]["confirmation"] == "ACM-261127-000001"
    assert rows[0]["codes"] == "99490 99439" and rows[0]["total_charge"] == "112.00"
    audit = store.audit_rows(desk.ledger.engine, desk.claims[0].pk)
    assert [(a.reviewer, a.action) for a in audit] == [(None, "report:csv")]


def test_a_screenshot_outside_the_evidence_directory_is_not_embedded(
    desk: DeskData, tmp_path: Path
) -> None:
    from portalbot.ledger import schema
    from portalbot.report import render_html

    claim = desk.add("NORTHSIDE-2026-10-000001")
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(claim.screenshot.read_bytes())
    with desk.ledger.engine.begin() as tx:
        tx.execute(schema.attempts.update().where(schema.attempts.c.id == claim.attempt_id)
                   .values(screenshot=str(outside)))
    html = render_html(desk.ledger, desk.batch_id, desk.evidence_dir)
    assert "data:image/png" not in html
    assert "missing from the evidence directory" in html
    assert render_csv(desk.ledger, desk.batch_id).count("\r\n") == 2
