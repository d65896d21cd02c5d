"""The "wizard of steps" portal shape: one claim entered over the pages of a web app.

A modern portal is a single-page app: a sign-in that may ask a one-time code, then a
claim wizard whose steps appear without a page load, each checked by the server before
the next. Nothing here waits for a load: every wait is for what the app shows — the
next step, the sign-in page (the session silently ended: ``SessionExpired``, before the
click, so signing in again and starting over sends nothing twice), or its message
banner (an outage phrase: ``PortalUnavailable``; anything else: ``AdapterError``
quoting it). An adapter declares, besides the labelled shape's ``sign_in``,
``claim_form`` (its ``ready`` marker is the first step's), ``outcomes``, ``history``
and ``status_page``:

- ``steps``: ``Step(ready, fields, next)`` in order — the step's ready marker (the step is
  the section or form that holds it), its slice of the field map, the button to leave it;
  an ``Each`` with ``add=`` is the "add another line" kind; ``Review(ready, fields,
  shows)`` last: ticks, and the summary terms that must show what we entered before
  ``claim_form.submit`` is pressed;
- ``sign_in.code``: ``OneTimeCode(label, button, reused)`` for a second sign-in step,
  answered from the keyring's TOTP secret through ``portalbot.totp``; ``sign_in.expired``:
  a forced password change, which pauses the payer for a person;
- ``signed_out`` (the sign-in page's marker), ``trouble`` (where the app writes what went
  wrong) and ``unavailable`` (its outage phrases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from portalbot.adapters import runs
from portalbot.errors import (
    AdapterError,
    AuthenticationError,
    NeedsHumanError,
    PortalUnavailable,
    SessionExpired,
)
from portalbot.outcomes import Outcome
from portalbot.pagekit import definition_list, fill_by_label
from portalbot.portal import fields as fieldmap
from portalbot.portal.kit import Container, Place, alert, navigate, sign_in_refused, visible_text
from portalbot.portal.labelled import LabelledForm, LabelledFormAdapter, OneTimeCode
from portalbot.portal.recognise import recognise

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

    from portalbot.adapters import ClaimRefs, Credentials
    from portalbot.totp import OneTimeCodes


@dataclass(frozen=True)
class Step:
    """One page of the wizard: shown when ``ready`` is, filled from ``fields``, left by
    pressing ``next`` (the server may refuse and keep us on it)."""

    ready: Place
    fields: fieldmap.FieldMap = ()
    next: str | None = "Next"


@dataclass(frozen=True)
class Review(Step):
    """The page before the click: its ticks, and the summary terms (``shows``) that must
    read what we entered — a review that does not is drift, found before the click."""

    shows: tuple[str, ...] = ()
    next: str | None = None


def _container(ready: Locator) -> Locator:
    return ready.locator("xpath=ancestor::*[self::section or self::form or self::fieldset][1]")


class WizardAdapter(LabelledFormAdapter):
    """A labelled-form adapter whose form is a wizard of ``steps`` in a single-page app."""

    steps: ClassVar[tuple[Step, ...]]
    signed_out: ClassVar[Place | None] = None
    trouble: ClassVar[Place] = alert()
    unavailable: ClassVar[tuple[str, ...]] = ("temporarily unavailable",)
    if TYPE_CHECKING:  # only a portal with one-time codes has them (the engine looks)
        codes: ClassVar[OneTimeCodes | None]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "steps" in vars(cls):
            cls.fields = tuple(spec for step in cls.steps for spec in step.fields)
        super().__init_subclass__(**kwargs)

    async def arrive(self, scope: Container, target: Locator, step: str) -> None:
        """Wait until the app shows ``target``, its sign-in page or its message banner."""
        trouble = self.trouble.locate(scope)
        either = target.or_(trouble)
        out = self.signed_out.locate(scope) if self.signed_out else None
        await (either.or_(out) if out else either).filter(visible=True).first.wait_for()
        if out is not None and await out.filter(visible=True).count():
            raise SessionExpired(f"{self.display_name} signed us out", step=step)
        if await target.filter(visible=True).count():
            return
        shown = await visible_text(trouble)
        if any(phrase.lower() in shown.lower() for phrase in self.unavailable):
            raise PortalUnavailable(f"{self.display_name} is temporarily unavailable", step=step)
        raise AdapterError(f"{self.display_name} showed an unexpected message: {shown}", step=step)

    # --- sign-in ----------------------------------------------------------------------
    async def login(self, page: Page, credentials: Credentials) -> None:
        spec, code = self.sign_in, self.sign_in.code
        if code is not None and not credentials.totp_secret:
            raise AuthenticationError(
                f"{self.display_name} asks for a one-time code and the keyring has no TOTP "
                f"secret for this account; store it with `{self._store_command}`")
        await navigate(page, self.url(spec.path), outages=self.outages)
        given = {"username": credentials.username, "password": credentials.password,
                 **credentials.fields}
        await fill_by_label(page, {label: given.get(what, "") for label, what in
                                   spec.fields.items()})
        await page.get_by_role("button", name=spec.button).click()
        signed_in, refusal = spec.signed_in.locate(page), spec.refusal_at.locate(page)
        expired = spec.expired.locate(page) if spec.expired else refusal
        if code is not None:
            box = page.get_by_label(code.label, exact=True)
            await box.or_(refusal).filter(visible=True).first.wait_for()
            if await box.is_visible():
                await self._answer_code(page, code, credentials, signed_in.or_(expired))
        await signed_in.or_(expired).or_(refusal).filter(visible=True).first.wait_for()
        if spec.expired and await expired.is_visible():
            raise NeedsHumanError(
                f"{self.display_name} demands a new password for this account; a person must "
                f"change it on the portal, store it with `{self._store_command}`, then "
                f"`portalbot payer resume {self.payer_id}`", pause_payer=True)
        if not await signed_in.is_visible():
            raise sign_in_refused(await visible_text(refusal), spec.refusals, "")

    async def _answer_code(self, page: Page, code: OneTimeCode, credentials: Credentials,
                           done: Locator) -> None:
        from portalbot.totp import shared_codes

        codes = getattr(self, "codes", None) or shared_codes()
        box, refusal = page.get_by_label(code.label, exact=True), self.sign_in.refusal_at
        for _ in range(2):  # a code another process used: wait for the next one, once
            assert credentials.totp_secret is not None
            await box.fill(await codes.code(self.payer_id, credentials.username,
                                            credentials.totp_secret))
            await page.get_by_role("button", name=code.button).click()
            await done.or_(refusal.locate(page)).filter(visible=True).first.wait_for()
            shown = await visible_text(refusal.locate(page))
            if not (code.reused in shown and await box.is_visible()):
                return

    @property
    def _store_command(self) -> str:
        totp = " --totp" if self.sign_in.code else ""
        return f"portalbot credentials set {self.payer_id}{totp}"

    # --- the claim ----------------------------------------------------------------------
    async def open_form(self, page: Page) -> None:
        await navigate(page, self.url(self.claim_form.path), outages=self.outages)
        await self.arrive(page, self.claim_form.ready.locate(page), "open_form")

    async def fill(self, page: Page, form: LabelledForm) -> None:
        entered = {label: value for part in fieldmap.labels(self.fields, form)
                   for label, value in {**part.labels, **part.picks}.items()}
        for step, following in zip(self.steps, (*self.steps[1:], None), strict=True):
            here = _container(step.ready.locate(page).first)
            for part in fieldmap.labels(step.fields, form):
                if part.labels or part.picks or part.add:
                    await self.fill_part(here, part)
            if isinstance(step, Review):
                await self._check_review(here, step, entered)
            if step.next and following is not None:
                await here.get_by_role("button", name=step.next, exact=True).click()
                try:
                    await self.arrive(page, following.ready.locate(page), "fill")
                except AdapterError as exc:
                    raise AdapterError(f"{self.display_name} refused the step before "
                                       f"{following.ready.name}: {exc.message}") from None
        await self.after_fill(page, form)

    async def _check_review(self, here: Locator, step: Review,
                            entered: dict[str, str | bool]) -> None:
        summary = await definition_list(here)
        for label in step.shows:
            if label in entered and summary.get(label) != entered[label]:
                raise AdapterError(f"the review page does not show {label!r} as entered")

    async def read_outcome(self, page: Page) -> Outcome:
        shown = [r.when.holding(page) for r in self.outcomes]
        shown.append(self.trouble.locate(page))
        if self.signed_out:
            shown.append(self.signed_out.locate(page))
        anything = shown[0]
        for other in shown[1:]:
            anything = anything.or_(other)
        await anything.filter(visible=True).first.wait_for()
        return await recognise(page, self.outcomes, unknown=self.title)

    # --- after the fact -------------------------------------------------------------------
    @runs("status_page")
    async def check_status(self, page: Page, refs: ClaimRefs) -> Outcome:
        spec = self.status_page
        if spec is not None and spec.ready is not None:
            await navigate(page, self.url(spec.url(refs)), outages=self.outages)
            await self.arrive(page, spec.ready.locate(page), "check_status")
            return spec.read(await definition_list(page), refs)
        return await super().check_status(page, refs)

    @runs("history")
    async def find_submission(self, page: Page, portal_key: str) -> Outcome | None:
        spec = self.history
        if spec is not None and spec.nothing is not None:
            await navigate(page, self.url(spec.url(portal_key)), outages=self.outages)
            table = page.get_by_role("table", name=spec.table)
            await self.arrive(page, table.or_(spec.nothing.locate(page)), "find_submission")
            return await spec.find(table, portal_key) if await table.is_visible() else None
        return await super().find_submission(page, portal_key)
