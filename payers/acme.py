"""Acme Health Plan: a classic one-page CMS-1500 entry form behind a password login.

The portal wants dates as MM/DD/YYYY, the tax ID without its dash, diagnosis codes with
their dot, pointers as the letters A–L, at most 12 diagnoses and 6 service lines. It
answers on the form page itself: a red banner for a rejection, a duplicate or our own
malformed input, and a *green* banner when it merely saved a draft — which is not a
submission. Only the "Claim submitted" page with a confirmation number is an acceptance.
"""

from __future__ import annotations

import re
from typing import ClassVar

from portalbot import portal as pb
from portalbot.portal import Box, Each, Read, When

MEMBER_ID = re.compile(r"^ACM\d{9}$")
CONFIRMATION = r"ACM-\d{6}-\d{6}"
REJECTION = r"Claim rejected\s*[–-]\s*reason\s+(?P<code>R\d+):\s*(?P<text>.+)"
DEMO = "fixtures/claims/demo.json"


class AcmeAdapter(pb.LabelledFormAdapter):
    payer_id = "acme"
    display_name = "Acme Health Plan"
    default_base_url = "https://provider.acmehealth.example"
    max_sessions_per_account = 4
    cases: ClassVar[tuple[pb.Case, ...]] = (
        pb.Case(DEMO, "NORTHSIDE-2026-10-000101", "accepted"),
        pb.Case(DEMO, "NORTHSIDE-2026-10-000106", "accepted"),
        pb.Case(DEMO, "NORTHSIDE-2026-10-000107", "accepted"),
        pb.Case(DEMO, "NORTHSIDE-2026-10-000113", "rejected", reason_code="R02"),
        pb.Case(DEMO, "NORTHSIDE-2026-10-000114", "rejected", reason_code="R01"),
    )
    sign_in = pb.SignIn("/login", "Sign in", pb.Place(role="button", name="Sign out"), (
        pb.Refusal("locked", pb.AuthenticationError, "the portal locked the account; unlock "
                   "it with the payer, then resume the payer"),
        pb.Refusal("incorrect", pb.AuthenticationError,
                   "the portal refused the username or password"),
    ))
    claim_form = pb.ClaimForm("/claims/new", pb.heading("New professional claim"), "Submit claim")
    member_id = (MEMBER_ID, "an Acme member ID; Acme IDs are 'ACM' and 9 digits, as printed "
                            "on the member's card")
    fields = (
        Box("patient_last_name", "Patient last name", "patient.last_name"),
        Box("patient_first_name", "Patient first name", "patient.first_name"),
        Box("patient_birth_date", "Patient date of birth", "patient.birth_date", pb.mdy),
        Box("patient_sex", "Patient sex", "patient.sex"),
        Box("patient_address", "Patient street address", "patient.address.line1"),
        Box("patient_city", "Patient city", "patient.address.city"),
        Box("patient_state", "Patient state", "patient.address.state"),
        Box("patient_zip", "Patient ZIP code", "patient.address.postal_code"),
        Box("member_id", "Member ID", "subscriber.member_id", pattern=MEMBER_ID.pattern),
        Box("group_number", "Group number", "subscriber.group_number"),
        Box("relationship", "Patient relationship to insured", "subscriber.relationship"),
        Box("insured_last_name", "Insured last name", pb.unless_self("subscriber.last_name")),
        Box("insured_first_name", "Insured first name", pb.unless_self("subscriber.first_name")),
        Box("insured_birth_date", "Insured date of birth",
            pb.unless_self("subscriber.birth_date"), pb.mdy),
        Box("billing_provider_name", "Billing provider name", "billing_provider.name"),
        Box("billing_npi", "Billing provider NPI", "billing_provider.npi"),
        Box("tax_id", "Federal tax ID", "billing_provider.tax_id", pb.digits, r"^\d{9}$"),
        Box("rendering_npi", "Rendering provider NPI", "rendering_provider.npi"),
        pb.key("patient_account_number", "Patient account number"),
        Box("claim_frequency", "Claim frequency", "filing.frequency", pb.frequency),
        Box("original_claim_number", "Original claim number", "filing.original_claim_number"),
        pb.tick("Accept assignment"),
        pb.tick("Signature on file"),
        Each("diagnoses", "diagnoses", (Box("", "Diagnosis {letter}", "."),), most=12),
        Each("lines", "service_lines", (
            Box("dos", "Line {n} date of service", "date_of_service", pb.mdy),
            Box("pos", "Line {n} place of service", "place_of_service"),
            Box("cpt", "Line {n} CPT/HCPCS", "code"),
            Box("modifiers", "Line {n} modifiers", "modifiers", pb.joined(" ")),
            Box("units", "Line {n} units", "units"),
            Box("charge", "Line {n} charge", "charge", pb.money),
            Box("pointers", "Line {n} diagnosis pointers", "diagnosis_pointers", pb.letters),
        ), most=6, least=1),
    )
    outcomes = (
        pb.OnAccepted(When(pb.heading(), is_="Claim submitted"),
                      Read(pb.term("Confirmation number"), f"^{CONFIRMATION}$")),
        pb.OnRejected(When(pb.alert(), matches=REJECTION), message="text", reason_code="code",
                      reference=Read(pb.text("Reference number for this response"), CONFIRMATION)),
        pb.OnDuplicate(When(pb.alert(), matches=rf"matches claim\s+(?P<ref>{CONFIRMATION})"),
                       "ref"),
        pb.OnRefused(When(pb.alert(), has="could not submit this claim"),
                     Read(pb.items(pb.alert()))),
        pb.OnDraft(When(pb.status(), has="saved as draft"), "the portal saved a draft instead "
                   "of submitting (a required box was not ticked)"),
    )
    history = pb.HistorySearch("/claims/history?patient_account_number={key}", "Search results",
                               key_column="Patient account number", number_column="Claim number")
    status_page = pb.StatusPage("/claims/{reference}", reference="Confirmation number",
                                reason="Denial reason", amount="Paid amount")
