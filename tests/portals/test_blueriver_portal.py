"""The mock BlueRiver portal without a browser: TOTP sign-in, the wizard's API, later
verdicts, the lagging claim search, forced password change, faults and layout."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pyotp
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from fixtures.portals._common import ControlClient
from fixtures.portals.blueriver import (
    DEFAULT_PASSWORD,
    DEFAULT_TOTP_SECRET,
    DEFAULT_USERNAME,
    create_app,
    make_state,
)

START = "2026-11-02T09:00:05+00:00"


@dataclass
class Portal:
    client: TestClient
    control: ControlClient

    def code(self, offset_steps: int = 0) -> str:
        now = datetime.fromisoformat(self.control.set_clock(advance_s=0).isoformat())
        totp = pyotp.TOTP(DEFAULT_TOTP_SECRET)
        return totp.generate_otp(totp.timecode(now) + offset_steps)

    def sign_in(self, code: str | None = None) -> httpx.Response:
        first = self.client.post("/api/signin", json={"username": DEFAULT_USERNAME,
                                                      "password": DEFAULT_PASSWORD})
        assert first.status_code == 200, first.text
        return self.client.post("/api/signin/verify", json={
            "challenge": first.json()["challenge"], "code": code or self.code()})

    def token(self) -> dict[str, str]:
        answer = self.sign_in()
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}


@pytest.fixture
def portal() -> Iterator[Portal]:
    with TestClient(create_app(make_state(seed=5)), follow_redirects=False) as client:
        control = ControlClient(str(client.base_url), client=client)
        control.set_clock(START)
        yield Portal(client, control)


def claim(**changes: str) -> dict[str, Any]:
    values = {
        "member_id": "BRV200000001", "patient_last_name": "Testpatient",
        "patient_first_name": "Alpha", "patient_birth_date": "1950-01-02", "patient_sex": "F",
        "relationship": "self", "group_number": "BR-7781", "patient_account_number": "NS1",
        "billing_npi": "1234567893", "tax_id": "12-3456789", "rendering_npi": "1245319599",
        "claim_type": "1", "original_claim_number": "", "diagnosis_1": "E11.9",
        "diagnosis_2": "I10", "line1_dos": "2026-10-31", "line1_pos": "11",
        "line1_cpt": "99490", "line1_modifier": "", "line1_units": "1",
        "line1_charge": "64.00", "line1_pointers": "1,2", "certify": "yes",
    }
    values.update(changes)
    return values


def test_sign_in_needs_the_current_one_time_code(portal: Portal) -> None:
    assert portal.sign_in(code=portal.code(offset_steps=1)).status_code == 403  # no future codes
    assert portal.sign_in(code=portal.code(offset_steps=-1)).status_code == 200  # some drift ok


def test_a_code_used_once_is_refused_the_second_time(portal: Portal) -> None:
    code = portal.code()
    assert portal.sign_in(code=code).status_code == 200
    again = portal.sign_in(code=code)
    assert again.status_code == 403 and "already used" in again.json()["error"]
    portal.control.advance_clock(30)
    assert portal.sign_in().status_code == 200


def test_after_90_days_sign_in_ends_on_a_forced_password_change(portal: Portal) -> None:
    portal.control.reset()  # the password's age counts from now, on the portal clock
    portal.control.advance_clock(89 * 86_400)
    assert "token" in portal.sign_in().json()
    portal.control.advance_clock(1 * 86_400)
    answer = portal.sign_in()
    assert answer.json() == {"password_expired": True}
    assert "Your password has expired" in portal.client.get("/account/password-expired").text


def test_the_api_refuses_an_idle_session_with_401(portal: Portal) -> None:
    headers = portal.token()
    portal.control.set_faults(session_lifetime_s=600.0)
    assert portal.client.get("/api/me", headers=headers).status_code == 200
    portal.control.advance_clock(601)
    expired = portal.client.get("/api/me", headers=headers)
    assert expired.status_code == 401 and expired.json() == {"error": "expired"}


def test_each_wizard_step_is_validated_by_the_server(portal: Portal) -> None:
    headers = portal.token()
    typed_not_chosen = portal.client.post(
        "/api/wizard/services", headers=headers, json=claim(line1_cpt=""))
    assert typed_not_chosen.json()["errors"] == [{
        "field": "line1_cpt", "message": "Line 1 procedure code: choose a code from the list"}]
    assert portal.client.post("/api/wizard/provider", headers=headers,
                              json=claim(tax_id="123456789")).json()["errors"][0]["field"] == "tax_id"
    assert portal.client.post("/api/wizard/patient", headers=headers,
                              json=claim()).json() == {"errors": []}


def test_the_procedure_box_offers_codes_to_choose_from(portal: Portal) -> None:
    options = portal.client.get("/api/procedures", params={"q": "9949"}).json()
    assert [o["code"] for o in options] == ["99490", "99491"]


def test_a_received_claim_gets_its_verdict_later(portal: Portal) -> None:
    headers = portal.token()
    received = portal.client.post("/api/claims", headers=headers, json=claim())
    reference = received.json()["reference"]
    status = portal.client.get(f"/api/claims/{reference}", headers=headers).json()
    assert status["status"] == "Received" and status["payer_claim_number"] is None
    portal.control.advance_clock(600)
    status = portal.client.get(f"/api/claims/{reference}", headers=headers).json()
    assert status["status"] == "Accepted" and status["payer_claim_number"] == f"BR{reference}"


@pytest.mark.parametrize(("member_id", "status", "code"), [
    ("BRV999999999", "Rejected", "M02"), ("BRV200000005", "Rejected", "M04"),
    ("BRV200000006", "Denied", "CO-96"),
])
def test_verdicts_that_are_not_acceptances_carry_a_reason_code(
    portal: Portal, member_id: str, status: str, code: str
) -> None:
    headers = portal.token()
    reference = portal.client.post("/api/claims", headers=headers,
                                   json=claim(member_id=member_id)).json()["reference"]
    portal.control.advance_clock(600)
    shown = portal.client.get(f"/api/claims/{reference}", headers=headers).json()
    assert (shown["status"], shown["reason_code"]) == (status, code)


def test_the_claim_search_lags_behind_new_submissions(portal: Portal) -> None:
    headers = portal.token()
    portal.client.post("/api/claims", headers=headers, json=claim(patient_account_number="KEY1"))
    search = {"reference": "KEY1"}
    assert portal.client.get("/api/claims", headers=headers, params=search).json() == []
    portal.control.advance_clock(121)
    found = portal.client.get("/api/claims", headers=headers, params=search).json()
    assert [f["patient_account_number"] for f in found] == ["KEY1"]


def test_a_claim_matching_one_received_is_a_duplicate(portal: Portal) -> None:
    answer = portal.client.post("/api/claims", headers=portal.token(),
                                json=claim(member_id="BRV200000004"))
    assert answer.status_code == 409 and answer.json() == {"duplicate_of": "40000001"}


def test_drop_response_stores_the_claim_but_answers_502(portal: Portal) -> None:
    headers = portal.token()
    portal.control.set_faults(drop_response=True)
    assert portal.client.post("/api/claims", headers=headers, json=claim()).status_code == 502
    assert portal.control.submissions(patient_account_number="NS1")[0]["status"] == "received"


def test_the_login_token_lives_in_session_storage_not_a_cookie(portal: Portal) -> None:
    answer = portal.sign_in()
    assert "set-cookie" not in answer.headers
    assert 'sessionStorage.setItem(KEY, r.data.token)' in portal.client.get(
        "/static/portal.js").text


def test_layout_variant_renames_ids_and_reorders_but_keeps_labels(portal: Portal) -> None:
    standard = portal.client.get("/app/claims/new").text
    portal.control.set_faults(layout="variant")
    variant = portal.client.get("/app/claims/new").text
    assert 'id="member_id"' in standard and 'id="member_id"' not in variant
    for words in ("Member ID", "Your claim reference", "Add service line", "Submit claim"):
        assert words in variant
    assert standard.index("Member ID") < standard.index("Your claim reference")
    assert variant.index("Member ID") > variant.index("Your claim reference")
    assert "hue-rotate" in variant
