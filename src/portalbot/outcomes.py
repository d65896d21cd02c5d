"""What a portal said about a claim: one vocabulary shared by adapters, engine and ledger.

An outcome is an answer. When no answer could be obtained the adapter raises a
``PortalError`` instead (see ``portalbot.errors``).

``region`` is where on the page the answer was read (a Playwright selector, set by the
recognisers): the evidence store photographs that element beside the full page. It is not
part of the answer, so it takes no part in equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar


@dataclass(frozen=True)
class Accepted:
    """The portal accepted the claim and showed a confirmation number."""

    confirmation: str
    payer_claim_number: str | None = None
    region: str | None = field(default=None, compare=False)
    state: ClassVar[str] = "accepted"

    @property
    def summary(self) -> str:
        return f"confirmation {self.confirmation}"


@dataclass(frozen=True)
class Pending:
    """Received; the payer's acceptance or rejection comes later (like an X12 277CA A1)."""

    reference: str
    region: str | None = field(default=None, compare=False)
    state: ClassVar[str] = "pending"

    @property
    def summary(self) -> str:
        return f"received, reference {self.reference}"


@dataclass(frozen=True)
class Rejected:
    """The payer refused the claim's content: member not found, coverage ended, ..."""

    message: str
    reason_code: str | None = None
    reference: str | None = None
    region: str | None = field(default=None, compare=False)
    state: ClassVar[str] = "rejected"

    @property
    def summary(self) -> str:
        return f"{self.reason_code}: {self.message}" if self.reason_code else self.message


@dataclass(frozen=True)
class Duplicate:
    """The portal says it already holds this claim."""

    reference: str | None = None
    region: str | None = field(default=None, compare=False)
    state: ClassVar[str] = "duplicate"

    @property
    def summary(self) -> str:
        return f"duplicate of {self.reference}" if self.reference else "duplicate"


@dataclass(frozen=True)
class NeedsHuman:
    """A CAPTCHA, a forced password change, a page nobody planned for."""

    reason: str
    region: str | None = field(default=None, compare=False)
    state: ClassVar[str] = "needs_human"

    @property
    def summary(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Denied:
    """Later, from a status check: the payer adjudicated and denied the claim."""

    reason: str
    reason_code: str | None = None
    region: str | None = field(default=None, compare=False)
    state: ClassVar[str] = "denied"

    @property
    def summary(self) -> str:
        return f"{self.reason_code}: {self.reason}" if self.reason_code else self.reason


@dataclass(frozen=True)
class Paid:
    """Later, from a status check: the payer paid (``amount``: None where the portal does
    not show how much; the remittance says)."""

    amount: Decimal | None = None
    region: str | None = field(default=None, compare=False)
    state: ClassVar[str] = "paid"

    @property
    def summary(self) -> str:
        return "paid" if self.amount is None else f"paid {self.amount:.2f}"


Outcome = Accepted | Pending | Rejected | Duplicate | NeedsHuman | Denied | Paid
