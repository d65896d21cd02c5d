"""What the generated adapter tests run for one adapter: whatever the adapter has.

- a mock portal (``fixtures.portals.<payer_id>``): every case through the engine, in the
  portal's layout and its variant (``test_adapters_cases.CaseRuns``);
- else recorded pages (``payers/recordings/<payer_id>/<claim_id>.har``): each recorded
  case replayed with ``route_from_har`` — sign-in, the field map, and the outcome read
  when the recording went through submission;
- else only its pure mapping: ``to_form`` of each case.

Whatever is not run is skipped with a reason naming the payer and what it lacks.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from portalbot.adapters import Case, Filing, PortalAdapter
from portalbot.authoring.record import RECORDING_KEY, recordings
from portalbot.authoring.replay import replay
from portalbot.claims import Claim, load_claims
from portalbot.config import BrowserSettings

from .conftest import ROOT, has_mock_portal

RECORDINGS = ROOT / "payers" / "recordings"


def kind(payer_id: str, folder: Path | None = None) -> str:
    """``mock``, ``recorded`` or ``mapping``: the most this adapter's cases can run on."""
    if has_mock_portal(payer_id):
        return "mock"
    return "recorded" if recordings(folder or RECORDINGS / payer_id) else "mapping"


def case_claim(case: Case) -> Claim:
    batch = load_claims(ROOT / case.fixture)
    found = [c.claim for c in batch.claims if c.claim.claim_id == case.claim_id]
    assert found, f"{case.claim_id} is not in {case.fixture}"
    return found[0]


def run_mapping(adapter_type: type[PortalAdapter[Any]], case: Case) -> None:
    """The pure mapping: the case's claim becomes the portal's form, its key in the box
    the adapter declares for it."""
    form = adapter_type().to_form(case_claim(case), Filing(RECORDING_KEY))
    key_field = getattr(adapter_type, "portal_key_field", None)
    if key_field is not None:
        assert getattr(form, key_field) == RECORDING_KEY, f"{key_field} does not carry the key"
    else:
        assert RECORDING_KEY in form.model_dump().values(), "no box carries the portal key"


def run_recorded(adapter_type: type[PortalAdapter[Any]], case: Case, folder: Path) -> None:
    """Replay the case's recording; skip (naming the payer) what was not recorded."""
    payer_id = adapter_type.payer_id
    recorded = recordings(folder).get(case.claim_id)
    if recorded is None:
        run_mapping(adapter_type, case)
        pytest.skip(f"{payer_id}: no mock portal and no recording of {case.claim_id}: "
                    f"checked its mapping only (`portalbot record {payer_id} --case "
                    f"{case.claim_id}` records it)")
    result = asyncio.run(replay(adapter_type, recorded, folder, case_claim(case),
                                BrowserSettings(action_timeout_s=5.0)))
    assert result.filled
    if result.outcome is None:
        pytest.skip(f"{payer_id}: the recording of {case.claim_id} stops before the click "
                    "(no test mode): replayed the sign-in and the field map, not the outcome")
    assert result.state == case.expect, result.outcome
    if case.reason_code is not None:
        assert getattr(result.outcome, "reason_code", None) == case.reason_code
