"""The review desk for volume, in real headless Chromium: one-line rows with the outcome
region, the machine cross-check on the queue and the claim page, bulk verify behind a
confirmation, the key list, the selection kept in view, the 1:1 screenshot, the phone
layout."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from portalbot.review import store
from tests.review.conftest import REVIEWER, DeskData, Served, png, sign_in

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def _many(desk: DeskData, count: int) -> None:
    for n in range(count):
        desk.add(f"NORTHSIDE-2026-10-{n + 1:06d}",
                 region=png(300, 48, (n * 7 % 256, 120, 40)))


def _inside_viewport(page: Page, selector: str) -> list[bool]:
    """For each element: is its whole bounding box inside the viewport (give or take the
    fraction of a pixel that scrolling rounds)?"""
    result: list[bool] = page.eval_on_selector_all(selector, """els => els.map(e => {
        const r = e.getBoundingClientRect();
        return r.top >= -0.5 && r.left >= 0 && r.bottom <= window.innerHeight + 0.5
            && r.right <= window.innerWidth && r.height > 0;
    })""")
    return result


def _ready(page: Page) -> None:
    expect(page.locator("body[data-keys=ready]")).to_be_attached()


def test_twenty_five_one_line_rows_fit_a_laptop_screen(
    page: Page, desk: DeskData, served: Served
) -> None:
    _many(desk, 32)
    page.set_viewport_size(LAPTOP)
    sign_in(page, served.base_url)
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(32)
    page.wait_for_function("() => [...document.querySelectorAll('img.thumb')].slice(0, 25)"
                           ".every(i => i.complete)")
    assert sum(_inside_viewport(page, "#queue tbody tr")) >= 25
    heights = page.eval_on_selector_all("#queue tbody tr",
                                        "els => els.map(e => e.getBoundingClientRect().height)")
    assert max(heights) <= 24  # one line each
    first = rows.nth(0)
    recorded = desk.claims[0]
    expect(first).to_contain_text(recorded.claim_id)
    expect(first).to_contain_text("acme")
    expect(first).to_contain_text("accepted")
    expect(first).to_contain_text(recorded.confirmation or "")
    expect(first.locator(".check")).to_have_text("✓ match")


def test_the_thumbnail_is_the_recorded_outcome_region(
    page: Page, desk: DeskData, served: Served
) -> None:
    with_region = desk.add("NORTHSIDE-REGION-1", region=png(320, 50, (10, 200, 30)))
    other = desk.add("NORTHSIDE-REGION-2", region=png(320, 50, (200, 10, 30)))
    without = desk.add("NORTHSIDE-NOREGION-3")
    sign_in(page, served.base_url)
    for recorded in (with_region, other):
        image = page.locator(f"tr[data-attempt='{recorded.attempt_id}'] img.thumb")
        expect(image).to_have_attribute("alt", "outcome region")
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("img => img.naturalWidth") == 320
        src = image.get_attribute("src")
        assert src is not None and recorded.region is not None
        assert page.request.get(served.base_url + src).body() == recorded.region.read_bytes()
    assert with_region.region and other.region
    assert with_region.region.read_bytes() != other.region.read_bytes()
    fallback = page.locator(f"tr[data-attempt='{without.attempt_id}'] img.thumb")
    expect(fallback).to_have_attribute("alt", "page (no region recorded)")


def test_a_page_without_its_confirmation_is_a_mismatch_on_the_queue_and_the_claim(
    page: Page, desk: DeskData, served: Served
) -> None:
    good = desk.add("NORTHSIDE-CHECK-1")
    bad = desk.add("NORTHSIDE-CHECK-2", page_omits=("confirmation",))
    sign_in(page, served.base_url)
    expect(page.locator(f"tr[data-attempt='{good.attempt_id}'] .check")).to_have_text("✓ match")
    bad_mark = page.locator(f"tr[data-attempt='{bad.attempt_id}'] .check")
    expect(bad_mark).to_have_text("✗ mismatch")
    expect(bad_mark).to_have_attribute("title", "the page does not show the confirmation")

    page.goto(f"{served.base_url}/attempts/{bad.attempt_id}")
    expect(page.locator("#crosscheck .check")).to_have_text("✗ mismatch")
    values = page.locator("#crosscheck-values")
    expect(values).to_contain_text(f"{bad.confirmation} · not on the page")
    expect(values).to_contain_text(f"{bad.portal_key} · shown")
    page.goto(f"{served.base_url}/attempts/{good.attempt_id}")
    expect(page.locator("#crosscheck .check")).to_have_text("✓ match")


def test_a_portal_key_keystone_never_shows_is_not_a_mismatch(
    page: Page, desk: DeskData, served: Served
) -> None:
    keystone = desk.add("NORTHSIDE-KEY-1", payer_id="keystone", page_omits=("portal_key",))
    acme = desk.add("NORTHSIDE-KEY-2", page_omits=("portal_key",))  # acme shows its key
    sign_in(page, served.base_url)
    row = page.locator(f"tr[data-attempt='{keystone.attempt_id}']")
    expect(row.locator(".check")).to_have_text("✓ match")
    expect(row.locator(".check-note")).to_have_text("portal key not shown by this portal")
    expect(page.locator(f"tr[data-attempt='{acme.attempt_id}'] .check")).to_have_text(
        "✗ mismatch")
    page.goto(f"{served.base_url}/attempts/{keystone.attempt_id}")
    expect(page.locator("#crosscheck .check")).to_have_text("✓ match")
    expect(page.locator("#crosscheck-values")).to_contain_text(
        f"{keystone.portal_key} · not shown by this portal")


def _verdict_rows(desk: DeskData) -> list[tuple[str, str, str]]:
    return [(v.attempt_id, v.verdict, v.reviewer) for v in store.verdicts(desk.ledger.engine)]


def test_bulk_verify_asks_first_then_verifies_each_matched_attempt_once(
    page: Page, desk: DeskData, served: Served
) -> None:
    matched = [desk.add(f"NORTHSIDE-BULK-{n}") for n in range(4)]
    mismatched = [desk.add("NORTHSIDE-BULK-X1", page_omits=("confirmation",)),
                  desk.add("NORTHSIDE-BULK-X2", page_omits=("portal_key",))]
    rejected = desk.add("NORTHSIDE-BULK-R", rejected=True, page_omits=("portal_key",))
    sign_in(page, served.base_url)
    _ready(page)
    dialog = page.locator("#verify-dialog")
    expect(page.locator("#verify-matched")).to_have_text("Verify 4 matched… (V)")
    page.keyboard.press("Shift+V")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"in your name ({REVIEWER})")
    page.locator("#verify-matched-cancel").click()
    expect(dialog).to_be_hidden()
    assert _verdict_rows(desk) == []

    page.locator("#verify-matched").click()
    expect(dialog).to_be_visible()
    with page.expect_navigation():
        page.locator("#verify-matched-confirm").click()
    expect(page.locator("#verified-message")).to_have_text("Verified 4 cross-checked attempts.")
    assert sorted(_verdict_rows(desk)) == sorted(
        (m.attempt_id, "verified", REVIEWER) for m in matched)
    rows = page.locator("#queue tbody tr")  # the default view: not reviewed yet
    expect(rows).to_have_count(3)
    remaining = {r.attempt_id for r in (*mismatched, rejected)}
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.attempt)")) == remaining
    expect(page.locator("#verify-matched")).to_have_count(0)

    # The server checks again: a forged list naming mismatched attempts verifies nothing.
    token = page.locator("header input[name=csrf_token]").get_attribute("value")
    forged = page.request.post(f"{served.base_url}/verify-matched", form={
        "csrf_token": token or "", "params": "",
        "attempts": " ".join([*remaining, matched[0].attempt_id]),
    }, headers={"origin": served.base_url}, max_redirects=0)
    assert forged.status == 303 and "verified=0" in forged.headers["location"]
    assert len(_verdict_rows(desk)) == 4


def test_question_mark_lists_the_keys_on_the_queue_and_the_claim(
    page: Page, desk: DeskData, served: Served
) -> None:
    claim = desk.add("NORTHSIDE-KEYS-1")
    sign_in(page, served.base_url)
    for path in ("/", f"/attempts/{claim.attempt_id}"):
        page.goto(served.base_url + path)
        _ready(page)
        help_list = page.locator("#keys-help")
        expect(help_list).to_be_hidden()
        page.keyboard.press("?")
        expect(help_list).to_be_visible()
        for key in ("j", "k", "Enter", "n", "V", "v", "f", "z", "q"):
            expect(help_list.locator("kbd", has_text=re.compile(rf"^{key}$"))).to_have_count(1)
        page.keyboard.press("?")
        expect(help_list).to_be_hidden()


def test_the_selected_row_stays_in_view_past_the_fold_and_after_q(
    page: Page, desk: DeskData, served: Served
) -> None:
    _many(desk, 45)
    page.set_viewport_size(LAPTOP)
    sign_in(page, served.base_url)
    _ready(page)
    rows = page.locator("#queue tbody tr")
    assert not _inside_viewport(page, "#queue tbody tr")[40]  # below the fold at first
    for _ in range(40):
        page.keyboard.press("j")
    selected = page.locator("#queue tbody tr.selected")
    expect(selected).to_have_attribute("data-attempt", desk.claims[40].attempt_id)
    assert _inside_viewport(page, "#queue tbody tr.selected") == [True]
    for _ in range(38):
        page.keyboard.press("k")
    expect(selected).to_have_attribute("data-attempt", desk.claims[2].attempt_id)
    assert _inside_viewport(page, "#queue tbody tr.selected") == [True]

    page.goto(f"{served.base_url}/attempts/{desk.claims[43].attempt_id}")
    _ready(page)
    page.keyboard.press("k")
    expect(page.locator("#claim-id")).to_have_text(desk.claims[42].claim_id)
    _ready(page)
    page.keyboard.press("q")
    expect(selected).to_have_attribute("data-attempt", desk.claims[42].attempt_id)
    assert _inside_viewport(page, "#queue tbody tr.selected") == [True]
    assert rows.count() >= 1


def test_the_desk_opens_on_what_is_not_reviewed_yet(
    page: Page, desk: DeskData, served: Served
) -> None:
    done, waiting = desk.add("NORTHSIDE-DONE-1"), desk.add("NORTHSIDE-WAIT-2")
    reviewer = store.reviewer_by_name(desk.ledger.engine, REVIEWER)
    assert reviewer is not None
    store.add_verdict(desk.ledger.engine, done.attempt_id, reviewer.id, "verified", "",
                      desk.ledger.clock())
    sign_in(page, served.base_url)
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_have_attribute("data-attempt", waiting.attempt_id)
    expect(page.locator("select[name=verdict] option:checked")).to_have_text("not reviewed")
    page.goto(f"{served.base_url}/?verdict=all")
    expect(rows).to_have_count(2)


def _screenshot_widths(page: Page) -> dict[str, Any]:
    widths: dict[str, Any] = page.locator("#screenshot").evaluate(
        "img => ({natural: img.naturalWidth, shown: img.width})")
    return widths


def test_a_click_shows_the_screenshot_at_one_to_one(
    page: Page, desk: DeskData, served: Served
) -> None:
    claim = desk.add("NORTHSIDE-ZOOM-1", screenshot=png(1600, 1000, (30, 60, 90)))
    page.set_viewport_size(LAPTOP)
    sign_in(page, served.base_url)
    page.goto(f"{served.base_url}/attempts/{claim.attempt_id}")
    _ready(page)
    image = page.locator("#screenshot")
    expect(image).to_have_js_property("complete", True)
    fitted = _screenshot_widths(page)
    assert fitted["natural"] == 1600 and fitted["shown"] < 1600
    image.click()
    expect(image).to_have_class(re.compile("zoomed"))
    assert _screenshot_widths(page)["shown"] == 1600
    image.click(position={"x": 10, "y": 10})
    expect(image).not_to_have_class(re.compile("zoomed"))
    assert _screenshot_widths(page)["shown"] == fitted["shown"]
    page.keyboard.press("z")
    assert _screenshot_widths(page)["shown"] == 1600


def test_on_a_phone_the_claim_page_is_one_column_with_a_wide_screenshot(
    page: Page, desk: DeskData, served: Served
) -> None:
    claim = desk.add("NORTHSIDE-PHONE-1", screenshot=png(1280, 900, (30, 60, 90)))
    page.set_viewport_size(PHONE)
    sign_in(page, served.base_url)
    page.goto(f"{served.base_url}/attempts/{claim.attempt_id}")
    image = page.locator("#screenshot")
    expect(image).to_have_js_property("complete", True)
    assert _screenshot_widths(page)["shown"] >= 350
    summary = page.locator("section.summary").bounding_box()
    evidence = page.locator("section.evidence").bounding_box()
    assert summary and evidence
    assert evidence["y"] >= summary["y"] + summary["height"]  # below it, not beside it
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
