"""``portalbot scaffold``: a draft ``payers/<payer_id>.py`` read from the live claim form.

It signs in with the keyring credentials (the page holding a password box: the username
box before it, a ``login_fields`` value in the box whose label names it, a one-time code
where one is asked for), opens the claim form's URL and reads every labelled control
(``form_reader``). The draft is a declarative ``LabelledFormAdapter``: each field with
its label, type, options and required flag, mapped where the label is a known one
(``KNOWN``) and marked ``# TODO`` where not; "Diagnosis A…" and "Line 1 …" labels become
repeating groups; the outcome recognisers are placeholders to fill in. It always imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
from playwright.async_api import Frame, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from portalbot.adapters import Credentials
from portalbot.authoring.form_reader import CONTROLS, FormField, busiest_frame, read_fields
from portalbot.browser import launch
from portalbot.config import BrowserSettings
from portalbot.errors import ConfigError
from portalbot.private import write_private

# label pattern → (claim expression, format); group labels lose their "Line N" first.
KNOWN: tuple[tuple[str, str, str], ...] = (
    (r"account|control no|your (claim )?reference", "KEY", ""),
    (r"insured.*last|subscriber.*last", 'pb.unless_self("subscriber.last_name")', ""),
    (r"insured.*first|subscriber.*first", 'pb.unless_self("subscriber.first_name")', ""),
    (r"(insured|subscriber).*(birth|dob)", 'pb.unless_self("subscriber.birth_date")', "DATE"),
    (r"last name", '"patient.last_name"', ""),
    (r"first name", '"patient.first_name"', ""),
    (r"birth|dob", '"patient.birth_date"', "DATE"),
    (r"\bsex\b|gender", '"patient.sex"', ""),
    (r"street|address", '"patient.address.line1"', ""),
    (r"\bcity\b", '"patient.address.city"', ""),
    (r"\bstate\b", '"patient.address.state"', ""),
    (r"\bzip|postal", '"patient.address.postal_code"', ""),
    (r"member|subscriber id|\bmbi\b|beneficiary", '"subscriber.member_id"', ""),
    (r"group (number|no)", '"subscriber.group_number"', ""),
    (r"relationship", '"subscriber.relationship"', ""),
    (r"rendering.*npi", '"rendering_provider.npi"', ""),
    (r"\bnpi\b", '"billing_provider.npi"', ""),
    (r"provider name|billing provider", '"billing_provider.name"', ""),
    (r"tax id|\btin\b|\bein\b", '"billing_provider.tax_id"', "pb.digits"),
    (r"frequency|claim type", '"filing.frequency"', "pb.frequency"),
    (r"original.*(claim|icn)|\bicn\b", '"filing.original_claim_number"', ""),
)
LINE_KNOWN: tuple[tuple[str, str, str], ...] = (
    (r"date of service|\bdos\b|\bfrom\b|\bto\b|service date", '"date_of_service"', "DATE"),
    (r"place of service|\bpos\b", '"place_of_service"', ""),
    (r"cpt|hcpcs|procedure", '"code"', ""),
    (r"modifier|\bmod\b", '"modifiers"', 'pb.joined(" ")'),
    (r"units", '"units"', ""),
    (r"charge", '"charge"', "pb.money"),
    (r"pointer|dx ptr", '"diagnosis_pointers"', "pb.letters"),
)
DIAGNOSIS = re.compile(r"^(?P<stem>.*diagnosis\D*?)\s*(?P<at>[A-L]|\d{1,2})$", re.IGNORECASE)
LINE = re.compile(r"^(?P<head>(?:service )?line)\s+(?P<n>\d+)\s+(?P<rest>.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Draft:
    path: Path
    fields: list[FormField]
    mapped: int


def _date_format(field: FormField) -> str:
    if field.type == "date":
        return "pb.iso"
    return "pb.mmddyyyy" if "mmddyyyy" in field.label.lower() else "pb.mdy"


def _known(label: str, table: tuple[tuple[str, str, str], ...], field: FormField) -> tuple[str, str] | None:
    for pattern, expr, fmt in table:
        if re.search(pattern, label, re.IGNORECASE):
            return expr, (_date_format(field) if fmt == "DATE" else fmt)
    return None


def _slug(label: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or "field"
    base = f"f_{base}" if base[0].isdigit() else base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _about(field: FormField) -> str:
    parts = [field.type, "required" if field.required else "optional"]
    if field.options:
        parts.append("options: " + ", ".join(field.options[:8]) + (" …" if len(field.options) > 8 else ""))
    return "; ".join(parts)


def _box(name: str, label: str, field: FormField, mapping: tuple[str, str] | None,
         indent: str) -> tuple[str, bool]:
    about = f"  # {_about(field)}"
    if field.type == "checkbox":
        return f"{indent}pb.tick({label!r}),{about} — TODO: always ticked?", False
    if mapping is None:
        return (f'{indent}Box({name!r}, {label!r}, lambda _row: ""),{about} — TODO: map it',
                False)
    expr, fmt = mapping
    if expr == "KEY":
        return f"{indent}pb.key({name!r}, {label!r}),{about} — carries the portal key", True
    return f"{indent}Box({name!r}, {label!r}, {expr}{', ' + fmt if fmt else ''}),{about}", True


def render(payer_id: str, base_url: str, form_path: str, sign_in_path: str,
           fields: list[FormField]) -> tuple[str, int]:
    """The draft module's text and how many fields it mapped."""
    taken: set[str] = set()
    top: list[str] = []
    diagnoses: list[FormField] = []
    lines: dict[str, FormField] = {}
    line_count: set[str] = set()
    mapped = 0
    for field in fields:
        if (dx := DIAGNOSIS.match(field.label)) and field.type not in ("checkbox", "radio"):
            diagnoses.append(field)
            continue
        if line := LINE.match(field.label):
            line_count.add(line["n"])
            lines.setdefault(f"{line['head']} {{n}} {line['rest']}", field)
            continue
        row, ok = _box(_slug(field.label, taken), field.label, field,
                       _known(field.label, KNOWN, field), "        ")
        top.append(row)
        mapped += ok
    if diagnoses:
        dx = DIAGNOSIS.match(diagnoses[0].label)
        assert dx is not None
        at = "{letter}" if dx["at"].isalpha() else "{n}"
        top.append(f'        Each("diagnoses", "diagnoses", (Box("", "{dx["stem"].strip()} {at}", '
                   f'"."),), most={len(diagnoses)}),  # {len(diagnoses)} boxes')
        mapped += len(diagnoses)
    if lines:
        top.append('        Each("lines", "service_lines", (')
        group_taken: set[str] = set()
        for label, field in lines.items():
            rest = label.split("{n}", 1)[1].strip()
            row, ok = _box(_slug(rest, group_taken), label, field,
                           _known(rest, LINE_KNOWN, field), "            ")
            top.append(row)
            mapped += ok * len(line_count)
        top.append(f"        ), most={max(len(line_count), 1)}, least=1),")
    name = "".join(p.title() for p in re.split(r"[^a-zA-Z0-9]+", payer_id) if p) + "Adapter"
    text = TEMPLATE.format(payer_id=payer_id, name=name, base_url=base_url, count=len(fields),
                           sign_in=sign_in_path, form=form_path, fields="\n".join(top))
    return text, mapped


TEMPLATE = '''"""DRAFT written by `portalbot scaffold {payer_id}` from the live claim form ({count} fields).

Edit it into the adapter: map every field marked TODO, fill in the outcome recognisers
from the pages after the click, declare cases (see the README, "Adding a payer"), then
run `portalbot check {payer_id}`.
"""

from __future__ import annotations

from typing import ClassVar

from portalbot import portal as pb
from portalbot.portal import Box, Each, Read, When


class {name}(pb.LabelledFormAdapter):
    payer_id = "{payer_id}"
    display_name = "{payer_id}"  # TODO: the payer's name as billers know it
    default_base_url = "{base_url}"
    cases: ClassVar[tuple[pb.Case, ...]] = ()  # TODO: one Case per outcome to prove
    sign_in = pb.SignIn("{sign_in}", "Sign in", pb.Place(role="button", name="Sign out"))
    # TODO: the sign-in button, what a signed-in page shows, its refusal texts
    claim_form = pb.ClaimForm("{form}", pb.heading(), "Submit")  # TODO: ready marker, button
    fields = (
{fields}
    )
    outcomes = (  # TODO: each page after the click, as the portal words it
        pb.OnAccepted(When(pb.heading(), is_="TODO accepted heading"),
                      Read(pb.term("TODO confirmation number"))),
        pb.OnRejected(When(pb.alert(), matches=r"TODO (?P<code>\\w+): (?P<text>.+)"),
                      message="text", reason_code="code"),
        pb.OnDuplicate(When(pb.alert(), has="TODO duplicate")),
        pb.OnRefused(When(pb.alert(), has="TODO please correct"), Read(pb.items(pb.alert()))),
    )
    history = None  # TODO: pb.HistorySearch(path, table, key_column=…, number_column=…)
'''


async def _password_frame(page: Page) -> Frame | None:
    for frame in page.frames:
        if await frame.locator("input[type=password]").count():
            return frame
    return None


async def sign_in(page: Page, url: str, credentials: Credentials) -> None:
    """A generic sign-in: the password page, then a one-time code page if one follows."""
    await page.goto(url)
    await page.wait_for_load_state()
    frame = await _password_frame(page)
    if frame is None:
        return  # already signed in, or a portal without a password page
    wanted = {k.lower(): v for k, v in credentials.fields.items()}
    controls = frame.locator(CONTROLS)
    password_seen = False
    for field in await read_fields(frame):
        box = controls.nth(field.index)
        if field.index < 0 or not await box.is_visible():
            continue
        if field.type == "password":
            await box.fill(credentials.password)
            password_seen = True
        elif (key := next((k for k in wanted if k in field.label.lower()), None)) is not None:
            await box.fill(wanted[key])
        elif field.type in ("text", "email") and not password_seen:
            await box.fill(credentials.username)
    password = frame.locator("input[type=password]").first
    await password.press("Enter")
    if not credentials.totp_secret:
        await password.wait_for(state="hidden")  # the sign-in page is gone
        await page.wait_for_load_state()
        return
    code = frame.get_by_label(re.compile("code", re.IGNORECASE)).first
    try:
        await code.wait_for(state="visible", timeout=5_000)
    except PlaywrightTimeout:
        return  # no one-time code asked for
    await code.fill(pyotp.TOTP(credentials.totp_secret).now())
    await code.press("Enter")
    await code.wait_for(state="hidden")  # signed in: the portal moved on
    await page.wait_for_load_state()


async def scaffold(payer_id: str, url: str, sign_in_url: str | None, credentials: Credentials,
                   out: Path, browser: BrowserSettings, *, force: bool = False) -> Draft:
    """Sign in, open ``url``, read the form and write ``out`` (never over a file unless
    ``force``)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", payer_id):
        raise ConfigError("a payer id is lower-case letters, digits and '_', starting with "
                          "a letter (it names payers/<payer_id>.py)")
    if out.exists() and not force:
        raise ConfigError(f"{out} exists; edit it, or pass --force to replace it")
    async with async_playwright() as playwright:
        chromium = await launch(playwright, browser)
        try:
            page = await (await chromium.new_context()).new_page()
            page.set_default_timeout(browser.action_timeout_s * 1000)
            await sign_in(page, sign_in_url or url, credentials)
            await page.goto(url)
            await page.wait_for_load_state("networkidle")
            fields = await read_fields(await busiest_frame(page))
        finally:
            await chromium.close()
    where = urlsplit(url)
    base = f"{where.scheme}://{where.netloc}"
    text, mapped = render(payer_id, base, where.path or "/",
                          urlsplit(sign_in_url or url).path or "/", fields)
    write_private(out, text.encode("utf-8"))
    return Draft(out, fields, mapped)
