"""The ledger: state machine and storage (SQLite by default, PostgreSQL for many workers)."""

from portalbot.ledger.states import ALL_STATES, FINAL_STATES, TRANSITIONS, check_transition
from portalbot.ledger.store import (
    ClaimRecord,
    Enqueued,
    Evidence,
    Ledger,
    RequeueRefused,
    derive_portal_key,
    utcnow,
)

__all__ = [
    "ALL_STATES",
    "FINAL_STATES",
    "TRANSITIONS",
    "ClaimRecord",
    "Enqueued",
    "Evidence",
    "Ledger",
    "RequeueRefused",
    "check_transition",
    "derive_portal_key",
    "utcnow",
]
