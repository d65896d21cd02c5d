"""BlueRiver Health: a modern single-page portal with TOTP sign-in and a claim wizard.

Sign-in is username and password, then a one-time code from the account's TOTP secret
(kept in the keyring beside the password; codes from ``portalbot.totp`` so two sessions
never send the same one). Every 90 days the portal shows a forced password change
instead of itself: a person must choose the new password, so the payer is paused.

The session token lives in ``sessionStorage``: a new browser context is signed out, and
an idle session silently falls back to "signed out" — the wizard then lands on the
sign-in page, and ``SessionExpired`` lets the engine sign in again and start the form
over. Nothing was submitted by then, so nothing is sent twice.

The wizard wants ISO dates (``<input type=date>``), diagnosis codes with their dot, the
tax ID as 12-3456789, pointers as "1,2", at most 8 diagnoses and 6 lines; the procedure
code must be picked from the box's autocomplete list. Acceptance is asynchronous:
"Received — reference N" is ``Pending``; the status page later says Accepted (with the
payer's claim number), Rejected (with a reason code) or Denied. The claim search lags
new submissions by a few minutes, so reconciliation waits ``history_settle_s``.
"""

from __future__ import annotations

import re
from typing import ClassVar

from playwright.async_api import Locator, Page
from pydantic import Field

from portalbot.portal import (
    FREQUENCY_CODES,
    Accepted,
    AdapterError,
    AuthenticationError,
    Case,
    Claim,
    ClaimRefs,
    Credentials,
    Denied,
    Duplicate,
    Filing,
    FormRefused,
    NeedsHumanError,
    Outcome,
    Pending,
    PortalAdapter,
    PortalForm,
    PortalUnavailable,
    Refusal,
    Rejected,
    SessionExpired,
    SubmissionUncertain,
    check_limits,
    check_member_id,
    definition_list,
    navigate,
    pick,
    required,
    sign_in_refused,
    table_rows,
    visible_text,
)
from portalbot.totp import OneTimeCodes, shared_codes

MEMBER_ID = re.compile(r"^[A-Z]{3}\d{9}$")
REFERENCE = re.compile(r"Received\s*[—-]\s*reference\s*(?P<ref>\d+)")
MAX_DIAGNOSES = 8
MAX_LINES = 6
SIGN_IN_HEADING = "Sign in to BlueRiver Provider"
DOWN_HEADINGS = ("Service temporarily unavailable", "Scheduled maintenance", "Bad gateway")
UNAVAILABLE_TEXT = "temporarily unavailable"
REFUSALS = (
    Refusal("locked", AuthenticationError,
            "BlueRiver locked the account; unlock it with provider support, then resume the payer"),
    Refusal(UNAVAILABLE_TEXT, PortalUnavailable, "BlueRiver's sign-in is unavailable"),
    Refusal("code", AuthenticationError, "BlueRiver refused the one-time code"),
    Refusal("", AuthenticationError, "BlueRiver refused the username or password"),
)
STEPS = ("Patient", "Provider", "Diagnoses", "Services", "Review")
CLAIMS = "fixtures/claims/blueriver.json"
# Asks the portal's own session endpoint whether the token in sessionStorage still works.
SESSION_PROBE = """async () => {
  const token = sessionStorage.getItem("brh.session");
  if (!token) return false;
  try {
    const r = await fetch("/api/me", {headers: {Authorization: "Bearer " + token}});
    return r.status !== 401;
  } catch (e) { return true; }
}"""


class BlueRiverLine(PortalForm):
    dos: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    pos: str
    cpt: str = Field(pattern=r"^[A-Z0-9]{5}$")
    modifier: str
    units: str
    charge: str
    pointers: str = Field(pattern=r"^[1-8](,[1-8]){0,3}$")


class BlueRiverForm(PortalForm):
    member_id: str = Field(pattern=MEMBER_ID.pattern)
    patient_last_name: str
    patient_first_name: str
    patient_birth_date: str
    patient_sex: str
    relationship: str
    subscriber_last_name: str
    subscriber_first_name: str
    subscriber_birth_date: str
    group_number: str
    patient_account_number: str = Field(pattern=r"^[A-Z0-9]{1,14}$")
    billing_npi: str
    tax_id: str = Field(pattern=r"^\d{2}-\d{7}$")
    rendering_npi: str
    claim_type: str
    original_claim_number: str
    diagnoses: tuple[str, ...] = Field(min_length=1, max_length=MAX_DIAGNOSES)
    lines: tuple[BlueRiverLine, ...] = Field(min_length=1, max_length=MAX_LINES)


class BlueRiverAdapter(PortalAdapter[BlueRiverForm]):
    payer_id = "blueriver"
    display_name = "BlueRiver Health"
    default_base_url = "https://provider.blueriverhealth.example"
    max_sessions_per_account = 2
    history_searchable = True
    history_settle_s = 300.0
    cases: ClassVar[tuple[Case, ...]] = (
        Case(CLAIMS, "NORTHSIDE-2026-10-000301", "pending"),
        Case(CLAIMS, "NORTHSIDE-2026-10-000302", "pending"),
        Case(CLAIMS, "NORTHSIDE-2026-10-000303", "pending"),
        Case(CLAIMS, "NORTHSIDE-2026-10-000304", "duplicate"),
        Case(CLAIMS, "NORTHSIDE-2026-10-000306", "pending"),
    )
    codes: ClassVar[OneTimeCodes | None] = None
    """Where one-time codes come from; None: the process-wide guard (tests inject their own)."""

    # --- mapping ------------------------------------------------------------------
    def to_form(self, claim: Claim, filing: Filing) -> BlueRiverForm:
        check_member_id(claim, MEMBER_ID, "a BlueRiver member ID (three letters and nine "
                        "digits, like BRV123456789, as on the member's card)")
        check_limits(claim, "BlueRiver", diagnoses=MAX_DIAGNOSES, lines=MAX_LINES)
        patient, subscriber = claim.patient, claim.subscriber
        is_self = subscriber.relationship == "self"
        tax_id = claim.billing_provider.tax_id.replace("-", "")
        return BlueRiverForm(
            member_id=subscriber.member_id,
            patient_last_name=patient.last_name,
            patient_first_name=patient.first_name,
            patient_birth_date=patient.birth_date.isoformat(),
            patient_sex=patient.sex,
            relationship=subscriber.relationship,
            subscriber_last_name="" if is_self else subscriber.last_name or "",
            subscriber_first_name="" if is_self else subscriber.first_name or "",
            subscriber_birth_date="" if is_self or not subscriber.birth_date
            else subscriber.birth_date.isoformat(),
            group_number=subscriber.group_number or "",
            patient_account_number=filing.portal_key,
            billing_npi=claim.billing_provider.npi,
            tax_id=f"{tax_id[:2]}-{tax_id[2:]}",
            rendering_npi=claim.rendering_provider.npi if claim.rendering_provider else "",
            claim_type=FREQUENCY_CODES[filing.frequency],
            original_claim_number=filing.original_claim_number or "",
            diagnoses=tuple(claim.diagnoses),
            lines=tuple(
                BlueRiverLine(
                    dos=line.date_of_service.isoformat(),
                    pos=line.place_of_service,
                    cpt=line.code,
                    modifier=(line.modifiers or [""])[0],
                    units=str(line.units),
                    charge=f"{line.charge:.2f}",
                    pointers=",".join(str(p) for p in line.diagnosis_pointers[:4]),
                )
                for line in claim.service_lines
            ),
        )

    # --- session --------------------------------------------------------------------
    async def login(self, page: Page, credentials: Credentials) -> None:
        if not credentials.totp_secret:
            raise AuthenticationError(
                "BlueRiver asks for a one-time code and the keyring has no TOTP secret for "
                "this account; store it with `portalbot credentials set blueriver --totp`"
            )
        await navigate(page, self.url("/signin"), outages=())
        await page.get_by_label("Username", exact=True).fill(credentials.username)
        await page.get_by_label("Password", exact=True).fill(credentials.password)
        await page.get_by_role("button", name="Continue").click()
        code_box = page.get_by_label("Verification code", exact=True)
        await code_box.or_(page.get_by_role("alert")).filter(visible=True).first.wait_for()
        if not await code_box.is_visible():
            raise sign_in_refused(await visible_text(page.get_by_role("alert")), REFUSALS, "")
        codes = self.codes or shared_codes()
        expired = page.get_by_role("heading", name="Your password has expired")
        signed_in = page.get_by_role("button", name="Sign out")
        # A code another process used in this window is refused as "already used": a
        # person would wait for the next code, and so do we — once.
        for _ in range(2):
            code = await codes.code(self.payer_id, credentials.username, credentials.totp_secret)
            await code_box.fill(code)
            await page.get_by_role("button", name="Verify").click()
            await signed_in.or_(expired).or_(page.get_by_role("alert")).filter(
                visible=True
            ).first.wait_for()
            reused = "already used" in await visible_text(page.get_by_role("alert"))
            if not (reused and await code_box.is_visible()):
                break
        if await expired.is_visible():
            raise NeedsHumanError(
                "BlueRiver demands a new password for this account; a person must change it "
                "on the portal, store it with `portalbot credentials set blueriver --totp`, "
                "then `portalbot payer resume blueriver`", pause_payer=True,
            )
        if not await signed_in.is_visible():
            raise sign_in_refused(await visible_text(page.get_by_role("alert")), REFUSALS, "")

    async def is_signed_in(self, page: Page) -> bool:
        if not page.url.startswith(self.url("/app")):
            return False
        return bool(await page.evaluate(SESSION_PROBE))

    # --- the claim --------------------------------------------------------------------
    async def open_form(self, page: Page) -> None:
        await navigate(page, self.url("/app/claims/new"), outages=())
        await self._arrive(page, page.get_by_role("heading", name="Step 1 of 5: Patient"), "open_form")

    async def fill(self, page: Page, form: BlueRiverForm) -> None:
        await self._fill_labels(page, {
            "Member ID": form.member_id,
            "Patient last name": form.patient_last_name,
            "Patient first name": form.patient_first_name,
            "Date of birth": form.patient_birth_date,
            "Subscriber last name": form.subscriber_last_name,
            "Subscriber first name": form.subscriber_first_name,
            "Subscriber date of birth": form.subscriber_birth_date,
            "Group number": form.group_number,
            "Your claim reference": form.patient_account_number,
        })
        sex = {"F": "Female", "M": "Male", "U": "Unknown"}[form.patient_sex]
        await (await self._required(
            page.get_by_role("radiogroup", name="Sex").get_by_label(sex, exact=True), "Sex"
        )).check()
        await self._select(page, "Relationship to subscriber", form.relationship)
        await self._next(page, "Provider")
        await self._fill_labels(page, {
            "Billing provider NPI": form.billing_npi,
            "Tax ID (EIN)": form.tax_id,
            "Rendering provider NPI": form.rendering_npi,
            "Original payer claim number": form.original_claim_number,
        })
        await self._select(page, "Claim type", form.claim_type)
        await self._next(page, "Diagnoses")
        await self._fill_labels(page, {
            f"Diagnosis {number}": code for number, code in enumerate(form.diagnoses, start=1)
        })
        await self._next(page, "Services")
        for number, line in enumerate(form.lines, start=1):
            if number > 1:
                await page.get_by_role("button", name="Add service line").click()
            await self._fill_line(page, number, line)
        await self._next(page, "Review")
        await (await self._required(
            page.get_by_label("I certify that this claim is accurate and complete"),
            "I certify that this claim is accurate and complete",
        )).check()

    async def _fill_line(self, page: Page, number: int, line: BlueRiverLine) -> None:
        prefix = f"Line {number}"
        await self._fill_labels(page, {
            f"{prefix} date of service": line.dos,
            f"{prefix} modifier": line.modifier,
            f"{prefix} units": line.units,
            f"{prefix} charge": line.charge,
            f"{prefix} diagnosis pointers": line.pointers,
        })
        await self._select(page, f"{prefix} place of service", line.pos)
        combo = await self._required(
            page.get_by_role("combobox", name=f"{prefix} procedure code"),
            f"{prefix} procedure code",
        )
        await combo.fill(line.cpt)
        # The box takes only a choice from its list: pick the option for this exact code.
        await page.get_by_role("option", name=re.compile(rf"^{line.cpt}\b")).click()

    async def submit(self, page: Page) -> None:
        await page.get_by_role("button", name="Submit claim").click()

    async def read_outcome(self, page: Page) -> Outcome:
        received = page.get_by_role("heading", name="Claim received")
        duplicate = page.get_by_role("heading", name="Possible duplicate")
        alert = page.get_by_role("alert")
        signin = page.get_by_role("heading", name=SIGN_IN_HEADING)
        await received.or_(duplicate).or_(alert).or_(signin).filter(visible=True).first.wait_for()
        main = page.get_by_role("main")
        if await received.is_visible():
            return Pending(reference=await required(page, main, "reference", REFERENCE, "ref"))
        if await duplicate.is_visible():
            return Duplicate(reference=pick(await visible_text(main), r"reference\s+(\d+)", 1)
                             or None)
        text = await visible_text(alert)
        if "Please correct" in text:
            raise FormRefused(f"BlueRiver refused our form: {text}", step="submit")
        raise SubmissionUncertain(
            "BlueRiver did not confirm the submission" if text else
            "the session ended as the claim was submitted"
        )

    # --- after the fact ------------------------------------------------------------------
    async def find_submission(self, page: Page, portal_key: str) -> Outcome | None:
        await navigate(page, self.url(f"/app/claims?reference={portal_key}"), outages=())
        table = page.get_by_role("table", name="Search results")
        none = page.get_by_role("status").filter(has_text="No claims found")
        await self._arrive(page, table.or_(none), "find_submission")
        if not await table.is_visible():
            return None
        for cells in await table_rows(table):
            if cells.get("Your claim reference") != portal_key:
                continue
            reference = cells.get("Reference", "")
            status = cells.get("Status", "")
            if status == "Accepted":
                number = cells.get("Payer claim number", "")
                return Accepted(confirmation=reference,
                                payer_claim_number=number if number != "—" else None)
            if status == "Rejected":
                return Rejected(message="rejected (found in BlueRiver's claim search)",
                                reference=reference)
            # Received, or Denied (a verdict the status check records): it is on file.
            return Pending(reference=reference)
        return None

    async def check_status(self, page: Page, refs: ClaimRefs) -> Outcome:
        reference = refs.confirmation or ""
        if not reference.isdigit():
            raise AdapterError("a BlueRiver reference is digits only")
        await navigate(page, self.url(f"/app/claims/{reference}"), outages=())
        await self._arrive(page, page.get_by_role("term").filter(has_text="Status"), "check_status")
        summary = await definition_list(page)
        status = summary.get("Status", "")
        code = summary.get("Reason code") if summary.get("Reason code") != "—" else None
        reason = summary.get("Reason", "")
        if status == "Received":
            return Pending(reference=reference)
        if status == "Accepted":
            number = summary.get("Payer claim number", "")
            if not number or number == "—":
                raise AdapterError("an accepted claim without a payer claim number")
            return Accepted(confirmation=reference, payer_claim_number=number)
        if status == "Rejected":
            return Rejected(message=reason, reason_code=code, reference=reference)
        if status == "Denied":
            return Denied(reason=reason, reason_code=code)
        raise AdapterError(f"unknown claim status {status!r}")

    # --- page plumbing ----------------------------------------------------------------------
    async def _arrive(self, page: Page, target: Locator, step: str) -> None:
        """Wait for ``target``; the sign-in page instead means the session silently ended."""
        signin = page.get_by_role("heading", name=SIGN_IN_HEADING)
        alert = page.get_by_role("alert")
        await target.or_(signin).or_(alert).filter(visible=True).first.wait_for()
        if await signin.is_visible():
            raise SessionExpired("BlueRiver signed us out", step=step)
        if await target.filter(visible=True).count():
            return
        text = await visible_text(alert)
        if UNAVAILABLE_TEXT in text:
            raise PortalUnavailable("BlueRiver is temporarily unavailable", step=step)
        raise AdapterError(f"BlueRiver showed an unexpected message: {text}", step=step)

    async def _next(self, page: Page, step: str) -> None:
        """Leave the current wizard step; the portal's validation may keep us on it."""
        number = STEPS.index(step) + 1
        heading = page.get_by_role("heading", name=f"Step {number} of 5: {step}")
        await page.locator("section:visible").get_by_role("button", name="Next").click()
        try:
            await self._arrive(page, heading, f"wizard:{step.lower()}")
        except AdapterError as exc:
            raise AdapterError(
                f"BlueRiver refused the step before {step}: {exc.message}", step="fill"
            ) from None

    async def _required(self, locator: Locator, name: str) -> Locator:
        if not await locator.count():
            raise AdapterError(f"the claim form has no field {name!r}", step="fill")
        return locator

    async def _fill_labels(self, page: Page, values: dict[str, str]) -> None:
        for label, value in values.items():
            field = page.get_by_label(label, exact=True)
            if not await field.count():
                raise AdapterError(f"the claim form has no field {label!r}", step="fill")
            if value:
                await field.fill(value)

    async def _select(self, page: Page, label: str, value: str) -> None:
        field = page.get_by_label(label, exact=True)
        if not await field.count():
            raise AdapterError(f"the claim form has no field {label!r}", step="fill")
        await field.select_option(value)

