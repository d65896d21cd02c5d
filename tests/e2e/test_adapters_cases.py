"""GENERATED from the adapters: every declared case of every registered adapter, run on
what the adapter has (``adapter_cases``). With a mock portal, in real headless Chromium
through the engine — as the portal is, and as its layout variant (ids and classes
renamed, fields reordered, colours changed); with recorded pages, replayed from the HAR;
and, for every adapter, its pure mapping — what is not run is skipped, saying why
(``pytest -rs`` lists it per adapter: no recorded pages, and what runs instead).

Nothing here names a payer: a new ``payers/<id>.py`` with cases is picked up as it is.
All mock-portal cases of one layout run in one engine run (several payers in parallel),
so the browser starts once per layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from portalbot.adapters import Case, PortalAdapter, discover_adapters

from .adapter_cases import RECORDINGS, kind, run_mapping, run_recorded
from .conftest import ROOT, Portals, World, portal_module

pytestmark = pytest.mark.browser

ADAPTERS: dict[str, type[PortalAdapter]] = discover_adapters()
KINDS = {payer_id: kind(payer_id) for payer_id in ADAPTERS}
MOCKED = sorted(p for p, a in ADAPTERS.items() if a.working and a.cases and KINDS[p] == "mock")
LAYOUTS = ("standard", "variant")
CASES = [
    pytest.param(payer_id, layout, case, id=f"{payer_id}-{layout}-{case.claim_id}-{case.expect}")
    for layout in LAYOUTS
    for payer_id in MOCKED
    for case in ADAPTERS[payer_id].cases
]
WORKING = sorted(p for p, a in ADAPTERS.items() if a.working)
# Recorded pages: each case of an adapter that has recordings; one skip for one that has none.
RECORDED = [
    pytest.param(payer_id, case, id=f"{payer_id}-recorded-{case.claim_id}-{case.expect}")
    if KINDS[payer_id] == "recorded"
    else pytest.param(payer_id, None, id=f"{payer_id}-no-recordings")
    for payer_id in WORKING
    for case in (ADAPTERS[payer_id].cases if KINDS[payer_id] == "recorded" else (None,))
]
MAPPINGS = [
    pytest.param(payer_id, case, id=f"{payer_id}-mapping-{case.claim_id}-{case.expect}")
    for payer_id in WORKING
    for case in ADAPTERS[payer_id].cases
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
        world = World(self.root / layout, self.portals, MOCKED)
        self.portals.reset_all()
        try:
            for payer_id in MOCKED:
                self.portals.control(payer_id).set_faults(layout=layout)
            for payer_id in MOCKED:
                by_file: dict[str, list[str]] = {}
                for case in ADAPTERS[payer_id].cases:
                    by_file.setdefault(case.fixture, []).append(case.claim_id)
                for fixture, claim_ids in by_file.items():
                    world.load(fixture, *claim_ids)
            summary = world.run(concurrency=len(MOCKED))
            records = {r.claim_id: r for r in world.ledger.all_claims()}
            submitted = {p: world.submitted(p) for p in MOCKED}
            return {"records": records, "submitted": submitted, "summary": summary}
        finally:
            world.close()
            self.portals.reset_all()


@pytest.fixture(scope="module")
def case_runs(tmp_path_factory: pytest.TempPathFactory, portals: Portals) -> CaseRuns:
    return CaseRuns(tmp_path_factory.mktemp("cases"), portals)


@pytest.mark.parametrize("payer_id", sorted(ADAPTERS))
def test_adapter_declares_cases_whose_claims_exist(payer_id: str) -> None:
    adapter = ADAPTERS[payer_id]
    assert adapter.cases, f"{payer_id} declares no cases"
    for case in adapter.cases:
        assert (ROOT / case.fixture).exists(), f"{payer_id}: {case.fixture} is missing"
    if KINDS[payer_id] == "mock":
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
    mine = [s for s in run["submitted"][payer_id] if carries(ADAPTERS[payer_id], s,
                                                             record.portal_key)]
    expected_sent = 0 if case.expect == "duplicate" else 1
    assert len(mine) == expected_sent, f"{len(mine)} submissions carry this claim's portal key"


@pytest.mark.parametrize(("payer_id", "case"), RECORDED)
def test_declared_case_on_recorded_pages(payer_id: str, case: Case | None) -> None:
    """Replayed from ``payers/recordings/<payer_id>``: sign-in, the field map and, where the
    recording went through submission, the outcome read."""
    if case is None:
        instead = ("its cases run on its mock portal in both layouts (test_declared_case)"
                   if KINDS[payer_id] == "mock" else
                   "no mock portal either: only its mapping is checked (test_declared_mapping)")
        pytest.skip(f"{payer_id}: no recorded pages in payers/recordings/{payer_id} "
                    f"(`portalbot record {payer_id}` keeps them); {instead}")
    run_recorded(ADAPTERS[payer_id], case, RECORDINGS / payer_id)


@pytest.mark.parametrize(("payer_id", "case"), MAPPINGS)
def test_declared_mapping(payer_id: str, case: Case) -> None:
    """Every adapter, mock portal or not: the case's claim becomes the portal's form, the
    portal key in the box the adapter declares for it."""
    run_mapping(ADAPTERS[payer_id], case)


def carries(adapter: type[PortalAdapter], submission: dict[str, Any], portal_key: str) -> bool:
    """Whether the portal stored this submission under the portal key, in the box the
    adapter declares for it (``portal_key_field``); an adapter without that declaration
    is matched on any stored field holding the key."""
    declared = getattr(adapter, "portal_key_field", None)
    if declared is not None:
        assert declared in submission, f"the portal stored no {declared!r}"
        return bool(submission[declared] == portal_key)
    return portal_key in submission.values()
