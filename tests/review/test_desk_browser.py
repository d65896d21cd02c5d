"""The review desk driven through real headless Chromium, as a reviewer uses it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Dialog, Page, expect

from portalbot.review import store
from tests.review.conftest import REVIEWER, DeskData, Served, sign_in

pytestmark = pytest.mark.browser


def test_reviewer_steps_through_three_attempts_with_the_keyboard(
    page: Page, three_claims: DeskData, served: Served
) -> None:
    sign_in(page, served.base_url)
    expect(page.locator("body[data-keys=ready]")).to_be_attached()
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_class(re.compile("selected"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile("selected"))
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(re.compile("selected"))

    first, second, third = three_claims.claims
    page.keyboard.press("Enter")
    expect(page.locator("#claim-id")).to_have_text(first.claim_id)
    expect(page.locator("body[data-keys=ready]")).to_be_attached()
    page.keyboard.press("j")
    expect(page.locator("#claim-id")).to_have_text(second.claim_id)
    expect(page.locator("body[data-keys=ready]")).to_be_attached()
    page.keyboard.press("k")
    expect(page.locator("#claim-id")).to_have_text(first.claim_id)
    expect(page.locator("body[data-keys=ready]")).to_be_attached()

    page.keyboard.press("v")  # verify, and move on to the next attempt
    expect(page.locator("#claim-id")).to_have_text(second.claim_id)
    expect(page.locator("body[data-keys=ready]")).to_be_attached()
    page.keyboard.press("v")
    expect(page.locator("#claim-id")).to_have_text(third.claim_id)
    expect(page.locator("body[data-keys=ready]")).to_be_attached()
    page.keyboard.press("f")
    expect(page.locator("#flag-note")).to_be_focused()
    page.keyboard.type("member ID on the screenshot differs from the claim")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("End of the queue")

    recorded = store.verdicts(three_claims.ledger.engine)
    assert [(v.attempt_id, v.verdict, v.reviewer) for v in recorded] == [
        (first.attempt_id, "verified", REVIEWER),
        (second.attempt_id, "verified", REVIEWER),
        (third.attempt_id, "flagged", REVIEWER),
    ]
    assert recorded[2].note == "member ID on the screenshot differs from the claim"
    flagged = store.flagged_claims(three_claims.ledger.engine)
    assert [f.claim_id for f in flagged] == [third.claim_id]
    page.goto(f"{served.base_url}/flagged")
    expect(page.locator("#flagged tbody tr")).to_have_count(1)
    expect(page.locator("#flagged")).to_contain_text(third.claim_id)


def test_detail_page_shows_the_screenshot_recorded_for_that_attempt(
    page: Page, three_claims: DeskData, served: Served
) -> None:
    sign_in(page, served.base_url)
    wanted = three_claims.claims[1]
    page.goto(f"{served.base_url}/attempts/{wanted.attempt_id}")
    image = page.locator("#screenshot")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 64 + 2
    src = image.get_attribute("src")
    assert src is not None
    served_bytes = page.request.get(f"{served.base_url}{src}").body()
    assert served_bytes == wanted.screenshot.read_bytes()
    assert served_bytes != three_claims.claims[0].screenshot.read_bytes()


def test_script_in_a_patient_name_renders_as_text_and_runs_nothing(
    page: Page, desk: DeskData, served: Served
) -> None:
    hostile = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
    claim = desk.add("NORTHSIDE-XSS-1", first="Eve", last=hostile,
                     findings=[{"rule": "R", "severity": "warning", "message": hostile}])
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    sign_in(page, served.base_url)
    page.goto(f"{served.base_url}/attempts/{claim.attempt_id}")
    expect(page.locator("#patient")).to_have_text(f"Eve {hostile}")
    expect(page.locator(".findings")).to_contain_text(hostile)
    assert page.evaluate("window.__xss") is None
    assert page.locator("main script, main img[src=x]").count() == 0
    assert dialogs == []


def test_viewing_a_claim_writes_an_audit_row(
    page: Page, three_claims: DeskData, served: Served
) -> None:
    claim = three_claims.claims[0]
    sign_in(page, served.base_url)
    assert [r for r in store.audit_rows(three_claims.ledger.engine, claim.pk) if r.action == "view"] == []
    page.goto(f"{served.base_url}/attempts/{claim.attempt_id}")
    expect(page.locator("#claim-id")).to_have_text(claim.claim_id)
    views = [r for r in store.audit_rows(three_claims.ledger.engine, claim.pk) if r.action == "view"]
    assert [(r.reviewer, r.claim_pk, r.attempt_id) for r in views] == [
        (REVIEWER, claim.pk, claim.attempt_id)
    ]
    assert views[0].at == served.clock.now


def test_urls_on_the_pages_carry_ids_not_phi(
    page: Page, three_claims: DeskData, served: Served
) -> None:
    sign_in(page, served.base_url)
    claim = three_claims.claims[0]
    urls = []
    for path in ("/", f"/attempts/{claim.attempt_id}", f"/batches/{three_claims.batch_id}"):
        page.goto(served.base_url + path)
        urls += page.eval_on_selector_all(
            "[href], [src], [action]",
            "els => els.map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'))",
        )
    expect(page.locator("#by-state")).to_contain_text("accepted")
    assert urls
    for recorded in three_claims.claims:
        for phi in (recorded.patient.split()[-1], recorded.member_id):
            assert not [u for u in urls if phi in u]


def test_batch_summary_counts_outcomes_by_payer(
    page: Page, three_claims: DeskData, served: Served
) -> None:
    sign_in(page, served.base_url)
    page.goto(f"{served.base_url}/batches/{three_claims.batch_id}")
    all_row = page.locator("#by-state tbody tr", has_text="All payers")
    expect(all_row.locator("td")).to_have_text(["2", "1", "3"])  # accepted, rejected, total
    expect(page.locator("#by-verdict td")).to_have_text(["0", "0", "3"])


def test_five_wrong_passwords_slow_the_next_attempt(
    page: Page, three_claims: DeskData, served: Served
) -> None:
    for _ in range(5):
        sign_in(page, served.base_url, password="not the password")
        expect(page.get_by_role("alert")).to_have_text("Wrong name or password.")
    response_codes: list[int] = []
    page.on("response", lambda r: response_codes.append(r.status) if r.url.endswith("/signin") else None)
    sign_in(page, served.base_url)  # the right password, too soon
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    assert 429 in response_codes
    page.goto(f"{served.base_url}/")
    expect(page).to_have_url(f"{served.base_url}/signin")

    served.clock.advance(seconds=31)
    sign_in(page, served.base_url)
    expect(page).to_have_url(f"{served.base_url}/")
    expect(page.locator("#queue tbody tr")).to_have_count(3)


def test_signing_out_ends_the_session(page: Page, three_claims: DeskData, served: Served) -> None:
    sign_in(page, served.base_url)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{served.base_url}/signin")
    page.goto(f"{served.base_url}/attempts/{three_claims.claims[0].attempt_id}")
    expect(page).to_have_url(f"{served.base_url}/signin")


def test_the_access_log_names_ids_and_never_phi(
    page: Page, three_claims: DeskData, served: Served
) -> None:
    import io

    import structlog

    from portalbot.logs import configure

    stream = io.StringIO()
    configure(json_output=True, stream=stream)
    try:
        sign_in(page, served.base_url)
        claim = three_claims.claims[0]
        page.goto(f"{served.base_url}/attempts/{claim.attempt_id}?state=accepted")
        expect(page.locator("#patient")).to_have_text(claim.patient)
    finally:
        structlog.reset_defaults()
    logged = stream.getvalue()
    assert f'"path": "/attempts/{claim.attempt_id}"' in logged
    assert "state=accepted" not in logged
    for phi in (claim.patient, claim.member_id, "1950-12-10", "correct horse"):
        assert phi not in logged


@pytest.mark.parametrize("served", [{"page_size": 2}], indirect=True)
def test_a_long_queue_comes_in_pages_and_back_returns_to_the_page_of_the_claim(
    page: Page, three_claims: DeskData, served: Served
) -> None:
    first, second, third = three_claims.claims
    sign_in(page, served.base_url)
    rows = page.locator("#queue tbody tr")
    expect(page.locator("#shown-top")).to_have_text("2 shown of 3 attempts from here on")
    expect(rows).to_have_count(2)
    expect(page.locator("#prev-page")).to_have_count(0)

    expect(page.locator("body[data-keys=ready]")).to_be_attached()
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(rf"after={second.pk}"))
    expect(page.locator("#shown-top")).to_have_text("1 shown of 1 attempts from here on")
    expect(rows).to_have_count(1)
    expect(page.locator("#next-page")).to_have_count(0)

    expect(page.locator("body[data-keys=ready]")).to_be_attached()
    page.keyboard.press("p")  # keyset: the page before the first row shown
    expect(page).to_have_url(re.compile(rf"before={third.pk}"))
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-attempt", first.attempt_id)
    expect(page.locator("body[data-keys=ready]")).to_be_attached()
    page.keyboard.press("n")
    expect(rows).to_have_count(1)

    expect(page.locator("body[data-keys=ready]")).to_be_attached()
    page.keyboard.press("Enter")
    expect(page.locator("#claim-id")).to_have_text(third.claim_id)
    expect(page.locator("body[data-keys=ready]")).to_be_attached()
    page.keyboard.press("k")  # the neighbours span pages: the previous claim is on page 1
    expect(page.locator("#claim-id")).to_have_text(second.claim_id)
    expect(page.locator("body[data-keys=ready]")).to_be_attached()
    page.keyboard.press("q")  # back to the queue, on a page holding that claim, selected
    selected = page.locator("#queue tbody tr.selected")
    expect(selected).to_have_attribute("data-attempt", second.attempt_id)
    expect(page.locator("#prev-page")).to_be_visible()  # the first claim is before it
