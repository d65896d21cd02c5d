"""X12 end to end through the Acme mock portal in headless Chromium: an 837P submitted with
its evidence file (JSON or CSV), and a demo submission settled by the matching 835."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from fixtures.portals._common import ControlClient
from portalbot.claims import ClaimBatchFile, load_claims
from portalbot.config import Settings
from portalbot.ledger import Ledger
from portalbot.worklist import build_worklist
from tests.helpers import ACME_LOGIN, Runner, subset
from tests.x12.conftest import CLAIMS_837P, EVIDENCE_837P, EVIDENCE_837P_CSV, FIRST_835

pytestmark = pytest.mark.browser

SPOUSE = "NORTHSIDE-2026-10-000107"  # the fullest form: a patient who is not the subscriber


def _stored_without_ids(acme: ControlClient) -> list[dict]:
    return [{k: v for k, v in s.items() if k not in {"claim_number", "submitted_at", "received_at"}}
            for s in acme.submissions()]


@pytest.mark.parametrize("evidence", [EVIDENCE_837P, EVIDENCE_837P_CSV], ids=["json", "csv"])
def test_an_837p_submits_through_acme_with_the_fields_of_the_json_claim(
    runner: Runner, acme: ControlClient, demo_batch: ClaimBatchFile, ledger: Ledger,
    settings: Settings, tmp_path: Path, evidence: Path,
) -> None:
    x12 = load_claims(CLAIMS_837P, evidence=evidence)
    runner.submit(subset(x12, SPOUSE))
    record = ledger.find(SPOUSE, 1)
    assert record is not None and record.state == "accepted"
    from_837p = _stored_without_ids(acme)
    acme.reset()
    other = Ledger.open(f"sqlite:///{tmp_path / 'json-ledger.sqlite3'}")
    try:
        Runner(settings, other, ACME_LOGIN).submit(subset(demo_batch, SPOUSE))
    finally:
        other.close()
    assert from_837p == _stored_without_ids(acme) and len(from_837p) == 1


def test_the_835_for_a_demo_submission_shows_paid_and_denied_on_ledger_and_worklist(
    runner: Runner, acme: ControlClient, demo_batch: ClaimBatchFile, ledger: Ledger,
    settings: Settings, cli: Callable[..., Result],
) -> None:
    runner.submit(subset(demo_batch, "NORTHSIDE-2026-10-000101", "NORTHSIDE-2026-10-000104"))
    result = cli("remit", FIRST_835)
    assert result.exit_code == 1  # the claim payments for claims this ledger never sent
    paid = ledger.find("NORTHSIDE-2026-10-000101", 1)
    denied = ledger.find("NORTHSIDE-2026-10-000104", 1)
    assert paid is not None and paid.state == "paid"
    assert denied is not None and denied.state == "denied" and denied.reason_code == "CO-50"
    [item] = build_worklist(ledger, settings, flagged={})
    assert (item.claim_id, item.reason, item.payer_id) == (denied.claim_id, "denied CO-50", "acme")
    shown = cli("ledger")
    assert "paid" in shown.stdout and "denied" in shown.stdout
