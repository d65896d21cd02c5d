"""The procedural toolkit: navigation, reads, guards and codes every adapter needs.

Nothing here takes a ``payer_id``: the adapter base class stamps the payer and the step
on every portalbot error that leaves one of its hooks (see ``portalbot.adapters``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Locator, Page

from portalbot.adapters import Filing
from portalbot.claims import Claim
from portalbot.errors import (
    AdapterError,
    ClaimError,
    PortalError,
    PortalUnavailable,
    SessionExpired,
    SubmissionUncertain,
)
from portalbot.pagekit import definition_list

Scope = Page | Frame
Container = Page | Frame | Locator

FREQUENCY_CODES = {"original": "1", "replacement": "7", "void": "8"}
"""CMS-1500 box 22 / X12 CLM05-3: how the payer should file the claim."""

OUTAGE_TITLES = ("Service temporarily unavailable", "Scheduled maintenance", "Bad gateway")


def frequency_code(filing: Filing) -> str:
    return FREQUENCY_CODES[filing.frequency]


# --- visible text --------------------------------------------------------------------

def _squash(text: str) -> str:
    return " ".join(text.split())


async def visible_text(locator: Locator) -> str:
    """The visible text of every match, whitespace collapsed, joined; "" when none.

    Never waits: a read of what the page shows now."""
    return " ".join(_squash(t) for t in await locator.all_inner_texts()).strip()


async def page_text(scope: Container) -> str:
    """The whole visible text of a page, frame or element; "" when it cannot be read."""
    root = scope if isinstance(scope, Locator) else scope.locator("body")
    try:
        return _squash(await root.inner_text(timeout=5_000))
    except PlaywrightError:
        return ""


# --- places and reads ------------------------------------------------------------------

@dataclass(frozen=True)
class Place:
    """Somewhere on a page a person reads: by role (and name), by text, or a summary term.

    ``role``: a heading, an alert, a status banner… ``text``: the element showing this
    text. ``term``: the definition beside this ``<dt>`` on a summary page. ``css``: the
    first element of this kind that shows text (a legacy page's title). ``inside``:
    only within that place (the list items *of the alert*). No place at all: the page.
    """

    role: str | None = None
    name: str | None = None
    level: int | None = None
    text: str | None = None
    term: str | None = None
    css: str | None = None
    exact: bool = False
    inside: Place | None = None

    def locate(self, scope: Container) -> Locator:
        root: Container = self.inside.locate(scope) if self.inside else scope
        if self.role:
            role: Any = self.role
            if self.level is not None:
                return root.get_by_role(role, name=self.name, level=self.level)
            return root.get_by_role(role, name=self.name, exact=self.name is not None)
        if self.text:
            return root.get_by_text(self.text, exact=self.exact)
        if self.css:  # the first such element that shows any text (a legacy page's title)
            return root.locator(self.css).filter(has_text=re.compile(r"\S")).first
        return root.locator("body") if not isinstance(root, Locator) else root

    async def read(self, scope: Container) -> str:
        if self.term is not None:
            root = self.inside.locate(scope) if self.inside else scope
            return (await definition_list(root)).get(self.term, "")
        if self.role is None and self.text is None and self.css is None:
            return await page_text(self.locate(scope))
        return await visible_text(self.locate(scope))


def heading(name: str | None = None, level: int | None = 1) -> Place:
    return Place(role="heading", name=name, level=level)


def alert() -> Place:
    return Place(role="alert")


def status() -> Place:
    return Place(role="status")


def term(name: str) -> Place:
    return Place(term=name)


def text(shown: str) -> Place:
    return Place(text=shown)


def items(of: Place) -> Place:
    """The list items inside a place: a validation banner's problems."""
    return Place(role="listitem", inside=of)


PAGE = Place()

Pattern = str | re.Pattern[str] | None


def pick(shown: str, pattern: Pattern = None, group: int | str = 0) -> str:
    """``shown`` itself, or the part of it ``pattern`` finds; "" when it finds nothing."""
    if pattern is None:
        return shown.strip()
    found = re.search(pattern, shown)
    return (found.group(group) or "").strip() if found else ""


async def required(
    scope: Container, place: Place | Locator, what: str, pattern: Pattern = None,
    group: int | str = 0,
) -> str:
    """What the page must show after the click (a confirmation number): missing, the
    claim's fate is unknown, so this raises ``SubmissionUncertain`` naming ``what``."""
    shown = await (place.read(scope) if isinstance(place, Place) else visible_text(place))
    value = pick(shown, pattern, group)
    if not value:
        raise SubmissionUncertain(f"the page shows no {what}", step="read_outcome")
    return value


async def optional(
    scope: Container, place: Place | Locator, pattern: Pattern = None, group: int | str = 0,
) -> str | None:
    """A nice-to-have read (a reference under a rejection): None when absent, never fails."""
    try:
        shown = await (place.read(scope) if isinstance(place, Place) else visible_text(place))
    except PlaywrightError:
        return None
    return pick(shown, pattern, group) or None


# --- navigation -------------------------------------------------------------------------

async def raise_if_down(scope: Scope, outages: Sequence[str] = OUTAGE_TITLES) -> None:
    """An outage or maintenance page (by its main heading or its first words) is
    ``PortalUnavailable``: the portal is not answering usefully, worth retrying."""
    if not outages:
        return
    title = await visible_text(scope.get_by_role("heading", level=1))
    shown = await page_text(scope)
    for down in outages:
        if title.lower() == down.lower() or shown.startswith(down):
            raise PortalUnavailable(down.lower())


async def navigate(
    scope: Scope, url: str, *, sign_in: str | None = None,
    outages: Sequence[str] = OUTAGE_TITLES,
) -> None:
    """Open ``url`` in a page or frame as a person would, and say what went wrong:

    a 5xx answer or an outage page is ``PortalUnavailable`` (retried); landing on the
    sign-in page (``sign_in`` is its path) is ``SessionExpired`` (sign in, start over).
    """
    response = await scope.goto(url)
    if response is not None and response.status >= 500:
        raise PortalUnavailable(f"the portal answered HTTP {response.status}")
    if sign_in and sign_in not in url and sign_in in scope.url:
        raise SessionExpired("the portal signed us out")
    await raise_if_down(scope, outages)


# --- limit guards (before the browser) -----------------------------------------------------

def check_member_id(claim: Claim, pattern: re.Pattern[str], described: str,
                    member_id: str | None = None) -> str:
    """The member ID as the portal wants it, or a ``ClaimError`` naming the field and the
    fix (``described``: what the portal's IDs look like); the value is never in the text."""
    value = claim.subscriber.member_id if member_id is None else member_id
    if not pattern.match(value):
        raise ClaimError(f"claim {claim.claim_id}: subscriber.member_id is not {described}")
    return value


def check_limits(
    claim: Claim, portal: str, *, diagnoses: int | None = None, lines: int | None = None,
    pointer_max: int | None = None,
) -> None:
    """How many diagnoses and service lines the portal's form holds, and how far a line's
    diagnosis pointer may point: past them is a ``ClaimError`` naming the field."""
    where = f"claim {claim.claim_id}"
    if diagnoses is not None and len(claim.diagnoses) > diagnoses:
        raise ClaimError(f"{where}: diagnoses: {portal} takes at most {diagnoses}")
    if lines is not None and len(claim.service_lines) > lines:
        raise ClaimError(f"{where}: service_lines: {portal} takes at most {lines} lines per "
                         "claim; split the claim")
    if pointer_max is not None and any(
        p > pointer_max for line in claim.service_lines for p in line.diagnosis_pointers
    ):
        raise ClaimError(f"{where}: service_lines: a diagnosis pointer is past {pointer_max}")


# --- what a sign-in refusal means -------------------------------------------------------------

@dataclass(frozen=True)
class Refusal:
    """A sign-in page's refusal, declared: the words it shows and what they mean."""

    says: str
    error: type[PortalError]
    message: str

    def raise_(self) -> PortalError:
        return self.error(self.message, step="login")


def sign_in_refused(shown: str, refusals: Sequence[Refusal], otherwise: str) -> PortalError:
    """The error for the first refusal whose words the page shows (case-insensitive); an
    ``AdapterError`` (``otherwise``) when none does: the page is not one we know."""
    lowered = shown.lower()
    for refusal in refusals:
        if refusal.says.lower() in lowered:
            return refusal.raise_()
    return AdapterError(otherwise, step="login")
