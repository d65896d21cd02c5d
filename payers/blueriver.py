"""BlueRiver Health: a modern single-page portal with TOTP sign-in and a claim wizard.

Sign-in is username and password, then a one-time code from the account's TOTP secret
(kept in the keyring beside the password; codes from ``portalbot.totp`` so two sessions
never send the same one). Every 90 days the portal shows a forced password change
instead of itself: a person must choose the new password, so the payer is paused.

The session token lives in ``sessionStorage``: a new browser context is signed out, and
an idle session silently falls back to "signed out" — the wizard then lands on the
sign-in page, and ``SessionExpired`` lets the engine sign in again and start the form
over. Nothing was submitted by then, so nothing is sent twice.

The wizard (patient, provider, diagnoses, services, review) wants ISO dates, diagnosis
codes with their dot, the tax ID as 12-3456789, pointers as "1,2", at most 8 diagnoses
and 6 lines, each line added by a button; the procedure code must be picked from the
box's autocomplete list. Acceptance is asynchronous: "Received — reference N" is
``Pending``; the status page later says Accepted (with the payer's claim number),
Rejected (with a reason code) or Denied. The claim search lags new submissions by a few
minutes, so reconciliation waits ``history_settle_s``.
"""

from __future__ import annotations

import re
from typing import ClassVar

from playwright.async_api import Page

from portalbot import portal as pb
from portalbot.portal import Box, Each, Read, Step, When
from portalbot.totp import OneTimeCodes

MEMBER_ID = re.compile(r"^[A-Z]{3}\d{9}$")
CLAIMS = "fixtures/claims/blueriver.json"
MAIN = pb.Place(role="main")
SIGN_IN = pb.heading("Sign in to BlueRiver Provider")
# Asks the portal's own session endpoint whether the token in sessionStorage still works.
SESSION_PROBE = """async () => {
  const token = sessionStorage.getItem("brh.session");
  if (!token) return false;
  try {
    const r = await fetch("/api/me", {headers: {Authorization: "Bearer " + token}});
    return r.status !== 401;
  } catch (e) { return true; }
}"""


def step(number: int, name: str) -> pb.Place:
    return pb.Place(role="heading", name=f"Step {number} of 5: {name}", level=2)


def tax_id(value: str) -> str:
    digits = pb.digits(value)
    return f"{digits[:2]}-{digits[2:]}"


class BlueRiverAdapter(pb.WizardAdapter):
    payer_id = "blueriver"
    display_name = "BlueRiver Health"
    default_base_url = "https://provider.blueriverhealth.example"
    max_sessions_per_account = 2
    history_settle_s = 300.0
    cases: ClassVar[tuple[pb.Case, ...]] = (
        pb.Case(CLAIMS, "NORTHSIDE-2026-10-000301", "pending"),
        pb.Case(CLAIMS, "NORTHSIDE-2026-10-000302", "pending"),
        pb.Case(CLAIMS, "NORTHSIDE-2026-10-000303", "pending"),
        pb.Case(CLAIMS, "NORTHSIDE-2026-10-000304", "duplicate"),
        pb.Case(CLAIMS, "NORTHSIDE-2026-10-000306", "pending"),
    )
    codes: ClassVar[OneTimeCodes | None] = None
    """Where one-time codes come from; None: the process-wide guard (tests inject their own)."""
    signed_out = SIGN_IN
    sign_in = pb.SignIn(
        "/signin", "Continue", pb.Place(role="button", name="Sign out"), (
            pb.Refusal("locked", pb.AuthenticationError, "BlueRiver locked the account; unlock "
                       "it with provider support, then resume the payer"),
            pb.Refusal("temporarily unavailable", pb.PortalUnavailable,
                       "BlueRiver's sign-in is unavailable"),
            pb.Refusal("code", pb.AuthenticationError, "BlueRiver refused the one-time code"),
            pb.Refusal("", pb.AuthenticationError, "BlueRiver refused the username or password"),
        ), code=pb.OneTimeCode(), expired=pb.heading("Your password has expired"))
    claim_form = pb.ClaimForm("/app/claims/new", step(1, "Patient"), "Submit claim")
    member_id = (MEMBER_ID, "a BlueRiver member ID (three letters and nine digits, like "
                            "BRV123456789, as on the member's card)")
    steps = (
        Step(step(1, "Patient"), (
            Box("member_id", "Member ID", "subscriber.member_id", pattern=MEMBER_ID.pattern),
            Box("patient_last_name", "Patient last name", "patient.last_name"),
            Box("patient_first_name", "Patient first name", "patient.first_name"),
            Box("patient_birth_date", "Date of birth", "patient.birth_date", pb.iso),
            pb.radio("patient_sex", "Sex", "patient.sex",
                     {"F": "Female", "M": "Male", "U": "Unknown"}),
            Box("relationship", "Relationship to subscriber", "subscriber.relationship"),
            Box("subscriber_last_name", "Subscriber last name",
                pb.unless_self("subscriber.last_name")),
            Box("subscriber_first_name", "Subscriber first name",
                pb.unless_self("subscriber.first_name")),
            Box("subscriber_birth_date", "Subscriber date of birth",
                pb.unless_self("subscriber.birth_date"), pb.iso),
            Box("group_number", "Group number", "subscriber.group_number"),
            pb.key("patient_account_number", "Your claim reference"),
        )),
        Step(step(2, "Provider"), (
            Box("billing_npi", "Billing provider NPI", "billing_provider.npi"),
            Box("tax_id", "Tax ID (EIN)", "billing_provider.tax_id", tax_id, r"^\d{2}-\d{7}$"),
            Box("rendering_npi", "Rendering provider NPI", "rendering_provider.npi"),
            Box("claim_type", "Claim type", "filing.frequency", pb.frequency),
            Box("original_claim_number", "Original payer claim number",
                "filing.original_claim_number"),
        )),
        Step(step(3, "Diagnoses"), (
            Each("diagnoses", "diagnoses", (Box("", "Diagnosis {n}", "."),), most=8, least=1),
        )),
        Step(step(4, "Services"), (
            Each("lines", "service_lines", (
                Box("dos", "Line {n} date of service", "date_of_service", pb.iso),
                Box("pos", "Line {n} place of service", "place_of_service"),
                pb.autocomplete("cpt", "Line {n} procedure code", "code", r"^[A-Z0-9]{5}$"),
                Box("modifier", "Line {n} modifier", "modifiers", pb.first),
                Box("units", "Line {n} units", "units"),
                Box("charge", "Line {n} charge", "charge", pb.money),
                Box("pointers", "Line {n} diagnosis pointers", "diagnosis_pointers",
                    pb.joined(",", 4), r"^[1-8](,[1-8]){0,3}$"),
            ), most=6, least=1, add="Add service line"),
        )),
        pb.Review(step(5, "Review"), (pb.tick("I certify that this claim is accurate and "
                                              "complete"),), shows=("Your claim reference",)),
    )
    outcomes = (
        pb.OnPending(When(pb.heading(), is_="Claim received"),
                     Read(MAIN, r"Received\s*[—-]\s*reference\s*(?P<ref>\d+)", "ref")),
        pb.OnDuplicate(When(pb.heading(), is_="Possible duplicate"),
                       Read(MAIN, r"reference\s+(\d+)", 1)),
        pb.OnRefused(When(pb.alert(), has="Please correct"), Read(pb.items(pb.alert())),
                     "BlueRiver refused our form"),
    )
    # Received, or Denied (a verdict the status check records): the claim is on file.
    history = pb.HistorySearch(
        "/app/claims?reference={key}", "Search results", key_column="Your claim reference",
        number_column="Reference", pending=("Received", "Denied"),
        payer_claim_number_column="Payer claim number",
        nothing=pb.text("No claims found"))
    status_page = pb.StatusPage(
        "/app/claims/{reference}", reason="Reason", code="Reason code",
        payer_claim_number="Payer claim number", ready=pb.Place(text="Status", exact=True))

    async def is_signed_in(self, page: Page) -> bool:
        if not page.url.startswith(self.url("/app")):
            return False
        return bool(await page.evaluate(SESSION_PROBE))
