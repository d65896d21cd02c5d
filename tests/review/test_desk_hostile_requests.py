"""Hostile requests to the review desk: bad query values are a 400, control characters in
forms a 400 with a message, and an unexpected error is a bare 500 whose log line names
the error's type only (never the SQL parameters, a form value or a traceback)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from portalbot.logs import configure as configure_logs
from portalbot.review import store
from portalbot.review.app import ReviewConfig, create_app
from tests.review.conftest import PASSWORD, REVIEWER, DeskData


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logs(stream=stream)
    yield stream
    configure_logs()


@pytest.fixture
def client(three_claims: DeskData, reviewer: int) -> Iterator[TestClient]:
    app = create_app(three_claims.ledger.engine, ReviewConfig(evidence_dir=three_claims.evidence_dir))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as test_client:
        yield test_client


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found[1]


def _sign_in(client: TestClient) -> None:
    token = _token(client.get("/signin").text)
    response = client.post("/signin", data={"csrf_token": token, "name": REVIEWER,
                                            "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303


@pytest.mark.parametrize("query", ["page=" + "9" * 5000, "page=²", "page=-1", "page=1e3",
                                   "after=" + "9" * 13, "before=-3", "after=1.5",
                                   "batch=%00", "payer=a%1bb", "state=" + "s" * 2000])
def test_bad_query_values_are_a_400_not_a_500(client: TestClient, query: str) -> None:
    _sign_in(client)
    response = client.get(f"/?{query}")
    assert response.status_code == 400
    assert "Traceback" not in response.text


def test_a_nul_in_a_sign_in_name_or_a_note_is_a_400_with_a_message(
    client: TestClient, three_claims: DeskData
) -> None:
    token = _token(client.get("/signin").text)
    refused = client.post("/signin", data={"csrf_token": token, "name": "al\x00ice",
                                           "password": PASSWORD})
    assert refused.status_code == 400 and "control character" in refused.text
    _sign_in(client)
    attempt = three_claims.claims[0].attempt_id
    csrf = _token(client.get(f"/attempts/{attempt}").text)
    note = client.post(f"/attempts/{attempt}/verdict", data={
        "csrf_token": csrf, "verdict": "flagged", "note": "wrong\x00member", "params": ""})
    assert note.status_code == 400 and "the note holds a control character" in note.text
    multi_line = client.post(f"/attempts/{attempt}/verdict", data={
        "csrf_token": csrf, "verdict": "flagged", "note": "line one\r\nline two", "params": ""},
        follow_redirects=False)
    assert multi_line.status_code == 303
    assert store.verdicts(three_claims.ledger.engine, three_claims.claims[0].pk)[-1].note == (
        "line one\r\nline two")


def test_an_unexpected_error_is_a_bare_500_logged_by_type_without_request_data(
    client: TestClient, three_claims: DeskData, log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*args: object, **kwargs: object) -> None:
        raise sa.exc.IntegrityError("INSERT INTO verdicts (note) VALUES (%(note)s)",
                                    {"note": "Patient Ann Secretname"}, Exception("boom"))

    _sign_in(client)
    attempt = three_claims.claims[0].attempt_id
    csrf = _token(client.get(f"/attempts/{attempt}").text)
    monkeypatch.setattr(store, "add_verdict", failing)
    response = client.post(f"/attempts/{attempt}/verdict", data={
        "csrf_token": csrf, "verdict": "flagged", "note": "Patient Ann Secretname", "params": ""})

    assert response.status_code == 500 and response.text == "internal error"
    lines = log.getvalue()
    assert "request failed" in lines and "IntegrityError" in lines
    assert "Secretname" not in lines and "Traceback" not in lines and "INSERT" not in lines


def test_an_unauthenticated_path_with_escape_codes_is_logged_visibly(
    client: TestClient, log: io.StringIO
) -> None:
    client.get("/%1b[2J%1b]8;;http://evil/%07x", follow_redirects=False)
    lines = log.getvalue()
    assert "\x1b" not in lines and "\x07" not in lines
    assert "\\x1b[2J\\x1b]8;;http://evil/\\x07x" in lines
