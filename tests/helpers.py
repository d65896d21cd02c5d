"""Helpers shared by tests: building batches and running the engine as `submit` does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from fixtures.portals.acme import DEFAULT_PASSWORD, DEFAULT_USERNAME
from portalbot.adapters import Credentials
from portalbot.claims import ClaimBatchFile
from portalbot.config import Settings
from portalbot.engine import Engine, RunSummary
from portalbot.intake import IntakeResult, intake
from portalbot.ledger import Ledger


class Clock:
    """A ledger clock a test moves by hand, so no test waits for real time to pass."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


ROOT = Path(__file__).resolve().parent.parent
CLAIMS = ROOT / "fixtures" / "claims"
ACME_LOGIN = Credentials(DEFAULT_USERNAME, DEFAULT_PASSWORD)


class Runner:
    """Loads claim files into the ledger and runs the engine over them, as `submit` does."""

    def __init__(self, settings: Settings, ledger: Ledger, credentials: Credentials):
        self.settings = settings
        self.ledger = ledger
        self.credentials = credentials

    def load(self, batch: ClaimBatchFile) -> IntakeResult:
        return intake(self.ledger, self.settings, batch)

    def engine(self) -> Engine:
        return Engine(
            self.settings, self.ledger, lookup_credentials=lambda _payer, _account: self.credentials
        )

    def run(self, batch_id: str | None = None, **options: object) -> RunSummary:
        return asyncio.run(self.engine().run(batch_id=batch_id, **options))  # type: ignore[arg-type]

    def submit(self, batch: ClaimBatchFile, **options: object) -> tuple[IntakeResult, RunSummary]:
        loaded = self.load(batch)
        return loaded, self.run(loaded.batch_id, **options)


def subset(batch: ClaimBatchFile, *claim_ids: str) -> ClaimBatchFile:
    """The same file with only some of its claims, to keep browser tests short."""
    chosen = [c for c in batch.claims if c.claim.claim_id in claim_ids]
    assert len(chosen) == len(claim_ids), "a claim id in the test is not in the fixture"
    return ClaimBatchFile(batch.path, batch.content_hash, chosen, [])
