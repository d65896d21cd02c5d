"""The adapter contract: an adapter describes one portal, the engine drives it.

An adapter module in ``payers/`` declares what is particular to its portal (class
attributes), maps a claim to the portal's own fields (``to_form``, pure), and fills in
small async hooks. The base class owns the public steps the engine calls (``prepare``,
``send``, ``search``) so every adapter gets the same safety: ``prepare`` may be retried,
``send`` is the one irreversible click and is never retried.

Adapters raise only portalbot errors; Playwright's own exceptions are translated once, at
the engine's boundary. An adapter never writes ``payer_id=`` or ``step=`` by hand: every
portalbot error leaving one of its hooks is stamped with the payer and the hook's name
(where the error did not name a step itself).

The toolkit for writing one (navigation, reads, guards, the declarative labelled-form
base) is ``portalbot.portal``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from portalbot.errors import AdapterError, ConfigError, PortalbotError
from portalbot.outcomes import Outcome

if TYPE_CHECKING:
    from playwright.async_api import Page

    from portalbot.claims import Claim

Frequency = Literal["original", "replacement", "void"]


class PortalForm(BaseModel):
    """Base of every adapter's form model: the portal's own fields, already formatted."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Filing:
    """What the ledger adds to a claim for one submission: how the payer should file it."""

    portal_key: str
    frequency: Frequency = "original"
    original_claim_number: str | None = None


@dataclass(frozen=True)
class Credentials:
    """A portal login, from the keyring. ``repr`` never shows the secrets.

    ``fields`` holds what a sign-in page asks for besides the username and password
    (Keystone's NPI and PTAN), by the names the adapter declares in ``login_fields``.
    """

    username: str
    password: str
    totp_secret: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"


@dataclass(frozen=True)
class Case:
    """A declared expectation: this fixture claim, on the mock portal, ends like this."""

    fixture: str
    claim_id: str
    expect: str  # a ledger state: accepted, rejected, duplicate, pending, needs_human, ...
    reason_code: str | None = None


@dataclass(frozen=True)
class ClaimRefs:
    """What the ledger knows of a submitted claim, for a status check: a portal's status
    search may look a claim up by our portal key, its confirmation or the payer's number."""

    claim_id: str
    version: int
    portal_key: str
    confirmation: str | None = None
    payer_claim_number: str | None = None


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

# The hooks whose errors the base class stamps with the payer and the step.
_HOOKS = ("to_form", "login", "is_signed_in", "open_form", "fill", "submit", "read_outcome",
          "find_submission", "check_status")


def _stamp(error: PortalbotError, payer_id: str | None, step: str) -> None:
    if error.payer_id is None:
        error.payer_id = payer_id
    if error.step is None:
        error.step = step


def _stamped(step: str, method: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(method, "__stamped__", False):
        return method
    if inspect.iscoroutinefunction(method):
        @functools.wraps(method)
        async def hook(self: PortalAdapter[Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return await method(self, *args, **kwargs)
            except PortalbotError as exc:
                _stamp(exc, getattr(self, "payer_id", None), step)
                raise
    else:
        @functools.wraps(method)
        def hook(self: PortalAdapter[Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except PortalbotError as exc:
                _stamp(exc, getattr(self, "payer_id", None), step)
                raise
    hook.__stamped__ = True  # type: ignore[attr-defined]
    return hook


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
        for name in _HOOKS:
            if name in vars(cls) and callable(vars(cls)[name]):
                setattr(cls, name, _stamped(name, vars(cls)[name]))

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


# --- registry -----------------------------------------------------------------------

def _adapters_in_module(module: object) -> list[type[PortalAdapter[Any]]]:
    found = []
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, PortalAdapter)
            and "payer_id" in vars(value)
        ):
            found.append(value)
    return found


def discover_adapters() -> dict[str, type[PortalAdapter[Any]]]:
    """Every adapter in the packaged ``payers`` and in ``portalbot.payers`` entry points.

    Modules whose name starts with ``_`` are vendor bases and are not registered.
    """
    import payers

    registry: dict[str, type[PortalAdapter[Any]]] = {}
    modules = [
        importlib.import_module(f"payers.{info.name}")
        for info in pkgutil.iter_modules(payers.__path__)
        if not info.name.startswith("_")
    ]
    for entry_point in importlib.metadata.entry_points(group="portalbot.payers"):
        modules.append(entry_point.load())
    for module in modules:
        for adapter in _adapters_in_module(module):
            if adapter.payer_id in registry and registry[adapter.payer_id] is not adapter:
                raise ConfigError(f"two adapters claim payer id {adapter.payer_id!r}")
            registry[adapter.payer_id] = adapter
    return registry


def adapter_for(payer_id: str) -> type[PortalAdapter[Any]]:
    registry = discover_adapters()
    try:
        return registry[payer_id]
    except KeyError:
        known = ", ".join(sorted(registry)) or "none"
        raise ConfigError(
            f"no adapter for payer {payer_id!r} (known payers: {known}); "
            "add payers/<payer_id>.py or install a package with a portalbot.payers entry point",
            payer_id=payer_id,
        ) from None
