"""The walking skeleton end to end: claims file → Acme mock portal → confirmed → ledger."""

from __future__ import annotations

import asyncio
import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from fixtures.portals._common import ControlClient
from payers.acme import AcmeAdapter
from portalbot.adapters import Credentials, Filing
from portalbot.browser import launch
from portalbot.claims import ClaimBatchFile, load_claims
from portalbot.config import Settings
from portalbot.ledger import Ledger, derive_portal_key
from tests.helpers import ACME_LOGIN, CLAIMS, MovingClock, Runner, subset

pytestmark = pytest.mark.browser

ACCEPTED = "NORTHSIDE-2026-10-000107"  # a spouse-insured claim: the fullest form
COVERAGE_ENDED = "NORTHSIDE-2026-10-000113"
UNKNOWN_MEMBER = "NORTHSIDE-2026-10-000114"


def test_accepted_claim_records_the_confirmation_number_the_portal_stored(
    runner: Runner, acme: ControlClient, demo_batch: ClaimBatchFile, ledger: Ledger
) -> None:
    runner.submit(subset(demo_batch, ACCEPTED))

    stored = acme.submissions()
    assert len(stored) == 1
    record = ledger.find(ACCEPTED, 1)
    assert record is not None and record.state == "accepted"
    assert record.confirmation == stored[0]["claim_number"]


def test_every_field_the_portal_stored_is_the_claims_data_in_the_portals_format(
    runner: Runner, acme: ControlClient, demo_batch: ClaimBatchFile
) -> None:
    runner.submit(subset(demo_batch, ACCEPTED))
    stored = acme.submissions()[0]
    claim = next(c.claim for c in demo_batch.claims if c.claim.claim_id == ACCEPTED)

    assert stored["patient_last_name"] == claim.patient.last_name
    assert stored["patient_birth_date"] == claim.patient.birth_date.strftime("%m/%d/%Y")
    assert stored["member_id"] == claim.subscriber.member_id
    assert stored["relationship"] == "spouse"
    assert stored["insured_birth_date"] == claim.subscriber.birth_date.strftime("%m/%d/%Y")
    assert stored["tax_id"] == claim.billing_provider.tax_id.replace("-", "")
    assert stored["billing_npi"] == claim.billing_provider.npi
    assert stored["rendering_npi"] == claim.rendering_provider.npi
    assert stored["claim_frequency"] == "1"
    assert stored["diagnosis_a"] == claim.diagnoses[0]
    assert stored["diagnosis_b"] == claim.diagnoses[1]
    line = claim.service_lines[0]
    assert stored["line1_cpt"] == line.code
    assert stored["line1_dos"] == line.date_of_service.strftime("%m/%d/%Y")
    assert stored["line1_charge"] == f"{line.charge:.2f}"
    assert stored["line1_units"] == str(line.units)
    assert stored["line1_pointers"] == "".join("ABCDEFGHIJKL"[p - 1] for p in line.diagnosis_pointers)
    assert stored["accept_assignment"] and stored["signature_on_file"]

    form = AcmeAdapter().to_form(claim, Filing(derive_portal_key(ACCEPTED, 1)))
    expected = form.model_dump()
    for number, line_form in enumerate(expected.pop("lines"), start=1):
        for key, value in line_form.items():
            assert stored[f"line{number}_{key}"] == value
    for letter, code in zip("abcdefghijkl", expected.pop("diagnoses"), strict=False):
        assert stored[f"diagnosis_{letter}"] == code
    for key, value in expected.items():
        assert stored[key] == value, key


def test_rejected_claim_is_recorded_with_the_portals_reason_and_its_banner_on_evidence(
    runner: Runner, acme: ControlClient, demo_batch: ClaimBatchFile, ledger: Ledger
) -> None:
    runner.submit(subset(demo_batch, COVERAGE_ENDED, UNKNOWN_MEMBER))

    ended = ledger.find(COVERAGE_ENDED, 1)
    unknown = ledger.find(UNKNOWN_MEMBER, 1)
    assert ended is not None and unknown is not None
    assert (ended.state, ended.reason_code) == ("rejected", "R02")
    assert "Coverage was not active" in (ended.reason or "")
    assert (unknown.state, unknown.reason_code) == ("rejected", "R01")
    stored = {s["patient_account_number"]: s for s in acme.submissions()}
    assert ended.confirmation == stored[ended.portal_key]["claim_number"]  # the portal's reference
    attempt = ledger.attempts(ended.pk)[-1]
    screenshot, html = Path(attempt["screenshot"]), Path(attempt["html"])
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    assert "Claim rejected – reason R02" in html.read_text(encoding="utf-8")
    assert attempt["trace"] is None  # a clean rejection keeps no trace


def test_submitting_the_same_batch_twice_leaves_one_submission_per_claim(
    runner: Runner, acme: ControlClient, demo_batch: ClaimBatchFile
) -> None:
    batch = subset(demo_batch, ACCEPTED, UNKNOWN_MEMBER, "NORTHSIDE-2026-10-000101")
    _first, first_run = runner.submit(batch)
    second, second_run = runner.submit(batch)

    stored = acme.submissions()
    assert sorted(s["patient_account_number"] for s in stored) == sorted(
        derive_portal_key(c.claim.claim_id, 1) for c in batch.claims
    )
    assert sum(r.submitted for r in first_run.results) == 3
    assert second.already_known == 3
    assert second_run.results == []


def test_wrong_password_is_a_clear_authentication_error_and_nothing_is_submitted(
    settings: Settings, ledger: Ledger, acme: ControlClient, demo_batch: ClaimBatchFile
) -> None:
    runner = Runner(settings, ledger, Credentials(ACME_LOGIN.username, "not-the-password"))
    _loaded, summary = runner.submit(subset(demo_batch, ACCEPTED))

    assert "authentication failed" in summary.blocked_payers["acme"]
    assert acme.submissions() == []
    record = ledger.find(ACCEPTED, 1)
    assert record is not None and record.state == "queued"
    assert ledger.attempts(record.pk) == []
    assert ledger.payer_circuit("acme")[0] is True


def test_dry_run_fills_the_form_takes_a_screenshot_and_submits_nothing(
    runner: Runner, acme: ControlClient, demo_batch: ClaimBatchFile, ledger: Ledger
) -> None:
    _loaded, summary = runner.submit(subset(demo_batch, ACCEPTED), dry_run=True)

    assert acme.submissions() == []
    (result,) = summary.results
    assert result.state == "dry_run"
    assert Path(result.screenshot or "").read_bytes().startswith(b"\x89PNG")
    record = ledger.find(ACCEPTED, 1)
    assert record is not None and record.state == "queued"


def test_evidence_is_readable_by_its_owner_only(
    runner: Runner, acme: ControlClient, demo_batch: ClaimBatchFile, ledger: Ledger
) -> None:
    runner.submit(subset(demo_batch, ACCEPTED))
    record = ledger.find(ACCEPTED, 1)
    assert record is not None
    attempt = ledger.attempts(record.pk)[-1]
    for path in (Path(attempt["screenshot"]), Path(attempt["html"])):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert path.parent.name == attempt["id"]


def test_lost_response_after_the_click_is_settled_from_the_portals_history_not_a_second_click(
    runner: Runner, acme: ControlClient, demo_batch: ClaimBatchFile, ledger: Ledger,
    clock: MovingClock,
) -> None:
    acme.set_faults(drop_response=True)
    runner.submit(subset(demo_batch, ACCEPTED))
    waiting = ledger.find(ACCEPTED, 1)
    assert waiting is not None and waiting.state == "in_doubt"
    # Reconciliation waits until the request can no longer land: the post-click deadline.
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at >= clock() + timedelta(
        seconds=runner.settings.post_click_deadline_s - 5)
    acme.set_faults(drop_response=False)
    clock.advance(runner.settings.post_click_deadline_s + 1)
    runner.run()

    record = ledger.find(ACCEPTED, 1)
    assert record is not None
    (stored,) = acme.submissions()
    assert record.state == "accepted"
    assert record.confirmation == stored["claim_number"]
    assert [e["to_state"] for e in ledger.events(record.pk)] == [
        "queued", "submitting", "in_doubt", "accepted",
    ]
    in_doubt_attempt = next(a for a in ledger.attempts(record.pk) if a["result"] == "in_doubt")
    assert in_doubt_attempt["trace"] and Path(in_doubt_attempt["trace"]).exists()


def test_a_claim_already_on_the_portal_is_found_before_submitting_and_not_sent_again(
    runner: Runner, acme: ControlClient, demo_batch: ClaimBatchFile, ledger: Ledger
) -> None:
    key = derive_portal_key(ACCEPTED, 1)
    keyed_by_hand = acme.add_submission(
        {"patient_account_number": key, "member_id": "ACM100000007", "line1_dos": "10/31/2026",
         "line1_cpt": "99490", "status": "accepted"}
    )
    runner.submit(subset(demo_batch, ACCEPTED))

    record = ledger.find(ACCEPTED, 1)
    assert record is not None and record.state == "accepted"
    assert record.confirmation == keyed_by_hand["claim_number"]
    assert len(acme.submissions()) == 1


def test_portal_key_is_the_patient_account_number_and_history_search_finds_it(
    runner: Runner, acme: ControlClient, demo_batch: ClaimBatchFile, ledger: Ledger,
    settings: Settings,
) -> None:
    runner.submit(subset(demo_batch, ACCEPTED))
    record = ledger.find(ACCEPTED, 1)
    assert record is not None
    assert acme.submissions()[0]["patient_account_number"] == record.portal_key

    async def search(key: str) -> object:
        adapter = AcmeAdapter(settings.payer("acme").base_url)
        async with async_playwright() as playwright:
            browser = await launch(playwright, settings.browser)
            page = await browser.new_page()
            await adapter.login(page, ACME_LOGIN)
            try:
                return await adapter.find_submission(page, key)
            finally:
                await browser.close()

    found = asyncio.run(search(record.portal_key))
    assert getattr(found, "confirmation", None) == record.confirmation
    assert asyncio.run(search("PBNOSUCHKEY000")) is None


def test_a_malformed_file_names_line_and_field_and_the_good_claims_still_go(
    runner: Runner, acme: ControlClient, ledger: Ledger
) -> None:
    batch = load_claims(CLAIMS / "broken.jsonl")
    runner.submit(batch)

    messages = [str(p) for p in batch.problems]
    assert any("line 4" in m and "charge" in m for m in messages)
    assert any("line 5" in m and "birth_date" in m for m in messages)
    assert len(acme.submissions()) == len(batch.claims) == 3
    states = {ledger.find(c.claim.claim_id, c.claim.version).state for c in batch.claims}  # type: ignore[union-attr]
    assert states == {"accepted"}


def test_ledger_events_and_reasons_hold_no_patient_data(
    runner: Runner, acme: ControlClient, demo_batch: ClaimBatchFile, ledger: Ledger
) -> None:
    acme.set_faults(drop_response=True)
    runner.submit(subset(demo_batch, ACCEPTED, UNKNOWN_MEMBER))
    claims = [c.claim for c in demo_batch.claims if c.claim.claim_id in {ACCEPTED, UNKNOWN_MEMBER}]
    text = json.dumps(
        [
            {"reason": r.reason, "events": ledger.events(r.pk), "attempts": ledger.attempts(r.pk)}
            for r in ledger.all_claims()
        ],
        default=str,
    )
    for claim in claims:
        for value in (claim.patient.last_name, claim.patient.first_name, claim.subscriber.member_id):
            assert value not in text
