"""The ledger at scale: the indexes that keep every everyday query off a full scan of
claims, attempts and events at a million claims (issue #15).

- claims (state, id): a state's claims in ledger order (the lease, `ledger --state`);
  replaces (state), which PostgreSQL cannot read in id order.
- claims (payer_id, state, id): the counts by payer and state from the index alone, and a
  payer's claims in one state in ledger order.
- claims (payer_id, id): a payer's claims in ledger order (`ledger --payer`).
- claims (state, updated_at): pending claims older than a date (the worklist, status).
- claims (lease_owner) where one is held: the lease holders a worker checks for dead ones
  (a partial index: the claims nobody holds, nearly all of them, are not in it).
- attempts (claim_pk, number), events (claim_pk, id): one claim's history in order
  (`ledger show`); they replace the single-column indexes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_NEW = (
    ("ix_claims_state_id", "claims", ["state", "id"]),
    ("ix_claims_payer_state_id", "claims", ["payer_id", "state", "id"]),
    ("ix_claims_payer_id", "claims", ["payer_id", "id"]),
    ("ix_claims_state_updated", "claims", ["state", "updated_at"]),
    ("ix_attempts_claim_number", "attempts", ["claim_pk", "number"]),
    ("ix_events_claim_id", "events", ["claim_pk", "id"]),
)
_REPLACED = (
    ("ix_claims_state", "claims", ["state"]),
    ("ix_attempts_claim", "attempts", ["claim_pk"]),
    ("ix_events_claim", "events", ["claim_pk"]),
)


def upgrade() -> None:
    for name, table, columns in _NEW:
        op.create_index(name, table, columns)
    held = sa.text("lease_owner IS NOT NULL")
    op.create_index("ix_claims_lease_owner", "claims", ["lease_owner"], sqlite_where=held,
                    postgresql_where=held)
    for name, table, _columns in _REPLACED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in _REPLACED:
        op.create_index(name, table, columns)
    op.drop_index("ix_claims_lease_owner", table_name="claims")
    for name, table, _columns in _NEW:
        op.drop_index(name, table_name=table)
