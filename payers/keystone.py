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

from playwright.async_api import Dialog, Frame, Page
from pydantic import Field

from payers._legacy import Grid, cell_field
from portalbot.portal import (
    FREQUENCY_CODES,
    PAGE,
    Accepted,
    AdapterError,
    AuthenticationError,
    Case,
    Claim,
    Credentials,
    Duplicate,
    Filing,
    FormRefused,
    NeedsHumanError,
    Outcome,
    PortalAdapter,
    PortalForm,
    Refusal,
    Rejected,
    SubmissionUncertain,
    check_limits,
    check_member_id,
    navigate,
    page_text,
    pick,
    raise_if_down,
    required,
    sign_in_refused,
)

MBI = re.compile(
    r"^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d"
    r"[AC-HJKMNP-RT-Y]{2}\d{2}$"
)
ICN = re.compile(r"\b(\d{13})\b")
REASON = re.compile(r"Reason Code:\s*(?P<code>\w+)\s*Message:\s*(?P<text>.+?)(?:\s*Enter another|$)")
MAX_DIAGNOSES = 8
MAX_LINES = 6
DOWN_TITLES = ("Planned Maintenance", "System Unavailable", "Bad gateway")
REFUSALS = (
    Refusal("revoked", AuthenticationError, "Keystone revoked the user ID; have the EDI help "
            "desk restore it, then resume the payer"),
    Refusal("Log on failed", AuthenticationError,
            "Keystone refused the user ID, password, NPI or PTAN"),
    Refusal("NPI/PTAN", AuthenticationError, "Keystone refused the user ID, password, NPI or PTAN"),
)
CLAIMS = "fixtures/claims/keystone.json"


class KeystoneLine(PortalForm):
    from_date: str = Field(pattern=r"^\d{8}$")
    to_date: str = Field(pattern=r"^\d{8}$")
    pos: str
    hcpcs: str
    modifier: str
    units: str
    charges: str
    pointers: str = Field(pattern=r"^[1-8]{1,4}$")


class KeystoneForm(PortalForm):
    mbi: str = Field(pattern=MBI.pattern)
    last_name: str
    first_name: str
    birth_date: str = Field(pattern=r"^\d{8}$")
    sex: str
    patient_control_no: str = Field(pattern=r"^[A-Z0-9]{1,14}$")
    rendering_npi: str
    frequency: str
    original_icn: str
    diagnoses: tuple[str, ...] = Field(min_length=1, max_length=MAX_DIAGNOSES)
    lines: tuple[KeystoneLine, ...] = Field(min_length=1, max_length=MAX_LINES)


def _mmddyyyy(value: object) -> str:
    return value.strftime("%m%d%Y") if value else ""  # type: ignore[attr-defined]


class KeystoneAdapter(PortalAdapter[KeystoneForm]):
    payer_id = "keystone"
    display_name = "Keystone Medicare Services"
    default_base_url = "https://portal.keystonemedicare.example"
    login_fields = ("npi", "ptan")
    max_sessions_per_account = 1
    min_interval_s = 0.0
    history_searchable = False
    cases: ClassVar[tuple[Case, ...]] = (
        Case(CLAIMS, "NORTHSIDE-2026-10-000401", "accepted"),
        Case(CLAIMS, "NORTHSIDE-2026-10-000402", "accepted"),
        Case(CLAIMS, "NORTHSIDE-2026-10-000404", "duplicate"),
        Case(CLAIMS, "NORTHSIDE-2026-10-000405", "rejected", reason_code="27"),
        Case(CLAIMS, "NORTHSIDE-2026-10-000406", "rejected", reason_code="31"),
    )

    # --- mapping ------------------------------------------------------------------
    def to_form(self, claim: Claim, filing: Filing) -> KeystoneForm:
        member_id = check_member_id(
            claim, MBI, "a Medicare Beneficiary Identifier (11 characters, like 1EG4TE5MK73, "
            "from the Medicare card)", claim.subscriber.member_id.replace("-", "").upper())
        check_limits(claim, "Keystone", diagnoses=MAX_DIAGNOSES, lines=MAX_LINES,
                     pointer_max=MAX_DIAGNOSES)
        return KeystoneForm(
            mbi=member_id,
            last_name=claim.patient.last_name.upper(),
            first_name=claim.patient.first_name.upper(),
            birth_date=_mmddyyyy(claim.patient.birth_date),
            sex=claim.patient.sex,
            patient_control_no=filing.portal_key,
            rendering_npi=claim.rendering_provider.npi if claim.rendering_provider else "",
            frequency=FREQUENCY_CODES[filing.frequency],
            original_icn=filing.original_claim_number or "",
            diagnoses=tuple(code.replace(".", "").upper() for code in claim.diagnoses),
            lines=tuple(
                KeystoneLine(
                    from_date=_mmddyyyy(line.date_of_service),
                    to_date=_mmddyyyy(line.date_of_service),
                    pos=line.place_of_service,
                    hcpcs=line.code,
                    modifier=(line.modifiers or [""])[0],
                    units=str(line.units),
                    charges=f"{line.charge:.2f}",
                    pointers="".join(str(p) for p in line.diagnosis_pointers[:4]),
                )
                for line in claim.service_lines
            ),
        )

    # --- session --------------------------------------------------------------------
    async def login(self, page: Page, credentials: Credentials) -> None:
        npi, ptan = (credentials.fields.get(name, "").strip() for name in self.login_fields)
        if not (npi and ptan):
            raise AuthenticationError(
                "Keystone's log-on page asks for the NPI and PTAN besides the user ID and "
                "password, and the keyring has no NPI or PTAN for this account; store them "
                "with `portalbot credentials set keystone`",
            )
        await navigate(page, self.url("/"), outages=())
        main = self._main(page)
        await main.wait_for_load_state()
        await raise_if_down(main, DOWN_TITLES)
        for text, value in (("User ID", credentials.username), ("Password", credentials.password),
                            ("NPI", npi), ("PTAN", ptan)):
            await (await cell_field(main, text)).fill(value)
        async with main.expect_navigation():
            await main.get_by_role("button", name="Log On").click()
        await raise_if_down(main, DOWN_TITLES)
        if await main.get_by_role("link", name="Log Off").count():
            return
        raise sign_in_refused(await page_text(main), REFUSALS, "no main menu after log-on")

    async def is_signed_in(self, page: Page) -> bool:
        if not page.url.startswith(self.base_url):
            return False
        main = page.frame(name="main")
        if main is None or "/logon" in main.url:
            return False
        return await main.get_by_role("link", name="Log Off").count() > 0

    # --- the claim --------------------------------------------------------------------
    async def open_form(self, page: Page) -> None:
        main = self._main(page)
        await navigate(main, self.url("/claims/entry"), sign_in="/logon", outages=DOWN_TITLES)
        if not await main.get_by_text("Part B Claim Entry", exact=True).count():
            raise AdapterError("the claim entry page did not open")

    async def fill(self, page: Page, form: KeystoneForm) -> None:
        main = self._main(page)
        if await main.get_by_text("Type the characters shown in the image").count():
            raise NeedsHumanError(
                "Keystone put a CAPTCHA before submission; a person must submit this claim "
                "(portalbot never guesses one)"
            )
        texts = {
            "Beneficiary MBI": form.mbi,
            "Last Name": form.last_name,
            "First Name": form.first_name,
            "Date of Birth (MMDDYYYY)": form.birth_date,
            "Patient Control No": form.patient_control_no,
            "Rendering NPI": form.rendering_npi,
            "Original ICN": form.original_icn,
        }
        for number, code in enumerate(form.diagnoses, start=1):
            texts[f"Diagnosis {number}"] = code
        # open_form always starts from an empty form: only boxes with a value are typed in.
        for text, value in texts.items():
            if value:
                await (await cell_field(main, text)).fill(value)
        await (await cell_field(main, "Sex")).select_option(form.sex)
        await (await cell_field(main, "Claim Frequency")).select_option(form.frequency)
        grid = await Grid(main, "Ln").read_header()
        for number, line in enumerate(form.lines, start=1):
            columns = {
                "From (MMDDYYYY)": line.from_date,
                "To (MMDDYYYY)": line.to_date,
                "POS": line.pos,
                "HCPCS": line.hcpcs,
                "Mod": line.modifier,
                "Units": line.units,
                "Charges": line.charges,
                "Dx Ptr": line.pointers,
            }
            for column, value in columns.items():
                cell = grid.cell(str(number), column)
                if value:
                    await cell.fill(value)

    async def submit(self, page: Page) -> None:
        main = self._main(page)

        async def accept(dialog: Dialog) -> None:
            await dialog.accept()

        page.once("dialog", accept)
        async with main.expect_navigation():
            await main.get_by_role("button", name="Submit Claim").click()

    async def read_outcome(self, page: Page) -> Outcome:
        main = self._main(page)
        text = await page_text(main)
        title = await self._title(main)
        if title == "Claim Accepted":
            return Accepted(confirmation=await required(main, PAGE, "ICN", ICN, 1))
        if title == "Claim Rejected":
            return Rejected(
                message=pick(text, REASON, "text") or "rejected",
                reason_code=pick(text, REASON, "code") or None,
                reference=pick(text, ICN, 1) or None,
            )
        if title == "Duplicate Claim":
            return Duplicate(reference=pick(text, ICN, 1) or None)
        if "The following errors must be corrected" in text:
            problems = " ".join(await main.locator("ul li").all_inner_texts())
            raise FormRefused(f"Keystone refused our form: {problems}", step="submit")
        raise SubmissionUncertain(
            f"the page after submit is not one the adapter knows (title {title!r})"
        )

    # --- page plumbing ----------------------------------------------------------------------
    def _main(self, page: Page) -> Frame:
        """The ``main`` frame; the page itself when the portal served no frameset (an error)."""
        return page.frame(name="main") or page.main_frame

    async def _title(self, main: Frame) -> str:
        titles = await main.locator("p", has_text=re.compile(r"\S")).first.all_inner_texts()
        return titles[0].strip() if titles else ""
