"""Fencing and the circuit breaker: a claim's current submit attempt, and how and when a
payer's circuit opened (a refused login stays open; drift and in-doubt bursts half-open).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("current_attempt", sa.String(32)))
    with op.batch_alter_table("payers") as batch:
        batch.add_column(sa.Column("circuit_kind", sa.String(16)))
        batch.add_column(sa.Column("circuit_opened_at", TZ))
    op.create_index("ix_claims_lease_due", "claims", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_claims_lease_due", "claims")
    with op.batch_alter_table("payers") as batch:
        batch.drop_column("circuit_opened_at")
        batch.drop_column("circuit_kind")
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("current_attempt")
