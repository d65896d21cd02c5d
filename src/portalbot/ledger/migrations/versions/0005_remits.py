"""X12 in: the remits table (835 claim payments and 277 claim statuses, matched or not).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remits",
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
    )
    op.create_index("ix_remits_claim", "remits", ["claim_pk"])


def downgrade() -> None:
    op.drop_index("ix_remits_claim", table_name="remits")
    op.drop_table("remits")
