"""Outcome recognisers: what each page after the click looks like, and what to read on it.

An adapter lists them in order; the first whose ``when`` holds decides. ``when`` reads a
place (a heading, an alert, a status banner…) and holds when its text ``is_`` a text,
``has`` a text, or ``matches`` a pattern (whose named groups the recogniser may use).
What each recogniser reads is a ``Get``: the name of a group of that match, or a ``Read``
of some other place, required (missing → ``SubmissionUncertain``: the claim's fate is
unknown) or optional (missing → ``None``).

- ``OnAccepted``: accepted, with its confirmation (required).
- ``OnPending``: received, decided later, with its reference (required).
- ``OnRejected``: the payer refused the content: message, reason code, reference.
- ``OnDuplicate``: the portal already holds this claim: its reference, if shown.
- ``OnRefused``: the portal's own validation refused our form — ``FormRefused``, the one
  error after the click that says nothing was stored.
- ``OnDraft``: the portal kept a draft instead of submitting — ``FormRefused`` too.

No recogniser holds: ``SubmissionUncertain`` (the page is not one the adapter knows).

The outcome carries its ``region``: the place its main value was read from (a ``Read``'s
place, else the ``when`` place) as a Playwright selector, for the evidence screenshot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from playwright.async_api import Locator

from portalbot.errors import FormRefused, SubmissionUncertain
from portalbot.outcomes import Accepted, Duplicate, Outcome, Pending, Rejected
from portalbot.portal.kit import Container, Pattern, Place, optional, required
from portalbot.portal.regions import region


@dataclass(frozen=True)
class When:
    """A place whose text is, contains or matches something (case-insensitive for ``has``)."""

    place: Place
    is_: str | None = None
    has: str | None = None
    matches: Pattern = None

    def holding(self, scope: Container) -> Locator:
        """The place, only while it holds: what a single-page app is waited on for."""
        shown = self.is_ or self.has
        found = self.place.locate(scope)
        if self.is_ is not None:
            return found.filter(has_text=re.compile(rf"^\s*{re.escape(self.is_)}\s*$"))
        if shown is not None:
            return found.filter(has_text=re.compile(re.escape(shown), re.I))
        return found.filter(has_text=re.compile(self.matches)) if self.matches else found

    async def test(self, scope: Container) -> dict[str, str] | None:
        """The match's named groups ({} without any) when it holds; None when not."""
        shown = await self.place.read(scope)
        if self.is_ is not None and shown != self.is_:
            return None
        if self.has is not None and self.has.lower() not in shown.lower():
            return None
        if self.matches is not None:
            found = re.search(self.matches, shown)
            if not found:
                return None
            return {k: (v or "").strip() for k, v in found.groupdict().items()}
        return {}


@dataclass(frozen=True)
class Read:
    """Read a place (optionally the part a pattern finds). ``required``: missing means the
    outcome is unknown; otherwise missing is simply ``None``."""

    place: Place
    pattern: Pattern = None
    group: int | str = 0
    required: bool = False


Get = str | Read | None


async def get(value: Get, scope: Container, groups: dict[str, str], what: str,
              must: bool = False) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        found = groups.get(value) or None
        if found is None and must:
            raise SubmissionUncertain(f"the page shows no {what}", step="read_outcome")
        return found
    if value.required or must:
        return await required(scope, value.place, what, value.pattern, value.group)
    return await optional(scope, value.place, value.pattern, value.group)


@dataclass(frozen=True)
class Recogniser:
    when: When

    async def outcome(self, scope: Container, groups: dict[str, str]) -> Outcome:
        raise NotImplementedError


@dataclass(frozen=True)
class OnAccepted(Recogniser):
    confirmation: Get = "confirmation"
    payer_claim_number: Get = None

    async def outcome(self, scope: Container, groups: dict[str, str]) -> Outcome:
        number = await get(self.confirmation, scope, groups, "confirmation number", must=True)
        return Accepted(confirmation=number or "", payer_claim_number=await get(
            self.payer_claim_number, scope, groups, "payer claim number"))


@dataclass(frozen=True)
class OnPending(Recogniser):
    reference: Get = "reference"

    async def outcome(self, scope: Container, groups: dict[str, str]) -> Outcome:
        return Pending(reference=await get(self.reference, scope, groups, "reference",
                                           must=True) or "")


@dataclass(frozen=True)
class OnRejected(Recogniser):
    message: Get = "message"
    reason_code: Get = None
    reference: Get = None

    async def outcome(self, scope: Container, groups: dict[str, str]) -> Outcome:
        return Rejected(
            message=await get(self.message, scope, groups, "rejection message") or "rejected",
            reason_code=await get(self.reason_code, scope, groups, "reason code"),
            reference=await get(self.reference, scope, groups, "reference"),
        )


@dataclass(frozen=True)
class OnDuplicate(Recogniser):
    reference: Get = None

    async def outcome(self, scope: Container, groups: dict[str, str]) -> Outcome:
        return Duplicate(reference=await get(self.reference, scope, groups, "reference"))


@dataclass(frozen=True)
class OnRefused(Recogniser):
    """Our form, refused by the portal's validation: ``problems`` is what it listed."""

    problems: Get = None
    message: str = "the portal refused our form"

    async def outcome(self, scope: Container, groups: dict[str, str]) -> Outcome:
        problems = await get(self.problems, scope, groups, "problems")
        raise FormRefused(f"{self.message}: {problems}" if problems else self.message,
                          step="submit")


@dataclass(frozen=True)
class OnDraft(Recogniser):
    """The portal saved a draft instead of submitting: nothing was filed."""

    message: str = "the portal saved a draft instead of submitting"

    async def outcome(self, scope: Container, groups: dict[str, str]) -> Outcome:
        raise FormRefused(self.message, step="submit")


async def recognise(scope: Container, recognisers: tuple[Recogniser, ...],
                    unknown: Place | None = None) -> Outcome:
    """The outcome the first holding recogniser reads; ``SubmissionUncertain`` when none
    holds (naming what ``unknown`` shows — a heading, never page text with PHI)."""
    for recogniser in recognisers:
        groups = await recogniser.when.test(scope)
        if groups is not None:
            outcome = await recogniser.outcome(scope, groups)
            return replace(outcome, region=region(_read_from(recogniser)))
    shown: Any = await unknown.read(scope) if unknown is not None else ""
    raise SubmissionUncertain(
        "the page after submit is not one the adapter knows"
        + (f" (heading {shown!r})" if unknown is not None else ""), step="read_outcome"
    )


def _read_from(recogniser: Recogniser) -> Place:
    main = next((getattr(recogniser, name) for name in ("confirmation", "message", "reference")
                 if hasattr(recogniser, name)), None)
    return main.place if isinstance(main, Read) else recogniser.when.place

