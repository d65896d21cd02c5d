"""The first ledger: batches, claim versions, attempts, append-only events, payers.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("claim_count", sa.Integer, nullable=False),
        sa.Column("problem_count", sa.Integer, nullable=False),
    )
    op.create_table(
        "claims",
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
        sa.Column("next_attempt_at", TZ),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", TZ),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.UniqueConstraint("claim_id", "version", name="uq_claims_claim_version"),
        sa.UniqueConstraint("payer_id", "portal_key", name="uq_claims_portal_key"),
    )
    op.create_index("ix_claims_state", "claims", ["state"])
    op.create_index("ix_claims_patient_month", "claims", ["patient_month"])
    op.create_table(
        "batch_claims",
        sa.Column("batch_id", sa.String(32), sa.ForeignKey("batches.id"), primary_key=True),
        sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id"), primary_key=True),
        sa.Column("location", sa.String(64), nullable=False),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("intent_at", TZ),
        sa.Column("finished_at", TZ),
        sa.Column("result", sa.String(16)),
        sa.Column("detail", sa.Text),
        sa.Column("retries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("screenshot", sa.String(512)),
        sa.Column("html", sa.String(512)),
        sa.Column("trace", sa.String(512)),
    )
    op.create_index("ix_attempts_claim", "attempts", ["claim_pk"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id"), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("attempt_id", sa.String(32)),
        sa.Column("evidence", sa.String(512)),
    )
    op.create_index("ix_events_claim", "events", ["claim_pk"])
    op.create_table(
        "payers",
        sa.Column("payer_id", sa.String(64), primary_key=True),
        sa.Column("circuit_open", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("circuit_reason", sa.Text),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_submit_at", TZ),
        sa.Column("updated_at", TZ, nullable=False),
    )


def downgrade() -> None:
    for table in ("payers", "events", "attempts", "batch_claims", "claims", "batches"):
        op.drop_table(table)
