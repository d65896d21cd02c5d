"""pagekit: whole-page fills and reads in one round trip, in real headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, async_playwright

from portalbot.browser import launch
from portalbot.config import BrowserSettings
from portalbot.errors import AdapterError
from portalbot.pagekit import definition_list, fill_by_label, table_rows

pytestmark = pytest.mark.browser

FORM = """
<form>
  <label for="last">Patient last name</label><input id="last">
  <label>Member ID <input name="member"></label>
  <input aria-label="Group number" name="group">
  <span id="npi-label">Billing provider NPI</span><input aria-labelledby="npi-label" name="npi">
  <label for="sex">Patient sex</label>
  <select id="sex"><option value="">Select…</option><option value="F">Female</option>
    <option value="M">Male</option></select>
  <input type="checkbox" id="sig"><label for="sig">Signature on file</label>
  <label for="ro">Claim number</label><input id="ro" readonly>
  <label for="hidden">Internal code</label><input id="hidden" style="display:none">
  <label for="a1">Charge</label><input id="a1"><label for="a2">Charge</label><input id="a2">
  <label for="zip">Patient ZIP code</label><input id="zip" maxlength="5">
</form>
<script>
  window.seen = [];
  document.querySelector("form").addEventListener("change", (e) => seen.push(e.target.id || e.target.name));
  // a field that rewrites what it is given, as input masks do
  document.getElementById("zip").addEventListener("input", (e) => { e.target.value = "00000"; });
</script>
"""


@pytest.fixture
async def form() -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await launch(playwright, BrowserSettings())
        page = await browser.new_page()
        await page.set_content(FORM)
        yield page
        await browser.close()


async def test_fills_text_lists_and_checkboxes_found_by_any_kind_of_label(form: Page) -> None:
    await fill_by_label(form, {
        "Patient last name": "Lovelace",
        "Member ID": "ACM123456789",
        "Group number": "GRP-1",
        "Billing provider NPI": "1234567893",
        "Patient sex": "Female",  # by visible text; "F" (the value) works too
        "Signature on file": True,
    }, payer_id="test")

    assert await form.input_value("#last") == "Lovelace"
    assert await form.input_value("[name=member]") == "ACM123456789"
    assert await form.input_value("[name=group]") == "GRP-1"
    assert await form.input_value("[name=npi]") == "1234567893"
    assert await form.input_value("#sex") == "F"
    assert await form.is_checked("#sig")
    assert await form.evaluate("seen") == ["last", "member", "group", "npi", "sex", "sig"]


@pytest.mark.parametrize(("values", "problem"), [
    ({"Rendering provider NPI": "1245319599"}, "no field labelled 'Rendering provider NPI'"),
    ({"Charge": "64.00"}, "several fields labelled 'Charge'"),
    ({"Internal code": "X"}, "'Internal code' is not visible"),
    ({"Claim number": "X"}, "'Claim number' cannot be edited"),
    ({"Patient sex": "Other"}, "'Patient sex' has no such option"),
    ({"Patient last name": True}, "'Patient last name' is not a checkbox"),
    ({"Patient ZIP code": "62701"}, "'Patient ZIP code' did not keep the value given"),
])
async def test_a_form_that_is_not_as_described_is_drift_named_by_label_never_by_value(
    form: Page, values: dict[str, str | bool], problem: str
) -> None:
    with pytest.raises(AdapterError) as caught:
        await fill_by_label(form, values, payer_id="test")

    assert problem in caught.value.message
    assert caught.value.step == "fill" and caught.value.payer_id == "test"
    for value in values.values():
        if isinstance(value, str):
            assert value not in caught.value.message


async def test_every_problem_is_reported_at_once(form: Page) -> None:
    with pytest.raises(AdapterError) as caught:
        await fill_by_label(form, {"Nope": "1", "Charge": "2", "Patient last name": "ok"},
                            payer_id="test")
    assert caught.value.message.count("labelled") == 2


async def test_tables_and_summaries_are_read_as_a_person_reads_them(form: Page) -> None:
    await form.set_content("""
      <table><thead><tr><th>Claim number</th><th>Status</th></tr></thead>
        <tbody><tr><td> ACM-1 </td><td>Accepted</td></tr><tr><td>ACM-2</td><td>Rejected
        </td></tr></tbody></table>
      <dl><dt>Confirmation number</dt><dd>ACM-261127-000001</dd>
          <dt>Status</dt><dd>Accepted</dd></dl>
    """)

    assert await table_rows(form.locator("table")) == [
        {"Claim number": "ACM-1", "Status": "Accepted"},
        {"Claim number": "ACM-2", "Status": "Rejected"},
    ]
    assert await definition_list(form) == {
        "Confirmation number": "ACM-261127-000001", "Status": "Accepted",
    }
