"""Behaviour of the mock Acme portal and the shared portal machinery, without a browser."""

from __future__ import annotations

import re
import select
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

with warnings.catch_warnings():  # starlette prefers httpx2; httpx is what is installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from fixtures.portals._common import ControlClient, PortalState, serve_in_thread
from fixtures.portals.acme import DEFAULT_PASSWORD, DEFAULT_USERNAME, create_app, make_state

REPO_ROOT = Path(__file__).resolve().parents[2]
CLAIM_NUMBER = re.compile(r"^ACM-\d{6}-\d{6}$")


@dataclass
class Portal:
    client: TestClient
    control: ControlClient
    state: PortalState

    def login(self, password: str = DEFAULT_PASSWORD) -> httpx.Response:
        return self.client.post("/login", data={"username": DEFAULT_USERNAME, "password": password})

    def submit(self, form: dict[str, str]) -> httpx.Response:
        return self.client.post("/claims", data=form)


@pytest.fixture
def portal() -> Iterator[Portal]:
    state = make_state(seed=7)
    with TestClient(create_app(state), follow_redirects=False) as client:
        yield Portal(client, ControlClient(str(client.base_url), client=client), state)


@pytest.fixture
def signed_in(portal: Portal) -> Portal:
    assert portal.login().status_code == 303
    return portal


def valid_claim(**changes: str) -> dict[str, str]:
    form = {
        "patient_last_name": "Testpatient",
        "patient_first_name": "Alpha",
        "patient_birth_date": "01/02/1950",
        "patient_sex": "F",
        "patient_address": "1 Test Way",
        "patient_city": "Springfield",
        "patient_state": "IL",
        "patient_zip": "62701",
        "member_id": "ACM100000001",
        "group_number": "GRP-0042",
        "relationship": "self",
        "billing_provider_name": "Northside Family Medicine",
        "billing_npi": "1234567893",
        "tax_id": "123456789",
        "rendering_npi": "1245319599",
        "patient_account_number": "NS2026100001",
        "claim_frequency": "1",
        "accept_assignment": "Y",
        "signature_on_file": "Y",
        "diagnosis_a": "E11.9",
        "diagnosis_b": "I10",
        "line1_dos": "10/31/2026",
        "line1_pos": "11",
        "line1_cpt": "99490",
        "line1_modifiers": "",
        "line1_units": "1",
        "line1_charge": "64.00",
        "line1_pointers": "AB",
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def alerts(response: httpx.Response) -> list[str]:
    found = re.findall(r'role="alert">(.*?)</div>', response.text, flags=re.S)
    return [re.sub(r"<[^>]+>|\s+", " ", text).strip() for text in found]


# ------------------------------------------------------------------------ sign-in
def test_sign_in_sets_http_only_cookie_and_lands_on_home(portal: Portal) -> None:
    response = portal.login()

    assert response.status_code == 303
    assert response.headers["location"] == "/home"
    assert "httponly" in response.headers["set-cookie"].lower()
    home = portal.client.get("/home")
    assert "<h1>Welcome, Northside Family Medicine</h1>" in home.text
    assert 'href="/claims/new">Submit a claim</a>' in home.text
    assert portal.client.get("/").headers["location"] == "/home"


def test_wrong_password_shows_incorrect_banner(portal: Portal) -> None:
    response = portal.login("not-it")

    assert response.status_code == 200
    assert alerts(response) == ["The username or password is incorrect."]
    assert portal.client.get("/home").headers["location"] == "/login"


def test_fifth_failure_locks_account_even_for_right_password(portal: Portal) -> None:
    for _ in range(4):
        assert alerts(portal.login("wrong")) == ["The username or password is incorrect."]
    locked = (
        "Your account has been locked after too many failed sign-in attempts. "
        "Call provider services to unlock it."
    )
    assert alerts(portal.login("wrong")) == [locked]
    assert alerts(portal.login()) == [locked]

    portal.control.set_account(DEFAULT_USERNAME, "new-password-2")
    assert portal.login("new-password-2").status_code == 303


def test_pages_without_session_redirect_to_login(portal: Portal) -> None:
    for path in ("/", "/home", "/claims/new", "/claims/history"):
        response = portal.client.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert portal.submit(valid_claim()).headers["location"] == "/login"
    assert portal.control.submissions() == []


def test_idle_session_expires_with_notice(portal: Portal) -> None:
    portal.control.set_clock("2026-11-02T09:00:00+00:00")
    portal.control.set_faults(session_lifetime_s=600)
    portal.login()
    portal.control.advance_clock(599)
    assert portal.client.get("/claims/new").status_code == 200

    portal.control.advance_clock(601)
    response = portal.client.get("/claims/new")

    assert response.headers["location"] == "/login?expired=1"
    assert "Your session has expired" in portal.client.get("/login?expired=1").text


# ------------------------------------------------------------------------ claims
def test_valid_claim_is_accepted_and_stored_as_posted(signed_in: Portal) -> None:
    signed_in.control.set_clock("2026-11-02T14:05:00+00:00")
    form = valid_claim()

    response = signed_in.submit(form)

    assert response.status_code == 303
    assert response.headers["location"] == "/claims/ACM-261102-000001"
    [stored] = signed_in.control.submissions()
    assert {key: stored[key] for key in form} == form
    assert stored["status"] == "accepted"
    assert stored["claim_number"] == "ACM-261102-000001"
    assert stored["username"] == DEFAULT_USERNAME
    assert stored["submitted_at"].startswith("2026-11-02T14:05:00")
    page = signed_in.client.get(response.headers["location"]).text
    assert "<h1>Claim submitted</h1>" in page
    assert "<dt>Confirmation number</dt><dd>ACM-261102-000001</dd>" in page
    assert "<dt>Status</dt><dd>Accepted</dd>" in page
    assert "<dt>Patient account number</dt><dd>NS2026100001</dd>" in page


def test_malformed_claim_is_refused_with_field_messages_and_values_kept(
    signed_in: Portal,
) -> None:
    form = valid_claim(
        patient_birth_date="1950-01-02", line1_pointers="AC", patient_account_number="ns-2026"
    )

    response = signed_in.submit(form)

    assert response.status_code == 422
    [banner] = alerts(response)
    assert banner.startswith("We could not submit this claim")
    assert "Patient date of birth: Enter a valid date as MM/DD/YYYY." in banner
    assert "Patient account number: Use at most 14 characters" in banner
    assert "Line 1 diagnosis pointers: Pointer C refers to an empty diagnosis." in banner
    assert 'value="1950-01-02"' in response.text
    assert signed_in.control.submissions() == []


def test_replacement_without_original_claim_number_is_malformed(signed_in: Portal) -> None:
    response = signed_in.submit(valid_claim(claim_frequency="7"))

    assert response.status_code == 422
    assert "Original claim number: This field is required." in alerts(response)[0]


@pytest.mark.parametrize(
    ("changes", "code", "banner"),
    [
        ({"member_id": "ACM999999999"}, "R01", "Claim rejected – reason R01: Member ID not found."),
        (
            {"member_id": "ACM100000013", "line1_dos": "07/31/2026"},
            "R02",
            "Claim rejected – reason R02: Coverage was not active on the date of service.",
        ),
        (
            {"line1_cpt": "99211"},
            "R03",
            "Claim rejected – reason R03: Procedure code 99211 is not covered.",
        ),
    ],
)
def test_payer_rejections_are_shown_and_logged(
    signed_in: Portal,
    changes: dict[str, str],
    code: str,
    banner: str,
) -> None:
    response = signed_in.submit(valid_claim(**changes))

    assert response.status_code == 200
    assert alerts(response) == [banner]
    [stored] = signed_in.control.submissions()
    assert (stored["status"], stored["reason_code"]) == ("rejected", code)
    assert CLAIM_NUMBER.match(stored["claim_number"])
    history = signed_in.client.get("/claims/history?patient_account_number=NS2026100001")
    assert "<td>Rejected</td>" in history.text


def test_duplicate_of_accepted_claim_is_refused_and_not_stored(signed_in: Portal) -> None:
    first = signed_in.submit(valid_claim())
    claim_number = first.headers["location"].rsplit("/", 1)[1]

    again = signed_in.submit(valid_claim(patient_account_number="OTHER1"))

    assert again.status_code == 200
    assert alerts(again) == [
        f"Duplicate claim – this claim matches claim {claim_number} already on file."
    ]
    assert len(signed_in.control.submissions()) == 1


def test_claim_keyed_by_hand_counts_as_duplicate(signed_in: Portal) -> None:
    keyed = signed_in.control.add_submission(
        {
            "member_id": "ACM100000001",
            "line1_dos": "10/31/2026",
            "line1_cpt": "99490",
            "patient_account_number": "NS2026100001",
        }
    )

    response = signed_in.submit(valid_claim())

    assert keyed["status"] == "accepted"
    assert f"matches claim {keyed['claim_number']} already" in alerts(response)[0]


def test_missing_signature_stores_a_draft_behind_a_green_banner(signed_in: Portal) -> None:
    form = valid_claim()
    del form["signature_on_file"]

    response = signed_in.submit(form)

    assert response.status_code == 200
    assert alerts(response) == []
    assert (
        'role="status">Claim saved as draft. It will not be sent to the payer until it '
        "is completed.</div>"
    ) in response.text
    [stored] = signed_in.control.submissions()
    assert (stored["status"], stored["claim_number"]) == ("draft", None)


def test_history_finds_claims_by_account_number(signed_in: Portal) -> None:
    signed_in.submit(valid_claim(patient_account_number="ACCT1"))
    signed_in.submit(valid_claim(patient_account_number="ACCT2", line1_cpt="99439"))

    found = signed_in.client.get("/claims/history", params={"patient_account_number": "ACCT2"})
    none = signed_in.client.get("/claims/history", params={"patient_account_number": "NOPE"})

    assert "<caption>Search results</caption>" in found.text
    assert "<td>ACCT2</td>" in found.text and "<td>ACCT1</td>" not in found.text
    assert "<td>Accepted</td>" in found.text
    assert "No claims found." in none.text


# ------------------------------------------------------------------------ faults
def test_maintenance_answers_503_but_control_api_still_works(signed_in: Portal) -> None:
    signed_in.control.set_faults(maintenance=True)

    response = signed_in.client.get("/home")

    assert response.status_code == 503
    assert "<h1>Scheduled maintenance</h1>" in response.text
    assert signed_in.control.faults()["maintenance"] is True
    signed_in.control.set_faults(maintenance=False)
    assert signed_in.client.get("/home").status_code == 200


def test_fail_next_fails_only_that_many_matching_requests(signed_in: Portal) -> None:
    signed_in.control.set_faults(fail_next={"path_prefix": "/claims/new", "count": 2})

    statuses = [signed_in.client.get("/claims/new").status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert signed_in.client.get("/home").status_code == 200
    assert signed_in.control.faults()["fail_next"] is None


def test_error_rate_is_deterministic_for_a_seed(portal: Portal) -> None:
    def run() -> list[int]:
        portal.control.reset()
        portal.control.seed(42)
        portal.control.set_faults(error_rate=0.5)
        return [portal.client.get("/login").status_code for _ in range(30)]

    first, second = run(), run()

    assert first == second
    assert set(first) == {200, 503}


def test_bad_fault_value_is_refused(portal: Portal) -> None:
    with pytest.raises(httpx.HTTPStatusError):
        portal.control.set_faults(error_rate=2)
    with pytest.raises(httpx.HTTPStatusError):
        portal.control.set_faults(no_such_fault=True)


def test_dropped_response_still_stores_the_claim(signed_in: Portal) -> None:
    signed_in.control.set_faults(drop_response=True)

    response = signed_in.submit(valid_claim())

    assert response.status_code == 502
    assert "<h1>Bad gateway</h1>" in response.text
    [stored] = signed_in.control.submissions()
    assert stored["status"] == "accepted"


def test_request_parks_at_pause_point_until_released(signed_in: Portal) -> None:
    signed_in.control.arm_pause("after_store")
    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.update(response=signed_in.submit(valid_claim()))
    )
    worker.start()

    assert signed_in.control.wait_parked("after_store", timeout=10) == 1
    assert [s["status"] for s in signed_in.control.submissions()] == ["accepted"]
    assert "response" not in result

    signed_in.control.release("after_store")
    worker.join(timeout=10)

    assert result["response"].status_code == 303
    assert signed_in.control.pauses() == {"armed": [], "parked": {}}


def test_wait_parked_times_out_when_nothing_arrives(portal: Portal) -> None:
    portal.control.arm_pause("before_store")
    with pytest.raises(TimeoutError):
        portal.control.wait_parked("before_store", timeout=0.05)


# ------------------------------------------------------------------------ serving
def test_serve_in_thread_serves_over_real_http() -> None:
    with (
        serve_in_thread(create_app()) as running,
        httpx.Client(base_url=running.base_url, follow_redirects=False) as browser,
        ControlClient(running.base_url) as control,
    ):
        login = browser.post(
            "/login", data={"username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD}
        )
        submitted = browser.post("/claims", data=valid_claim())

        assert running.base_url.startswith("http://127.0.0.1:")
        assert login.status_code == 303
        assert submitted.status_code == 303
        assert len(control.submissions(status="accepted")) == 1


def test_command_line_announces_port_once_listening(tmp_path: Path) -> None:
    port_file = tmp_path / "acme.port"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fixtures.portals.acme",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--maintenance",
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 20)
        assert ready, "portal did not announce itself"
        announced = process.stdout.readline()
        port = int(port_file.read_text())

        assert f"127.0.0.1:{port}" in announced
        assert httpx.get(f"http://127.0.0.1:{port}/login").status_code == 503
    finally:
        process.terminate()
        process.wait(timeout=10)
