"""Review data access, one name to import: reviewers and sessions (``accounts``), verdicts
and the audit log (``verdicts``), the queue (``queue``), evidence and batch summaries (``lookups``).

Functions take the ledger's engine rather than living on ``Ledger`` so the review desk
stays a layer on top of the ledger: it reads claims and attempts, and writes only its own
tables. Verdicts and audit rows are append-only; the current verdict of an attempt is its
latest row.
"""

from __future__ import annotations

from portalbot.ledger.verdicts import FLAGGED, FlaggedClaim, flagged_claims
from portalbot.review.accounts import (
    SESSION_IDLE,
    SESSION_MAX,
    SESSION_TOUCH,
    Reviewer,
    ReviewError,
    Session,
    add_reviewer,
    clear_signin_failures,
    create_session,
    delete_session,
    disable_reviewer,
    locked_until,
    record_signin_failure,
    reviewer_by_name,
    reviewers,
    set_password,
    touch_session,
)
from portalbot.review.lookups import (
    EVIDENCE_KINDS,
    BatchSummary,
    attempt_row,
    batch_summary,
    contained,
    evidence_file,
    queue_choices,
)
from portalbot.review.queue import ALL, NO_VERDICT, QueueFilter, QueueItem, Window, queue
from portalbot.review.verdicts import (
    VERDICTS,
    VERIFIED,
    AuditRow,
    VerdictRow,
    add_verdict,
    add_verdicts,
    audit_rows,
    record_audit,
    verdicts,
)

__all__ = [
    "ALL", "EVIDENCE_KINDS", "FLAGGED", "NO_VERDICT", "SESSION_IDLE", "SESSION_MAX",
    "SESSION_TOUCH", "VERDICTS", "VERIFIED", "AuditRow", "BatchSummary", "FlaggedClaim",
    "QueueFilter", "QueueItem", "ReviewError", "Reviewer", "Session", "VerdictRow", "Window",
    "add_reviewer", "add_verdict", "add_verdicts", "attempt_row", "audit_rows",
    "batch_summary", "clear_signin_failures", "contained", "create_session", "delete_session",
    "disable_reviewer", "evidence_file", "flagged_claims", "locked_until", "queue",
    "queue_choices", "record_audit", "record_signin_failure", "reviewer_by_name", "reviewers",
    "set_password", "touch_session", "verdicts",
]
