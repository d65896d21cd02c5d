"""The mock Keystone portal without a browser: log-on, edits, verdicts, faults, layout."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from fixtures.portals._common import ControlClient
from fixtures.portals.keystone import (
    CAPTCHA_ANSWER,
    DEFAULT_NPI,
    DEFAULT_PASSWORD,
    DEFAULT_PTAN,
    DEFAULT_USER_ID,
    create_app,
    make_state,
)


@dataclass
class Portal:
    client: TestClient
    control: ControlClient

    def logon(self, ptan: str = DEFAULT_PTAN, password: str = DEFAULT_PASSWORD) -> httpx.Response:
        return self.client.post("/logon", data={
            "userid": DEFAULT_USER_ID, "password": password, "npi": DEFAULT_NPI, "ptan": ptan,
        })

    def submit(self, **changes: str) -> httpx.Response:
        return self.client.post("/claims/entry", data=claim(**changes))


@pytest.fixture
def portal() -> Iterator[Portal]:
    with TestClient(create_app(make_state(seed=3)), follow_redirects=False) as client:
        yield Portal(client, ControlClient(str(client.base_url), client=client))


@pytest.fixture
def signed_in(portal: Portal) -> Portal:
    assert portal.logon().status_code == 303
    return portal


def claim(**changes: str) -> dict[str, str]:
    form = {
        "mbi": "1EG4TE5MK71", "last_name": "TESTPATIENT", "first_name": "ALPHA",
        "birth_date": "01021950", "sex": "F", "patient_control_no": "NS2026100001",
        "rendering_npi": "1245319599", "frequency": "1", "original_icn": "",
        "dx1": "E119", "dx2": "I10",
        "line1_from": "10312026", "line1_to": "10312026", "line1_pos": "11",
        "line1_hcpcs": "99490", "line1_mod": "", "line1_units": "1", "line1_charges": "64.00",
        "line1_dxptr": "12",
    }
    form.update(changes)
    return form


def test_the_portal_is_a_frameset_around_the_logon_page(portal: Portal) -> None:
    page = portal.client.get("/").text
    assert '<frame name="main" src="/logon">' in page
    assert "<label" not in portal.client.get("/logon").text


def test_logon_needs_the_ptan_that_belongs_to_the_user(portal: Portal) -> None:
    refused = portal.logon(ptan="XX0000")
    assert refused.status_code == 200 and "NPI/PTAN combination is not valid" in refused.text
    assert portal.logon().headers["location"] == "/menu"


def test_claim_entry_without_a_session_goes_to_logon(portal: Portal) -> None:
    assert portal.client.get("/claims/entry").headers["location"] == "/logon"


def test_an_idle_session_times_out(signed_in: Portal) -> None:
    signed_in.control.set_faults(session_lifetime_s=60.0)
    signed_in.control.advance_clock(61)
    assert signed_in.client.get("/claims/entry").headers["location"] == "/logon?timeout=1"


def test_a_clean_claim_is_accepted_with_a_13_digit_icn(signed_in: Portal) -> None:
    page = signed_in.submit()
    assert "Claim Accepted" in page.text
    stored = signed_in.control.submissions(patient_control_no="NS2026100001")
    assert stored[0]["status"] == "accepted" and re.fullmatch(r"\d{13}", stored[0]["claim_number"])


def test_dates_with_slashes_and_codes_with_dots_are_refused(signed_in: Portal) -> None:
    page = signed_in.submit(birth_date="01/02/1950", dx1="E11.9")
    assert page.status_code == 422
    assert "Date of Birth (MMDDYYYY): must be 8 digits MMDDYYYY" in page.text
    assert "Diagnosis 1: enter the ICD-10 code without the decimal point" in page.text


@pytest.mark.parametrize(("mbi", "code"), [("9AA9AA9AA99", "31"), ("5JM8XJ9RQ25", "27")])
def test_payer_rejections_carry_a_reason_code(signed_in: Portal, mbi: str, code: str) -> None:
    page = signed_in.submit(mbi=mbi)
    assert "Claim Rejected" in page.text and f"<td>{code}</td>" in page.text


def test_the_same_beneficiary_date_and_code_twice_is_a_duplicate(signed_in: Portal) -> None:
    page = signed_in.submit(mbi="4HK7WH8QP14")  # on file, keyed by hand before the test
    assert "Duplicate Claim" in page.text and "2226299000001" in page.text
    assert signed_in.control.submissions(mbi="4HK7WH8QP14")[0]["username"] == "keyed-by-hand"
    assert len(signed_in.control.submissions(mbi="4HK7WH8QP14")) == 1


def test_the_captcha_must_be_answered(signed_in: Portal) -> None:
    signed_in.control.set_faults(captcha=True)
    assert "Type the characters shown in the image" in signed_in.client.get("/claims/entry").text
    refused = signed_in.submit(captcha_shown="1", captcha="WRONG")
    assert "Verification Code: the characters do not match" in refused.text
    assert "Claim Accepted" in signed_in.submit(captcha_shown="1", captcha=CAPTCHA_ANSWER).text


def test_the_submit_button_asks_for_confirmation(signed_in: Portal) -> None:
    page = signed_in.client.get("/claims/entry").text
    assert 'value="Submit Claim" onclick="return confirm(' in page


def test_drop_response_stores_the_claim_but_answers_502(signed_in: Portal) -> None:
    signed_in.control.set_faults(drop_response=True)
    assert signed_in.submit().status_code == 502
    assert signed_in.control.submissions(patient_control_no="NS2026100001")[0]["status"] == "accepted"


def test_a_planned_maintenance_window_follows_the_portal_clock(portal: Portal) -> None:
    portal.control.set_faults(maintenance_window={"start": "2026-11-07T02:00:00+00:00",
                                                  "end": "2026-11-07T04:00:00+00:00"})
    portal.control.set_clock("2026-11-07T01:59:00+00:00")
    assert portal.client.get("/logon").status_code == 200
    portal.control.set_clock("2026-11-07T02:00:00+00:00")
    down = portal.client.get("/logon")
    assert down.status_code == 503 and "Planned Maintenance" in down.text


def test_layout_variant_renames_ids_and_reorders_columns_but_keeps_the_words(
    signed_in: Portal,
) -> None:
    standard = signed_in.client.get("/claims/entry").text
    signed_in.control.set_faults(layout="variant")
    variant = signed_in.client.get("/claims/entry").text
    assert 'id="f_mbi"' in standard and 'id="f_mbi"' not in variant
    assert 'class="cap"' not in variant
    for words in ("Beneficiary MBI:", "HCPCS", "Dx Ptr", "Submit Claim"):
        assert words in variant
    assert standard.index("From (MMDDYYYY)") < standard.index("Dx Ptr")
    assert variant.index("From (MMDDYYYY)") > variant.index("Dx Ptr")


def test_omitted_fields_disappear_from_the_claim_form(signed_in: Portal) -> None:
    signed_in.control.set_faults(omit_fields=["rendering_npi"])
    assert "Rendering NPI:" not in signed_in.client.get("/claims/entry").text


def test_command_line_flags_become_faults() -> None:
    from fixtures.portals._common.cli import build_parser, faults_from_args

    args = build_parser("keystone", "").parse_args(
        ["--port", "0", "--layout", "variant", "--omit-field", "rendering_npi",
         "--fault", "captcha=true", "--fault", "captcha_rate=0.25"])
    faults = faults_from_args(args)
    assert faults["layout"] == "variant" and faults["omit_fields"] == ["rendering_npi"]
    state = make_state(faults=faults)
    assert state.faults_snapshot().extra == {"captcha": True, "captcha_rate": 0.25}
