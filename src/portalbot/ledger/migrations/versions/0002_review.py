"""The review desk: reviewers, their sessions, verdicts, the PHI audit log, sign-in throttle.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reviewers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "review_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("reviewers.id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ, nullable=False),
    )
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("attempt_id", sa.String(32), sa.ForeignKey("attempts.id"), nullable=False),
        sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id"), nullable=False),
        sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("reviewers.id"), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("at", TZ, nullable=False),
        sa.CheckConstraint("verdict IN ('verified', 'flagged')", name="ck_verdicts_verdict"),
    )
    op.create_index("ix_verdicts_claim", "verdicts", ["claim_pk"])
    op.create_index("ix_verdicts_attempt", "verdicts", ["attempt_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("reviewers.id")),
        sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id")),
        sa.Column("attempt_id", sa.String(32)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_index("ix_audit_log_claim", "audit_log", ["claim_pk"])
    op.create_index("ix_audit_log_reviewer", "audit_log", ["reviewer_id"])
    op.create_table(
        "signin_throttle",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_failure_at", TZ),
        sa.Column("locked_until", TZ),
    )


def downgrade() -> None:
    for table in ("signin_throttle", "audit_log", "verdicts", "review_sessions", "reviewers"):
        op.drop_table(table)
