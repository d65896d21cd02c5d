"""The review desk's defences, tried over real HTTP from a Chromium browser context."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from portalbot.evidence import write_private
from portalbot.ledger import schema
from portalbot.review import store
from tests.review.conftest import DeskData, Served, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.both_backends]


def _csrf_token(page: Page) -> str:
    token = page.locator("#verify-form input[name=csrf_token]").get_attribute("value")
    assert token
    return token


def test_evidence_paths_that_leave_the_evidence_directory_get_404(
    page: Page, three_claims: DeskData, served: Served, tmp_path: Path
) -> None:
    secret = tmp_path / "outside.png"
    write_private(secret, b"not evidence")
    claim = three_claims.claims[0]
    # A tampered ledger row pointing outside, and a symlink inside pointing outside.
    with three_claims.ledger.engine.begin() as tx:
        tx.execute(schema.attempts.update().where(schema.attempts.c.id == claim.attempt_id)
                   .values(screenshot=str(three_claims.evidence_dir / claim.attempt_id / ".." / ".." / "outside.png")))
    linked = three_claims.claims[1]
    linked.screenshot.unlink()
    os.symlink(secret, linked.screenshot)

    sign_in(page, served.base_url)
    base = served.base_url
    probes = [
        f"/evidence/{claim.attempt_id}/screenshot",
        f"/evidence/{linked.attempt_id}/screenshot",
        f"/evidence/{claim.attempt_id}/..%2f..%2f..%2fetc%2fpasswd",
        "/evidence/..%2f..%2fetc%2fpasswd/screenshot",
        f"/evidence/{claim.attempt_id}/%2e%2e",
        f"/evidence/{claim.attempt_id}/passwd",
        "/static/..%2freview%2fapp.py",
        "/static/%2e%2e/app.py",
    ]
    for probe in probes:
        response = page.request.get(base + probe)
        assert response.status == 404, probe
        assert b"not evidence" not in response.body()
        assert b"root:" not in response.body()
    # The untouched third attempt still serves.
    third = three_claims.claims[2]
    ok = page.request.get(f"{base}/evidence/{third.attempt_id}/screenshot")
    assert ok.status == 200 and ok.body() == third.screenshot.read_bytes()


def test_requests_without_a_signed_in_session_are_refused(
    browser: Browser, three_claims: DeskData, served: Served
) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        claim = three_claims.claims[0]
        for path in ("/", f"/attempts/{claim.attempt_id}", "/flagged", "/batches",
                     f"/batches/{three_claims.batch_id}"):
            page.goto(served.base_url + path)
            expect(page).to_have_url(f"{served.base_url}/signin")
            assert claim.claim_id not in page.content()
        evidence = page.request.get(f"{served.base_url}/evidence/{claim.attempt_id}/screenshot",
                                    max_redirects=0)
        assert evidence.status == 401
        assert evidence.body() != claim.screenshot.read_bytes()
        forged = page.request.post(
            f"{served.base_url}/attempts/{claim.attempt_id}/verdict",
            form={"verdict": "verified", "csrf_token": "x"}, max_redirects=0,
        )
        assert forged.status == 401
        # A made-up session cookie is no session either.
        context.add_cookies([{"name": "portalbot_review", "value": "forged",
                              "url": served.base_url}])
        page.goto(f"{served.base_url}/")
        expect(page).to_have_url(f"{served.base_url}/signin")
    finally:
        context.close()
    assert store.verdicts(three_claims.ledger.engine) == []
    assert store.audit_rows(three_claims.ledger.engine) == []


def test_a_post_without_the_csrf_token_is_refused(
    page: Page, three_claims: DeskData, served: Served
) -> None:
    claim = three_claims.claims[0]
    sign_in(page, served.base_url)
    page.goto(f"{served.base_url}/attempts/{claim.attempt_id}")
    token = _csrf_token(page)
    url = f"{served.base_url}/attempts/{claim.attempt_id}/verdict"
    missing = page.request.post(url, form={"verdict": "verified"}, max_redirects=0)
    wrong = page.request.post(url, form={"verdict": "verified", "csrf_token": token[:-2] + "xx"},
                              max_redirects=0)
    cross_site = page.request.post(
        url, form={"verdict": "verified", "csrf_token": token}, max_redirects=0,
        headers={"Origin": "https://evil.example"},
    )
    signout = page.request.post(f"{served.base_url}/signout", form={}, max_redirects=0)
    assert [r.status for r in (missing, wrong, cross_site, signout)] == [403, 403, 403, 403]
    assert store.verdicts(three_claims.ledger.engine) == []
    # The same POST with the token is accepted: the refusals above were about the token.
    good = page.request.post(url, form={"verdict": "verified", "csrf_token": token},
                             max_redirects=0)
    assert good.status == 303
    assert [v.verdict for v in store.verdicts(three_claims.ledger.engine)] == ["verified"]


def test_sign_in_without_its_csrf_token_is_refused(
    browser: Browser, three_claims: DeskData, served: Served
) -> None:
    context = browser.new_context()
    try:
        response = context.request.post(
            f"{served.base_url}/signin",
            form={"name": "alice", "password": "correct horse battery staple"},
            max_redirects=0,
        )
        assert response.status == 403
        assert "set-cookie" not in response.headers
    finally:
        context.close()


def test_every_response_carries_the_security_headers(
    page: Page, three_claims: DeskData, served: Served
) -> None:
    sign_in(page, served.base_url)
    claim = three_claims.claims[0]
    for path in ("/signin", "/", f"/attempts/{claim.attempt_id}",
                 f"/evidence/{claim.attempt_id}/screenshot", "/static/review.js", "/nowhere"):
        headers = page.request.get(served.base_url + path).headers
        csp = headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, path
        assert "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp, path
        assert headers.get("x-content-type-options") == "nosniff", path
        assert headers.get("x-frame-options") == "DENY", path
        assert headers.get("cache-control") == "no-store", path
    stored_page = page.request.get(f"{served.base_url}/evidence/{claim.attempt_id}/html")
    assert stored_page.headers["content-security-policy"].startswith("sandbox")


def test_session_cookie_is_http_only_and_same_site_strict(
    page: Page, three_claims: DeskData, served: Served
) -> None:
    sign_in(page, served.base_url)
    cookie = next(c for c in page.context.cookies() if c["name"] == "portalbot_review")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"


def test_a_foreign_host_header_is_refused(page: Page, three_claims: DeskData, served: Served) -> None:
    """DNS rebinding: a page on another name that resolves to 127.0.0.1 gets nothing."""
    response = page.request.get(f"{served.base_url}/signin", headers={"Host": "attacker.example"})
    assert response.status == 400
    assert re.search(r"sign in", response.text(), re.IGNORECASE) is None
