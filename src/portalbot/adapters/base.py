"""``PortalAdapter``: the base class of every adapter, generic in its form type.

It owns the public steps the engine calls (``prepare``, ``send``, ``search``) so every
adapter gets the same safety: ``prepare`` may be retried, ``send`` is the one
irreversible click and is never retried. A capability is declared one way (by providing
it, ``runs``); what readers see of it is ``Derived`` from that, never set by hand.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from portalbot.adapters.stamping import HOOKS, stamped
from portalbot.adapters.values import Case, ClaimRefs, Credentials, Filing, PortalForm
from portalbot.errors import AdapterError
from portalbot.outcomes import Outcome

if TYPE_CHECKING:
    from playwright.async_api import Page

    from portalbot.claims import Claim

FormT = TypeVar("FormT", bound=PortalForm)
T = TypeVar("T")
Method = TypeVar("Method", bound=Callable[..., Any])


def runs(declaration: str) -> Callable[[Method], Method]:
    """Marks a shape's hook that runs from a declaration (``"history"``): the adapter has
    the hook's capability when it declares that, not merely because the shape has the hook."""
    def mark(method: Method) -> Method:
        method.__runs__ = declaration  # type: ignore[attr-defined]
        return method
    return mark


class Derived(Generic[T]):
    """A value read from an adapter's declarations, the same on the class and an instance;
    not itself declared (the base class refuses a subclass that sets it)."""

    def __init__(self, read: Callable[[type[Any]], T]):
        self.read = read

    def __get__(self, instance: object, owner: type[Any]) -> T:
        return self.read(owner)


# Capabilities are declared one way each; these are what readers see, derived from them.
_DERIVED = {"working": "broken = 'why'", "broken_reason": "broken = 'why'",
            "history_searchable": "a find_submission hook or a shape's history declaration"}

ACCEPTANCE_VALUES = ("confirmation", "portal_key")


class PortalAdapter(ABC, Generic[FormT]):
    """One payer portal. Subclasses declare ``payer_id`` and fill in the hooks.

    Generic in the portal's form type: ``to_form`` returns one, ``fill`` takes one.

    A capability is declared one way: by providing it. A claim-history search is a
    ``find_submission`` hook (or, on a declarative shape, its ``history``), later
    verdicts a ``check_status`` hook (or a ``status_page``); an adapter whose portal broke
    says why in ``broken``. ``history_searchable``, ``has_status_page()``, ``working`` and
    ``broken_reason`` are read from those, never set by hand.
    """

    payer_id: ClassVar[str]
    display_name: ClassVar[str]
    default_base_url: ClassVar[str]
    max_sessions_per_account: ClassVar[int] = 1
    min_interval_s: ClassVar[float] = 0.0
    history_settle_s: ClassVar[float] = 0.0
    """How far the portal's claim history lags new submissions (reconciliation waits)."""
    broken: ClassVar[str | None] = None
    """Why the portal cannot be driven now: its claims go to a person instead of failing."""
    working: ClassVar[Derived[bool]] = Derived(lambda cls: cls.broken is None)
    broken_reason: ClassVar[Derived[str | None]] = Derived(lambda cls: cls.broken)
    history_searchable: ClassVar[Derived[bool]] = Derived(lambda cls: cls.can("find_submission"))
    cases: ClassVar[tuple[Case, ...]] = ()
    # Sign-in boxes besides username and password (Keystone: ("npi", "ptan")); `portalbot
    # credentials set` asks for them and the keyring keeps them with the password.
    login_fields: ClassVar[tuple[str, ...]] = ()
    acceptance_shows: ClassVar[tuple[str, ...]] = ACCEPTANCE_VALUES
    """Which ledger values the portal's answer page shows ("confirmation", "portal_key"):
    the review desk's cross-check looks for these only (Keystone never shows the key)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        unknown = sorted(set(cls.acceptance_shows) - set(ACCEPTANCE_VALUES))
        if unknown:
            raise TypeError(f"{cls.__name__}.acceptance_shows names {', '.join(unknown)}; "
                            f"it holds only {' and '.join(ACCEPTANCE_VALUES)}")
        for name, instead in _DERIVED.items():
            if name in vars(cls):
                raise TypeError(f"{cls.__name__}.{name} is read, not declared: use {instead}")
        for name in HOOKS:
            if name in vars(cls) and callable(vars(cls)[name]):
                setattr(cls, name, stamped(name, vars(cls)[name]))

    def __init__(self, base_url: str | None = None):
        self.base_url = (base_url or self.default_base_url).rstrip("/")

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    # --- the mapping (pure) -------------------------------------------------------
    @abstractmethod
    def to_form(self, claim: Claim, filing: Filing) -> FormT:
        """The claim in the portal's own fields and formats; raises ClaimError if impossible."""

    # --- hooks ------------------------------------------------------------------------
    @abstractmethod
    async def login(self, page: Page, credentials: Credentials) -> None:
        """Sign in; raise AuthenticationError when the portal refuses."""

    @abstractmethod
    async def is_signed_in(self, page: Page) -> bool:
        """Whether this page still has a live session (portals sign out silently)."""

    @abstractmethod
    async def open_form(self, page: Page) -> None:
        """Navigate to an empty claim form."""

    @abstractmethod
    async def fill(self, page: Page, form: FormT) -> None:
        """Fill the (fresh) form; safe to repeat after a retry."""

    @abstractmethod
    async def submit(self, page: Page) -> None:
        """The one irreversible click."""

    @abstractmethod
    async def read_outcome(self, page: Page) -> Outcome:
        """What the page after the click says; raise SubmissionUncertain when unreadable."""

    async def find_submission(self, page: Page, portal_key: str) -> Outcome | None:
        """Search the portal's claim history for the portal key; None when not found."""
        raise AdapterError("this portal has no claim-history search", payer_id=self.payer_id,
                           step="find_submission")

    async def check_status(self, page: Page, refs: ClaimRefs) -> Outcome:
        """What the portal says now about an earlier submission, found by its references."""
        raise AdapterError("this portal has no claim-status page", payer_id=self.payer_id,
                           step="check_status")

    @classmethod
    def can(cls, hook: str) -> bool:
        """Whether the adapter provides ``hook`` (``"find_submission"``, ``"check_status"``):
        its own, or a shape's that runs from a declaration the adapter makes."""
        method = getattr(cls, hook)
        if method is getattr(PortalAdapter, hook):
            return False
        declaration = getattr(method, "__runs__", None)
        return declaration is None or getattr(cls, declaration, None) is not None

    @classmethod
    def has_status_page(cls) -> bool:
        """Whether the portal shows later verdicts (see ``can``)."""
        return cls.can("check_status")

    # --- the steps the engine calls -------------------------------------------------
    async def prepare(self, page: Page, form: FormT) -> None:
        """Everything before the click. Retryable: it always starts from a fresh form."""
        await self.open_form(page)
        await self.fill(page, form)

    async def send(self, page: Page) -> Outcome:
        """Click submit once and read what the portal answered. Never retried."""
        await self.submit(page)
        return await self.read_outcome(page)

    async def search(self, page: Page, portal_key: str) -> Outcome | None:
        if not self.history_searchable:
            return None
        return await self.find_submission(page, portal_key)
