"""Keystone Medicare Services: a legacy Medicare-contractor portal in frames.

The portal lives in a frameset (a ``banner`` frame and a ``main`` frame); its forms are
tables with no ``<label>`` elements, so fields are found by the text of the cell beside
them and service-line boxes by their row number and column header. It wants dates as
MMDDYYYY, diagnosis codes without the dot, at most 8 diagnoses and 6 lines, pointers as
digits. The log-on page asks for NPI and PTAN besides user ID and password: they are
``login_fields``, kept in the keyring beside the password.

Submission asks a JavaScript ``confirm()`` first. Sometimes a CAPTCHA sits above the
Submit button: that claim needs a person, and the code is never guessed. There is no
claim-history search, so a claim left in doubt here goes to a person, never again to
the portal.
"""

from __future__ import annotations

import re
from typing import ClassVar

from playwright.async_api import Dialog, Page

from portalbot import portal as pb
from portalbot.portal import Box, Each, Read, When

MBI = re.compile(
    r"^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d"
    r"[AC-HJKMNP-RT-Y]{2}\d{2}$"
)
ICN = r"\b(\d{13})\b"
REASON = r"Reason Code:\s*(?P<code>\w+)\s*Message:\s*(?P<text>.+?)(?:\s*Enter another|$)"
MAX_DIAGNOSES = 8
TITLE = pb.Place(css="p")  # the first line of text on Keystone's pages
CLAIMS = "fixtures/claims/keystone.json"
REFUSED = "Keystone refused the user ID, password, NPI or PTAN"


def _mbi(value: str) -> str:
    return value.replace("-", "").upper()


class KeystoneAdapter(pb.TableFormAdapter):
    payer_id = "keystone"
    display_name = "Keystone Medicare Services"
    default_base_url = "https://portal.keystonemedicare.example"
    login_fields = ("npi", "ptan")
    acceptance_shows = ("confirmation",)  # the acceptance page never shows the portal key
    max_sessions_per_account = 1
    cases: ClassVar[tuple[pb.Case, ...]] = (
        pb.Case(CLAIMS, "NORTHSIDE-2026-10-000401", "accepted"),
        pb.Case(CLAIMS, "NORTHSIDE-2026-10-000402", "accepted"),
        pb.Case(CLAIMS, "NORTHSIDE-2026-10-000404", "duplicate"),
        pb.Case(CLAIMS, "NORTHSIDE-2026-10-000405", "rejected", reason_code="27"),
        pb.Case(CLAIMS, "NORTHSIDE-2026-10-000406", "rejected", reason_code="31"),
    )
    frame = "main"
    outages = ("Planned Maintenance", "System Unavailable", "Bad gateway")
    title = TITLE
    sign_in = pb.SignIn("/logon", "Log On", pb.Place(role="link", name="Log Off"), (
        pb.Refusal("revoked", pb.AuthenticationError, "Keystone revoked the user ID; have the "
                   "EDI help desk restore it, then resume the payer"),
        pb.Refusal("Log on failed", pb.AuthenticationError, REFUSED),
        pb.Refusal("NPI/PTAN", pb.AuthenticationError, REFUSED),
    ), fields={"User ID": "username", "Password": "password", "NPI": "npi", "PTAN": "ptan"},
        refusal_at=pb.PAGE)
    claim_form = pb.ClaimForm("/claims/entry", pb.Place(text="Part B Claim Entry", exact=True),
                              "Submit Claim")
    fields = (
        Box("mbi", "Beneficiary MBI", "subscriber.member_id", _mbi, MBI.pattern),
        Box("last_name", "Last Name", "patient.last_name", pb.upper),
        Box("first_name", "First Name", "patient.first_name", pb.upper),
        Box("birth_date", "Date of Birth (MMDDYYYY)", "patient.birth_date", pb.mmddyyyy,
            r"^\d{8}$"),
        pb.key("patient_control_no", "Patient Control No"),
        Box("rendering_npi", "Rendering NPI", "rendering_provider.npi"),
        Box("original_icn", "Original ICN", "filing.original_claim_number"),
        Each("diagnoses", "diagnoses", (Box("", "Diagnosis {n}", ".", pb.no_dot),),
             most=MAX_DIAGNOSES, least=1),
        Box("sex", "Sex", "patient.sex"),
        Box("frequency", "Claim Frequency", "filing.frequency", pb.frequency),
        Each("lines", "service_lines", (
            Box("from_date", "From (MMDDYYYY)", "date_of_service", pb.mmddyyyy, r"^\d{8}$"),
            Box("to_date", "To (MMDDYYYY)", "date_of_service", pb.mmddyyyy, r"^\d{8}$"),
            Box("pos", "POS", "place_of_service"),
            Box("hcpcs", "HCPCS", "code"),
            Box("modifier", "Mod", "modifiers", pb.first),
            Box("units", "Units", "units"),
            Box("charges", "Charges", "charge", pb.money),
            Box("pointers", "Dx Ptr", "diagnosis_pointers", pb.joined("", 4), r"^[1-8]{1,4}$"),
        ), most=6, least=1, within="{n}"),
    )
    outcomes = (
        pb.OnAccepted(When(TITLE, is_="Claim Accepted"), Read(pb.PAGE, ICN, 1)),
        pb.OnRejected(When(TITLE, is_="Claim Rejected"), Read(pb.PAGE, REASON, "text"),
                      Read(pb.PAGE, REASON, "code"), Read(pb.PAGE, ICN, 1)),
        pb.OnDuplicate(When(TITLE, is_="Duplicate Claim"), Read(pb.PAGE, ICN, 1)),
        pb.OnRefused(When(pb.PAGE, has="The following errors must be corrected"),
                     Read(pb.items(pb.PAGE)), "Keystone refused our form"),
    )

    def check(self, claim: pb.Claim, filing: pb.Filing) -> None:
        pb.check_member_id(claim, MBI, "a Medicare Beneficiary Identifier (11 characters, "
                           "like 1EG4TE5MK73, from the Medicare card)",
                           _mbi(claim.subscriber.member_id))
        pb.check_limits(claim, "Keystone", pointer_max=MAX_DIAGNOSES)

    async def login(self, page: Page, credentials: pb.Credentials) -> None:
        if not all(credentials.fields.get(name, "").strip() for name in self.login_fields):
            raise pb.AuthenticationError(
                "Keystone's log-on page asks for the NPI and PTAN besides the user ID and "
                "password, and the keyring has no NPI or PTAN for this account; store them "
                "with `portalbot credentials set keystone`")
        await pb.navigate(page, self.url("/"), outages=())
        main = self.scope(page)
        await main.wait_for_load_state()
        await pb.raise_if_down(main, self.outages)
        given = {"username": credentials.username, "password": credentials.password,
                 **credentials.fields}
        for text, what in self.sign_in.fields.items():
            await (await pb.cell_field(main, text)).fill(given[what])
        async with main.expect_navigation():
            await main.get_by_role("button", name=self.sign_in.button).click()
        await pb.raise_if_down(main, self.outages)
        if await self.sign_in.signed_in.locate(main).count():
            return
        raise pb.sign_in_refused(await pb.page_text(main), self.sign_in.refusals,
                                 "no main menu after log-on")

    async def fill(self, page: Page, form: pb.LabelledForm) -> None:
        if await self.scope(page).get_by_text("Type the characters shown in the image").count():
            raise pb.NeedsHumanError("Keystone put a CAPTCHA before submission; a person must "
                                     "submit this claim (portalbot never guesses one)")
        await super().fill(page, form)

    async def submit(self, page: Page) -> None:
        async def accept(dialog: Dialog) -> None:
            await dialog.accept()

        page.once("dialog", accept)
        async with self.scope(page).expect_navigation():
            await self.scope(page).get_by_role("button", name=self.claim_form.submit).click()
