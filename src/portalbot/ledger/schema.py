"""The ledger's tables (SQLAlchemy Core). Alembic migrations create them; keep both in step.

claims hold one row per (claim_id, version) with its current state; events are the
append-only history of every transition; attempts record each trip to a portal with its
evidence; payers hold the per-payer safety valves shared by every worker.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claim_count", sa.Integer, nullable=False),
    sa.Column("problem_count", sa.Integer, nullable=False),
    # When every claim of the file was in the ledger (migration 0007): a re-run of a file
    # whose batch has it loads nothing; one without it (a crash cut the intake short)
    # resumes into the same batch.
    sa.Column("loaded_at", sa.DateTime(timezone=True)),
    sa.Index("ix_batches_content_hash", "content_hash"),
)

claims = sa.Table(
    "claims",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("claim_id", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("payer_id", sa.String(64), nullable=False),
    sa.Column("service_month", sa.String(7), nullable=False),
    sa.Column("patient_month", sa.String(64), nullable=False),
    sa.Column("portal_key", sa.String(14), nullable=False),
    sa.Column("frequency", sa.String(12), nullable=False),
    sa.Column("replaces", sa.String(64)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("batch_id", sa.String(32), sa.ForeignKey("batches.id"), nullable=False),
    sa.Column("account", sa.String(64)),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("findings", sa.JSON, nullable=False),
    sa.Column("confirmation", sa.String(64)),
    sa.Column("payer_claim_number", sa.String(64)),
    sa.Column("reason_code", sa.String(32)),
    sa.Column("reason", sa.Text),
    sa.Column("attempt_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # The submit attempt that owns the claim's fate (migration 0004): an outcome is recorded
    # only by the attempt named here, so a stale worker's late answer never overwrites a
    # newer attempt's.
    sa.Column("current_attempt", sa.String(32)),
    sa.UniqueConstraint("claim_id", "version", name="uq_claims_claim_version"),
    sa.UniqueConstraint("payer_id", "portal_key", name="uq_claims_portal_key"),
    sa.Index("ix_claims_patient_month", "patient_month"),
    sa.Index("ix_claims_lease_due", "state", "next_attempt_at"),
    # The ledger at scale (migration 0006): every everyday query reads an index, not the table.
    sa.Index("ix_claims_state_id", "state", "id"),
    sa.Index("ix_claims_payer_state_id", "payer_id", "state", "id"),
    sa.Index("ix_claims_payer_id", "payer_id", "id"),
    sa.Index("ix_claims_state_updated", "state", "updated_at"),
    sa.Index("ix_claims_lease_owner", "lease_owner",
             sqlite_where=sa.text("lease_owner IS NOT NULL"),
             postgresql_where=sa.text("lease_owner IS NOT NULL")),
)

batch_claims = sa.Table(
    "batch_claims",
    metadata,
    sa.Column("batch_id", sa.String(32), sa.ForeignKey("batches.id"), primary_key=True),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id"), primary_key=True),
    sa.Column("location", sa.String(64), nullable=False),
)

attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("worker", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("intent_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("result", sa.String(16)),
    sa.Column("detail", sa.Text),
    sa.Column("retries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("screenshot", sa.String(512)),
    sa.Column("html", sa.String(512)),
    sa.Column("trace", sa.String(512)),
    sa.Column("evidence_purged_at", sa.DateTime(timezone=True)),
    sa.Index("ix_attempts_claim_number", "claim_pk", "number"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id"), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("worker", sa.String(64), nullable=False),
    sa.Column("from_state", sa.String(16)),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("attempt_id", sa.String(32)),
    sa.Column("evidence", sa.String(512)),
    sa.Index("ix_events_claim_id", "claim_pk", "id"),
)

payers = sa.Table(
    "payers",
    metadata,
    sa.Column("payer_id", sa.String(64), primary_key=True),
    sa.Column("circuit_open", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("circuit_reason", sa.Text),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    # Why the circuit is open (migration 0004): "login" stays open until a person resumes
    # the payer; "drift" and "in_doubt" half-open after the cool-down.
    sa.Column("circuit_kind", sa.String(16)),
    sa.Column("circuit_opened_at", sa.DateTime(timezone=True)),
    sa.Column("last_submit_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per live browser session: the per-account session limit, across processes.
session_slots = sa.Table(
    "session_slots",
    metadata,
    sa.Column("payer_id", sa.String(64), primary_key=True),
    sa.Column("account", sa.String(64), primary_key=True),
    sa.Column("slot", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

# Named run locks (one `resubmit` at a time), held until released or expired.
locks = sa.Table(
    "locks",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

# --- the review desk (migration 0002) -----------------------------------------------------
# Reviewers sign in with their own accounts; verdicts and the audit log are append-only, so
# who verified or flagged what, and who looked at which claim, is never overwritten.

reviewers = sa.Table(
    "reviewers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

review_sessions = sa.Table(
    "review_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("reviewers.id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
)

verdicts = sa.Table(
    "verdicts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("attempt_id", sa.String(32), sa.ForeignKey("attempts.id"), nullable=False),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id"), nullable=False),
    sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("reviewers.id"), nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("verdict IN ('verified', 'flagged')", name="ck_verdicts_verdict"),
    sa.Index("ix_verdicts_claim", "claim_pk"),
    sa.Index("ix_verdicts_attempt", "attempt_id"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("reviewers.id")),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id")),
    sa.Column("attempt_id", sa.String(32)),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_audit_log_claim", "claim_pk"),
    sa.Index("ix_audit_log_reviewer", "reviewer_id"),
)

signin_throttle = sa.Table(
    "signin_throttle",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_failure_at", sa.DateTime(timezone=True)),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
)

# --- X12 in (migration 0005) ---------------------------------------------------------------
# One row per claim payment (835 loop 2100) or claim status (277), matched to a claim or not:
# an unmatched remittance is kept for a person, never dropped. (source, trace, sequence)
# makes a second import of the same file a no-op.

remits = sa.Table(
    "remits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("trace", sa.String(80), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("payer", sa.String(80), nullable=False),
    sa.Column("patient_control_number", sa.String(64), nullable=False),
    sa.Column("payer_claim_number", sa.String(64)),
    sa.Column("status_code", sa.String(16), nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("reason_code", sa.String(32)),
    sa.Column("charge", sa.String(20)),
    sa.Column("paid", sa.String(20)),
    sa.Column("payment_date", sa.Date),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id")),
    sa.Column("applied", sa.Boolean, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("kind", "source", "trace", "sequence", name="uq_remits_source"),
    sa.Index("ix_remits_claim", "claim_pk"),
)
