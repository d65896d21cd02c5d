"""portalbot.portal: one test per declaration kind, against small static pages in real
headless Chromium — the field map's formats and repeating groups, each outcome
recogniser, required and optional reads, navigation and the base class's error stamps."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import ClassVar

import pytest
from playwright.async_api import Page, Route, async_playwright

from portalbot import portal as pb
from portalbot.browser import launch
from portalbot.claims import Claim, ClaimBatchFile
from portalbot.config import BrowserSettings
from portalbot.portal import Box, Each, Read, When
from portalbot.portal.fields import labels
from portalbot.portal.recognise import recognise

pytestmark = pytest.mark.browser

PORTAL = "http://portal.test"


class ToyAdapter(pb.LabelledFormAdapter):
    """A toy payer declared only here: a labelled form with per-line fieldsets."""

    payer_id = "toy"
    display_name = "Toy Health"
    default_base_url = PORTAL
    sign_in = pb.SignIn("/login", "Sign in", pb.Place(role="button", name="Sign out"), (
        pb.Refusal("locked", pb.AuthenticationError, "the toy portal locked the account"),
    ))
    claim_form = pb.ClaimForm("/claims/new", pb.heading("New claim"), "Submit")
    member_id = (re.compile(r"^ACM\d{9}$"), "a toy member ID (ACM and 9 digits)")
    fields = (
        Box("birth_date", "Date of birth", "patient.birth_date", pb.mdy),
        Box("tax_id", "Tax ID", "billing_provider.tax_id", pb.digits, r"^\d{9}$"),
        Box("insured_last_name", "Insured last name", pb.unless_self("subscriber.last_name")),
        Box("frequency", "Frequency", "filing.frequency", pb.frequency),
        pb.key("account", "Account number"),
        pb.tick("Signature on file"),
        Each("diagnoses", "diagnoses", (Box("", "Diagnosis {letter}", pb.no_dot),), most=4),
        Each("lines", "service_lines", (
            Box("charge", "Charge", "charge", pb.money),
            Box("pointers", "Pointers", "diagnosis_pointers", pb.joined(",")),
            Box("letters", "Letters", "diagnosis_pointers", pb.letters),
        ), most=2, least=1, within="Line {n}"),
    )
    outcomes: ClassVar[tuple[pb.Recogniser, ...]] = ()


def _claim(batch: ClaimBatchFile, lines: int = 2) -> Claim:
    claim = next(c.claim for c in batch.claims if len(c.claim.diagnoses) >= 2)
    line = claim.service_lines[0].model_copy(update={"diagnosis_pointers": [1, 2]})
    return claim.model_copy(update={"service_lines": [line] * lines,
                                    "diagnoses": claim.diagnoses[:2]})


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await launch(playwright, BrowserSettings())
        page = await browser.new_page()
        page.set_default_timeout(3_000)
        yield page
        await browser.close()


# --- the field map ---------------------------------------------------------------------

def test_field_map_formats_give_the_portals_own_values(demo_batch: ClaimBatchFile) -> None:
    claim = _claim(demo_batch)
    form = ToyAdapter().to_form(claim, pb.Filing("PBKEY1", "replacement", "ORIG-1"))

    assert form.birth_date == claim.patient.birth_date.strftime("%m/%d/%Y")
    assert form.tax_id == claim.billing_provider.tax_id.replace("-", "")
    assert form.frequency == "7"
    assert form.account == "PBKEY1" and ToyAdapter.portal_key_field == "account"
    self_insured = claim.subscriber.relationship == "self"
    assert (form.insured_last_name == "") is self_insured or not claim.subscriber.last_name
    assert form.diagnoses == tuple(d.replace(".", "") for d in claim.diagnoses)
    assert form.lines[0].charge == f"{claim.service_lines[0].charge:.2f}"
    assert (form.lines[0].pointers, form.lines[0].letters) == ("1,2", "AB")
    assert "accept" not in form.model_dump()  # ticks are constants, not claim data


def test_limits_and_the_member_id_are_claim_errors_naming_the_field(
    demo_batch: ClaimBatchFile,
) -> None:
    claim = _claim(demo_batch)
    with pytest.raises(pb.ClaimError, match="service_lines: Toy Health takes at most 2 lines") \
            as caught:
        ToyAdapter().to_form(_claim(demo_batch, lines=3), pb.Filing("K"))
    assert caught.value.payer_id == "toy" and caught.value.step == "to_form"
    odd = claim.model_copy(update={"subscriber": claim.subscriber.model_copy(
        update={"member_id": "XYZ12"})})
    with pytest.raises(pb.ClaimError, match=r"subscriber\.member_id is not a toy member ID") as bad:
        ToyAdapter().to_form(odd, pb.Filing("K"))
    assert "XYZ12" not in str(bad.value)
    short = claim.model_copy(update={"billing_provider": claim.billing_provider.model_copy(
        update={"tax_id": "12-34"})})
    with pytest.raises(pb.ClaimError, match="tax_id: not in the form Toy Health accepts") as fmt:
        ToyAdapter().to_form(short, pb.Filing("K"))
    assert "1234" not in str(fmt.value)


GROUPS = """
<h1>New claim</h1>
<label>Date of birth <input name=dob></label><label>Tax ID <input name=tax></label>
<label>Insured last name <input name=ins></label>
<label for=freq>Frequency</label><select id=freq><option>1</option><option>7</option></select>
<label>Account number <input name=acct></label>
<label><input type=checkbox name=sig> Signature on file</label>
<label>Diagnosis A <input name=dxa></label><label>Diagnosis B <input name=dxb></label>
<label>Diagnosis C <input name=dxc></label>
<fieldset><legend>Line 1</legend><label>Charge <input name=c1></label>
  <label>Pointers <input name=p1></label><label>Letters <input name=l1></label></fieldset>
<fieldset><legend>Line 2</legend><label>Charge <input name=c2></label>
  <label>Pointers <input name=p2></label><label>Letters <input name=l2></label></fieldset>
"""


async def test_repeating_groups_fill_per_letter_and_per_container(
    page: Page, demo_batch: ClaimBatchFile
) -> None:
    claim = _claim(demo_batch)
    adapter = ToyAdapter()
    form = adapter.to_form(claim, pb.Filing("PBKEY1"))
    parts = list(labels(adapter.fields, form))
    assert [p.within for p in parts] == [None, "Line 1", "Line 2"]
    assert "Diagnosis A" in parts[0].labels and parts[1].labels["Charge"] == form.lines[0].charge

    await page.set_content(GROUPS)
    await adapter.fill(page, form)  # "Charge" is on the page twice, once per fieldset

    assert await page.input_value("[name=dxa]") == form.diagnoses[0]
    assert await page.input_value("[name=c1]") == form.lines[0].charge
    assert await page.input_value("[name=c2]") == form.lines[1].charge
    assert await page.input_value("[name=acct]") == "PBKEY1"
    assert await page.is_checked("[name=sig]")
    assert await page.input_value("[name=dxc]") == ""  # an empty box is left alone


async def test_a_missing_field_is_drift_stamped_with_payer_and_step(
    page: Page, demo_batch: ClaimBatchFile
) -> None:
    adapter = ToyAdapter()
    form = adapter.to_form(_claim(demo_batch), pb.Filing("PBKEY1"))
    await page.set_content(GROUPS.replace("Tax ID", "Employer number"))
    with pytest.raises(pb.AdapterError, match="no field labelled 'Tax ID'") as caught:
        await adapter.fill(page, form)
    assert (caught.value.payer_id, caught.value.step) == ("toy", "fill")


# --- outcome recognisers ---------------------------------------------------------------------

CONFIRMATION = r"^TOY-\d{4}$"
RECOGNISERS: tuple[pb.Recogniser, ...] = (
    pb.OnAccepted(When(pb.heading(), is_="Claim submitted"),
                  Read(pb.term("Confirmation number"), CONFIRMATION),
                  payer_claim_number=Read(pb.term("Payer claim number"))),
    pb.OnPending(When(pb.heading(), is_="Claim received"),
                 Read(pb.PAGE, r"reference (\d+)", 1)),
    pb.OnRejected(When(pb.alert(), matches=r"rejected: (?P<code>R\d+) (?P<text>.+)"),
                  message="text", reason_code="code",
                  reference=Read(pb.text("Reference"), r"TOY-\d{4}")),
    pb.OnDuplicate(When(pb.alert(), matches=r"duplicate of (?P<ref>TOY-\d{4})"), "ref"),
    pb.OnRefused(When(pb.alert(), has="please correct"), Read(pb.items(pb.alert()))),
    pb.OnDraft(When(pb.status(), has="saved as draft"), "a draft, not a claim"),
)


@pytest.mark.parametrize(("html", "expected"), [
    ("<h1>Claim submitted</h1><dl><dt>Confirmation number</dt><dd>TOY-0001</dd></dl>",
     pb.Accepted("TOY-0001")),
    ("<h1>Claim submitted</h1><dl><dt>Confirmation number</dt><dd>TOY-0001</dd>"
     "<dt>Payer claim number</dt><dd>P9</dd></dl>", pb.Accepted("TOY-0001", "P9")),
    ("<h1>Claim received</h1><p>Thank you: reference 4711</p>", pb.Pending("4711")),
    ("<div role=alert>Claim rejected: R02 Coverage ended</div><p>Reference TOY-0042</p>",
     pb.Rejected("Coverage ended", "R02", "TOY-0042")),
    ("<div role=alert>Claim rejected: R01 Member unknown</div>",  # optional reference
     pb.Rejected("Member unknown", "R01", None)),
    ("<div role=alert>This is a duplicate of TOY-0007</div>", pb.Duplicate("TOY-0007")),
])
async def test_each_recogniser_reads_its_outcome(
    page: Page, html: str, expected: pb.Outcome
) -> None:
    await page.set_content(html)
    assert await recognise(page, RECOGNISERS, unknown=pb.heading()) == expected


@pytest.mark.parametrize(("html", "problem"), [
    ("<div role=alert>Please correct: <ul><li>Member ID: required</li></ul></div>",
     "the portal refused our form: Member ID: required"),
    ("<div role=status>Your claim was saved as draft.</div>", "a draft, not a claim"),
])
async def test_refused_and_draft_pages_are_form_refused(
    page: Page, html: str, problem: str
) -> None:
    await page.set_content(html)
    with pytest.raises(pb.FormRefused) as caught:
        await recognise(page, RECOGNISERS)
    assert caught.value.message == problem and caught.value.step == "submit"


@pytest.mark.parametrize("html", [
    "<h1>Claim submitted</h1><p>Thank you</p>",  # the required confirmation is missing
    "<h1>Claim submitted</h1><dl><dt>Confirmation number</dt><dd>12</dd></dl>",  # malformed
    "<h1>Claim received</h1>",
    "<h1>Something else</h1>",  # a page nobody declared
])
async def test_a_missing_required_read_or_an_unknown_page_is_uncertain(
    page: Page, html: str
) -> None:
    await page.set_content(html)
    with pytest.raises(pb.SubmissionUncertain):
        await recognise(page, RECOGNISERS, unknown=pb.heading())


# --- reads -----------------------------------------------------------------------------------

async def test_required_reads_fail_and_optional_reads_never_do(page: Page) -> None:
    await page.set_content("<h1> Claim   submitted </h1><p>Ref TOY-0001</p>")
    assert await pb.required(page, pb.heading(), "heading") == "Claim submitted"
    assert await pb.required(page, pb.PAGE, "reference", r"TOY-\d+") == "TOY-0001"
    assert await pb.optional(page, pb.alert()) is None
    assert await pb.optional(page, pb.PAGE, r"ICN (\d+)", 1) is None
    with pytest.raises(pb.SubmissionUncertain, match="the page shows no confirmation number"):
        await pb.required(page, pb.term("Confirmation number"), "confirmation number")
    await page.close()
    assert await pb.optional(page, pb.heading()) is None  # even a closed page


# --- navigation --------------------------------------------------------------------------------

async def test_navigation_tells_outage_and_a_bounced_sign_in(page: Page) -> None:
    async def answer(route: Route) -> None:
        url = route.request.url
        if url.endswith("/down"):
            await route.fulfill(status=503, body="<h1>Service temporarily unavailable</h1>")
        elif url.endswith("/maintenance"):
            await route.fulfill(status=200, body="<h1>Scheduled maintenance</h1>",
                                content_type="text/html")
        elif url.endswith("/claims/new"):
            # the portal shows its sign-in page at the sign-in address instead of the form
            await route.fulfill(status=200, content_type="text/html", body=(
                "<script>history.replaceState(null, '', '/login')</script><h1>Sign in</h1>"))
        else:
            await route.fulfill(status=200, body="<h1>Sign in</h1>", content_type="text/html")

    await page.route(f"{PORTAL}/**", answer)
    with pytest.raises(pb.PortalUnavailable, match="HTTP 503"):
        await pb.navigate(page, f"{PORTAL}/down")
    with pytest.raises(pb.PortalUnavailable, match="scheduled maintenance"):
        await pb.navigate(page, f"{PORTAL}/maintenance")
    with pytest.raises(pb.SessionExpired):
        await pb.navigate(page, f"{PORTAL}/claims/new", sign_in="/login")
    await pb.navigate(page, f"{PORTAL}/login", sign_in="/login")  # asked for: fine


async def test_sign_in_refusals_mean_what_they_declare(page: Page) -> None:
    async def answer(route: Route) -> None:
        body = ("<label>Username <input></label><label>Password <input type=password>"
                "</label><button>Sign in</button><div role=alert>Account locked</div>")
        await route.fulfill(status=200, body=body, content_type="text/html")

    await page.route(f"{PORTAL}/**", answer)
    with pytest.raises(pb.AuthenticationError, match="locked the account") as caught:
        await ToyAdapter().login(page, pb.Credentials("user", "secret"))
    assert (caught.value.payer_id, caught.value.step) == ("toy", "login")


# --- the table-layout shape ------------------------------------------------------------------

class ToyTableAdapter(pb.TableFormAdapter):
    """The same toy payer on a legacy page: captions in the cell beside, lines in a grid."""

    payer_id = "toytable"
    display_name = "Toy Table"
    default_base_url = PORTAL
    sign_in = ToyAdapter.sign_in
    claim_form = ToyAdapter.claim_form
    fields = (
        Box("birth_date", "Date of Birth", "patient.birth_date", pb.mmddyyyy),
        Box("frequency", "Frequency", "filing.frequency", pb.frequency),
        Each("lines", "service_lines", (Box("charge", "Charges", "charge", pb.money),),
             most=2, least=1, within="{n}"),
    )
    outcomes: ClassVar[tuple[pb.Recogniser, ...]] = ()


TABLE = """
<table><tr><td>Date of Birth:</td><td><input name=dob></td></tr>
  <tr><td>Frequency</td><td><select name=freq><option>1</option><option>7</option></select></td>
  </tr></table>
<table><tr><th>Ln</th><th>Charges</th></tr>
  <tr><td>1</td><td><input name=c1></td></tr><tr><td>2</td><td><input name=c2></td></tr></table>
"""


async def test_the_table_shape_fills_caption_cells_and_grid_rows(
    page: Page, demo_batch: ClaimBatchFile
) -> None:
    claim = _claim(demo_batch)
    adapter = ToyTableAdapter()
    form = adapter.to_form(claim, pb.Filing("K", "replacement", "ORIG-1"))
    await page.set_content(TABLE)
    await adapter.fill(page, form)

    assert await page.input_value("[name=dob]") == claim.patient.birth_date.strftime("%m%d%Y")
    assert await page.input_value("[name=freq]") == "7"
    assert await page.input_value("[name=c2]") == form.lines[1].charge
    await page.set_content(TABLE.replace("Charges", "Amount"))
    with pytest.raises(pb.AdapterError, match="no column 'Charges'") as caught:
        await adapter.fill(page, form)
    assert (caught.value.payer_id, caught.value.step) == ("toytable", "fill")


# --- status pages ------------------------------------------------------------------------------

class ToyStatusAdapter(ToyAdapter):
    payer_id = "toystatus"
    status_page = pb.StatusPage("/claims/by-account/{reference}", by="portal_key",
                                reference="Account", amount="Paid amount")


@pytest.mark.parametrize(("shown", "expected"), [
    ("<dt>Status</dt><dd>Paid</dd><dt>Paid amount</dt><dd>$1,042.10</dd>",
     pb.Paid(Decimal("1042.10"))),
    ("<dt>Status</dt><dd>Paid</dd><dt>Paid amount</dt><dd>—</dd>", pb.Paid()),  # not shown
    ("<dt>Status</dt><dd>Paid</dd>", pb.Paid()),
    ("<dt>Status</dt><dd>Received</dd>", pb.Pending("TOY-0001")),
])
async def test_a_status_page_is_looked_up_by_the_reference_it_declares(
    page: Page, shown: str, expected: pb.Outcome
) -> None:
    asked: list[str] = []

    async def answer(route: Route) -> None:
        asked.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html",
                            body=f"<dl><dt>Account</dt><dd>PB/KEY 1</dd>{shown}</dl>")

    await page.route(f"{PORTAL}/**", answer)
    refs = pb.ClaimRefs("C-1", 1, "PB/KEY 1", confirmation="TOY-0001")
    assert await ToyStatusAdapter().check_status(page, refs) == expected
    assert asked == [f"{PORTAL}/claims/by-account/PB%2FKEY%201"]
    assert expected.summary.startswith("paid") is isinstance(expected, pb.Paid)


async def test_a_status_page_refuses_a_claim_without_the_reference_it_searches_by(
    page: Page,
) -> None:
    refs = pb.ClaimRefs("C-1", 1, "PBKEY1")
    spec = pb.StatusPage("/claims/{reference}")  # by confirmation, which the claim lacks
    with pytest.raises(pb.AdapterError, match="no confirmation to look up"):
        spec.asked(refs)
    assert pb.StatusPage("/c/{reference}", by="portal_key").asked(refs) == "PBKEY1"


# --- the wizard shape --------------------------------------------------------------------------

def _step(number: int, name: str) -> pb.Place:
    return pb.Place(role="heading", name=f"Step {number} of 3: {name}", level=2)


class ToyWizardAdapter(pb.WizardAdapter):
    """The toy payer as a single-page app: a wizard of steps, lines added by a button."""

    payer_id = "toywizard"
    display_name = "Toy Wizard"
    default_base_url = PORTAL
    sign_in = ToyAdapter.sign_in
    signed_out = pb.heading("Sign in")
    claim_form = pb.ClaimForm("/claims/new", _step(1, "Patient"), "Submit claim")
    steps = (
        pb.Step(_step(1, "Patient"), (
            Box("birth_date", "Date of birth", "patient.birth_date", pb.mdy),
            pb.radio("sex", "Sex", "patient.sex", {"F": "Female", "M": "Male", "U": "Unknown"}),
            pb.key("account", "Account number"),
        )),
        pb.Step(_step(2, "Services"), (
            Each("lines", "service_lines", (
                Box("charge", "Charge", "charge", pb.money),
                pb.autocomplete("code", "Procedure code", "code"),
            ), most=2, least=1, within="Line {n}", add="Add line"),
        )),
        pb.Review(_step(3, "Review"), (pb.tick("I certify"),), shows=("Account number",)),
    )
    outcomes = (pb.OnPending(When(pb.heading(), is_="Claim received"),
                             Read(pb.PAGE, r"reference (\d+)", 1)),)


WIZARD = """
<div role=alert hidden></div>
<section id=s1><h2>Step 1 of 3: Patient</h2>
  <label>Date of birth <input name=dob></label>
  <span id=sx>Sex</span><div role=radiogroup aria-labelledby=sx>
    <label><input type=radio name=sex value=F> Female</label>
    <label><input type=radio name=sex value=M> Male</label>
    <label><input type=radio name=sex value=U> Unknown</label></div>
  <label>Account number <input name=acct></label>
  <button onclick="go(1)">Next</button></section>
<section id=s2 hidden><h2>Step 2 of 3: Services</h2><div id=lines></div>
  <button onclick="addLine()">Add line</button><button onclick="go(2)">Next</button></section>
<section id=s3 hidden><h2>Step 3 of 3: Review</h2>
  <dl><dt>Account number</dt><dd id=shown></dd></dl>
  <label><input type=checkbox name=ok> I certify</label>
  <button onclick="setTimeout(received, 300)">Submit claim</button></section>
<script>
/*SETTINGS*/
function addLine() {
  const n = document.querySelectorAll("#lines fieldset").length + 1;
  lines.insertAdjacentHTML("beforeend", `<fieldset><legend>Line ${n}</legend>
    <label>Charge <input name=c${n}></label>
    <input role=combobox aria-label="Procedure code" oninput="suggest(this)"><ul role=listbox></ul>
    </fieldset>`);
}
function suggest(box) {
  const list = box.nextElementSibling;
  list.innerHTML = "";
  for (const text of ["99490 CCM, first 20 minutes", "99439 CCM, each further 20"]) {
    if (!box.value || !text.startsWith(box.value)) continue;
    const option = document.createElement("li");
    option.setAttribute("role", "option");
    option.textContent = text;
    option.onclick = () => { box.value = text; box.dataset.code = text.slice(0, 5); list.innerHTML = ""; };
    list.append(option);
  }
}
function go(n) {
  const alert = document.querySelector("[role=alert]");
  if (refuse) { alert.textContent = "Please correct: Sex"; alert.hidden = false; return; }
  document.getElementById("s" + n).hidden = true;
  document.getElementById("s" + (n + 1)).hidden = false;
  shown.textContent = shows(document.querySelector("[name=acct]").value);
}
function received() { document.body.innerHTML = "<h1>Claim received</h1><p>reference 4711</p>"; }
addLine();
</script>
"""


AS_BUILT = "const refuse = false, shows = (v) => v;"


def _wizard_claim(batch: ClaimBatchFile) -> Claim:
    claim = _claim(batch)
    lines = [line.model_copy(update={"code": "99490"}) for line in claim.service_lines]
    return claim.model_copy(update={"service_lines": lines})


async def test_a_wizard_fills_each_step_adds_lines_picks_suggestions_and_reviews(
    page: Page, demo_batch: ClaimBatchFile
) -> None:
    claim = _wizard_claim(demo_batch)
    adapter = ToyWizardAdapter()
    form = adapter.to_form(claim, pb.Filing("PBKEY1"))
    await page.set_content(WIZARD.replace("/*SETTINGS*/", AS_BUILT))
    await adapter.fill(page, form)

    assert await page.input_value("[name=dob]") == claim.patient.birth_date.strftime("%m/%d/%Y")
    assert await page.is_checked(f"[name=sex][value={claim.patient.sex}]")
    assert await page.input_value("[name=c2]") == form.lines[1].charge
    codes = page.locator("[role=combobox]")  # on a step now hidden
    assert [await codes.nth(i).get_attribute("data-code") for i in range(2)] == ["99490"] * 2
    assert await page.is_checked("[name=ok]")
    await adapter.submit(page)
    assert await adapter.read_outcome(page) == pb.Pending("4711")  # waited for, not slept


@pytest.mark.parametrize(("settings", "error", "problem"), [
    ("const refuse = true, shows = (v) => v;", pb.AdapterError,
     "Toy Wizard refused the step before Step 2 of 3: Services: Toy Wizard showed an "
     "unexpected message: Please correct: Sex"),
    ("const refuse = false, shows = (v) => v + 'X';", pb.AdapterError,
     "the review page does not show 'Account number' as entered"),
    (AS_BUILT + " go = () => { document.body.innerHTML = '<h1>Sign in</h1>'; };",
     pb.SessionExpired, "Toy Wizard signed us out"),
])
async def test_a_wizard_step_that_does_not_come_says_why(
    page: Page, demo_batch: ClaimBatchFile, settings: str, error: type[Exception],
    problem: str,
) -> None:
    adapter = ToyWizardAdapter()
    form = adapter.to_form(_wizard_claim(demo_batch), pb.Filing("PBKEY1"))
    await page.set_content(WIZARD.replace("/*SETTINGS*/", settings))
    with pytest.raises(error) as caught:
        await adapter.fill(page, form)
    assert isinstance(caught.value, pb.PortalError) and caught.value.message == problem
    assert (caught.value.payer_id, caught.value.step) == ("toywizard", "fill")


# --- capabilities --------------------------------------------------------------------------------

def test_a_capability_is_declared_one_way_and_read_from_it() -> None:
    assert not ToyAdapter.history_searchable and not ToyAdapter.has_status_page()
    assert ToyStatusAdapter.has_status_page() and not ToyStatusAdapter().history_searchable
    searched = type("Searched", (ToyAdapter,), {"history": pb.HistorySearch(
        "/h?k={key}", "Results", "Account", "Claim")})
    assert searched.history_searchable and searched().history_searchable
    broken = type("Broken", (ToyAdapter,), {"broken": "the portal moved"})
    assert (broken.working, broken.broken_reason) == (False, "the portal moved")
    assert ToyAdapter.working and ToyAdapter.broken_reason is None
    with pytest.raises(TypeError, match="use a find_submission hook"):
        type("HandSet", (ToyAdapter,), {"history_searchable": True})
