"""The "labelled form" portal shape, run from declarations.

Most portals are a sign-in page, one claim form whose fields carry labels, a page after
the click, and perhaps a claim-history table. An adapter for one declares:

- ``sign_in``: ``SignIn(path, fields={label: credential}, button, signed_in, refusals)``;
- ``claim_form``: ``ClaimForm(path, ready, submit)``;
- ``fields``: the field map, once (``portalbot.portal.fields``); the form model, the
  mapping and the fill all come from it, and the portal key's box is found there;
- ``member_id``: the member-ID pattern and how to describe it in a ``ClaimError``;
- ``outcomes``: the recognisers, in order (``portalbot.portal.recognise``);
- ``history``: ``HistorySearch(path, table, key_column, number_column)``, or None;
- ``status_page``: ``StatusPage(path, status, meanings, …)`` for later verdicts, or None.

Everything else is a procedural hook, overridden as usual: ``check(claim, filing)`` for a
rule no declaration covers, ``after_fill(page, form)`` for an autocomplete or a wizard
step, ``check_status`` for a status page, or any of the ``PortalAdapter`` hooks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationError

from portalbot.adapters import ClaimRefs, Credentials, Filing, PortalAdapter, PortalForm, runs
from portalbot.claims import Claim
from portalbot.errors import AdapterError, ClaimError
from portalbot.outcomes import Outcome
from portalbot.pagekit import definition_list, fill_by_label
from portalbot.portal import fields as fieldmap
from portalbot.portal.kit import (
    OUTAGE_TITLES,
    Container,
    Place,
    Refusal,
    Scope,
    alert,
    check_limits,
    check_member_id,
    heading,
    navigate,
    raise_if_down,
    sign_in_refused,
)
from portalbot.portal.recognise import Recogniser, recognise
from portalbot.portal.searches import HistorySearch, StatusPage

if TYPE_CHECKING:
    from playwright.async_api import Page


class LabelledForm(PortalForm):
    """The base of every declared form model; its fields come from the field map."""

    if TYPE_CHECKING:
        def __getattr__(self, name: str) -> Any: ...


@dataclass(frozen=True)
class OneTimeCode:
    """A sign-in's second step: the code box, its button, and the words of a refusal that
    means another session used this code (a person would wait for the next; so do we)."""

    label: str = "Verification code"
    button: str = "Verify"
    reused: str = "already used"


@dataclass(frozen=True)
class SignIn:
    """The sign-in page: its path, its button, what a signed-in page shows, what each
    refusal text means. ``fields``: label → ``"username"``, ``"password"`` or a
    ``login_fields`` name; ``refusal_at``: where the refusal is written."""

    path: str
    button: str
    signed_in: Place
    refusals: tuple[Refusal, ...] = ()
    fields: dict[str, str] = field(
        default_factory=lambda: {"Username": "username", "Password": "password"})
    refusal_at: Place = field(default_factory=alert)
    code: OneTimeCode | None = None
    expired: Place | None = None
    """A forced password change in place of the portal (a person's task: the payer pauses)."""


@dataclass(frozen=True)
class ClaimForm:
    path: str
    ready: Place
    submit: str


class LabelledFormAdapter(PortalAdapter[LabelledForm]):
    sign_in: ClassVar[SignIn]
    claim_form: ClassVar[ClaimForm]
    fields: ClassVar[fieldmap.FieldMap]
    member_id: ClassVar[tuple[re.Pattern[str], str] | None] = None
    outcomes: ClassVar[tuple[Recogniser, ...]]
    history: ClassVar[HistorySearch | None] = None
    status_page: ClassVar[StatusPage | None] = None
    outages: ClassVar[tuple[str, ...]] = OUTAGE_TITLES
    frame: ClassVar[str | None] = None
    """The name of the frame the portal's pages live in (a frameset), None: the page."""
    form_type: ClassVar[type[LabelledForm]]
    portal_key_field: ClassVar[str | None] = None
    title: ClassVar[Place] = heading()
    """The page's title, named in the error for a page after the click nobody declared."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "fields" in vars(cls):
            name = cls.__name__.removesuffix("Adapter") + "Form"
            cls.form_type = fieldmap.form_model(name, cls.fields, base=LabelledForm)
            cls.portal_key_field = fieldmap.portal_key_name(cls.fields)


    def scope(self, page: Page) -> Scope:
        """Where the portal's pages live: the named frame when there is one, else the page."""
        return (page.frame(name=self.frame) if self.frame else None) or page.main_frame

    # --- the mapping ------------------------------------------------------------------
    def check(self, claim: Claim, filing: Filing) -> None:
        """A rule of this portal no declaration covers; raise ClaimError naming the field."""

    def to_form(self, claim: Claim, filing: Filing) -> LabelledForm:
        if self.member_id is not None:
            check_member_id(claim, *self.member_id)
        limits = {each.source: each.most for each in self.fields
                  if isinstance(each, fieldmap.Each)}
        check_limits(claim, self.display_name, diagnoses=limits.get("diagnoses"),
                     lines=limits.get("service_lines"))
        self.check(claim, filing)
        try:
            return self.form_type.model_validate(fieldmap.values(self.fields, claim, filing))
        except ValidationError as exc:  # a value our mapping gave that the portal cannot take
            where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
            raise ClaimError(f"claim {claim.claim_id}: {where}: not in the form "
                             f"{self.display_name} accepts") from None

    # --- sign-in ----------------------------------------------------------------------
    async def login(self, page: Page, credentials: Credentials) -> None:
        spec = self.sign_in
        await navigate(page, self.url(spec.path), outages=self.outages)
        given = {"username": credentials.username, "password": credentials.password,
                 **credentials.fields}
        await fill_by_label(page, {label: given.get(what, "") for label, what in
                                   spec.fields.items()})
        await page.get_by_role("button", name=spec.button).click()
        await page.wait_for_load_state()
        await raise_if_down(page, self.outages)
        if await spec.signed_in.locate(page).count():
            return
        raise sign_in_refused(await spec.refusal_at.read(page), spec.refusals,
                              "no signed-in page after sign-in")

    async def is_signed_in(self, page: Page) -> bool:
        scope = self.scope(page)
        if not page.url.startswith(self.base_url) or self.sign_in.path in scope.url:
            return False
        return await self.sign_in.signed_in.locate(scope).count() > 0

    # --- the claim ----------------------------------------------------------------------
    async def open_form(self, page: Page) -> None:
        scope = self.scope(page)
        await navigate(scope, self.url(self.claim_form.path), sign_in=self.sign_in.path,
                       outages=self.outages)
        await self.claim_form.ready.locate(scope).wait_for()

    async def fill(self, page: Page, form: LabelledForm) -> None:
        scope = self.scope(page)
        for part in fieldmap.labels(self.fields, form):
            if part.labels or part.picks or part.add:
                await self.fill_part(scope, part)
        await self.after_fill(page, form)

    async def fill_part(self, scope: Container, part: fieldmap.Fill) -> None:
        """Fill one container's labels: the whole form, one group's fieldset, a radio group
        (its ``add`` button pressed first; its autocompletes typed and picked)."""
        if part.add:
            await scope.get_by_role("button", name=part.add, exact=True).click()
        root = scope
        if part.within is not None:
            role: Any = part.role
            root = scope.get_by_role(role, name=part.within, exact=True)
            if not await root.count():
                raise AdapterError(f"the form has no {part.role} named {part.within!r}",
                                   step="fill")
        if part.labels:
            await fill_by_label(root, part.labels)
        for label, value in part.picks.items():
            combo = root.get_by_role("combobox", name=label, exact=True)
            if not await combo.count():
                raise AdapterError(f"the form has no field labelled {label!r}", step="fill")
            await combo.fill(value)
            await root.get_by_role("option", name=re.compile(rf"^{re.escape(value)}\b")).click()

    async def after_fill(self, page: Page, form: LabelledForm) -> None:
        """What the field map cannot say (an autocomplete, a confirmation box)."""

    async def submit(self, page: Page) -> None:
        await page.get_by_role("button", name=self.claim_form.submit).click()

    async def read_outcome(self, page: Page) -> Outcome:
        scope = self.scope(page)
        await scope.wait_for_load_state()
        return await recognise(scope, self.outcomes, unknown=self.title)

    # --- after the fact -----------------------------------------------------------------
    @runs("status_page")
    async def check_status(self, page: Page, refs: ClaimRefs) -> Outcome:
        spec = self.status_page
        if spec is None:
            return await super().check_status(page, refs)
        await navigate(page, self.url(spec.url(refs)), sign_in=self.sign_in.path)
        return spec.read(await definition_list(page), refs)

    @runs("history")
    async def find_submission(self, page: Page, portal_key: str) -> Outcome | None:
        spec = self.history
        if spec is None:
            return await super().find_submission(page, portal_key)
        await navigate(page, self.url(spec.url(portal_key)), sign_in=self.sign_in.path)
        table = page.get_by_role("table", name=spec.table)
        return await spec.find(table, portal_key) if await table.count() else None
