"""What the ledger hands out: a claim version as it stands (``ClaimRecord``), a payer's
circuit, an intake's result, an attempt's evidence paths — plain values, no connection."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from portalbot.errors import LedgerError

Clock = Callable[[], datetime]


OwnerCheck = Callable[[str], bool]


class RequeueRefused(LedgerError):
    """A person asked to put a claim back on the queue and its state does not allow it."""


def _nobody_dead(_owner: str) -> bool:
    return False


def utcnow() -> datetime:
    return datetime.now(UTC)


def derive_portal_key(claim_id: str, version: int) -> str:
    """A short key the portal echoes back: 14 characters of [A-Z0-9], never the raw id."""
    digest = hashlib.sha256(f"{claim_id}\x00{version}".encode()).digest()
    # base32 encodes 5 bytes as 8 characters: the first 10 bytes give the first 16 characters
    return "PB" + base64.b32encode(digest[:10]).decode()[:12]


class RawJson(str):
    """A JSON document already written (by pydantic, in intake's worker processes), that
    the ledger stores as it is instead of serializing a dict again."""


def dump_json(value: Any) -> str:
    """The ledger's JSON serializer (SQLite and PostgreSQL): a ``RawJson`` is already one."""
    return value if isinstance(value, RawJson) else json.dumps(value)


def patient_month_key(payer_id: str, member_id: str, service_month: str) -> str:
    """An opaque key for (payer, member, month), so the member ID is not an index value."""
    return hashlib.sha256(f"{payer_id}\x00{member_id}\x00{service_month}".encode()).hexdigest()


def aware_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; the ledger writes UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class ClaimRecord:
    pk: int
    claim_id: str
    version: int
    payer_id: str
    state: str
    portal_key: str
    frequency: str
    replaces: str | None
    account: str | None
    confirmation: str | None
    payer_claim_number: str | None
    reason_code: str | None
    reason: str | None
    attempt_count: int
    next_attempt_at: datetime | None
    batch_id: str
    payload: dict[str, Any]
    findings: list[dict[str, Any]]
    updated_at: datetime
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    current_attempt: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> ClaimRecord:
        m = row._mapping
        return cls(
            pk=m["id"], claim_id=m["claim_id"], version=m["version"], payer_id=m["payer_id"],
            state=m["state"], portal_key=m["portal_key"], frequency=m["frequency"],
            replaces=m["replaces"], account=m["account"], confirmation=m["confirmation"],
            payer_claim_number=m["payer_claim_number"], reason_code=m["reason_code"],
            reason=m["reason"], attempt_count=m["attempt_count"],
            next_attempt_at=aware_utc(m["next_attempt_at"]), batch_id=m["batch_id"],
            # a summary read (claims_in_batch(payload=False)) leaves the claim's data out
            payload=m["payload"] if isinstance(m["payload"], dict) else {},
            findings=m["findings"],
            updated_at=aware_utc(m["updated_at"]) or utcnow(),
            lease_owner=m["lease_owner"], lease_expires_at=aware_utc(m["lease_expires_at"]),
            current_attempt=m["current_attempt"],
        )


@dataclass(frozen=True)
class Circuit:
    """A payer's breaker. ``kind``: "login" and "manual" stay open until a person resumes
    the payer; "drift" and "in_doubt" half-open once the cool-down has passed."""

    open: bool
    kind: str | None = None
    reason: str | None = None
    opened_at: datetime | None = None
    half_open: bool = False

    @property
    def signs_in(self) -> bool:
        """Whether read-only work (history searches) may still sign in to the portal."""
        return not self.open or self.kind not in PERSON_CIRCUITS


PERSON_CIRCUITS = frozenset({"login", "manual"})


@dataclass(frozen=True)
class Enqueued:
    record: ClaimRecord
    is_new: bool


@dataclass(frozen=True)
class Evidence:
    screenshot: str | None = None
    html: str | None = None
    trace: str | None = None


NO_EVIDENCE = Evidence()
