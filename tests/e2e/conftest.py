"""Every mock portal, a ledger and an engine wired to them, for the multi-payer e2e tests.

A payer may have a mock portal package ``fixtures.portals.<payer_id>`` exposing
``create_app()`` and ``LOGIN`` (username, password, TOTP secret), and ``LOGIN_FIELDS``
where its sign-in asks for more; one without (a payer added with recorded pages only)
is left out of the worlds, never breaks them (``has_mock_portal``). Servers start
once per session, on first use, and are reset around every test.

Time is never waited for: the ledger's clock and every portal's clock move together
through ``World.advance``, and one-time codes come from a ``OneTimeCodes`` whose clock
is the BlueRiver portal's and whose "sleep" moves that clock on.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from fixtures.portals._common import ControlClient, RunningPortal, serve_in_thread
from portalbot.adapters import Credentials, PortalAdapter, discover_adapters
from portalbot.claims import ClaimBatchFile, load_claims
from portalbot.config import BrowserSettings, PayerSettings, RetrySettings, Settings
from portalbot.engine import Engine, RunSummary
from portalbot.intake import IntakeResult, intake
from portalbot.ledger import ClaimRecord, Ledger
from portalbot.totp import OneTimeCodes

ROOT = Path(__file__).resolve().parents[2]


def portal_module(payer_id: str) -> ModuleType:
    return importlib.import_module(f"fixtures.portals.{payer_id}")


def has_mock_portal(payer_id: str) -> bool:
    return importlib.util.find_spec(f"fixtures.portals.{payer_id}") is not None


class Portals:
    """Mock portals by payer id, started on first use."""

    def __init__(self) -> None:
        self._running: dict[str, RunningPortal] = {}
        self._controls: dict[str, ControlClient] = {}

    def server(self, payer_id: str) -> RunningPortal:
        if payer_id not in self._running:
            self._running[payer_id] = serve_in_thread(portal_module(payer_id).create_app())
            self._controls[payer_id] = ControlClient(self._running[payer_id].base_url)
        return self._running[payer_id]

    def control(self, payer_id: str) -> ControlClient:
        self.server(payer_id)
        return self._controls[payer_id]

    def login(self, payer_id: str) -> Credentials:
        module = portal_module(payer_id)
        username, password, secret = module.LOGIN
        return Credentials(username, password, secret, fields=getattr(module, "LOGIN_FIELDS", {}))

    def started(self) -> list[str]:
        return list(self._running)

    def reset_all(self) -> None:
        for control in self._controls.values():
            control.reset()

    def close(self) -> None:
        for control in self._controls.values():
            control.close()
        for server in self._running.values():
            server.stop()


@pytest.fixture(scope="session")
def portals() -> Iterator[Portals]:
    running = Portals()
    yield running
    running.close()


def portal_codes(control: ControlClient) -> OneTimeCodes:
    """TOTP codes on the portal's clock; waiting for the next code moves that clock on."""
    url = f"{control.base_url}/_control/clock"

    def clock() -> float:
        return datetime.fromisoformat(httpx.get(url).json()["now"]).timestamp()

    async def sleep(seconds: float) -> None:
        control.advance_clock(seconds)

    return OneTimeCodes(clock=clock, sleep=sleep)


class LedgerClock:
    """Real time plus whatever the test has fast-forwarded."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class World:
    """Settings, a ledger and an engine that submit to the mock portals."""

    def __init__(self, path: Path, portals: Portals, payer_ids: list[str] | None = None):
        self.portals = portals
        self.registry = discover_adapters()
        self.payer_ids = payer_ids or sorted(p for p in self.registry if has_mock_portal(p))
        self.settings = Settings(
            data_dir=path,
            payers={p: PayerSettings(base_url=portals.server(p).base_url) for p in self.payer_ids},
            retry=RetrySettings(in_place_attempts=3, in_place_wait_s=0.0, backoff_s=60.0),
            browser=BrowserSettings(action_timeout_s=5.0),
        )
        self.clock = LedgerClock()
        self.ledger = Ledger.open(self.settings.resolved_ledger_url, clock=self.clock)

    def adapters(self) -> dict[str, type[PortalAdapter]]:
        """The registry, with one-time codes tied to each TOTP portal's clock."""
        adapters: dict[str, type[PortalAdapter]] = {}
        for payer_id, adapter in self.registry.items():
            if "codes" in dir(adapter) and payer_id in self.payer_ids:
                codes = portal_codes(self.portals.control(payer_id))
                adapter = type(adapter.__name__, (adapter,), {"codes": codes})
            adapters[payer_id] = adapter
        return adapters

    def credentials(self, payer_id: str, _account: str) -> Credentials:
        return self.portals.login(payer_id)

    def engine(self, **settings: Any) -> Engine:
        chosen = self.settings.model_copy(update=settings) if settings else self.settings
        return Engine(chosen, self.ledger, lookup_credentials=self.credentials,
                      adapters=self.adapters())

    def load(self, fixture: str | Path, *claim_ids: str) -> IntakeResult:
        batch = load_claims(ROOT / fixture)
        if claim_ids:
            chosen = [c for c in batch.claims if c.claim.claim_id in claim_ids]
            assert len(chosen) == len(set(claim_ids)), "a claim id is not in the fixture"
            batch = ClaimBatchFile(batch.path, batch.content_hash, chosen, [])
        return intake(self.ledger, self.settings, batch)

    def run(self, batch_id: str | None = None, concurrency: int = 1, **options: Any) -> RunSummary:
        engine = self.engine(concurrency=concurrency)
        return asyncio.run(engine.run(batch_id=batch_id, **options))

    def record(self, claim_id: str, version: int = 1) -> ClaimRecord:
        found = self.ledger.find(claim_id, version)
        assert found is not None
        return found

    def advance(self, seconds: float) -> None:
        """Time passes for everyone: the ledger and every portal."""
        self.clock.offset += timedelta(seconds=seconds)
        for payer_id in self.payer_ids:
            self.portals.control(payer_id).advance_clock(seconds)

    def submitted(self, payer_id: str, **filters: str) -> list[dict[str, Any]]:
        """What the portal stored, leaving out the claims keyed by hand before the test."""
        return [
            s for s in self.portals.control(payer_id).submissions(**filters)
            if s.get("username") != "keyed-by-hand"
        ]

    def close(self) -> None:
        self.ledger.close()


@pytest.fixture
def world(tmp_path: Path, portals: Portals) -> Iterator[World]:
    created = World(tmp_path, portals)
    portals.reset_all()
    yield created
    created.close()
    portals.reset_all()
