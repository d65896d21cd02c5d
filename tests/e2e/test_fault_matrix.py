"""GENERATED from the adapter registry: faults the mock portals were not written to make,
on the requests each adapter makes after the write-ahead intent, asserted from what the
portal stored.

Playwright's own routing (installed on the claim's page once its intent is committed, so
it never touches sign-in or the form) cuts the connection before the request reaches the
portal, resets it after the portal answered (``route.fetch()`` then ``route.abort``),
turns the portal's answer into a 502, holds the answer past the post-click deadline, or
kills the browser process outright. For every adapter and fault: exactly one stored
submission per claim, or none; never ``failed`` or ``queued`` while the portal holds the
claim; in doubt until the portal's history settles it (a person where there is none).
"""

from __future__ import annotations

import asyncio
import os
import signal
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, Route

from portalbot.adapters import Case, PortalAdapter, discover_adapters
from portalbot.engine import Engine
from portalbot.ledger import ClaimRecord

from .conftest import Portals, World

pytestmark = pytest.mark.browser

ADAPTERS: dict[str, type[PortalAdapter]] = discover_adapters()
DEADLINE_S = 3.0
STORED = {"accepted", "pending"}
# (fault, which request after the intent: 0 is the submit itself, 1 the one after it)
FAULTS = [
    ("never_reaches", 0), ("reset_after", 0), ("bad_gateway", 0), ("late_answer", 0),
    ("browser_killed", 0), ("reset_after", 1), ("bad_gateway", 1),
]


def _stored_case(adapter: type[PortalAdapter]) -> Case:
    """The adapter's first declared claim that its portal stores."""
    return next(case for case in adapter.cases if case.expect in STORED)


CASES = [
    pytest.param(payer_id, fault, position, id=f"{payer_id}-{fault}-{position}")
    for fault, position in FAULTS
    for payer_id, adapter in sorted(ADAPTERS.items())
    if adapter.working and any(c.expect in STORED for c in adapter.cases)
]


def _browser_processes() -> list[int]:
    """Chromium processes below this test process (the engine's browser and its helpers)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/comm") as comm:
                names[int(entry)] = comm.read().strip()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])

    def below_us(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == os.getpid():
                return True
        return False

    return [pid for pid, name in names.items()
            if ("chrom" in name or "headless" in name) and below_us(pid)]


@dataclass
class Injector:
    """The route that plays one fault on the n-th request after one claim's intent."""

    fault: str
    position: int
    seen: int = 0
    played: bool = False

    async def handle(self, route: Route) -> None:
        if route.request.url.endswith("/favicon.ico") or self.played:
            await route.continue_()
            return
        number, self.seen = self.seen, self.seen + 1
        if number != self.position:
            await route.continue_()
            return
        self.played = True
        if self.fault == "never_reaches":
            await route.abort("connectionrefused")
            return
        response = await route.fetch(max_redirects=0)  # the portal has it now
        if self.fault == "reset_after":
            await route.abort("connectionreset")
        elif self.fault == "bad_gateway":
            await route.fulfill(status=502, body="<h1>Bad gateway</h1>")
        elif self.fault == "late_answer":
            await asyncio.sleep(DEADLINE_S + 2)  # the fault itself: an answer held too long
            with suppress(Exception):  # the engine has given the page up by then
                await route.fulfill(response=response)
        elif self.fault == "browser_killed":
            for pid in _browser_processes():
                os.kill(pid, signal.SIGKILL)


@dataclass
class Outcome:
    after_fault: ClaimRecord
    settled: ClaimRecord
    stored_after_fault: int
    stored_in_the_end: int
    history: bool


class Matrix:
    """Runs each (fault, position) round once, every adapter's claim in one engine run
    (a killed browser takes one payer at a time: it would take the others' pages too)."""

    def __init__(self, root: Path, portals: Portals):
        self.root = root
        self.portals = portals
        self.done: dict[tuple[str, str, int], Outcome] = {}

    def outcome(self, payer_id: str, fault: str, position: int) -> Outcome:
        if (payer_id, fault, position) not in self.done:
            payers = [payer_id] if fault == "browser_killed" else sorted(
                {p for p, _f, _n in (c.values for c in CASES)})
            self.done.update(self._run(payers, fault, position))
        return self.done[(payer_id, fault, position)]

    def _run(self, payers: list[str], fault: str, position: int) -> dict[Any, Outcome]:
        world = World(self.root / f"{'-'.join(payers)}-{fault}-{position}", self.portals, payers)
        world.settings = world.settings.model_copy(
            update={"post_click_deadline_s": DEADLINE_S, "concurrency": len(payers)})
        self.portals.reset_all()
        cases = {p: _stored_case(ADAPTERS[p]) for p in payers}
        injectors: dict[str, Injector] = {}

        async def on_intent(record: ClaimRecord, page: Page) -> None:
            injectors[record.payer_id] = Injector(fault, position)
            await page.route("**/*", injectors[record.payer_id].handle)

        try:
            batches = [world.load(case.fixture, case.claim_id).batch_id for case in cases.values()]
            engine = Engine(world.settings, world.ledger, lookup_credentials=world.credentials,
                            adapters=world.adapters(), on_intent=on_intent)
            asyncio.run(engine.run())
            after = {p: world.record(case.claim_id) for p, case in cases.items()}
            stored_after = {p: self._stored(world, p, after[p]) for p in payers}
            # Time passes for the ledger and the portals: the requests can no longer land
            # and lagging histories have caught up; the next run settles what is in doubt.
            world.advance(DEADLINE_S + max(ADAPTERS[p].history_settle_s for p in payers) + 1)
            for batch_id in batches:
                world.run(batch_id, concurrency=len(payers))
            results = {}
            for p, case in cases.items():
                assert p in injectors, f"{p}: no intent was ever recorded"
                assert injectors[p].played or position > 0, f"{p}: the fault was never played"
                settled = world.record(case.claim_id)
                results[(p, fault, position)] = Outcome(
                    after[p], settled, stored_after[p], self._stored(world, p, settled),
                    ADAPTERS[p].history_searchable,
                )
            return results
        finally:
            world.close()
            self.portals.reset_all()

    @staticmethod
    def _stored(world: World, payer_id: str, record: ClaimRecord) -> int:
        return sum(1 for s in world.submitted(payer_id) if record.portal_key in s.values())


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory, portals: Portals) -> Matrix:
    return Matrix(tmp_path_factory.mktemp("faults"), portals)


@pytest.mark.parametrize(("payer_id", "fault", "position"), CASES)
def test_a_fault_after_the_intent_never_sends_a_claim_twice_nor_forgets_one(
    payer_id: str, fault: str, position: int, matrix: Matrix
) -> None:
    run = matrix.outcome(payer_id, fault, position)
    expected = _stored_case(ADAPTERS[payer_id]).expect

    assert run.stored_after_fault <= 1
    assert run.stored_in_the_end <= 1
    if run.stored_after_fault:
        # The portal holds it: never failed, never queued for a second click.
        assert run.after_fault.state in {"in_doubt", "needs_human", expected}, run.after_fault.reason
    else:
        assert run.after_fault.state in {"in_doubt", "needs_human"}, run.after_fault.reason
    if run.history:
        assert run.settled.state == expected, run.settled.reason
        assert run.stored_in_the_end == 1
    else:
        assert run.settled.state in {"needs_human", expected}, run.settled.reason
        assert run.settled.state != "needs_human" or "patient account number" in (
            run.settled.reason or "")

