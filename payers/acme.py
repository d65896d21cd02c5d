"""Acme Health Plan: a classic one-page CMS-1500 entry form behind a password login.

The portal wants dates as MM/DD/YYYY, the tax ID without its dash, diagnosis codes with
their dot, pointers as the letters A–L, at most 12 diagnoses and 6 service lines. It
answers on the form page itself: a red banner for a rejection, a duplicate or our own
malformed input, and a *green* banner when it merely saved a draft — which is not a
submission. Only the "Claim submitted" page with a confirmation number is an acceptance.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import ClassVar
from urllib.parse import urlencode

from playwright.async_api import Page
from pydantic import Field

from portalbot.portal import (
    FREQUENCY_CODES,
    Accepted,
    AdapterError,
    AuthenticationError,
    Case,
    Claim,
    Credentials,
    Denied,
    Duplicate,
    Filing,
    FormRefused,
    Outcome,
    Paid,
    PortalAdapter,
    PortalForm,
    Refusal,
    Rejected,
    SubmissionUncertain,
    alert,
    check_limits,
    check_member_id,
    definition_list,
    fill_by_label,
    heading,
    items,
    navigate,
    optional,
    raise_if_down,
    required,
    sign_in_refused,
    status,
    table_rows,
    term,
    text,
)

MEMBER_ID = re.compile(r"^ACM\d{9}$")
CONFIRMATION = re.compile(r"^ACM-\d{6}-\d{6}$")
REJECTION = re.compile(r"Claim rejected\s*[–-]\s*reason\s+(?P<code>R\d+):\s*(?P<text>.+)", re.S)
DUPLICATE = re.compile(r"matches claim\s+(?P<ref>ACM-\d{6}-\d{6})")
REFUSALS = (
    Refusal("locked", AuthenticationError,
            "the portal locked the account; unlock it with the payer, then resume the payer"),
    Refusal("incorrect", AuthenticationError, "the portal refused the username or password"),
)
DIAGNOSIS_LETTERS = "ABCDEFGHIJKL"
MAX_LINES = 6
DEMO = "fixtures/claims/demo.json"


class AcmeLine(PortalForm):
    dos: str
    pos: str
    cpt: str
    modifiers: str
    units: str
    charge: str
    pointers: str


class AcmeForm(PortalForm):
    patient_last_name: str
    patient_first_name: str
    patient_birth_date: str
    patient_sex: str
    patient_address: str
    patient_city: str
    patient_state: str
    patient_zip: str
    member_id: str = Field(pattern=MEMBER_ID.pattern)
    group_number: str
    relationship: str
    insured_last_name: str
    insured_first_name: str
    insured_birth_date: str
    billing_provider_name: str
    billing_npi: str
    tax_id: str = Field(pattern=r"^\d{9}$")
    rendering_npi: str
    patient_account_number: str = Field(pattern=r"^[A-Z0-9]{1,14}$")
    claim_frequency: str
    original_claim_number: str
    diagnoses: tuple[str, ...] = Field(max_length=12)
    lines: tuple[AcmeLine, ...] = Field(min_length=1, max_length=MAX_LINES)


def _date(value: object) -> str:
    return value.strftime("%m/%d/%Y") if value else ""  # type: ignore[attr-defined]


class AcmeAdapter(PortalAdapter[AcmeForm]):
    payer_id = "acme"
    display_name = "Acme Health Plan"
    default_base_url = "https://provider.acmehealth.example"
    max_sessions_per_account = 4
    history_searchable = True
    cases: ClassVar[tuple[Case, ...]] = (
        Case(DEMO, "NORTHSIDE-2026-10-000101", "accepted"),
        Case(DEMO, "NORTHSIDE-2026-10-000106", "accepted"),
        Case(DEMO, "NORTHSIDE-2026-10-000107", "accepted"),
        Case(DEMO, "NORTHSIDE-2026-10-000113", "rejected", reason_code="R02"),
        Case(DEMO, "NORTHSIDE-2026-10-000114", "rejected", reason_code="R01"),
    )

    # --- mapping ------------------------------------------------------------------
    def to_form(self, claim: Claim, filing: Filing) -> AcmeForm:
        check_member_id(claim, MEMBER_ID, "an Acme member ID; Acme IDs are 'ACM' and 9 "
                        "digits, as printed on the member's card")
        check_limits(claim, "Acme", diagnoses=len(DIAGNOSIS_LETTERS), lines=MAX_LINES)
        patient, subscriber = claim.patient, claim.subscriber
        insured_self = subscriber.relationship == "self"
        return AcmeForm(
            patient_last_name=patient.last_name,
            patient_first_name=patient.first_name,
            patient_birth_date=_date(patient.birth_date),
            patient_sex=patient.sex,
            patient_address=patient.address.line1,
            patient_city=patient.address.city,
            patient_state=patient.address.state,
            patient_zip=patient.address.postal_code,
            member_id=subscriber.member_id,
            group_number=subscriber.group_number or "",
            relationship=subscriber.relationship,
            insured_last_name="" if insured_self else subscriber.last_name or "",
            insured_first_name="" if insured_self else subscriber.first_name or "",
            insured_birth_date="" if insured_self else _date(subscriber.birth_date),
            billing_provider_name=claim.billing_provider.name,
            billing_npi=claim.billing_provider.npi,
            tax_id=claim.billing_provider.tax_id.replace("-", ""),
            rendering_npi=claim.rendering_provider.npi if claim.rendering_provider else "",
            patient_account_number=filing.portal_key,
            claim_frequency=FREQUENCY_CODES[filing.frequency],
            original_claim_number=filing.original_claim_number or "",
            diagnoses=tuple(claim.diagnoses),
            lines=tuple(
                AcmeLine(
                    dos=_date(line.date_of_service),
                    pos=line.place_of_service,
                    cpt=line.code,
                    modifiers=" ".join(line.modifiers),
                    units=str(line.units),
                    charge=f"{line.charge:.2f}",
                    pointers="".join(DIAGNOSIS_LETTERS[p - 1] for p in line.diagnosis_pointers),
                )
                for line in claim.service_lines
            ),
        )

    # --- session --------------------------------------------------------------------
    async def login(self, page: Page, credentials: Credentials) -> None:
        await navigate(page, self.url("/login"))
        await page.get_by_label("Username", exact=True).fill(credentials.username)
        await page.get_by_label("Password", exact=True).fill(credentials.password)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_load_state()
        await raise_if_down(page)
        if await page.get_by_role("button", name="Sign out").count():
            return
        raise sign_in_refused(await alert().read(page), REFUSALS, "no signed-in page after login")

    async def is_signed_in(self, page: Page) -> bool:
        if not page.url.startswith(self.base_url) or "/login" in page.url:
            return False
        return await page.get_by_role("button", name="Sign out").count() > 0

    # --- the claim --------------------------------------------------------------------
    async def open_form(self, page: Page) -> None:
        await navigate(page, self.url("/claims/new"), sign_in="/login")
        await page.get_by_role("heading", name="New professional claim").wait_for()

    async def fill(self, page: Page, form: AcmeForm) -> None:
        texts = {
            "Patient last name": form.patient_last_name,
            "Patient first name": form.patient_first_name,
            "Patient date of birth": form.patient_birth_date,
            "Patient street address": form.patient_address,
            "Patient city": form.patient_city,
            "Patient state": form.patient_state,
            "Patient ZIP code": form.patient_zip,
            "Member ID": form.member_id,
            "Group number": form.group_number,
            "Insured last name": form.insured_last_name,
            "Insured first name": form.insured_first_name,
            "Insured date of birth": form.insured_birth_date,
            "Billing provider name": form.billing_provider_name,
            "Billing provider NPI": form.billing_npi,
            "Federal tax ID": form.tax_id,
            "Rendering provider NPI": form.rendering_npi,
            "Patient account number": form.patient_account_number,
            "Original claim number": form.original_claim_number,
        }
        for label, code in zip(DIAGNOSIS_LETTERS, form.diagnoses, strict=False):
            texts[f"Diagnosis {label}"] = code
        for number, line in enumerate(form.lines, start=1):
            texts |= {
                f"Line {number} date of service": line.dos,
                f"Line {number} place of service": line.pos,
                f"Line {number} CPT/HCPCS": line.cpt,
                f"Line {number} modifiers": line.modifiers,
                f"Line {number} units": line.units,
                f"Line {number} charge": line.charge,
                f"Line {number} diagnosis pointers": line.pointers,
            }
        choices: dict[str, str | bool] = {
            "Patient sex": form.patient_sex,
            "Patient relationship to insured": form.relationship,
            "Claim frequency": form.claim_frequency,
            "Accept assignment": True,
            "Signature on file": True,
        }
        # The form is fresh: an empty field needs no typing (and may be one Acme dropped).
        filled = {label: value for label, value in texts.items() if value}
        await fill_by_label(page, filled | choices)

    async def submit(self, page: Page) -> None:
        await page.get_by_role("button", name="Submit claim").click()

    async def read_outcome(self, page: Page) -> Outcome:
        await page.wait_for_load_state()
        shown = await heading().read(page)
        if shown == "Claim submitted":
            return Accepted(confirmation=await required(page, term("Confirmation number"),
                                                        "confirmation number", CONFIRMATION))
        banner = await alert().read(page)
        if rejection := REJECTION.search(banner):
            return Rejected(
                message=rejection["text"].strip(), reason_code=rejection["code"],
                reference=await optional(page, text("Reference number for this response"),
                                         r"ACM-\d{6}-\d{6}"),
            )
        if duplicate := DUPLICATE.search(banner):
            return Duplicate(reference=duplicate["ref"])
        if "could not submit this claim" in banner:
            problems = await items(alert()).read(page)
            raise FormRefused(f"the portal refused our form: {problems}", step="submit")
        if "saved as draft" in (await status().read(page)).lower():
            raise FormRefused(
                "the portal saved a draft instead of submitting (a required box was not ticked)",
                step="submit",
            )
        raise SubmissionUncertain(
            f"the page after submit is not one the adapter knows (heading {shown!r})"
        )

    # --- later verdicts ------------------------------------------------------------------
    async def check_status(self, page: Page, reference: str) -> Outcome:
        await navigate(page, self.url(f"/claims/{reference}"), sign_in="/login")
        summary = await definition_list(page)
        if summary.get("Confirmation number") != reference:
            raise AdapterError("the claim page shows another claim")
        status = summary.get("Status", "")
        if status == "Accepted":
            return Accepted(confirmation=reference)
        if status == "Paid":
            return Paid(amount=Decimal(summary.get("Paid amount", "0")))
        code, _, text = summary.get("Denial reason", "").partition(":")
        if status == "Denied":
            return Denied(text.strip() or status, reason_code=code.strip() or None)
        if status == "Rejected":
            return Rejected(text.strip() or status, reason_code=code.strip() or None)
        raise AdapterError(f"unknown claim status {status!r}")

    # --- claim history ------------------------------------------------------------------
    async def find_submission(self, page: Page, portal_key: str) -> Outcome | None:
        # The search form is a plain GET: its result page is addressable in one request.
        await navigate(page, self.url("/claims/history?" + urlencode(
            {"patient_account_number": portal_key})), sign_in="/login")
        table = page.get_by_role("table", name="Search results")
        if not await table.count():
            return None
        for cells in await table_rows(table):
            if cells.get("Patient account number") != portal_key:
                continue
            status, number = cells.get("Status", ""), cells.get("Claim number", "")
            if status == "Accepted":
                return Accepted(confirmation=number)
            if status == "Rejected":
                return Rejected(message="rejected (found in the portal's claim history)",
                                reference=number)
        return None
