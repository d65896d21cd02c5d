"""After the fact: a portal's claim-history search and a claim's status page, declared.

``HistorySearch`` settles a claim left in doubt by finding its portal key in the portal's
own records; ``StatusPage`` reads a later verdict (accepted, paid, denied, rejected)
from a claim's summary page, looked up by the reference it declares (``by``: a
``ClaimRefs`` field). Both are read by the shapes' ``find_submission`` and
``check_status``; an adapter that declares one has that capability.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING
from urllib.parse import quote

from portalbot.adapters import ClaimRefs
from portalbot.errors import AdapterError
from portalbot.outcomes import Accepted, Denied, Outcome, Paid, Pending, Rejected
from portalbot.pagekit import table_rows
from portalbot.portal.kit import Place

if TYPE_CHECKING:
    from playwright.async_api import Locator


@dataclass(frozen=True)
class HistorySearch:
    """A claim-history search answered at one address: ``path`` with ``{key}``, a results
    table (by accessible name), the column holding the portal key and the claim's number,
    and which statuses mean what (others: not this claim's final word, keep looking)."""

    path: str
    table: str
    key_column: str
    number_column: str
    status_column: str = "Status"
    accepted: tuple[str, ...] = ("Accepted",)
    rejected: tuple[str, ...] = ("Rejected",)
    pending: tuple[str, ...] = ()
    payer_claim_number_column: str | None = None
    nothing: Place | None = None
    """What the page shows when nothing matches (a single-page app: wait for it or the table)."""

    def url(self, portal_key: str) -> str:
        return self.path.format(key=quote(portal_key, safe=""))

    async def find(self, table: Locator, portal_key: str) -> Outcome | None:
        """This claim's row's verdict; None when no row of it says one."""
        for cells in await table_rows(table):
            if cells.get(self.key_column) != portal_key:
                continue
            status, number = cells.get(self.status_column, ""), cells.get(self.number_column, "")
            payer_number = cells.get(self.payer_claim_number_column or "", "")
            if status in self.accepted:
                return Accepted(confirmation=number,
                                payer_claim_number=payer_number.strip("—") or None)
            if status in self.rejected:
                return Rejected(message="rejected (found in the portal's claim history)",
                                reference=number)
            if status in self.pending:
                return Pending(reference=number)
        return None


def _amount(shown: str | None) -> Decimal | None:
    """A paid amount as shown ("$1,234.50"); None when absent or not a number (optional)."""
    try:
        return Decimal(shown.replace("$", "").replace(",", "")) if shown else None
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class StatusPage:
    """A claim's own page (``path`` with ``{reference}``: the claim's reference named by
    ``by``, a ``ClaimRefs`` field — ``"confirmation"``, ``"portal_key"`` or
    ``"payer_claim_number"``), read as a summary of terms: which term holds the status and what each status means (``accepted``, ``paid``,
    ``denied``, ``rejected``, ``pending``), which term must repeat the reference asked
    about, and where the reason (``"CODE: text"`` unless ``code`` names its own term), the
    paid amount and the payer's claim number are shown."""

    path: str
    by: str = "confirmation"
    status: str = "Status"
    meanings: dict[str, str] = field(default_factory=lambda: {
        "Accepted": "accepted", "Paid": "paid", "Denied": "denied", "Rejected": "rejected",
        "Received": "pending"})
    reference: str | None = None
    reason: str | None = None
    code: str | None = None
    amount: str | None = None
    payer_claim_number: str | None = None
    ready: Place | None = None
    """What shows once a single-page app has drawn the claim (the wizard shape waits for it)."""

    def url(self, refs: ClaimRefs) -> str:
        return self.path.format(reference=quote(self.asked(refs), safe=""))

    def asked(self, refs: ClaimRefs) -> str:
        """The reference this page is looked up by; an error when the ledger has none."""
        value: str | None = getattr(refs, self.by)
        if not value:
            raise AdapterError(f"the claim has no {self.by.replace('_', ' ')} to look up",
                               step="check_status")
        return value

    def read(self, summary: dict[str, str], refs: ClaimRefs) -> Outcome:
        asked = self.asked(refs)
        confirmation = refs.confirmation or asked
        if self.reference and summary.get(self.reference) != asked:
            raise AdapterError("the claim page shows another claim", step="check_status")
        shown = summary.get(self.status, "")
        meaning = self.meanings.get(shown)
        present = {k: v for k, v in summary.items() if v not in ("", "—")}
        reason = present.get(self.reason or "", "")
        code = present.get(self.code) if self.code else None
        if self.code is None and ":" in reason:
            code, _, reason = (part.strip() for part in reason.partition(":"))
        number = present.get(self.payer_claim_number or "")
        if meaning == "accepted":
            return Accepted(confirmation=confirmation, payer_claim_number=number)
        if meaning == "paid":
            return Paid(amount=_amount(present.get(self.amount or "")))
        if meaning == "denied":
            return Denied(reason or shown, reason_code=code or None)
        if meaning == "rejected":
            return Rejected(reason or shown, reason_code=code or None, reference=None)
        if meaning == "pending":
            return Pending(reference=confirmation)
        raise AdapterError(f"unknown claim status {shown!r}", step="check_status")
