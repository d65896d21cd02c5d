"""What an adapter is given and declares, beside the claim: the form model's base, the
ledger's filing, a login, a declared test case and the references of a submitted claim.
Plain values, no behaviour: the engine, the CLI and the tests build them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

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
