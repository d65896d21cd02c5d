"""The ledger: state machine and storage (SQLite by default, PostgreSQL for many workers)."""

from portalbot.ledger.records import (
    PERSON_CIRCUITS,
    Circuit,
    ClaimRecord,
    Enqueued,
    Evidence,
    RequeueRefused,
    aware_utc,
    derive_portal_key,
    utcnow,
)
from portalbot.ledger.states import ALL_STATES, FINAL_STATES, TRANSITIONS, check_transition
from portalbot.ledger.store import Ledger

__all__ = [
    "ALL_STATES",
    "FINAL_STATES",
    "PERSON_CIRCUITS",
    "TRANSITIONS",
    "Circuit",
    "ClaimRecord",
    "Enqueued",
    "Evidence",
    "Ledger",
    "RequeueRefused",
    "aware_utc",
    "check_transition",
    "derive_portal_key",
    "utcnow",
]
