"""The X12 world: the demo batch in a ledger, accepted by Acme as `make demo` leaves it, and a
CLI runner pointed at that ledger."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from portalbot.claims import ClaimBatchFile
from portalbot.cli import main
from portalbot.config import Settings
from portalbot.intake import intake
from portalbot.ledger import ClaimRecord, Ledger
from tests.helpers import ROOT

X12 = ROOT / "fixtures" / "x12"
FIRST_835 = X12 / "acme-835-2026-11-20.x12"
CORRECTION_835 = X12 / "acme-835-2026-12-04.x12"
ACK_277CA = X12 / "acme-277ca-2026-11-01.x12"
STATUS_277 = X12 / "acme-277-2026-11-15.x12"
CLAIMS_837P = X12 / "northside-837p-2026-11-01.837"
EVIDENCE_837P = X12 / "northside-837p-2026-11-01.evidence.json"
EVIDENCE_837P_CSV = X12 / "northside-837p-2026-11-01.evidence.csv"
# What the Acme portal answered for the demo claims (12 accepted, 2 rejected, 1 held).
ACCEPTED = [f"NORTHSIDE-2026-10-000{n}" for n in range(101, 113)]


@pytest.fixture
def demo_ledger(ledger: Ledger, settings: Settings, demo_batch: ClaimBatchFile) -> Ledger:
    loaded = intake(ledger, settings, demo_batch)
    for record in loaded.records:
        if record.claim_id in ACCEPTED:
            ledger.transition(record.pk, "queued", "accepted", "test", "accepted by the portal")
    return ledger


@pytest.fixture
def claim_state(demo_ledger: Ledger) -> Callable[[str], ClaimRecord]:
    def newest(claim_id: str) -> ClaimRecord:
        return demo_ledger.versions_of(claim_id)[-1]

    return newest


@pytest.fixture
def cli(settings: Settings) -> Callable[..., Result]:
    def invoke(*args: str | Path) -> Result:
        return CliRunner().invoke(
            main, ["--ledger", settings.resolved_ledger_url, *map(str, args)],
            catch_exceptions=False,
        )

    return invoke
