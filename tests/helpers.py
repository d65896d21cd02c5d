"""Helpers shared by tests: building batches and running the engine as `submit` does."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

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


class MovingClock:
    """Real time, plus whatever the test has fast-forwarded (``advance``)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


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


POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards.

    Skips with the reason when no server answers, unless PORTALBOT_REQUIRE_POSTGRES=1
    (set by .ci/run) makes that a failure.
    """
    try:
        admin = sa.create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://"),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            name = f"portalbot_{uuid.uuid4().hex[:12]}"
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means "skip"
        if os.environ.get("PORTALBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here but did not answer: {type(exc).__name__}")
        pytest.skip(f"no PostgreSQL server at 127.0.0.1:5432 ({type(exc).__name__})")
    try:
        yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
