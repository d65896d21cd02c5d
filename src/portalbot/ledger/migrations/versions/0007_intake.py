"""Intake: batches know when their intake finished, and are found by content hash.

``loaded_at`` is set once every claim of the file is in the ledger, so a re-run of the
same file can tell a finished batch (nothing to load: "already loaded as batch …") from
one a crash cut short (its intake resumes into the same batch). Batches loaded before this
revision have no ``loaded_at``; their next re-run resumes them, which records nothing twice.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("loaded_at", sa.DateTime(timezone=True)))
    op.create_index("ix_batches_content_hash", "batches", ["content_hash"])


def downgrade() -> None:
    op.drop_index("ix_batches_content_hash", table_name="batches")
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("loaded_at")
