"""GENERATED from the adapters: every declared case of every registered adapter, run in
real headless Chromium against the adapter's mock portal — as it is, and as its layout
variant (ids and classes renamed, fields reordered, colours changed).

Nothing here names a payer: a new ``payers/<id>.py`` with cases and a mock portal
``fixtures.portals.<id>`` is picked up as it is. All cases of one layout run in one
engine run (several payers in parallel), so the browser starts once per layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from portalbot.adapters import Case, PortalAdapter, discover_adapters

from .conftest import ROOT, Portals, World, portal_module

pytestmark = pytest.mark.browser

ADAPTERS: dict[str, type[PortalAdapter]] = discover_adapters()
LAYOUTS = ("standard", "variant")
CASES = [
    pytest.param(payer_id, layout, case, id=f"{payer_id}-{layout}-{case.claim_id}-{case.expect}")
    for layout in LAYOUTS
    for payer_id, adapter in sorted(ADAPTERS.items())
    if adapter.working
    for case in adapter.cases
]


class CaseRuns:
    """Runs every case of a layout once, on first demand, and remembers what happened."""

    def __init__(self, root: Path, portals: Portals):
        self.root = root
        self.portals = portals
        self.done: dict[str, dict[str, Any]] = {}

    def results(self, layout: str) -> dict[str, Any]:
        if layout not in self.done:
            self.done[layout] = self._run(layout)
        return self.done[layout]

    def _run(self, layout: str) -> dict[str, Any]:
        payers = sorted(p for p, a in ADAPTERS.items() if a.working and a.cases)
        world = World(self.root / layout, self.portals, payers)
        self.portals.reset_all()
        try:
            for payer_id in payers:
                self.portals.control(payer_id).set_faults(layout=layout)
            for payer_id in payers:
                by_file: dict[str, list[str]] = {}
                for case in ADAPTERS[payer_id].cases:
                    by_file.setdefault(case.fixture, []).append(case.claim_id)
                for fixture, claim_ids in by_file.items():
                    world.load(fixture, *claim_ids)
            summary = world.run(concurrency=len(payers))
            records = {r.claim_id: r for r in world.ledger.all_claims()}
            submitted = {p: world.submitted(p) for p in payers}
            return {"records": records, "submitted": submitted, "summary": summary}
        finally:
            world.close()
            self.portals.reset_all()


@pytest.fixture(scope="module")
def case_runs(tmp_path_factory: pytest.TempPathFactory, portals: Portals) -> CaseRuns:
    return CaseRuns(tmp_path_factory.mktemp("cases"), portals)


def test_every_adapter_declares_cases_with_fixtures_and_has_a_mock_portal() -> None:
    for payer_id, adapter in ADAPTERS.items():
        assert adapter.cases, f"{payer_id} declares no cases"
        for case in adapter.cases:
            assert (ROOT / case.fixture).exists(), f"{payer_id}: {case.fixture} is missing"
        module = portal_module(payer_id)
        assert callable(module.create_app) and len(module.LOGIN) == 3


@pytest.mark.parametrize(("payer_id", "layout", "case"), CASES)
def test_declared_case(payer_id: str, layout: str, case: Case, case_runs: CaseRuns) -> None:
    run = case_runs.results(layout)
    assert not run["summary"].blocked_payers, run["summary"].blocked_payers
    record = run["records"][case.claim_id]
    assert record.payer_id == payer_id
    assert record.state == case.expect, record.reason
    if case.reason_code is not None:
        assert record.reason_code == case.reason_code
    mine = [s for s in run["submitted"][payer_id]
            if s.get(_key_field(s)) == record.portal_key]
    expected_sent = 0 if case.expect == "duplicate" else 1
    assert len(mine) == expected_sent, f"{len(mine)} submissions carry this claim's portal key"


def _key_field(submission: dict[str, Any]) -> str:
    """Each portal names the box that carries the portal key its own way."""
    for name in ("patient_account_number", "patient_control_no"):
        if name in submission:
            return name
    raise AssertionError("the portal stored no patient account number")
