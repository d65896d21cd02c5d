"""Reviewers' verdicts as the rest of portalbot reads them: the claims a reviewer flagged
(the worklist lists them). The desk writes verdicts (``portalbot.review.store``); the
ledger is how everything else reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from portalbot.ledger import schema
from portalbot.ledger.base import LedgerBase
from portalbot.ledger.records import aware_utc

FLAGGED = "flagged"


@dataclass(frozen=True)
class FlaggedClaim:
    """A claim whose latest verdict says something is wrong: the worklist's input."""

    claim_pk: int
    claim_id: str
    version: int
    payer_id: str
    state: str
    attempt_id: str
    reviewer: str
    note: str
    at: datetime


def flagged_claims(engine: sa.Engine) -> list[FlaggedClaim]:
    """Claims whose most recent verdict (on any of their attempts) is ``flagged``."""
    v, r, c = schema.verdicts, schema.reviewers, schema.claims
    latest_per_claim = (
        sa.select(v.c.claim_pk, sa.func.max(v.c.id).label("verdict_id"))
        .group_by(v.c.claim_pk)
        .subquery("latest_claim_verdict")
    )
    query = (
        sa.select(v, r.c.name, c.c.claim_id, c.c.version, c.c.payer_id, c.c.state)
        .join(latest_per_claim, latest_per_claim.c.verdict_id == v.c.id)
        .join(r, r.c.id == v.c.reviewer_id)
        .join(c, c.c.id == v.c.claim_pk)
        .where(v.c.verdict == FLAGGED)
        .order_by(v.c.at, v.c.id)
    )
    with engine.connect() as connection:
        return [
            FlaggedClaim(
                m["claim_pk"], m["claim_id"], m["version"], m["payer_id"], m["state"],
                m["attempt_id"], m["name"], m["note"], aware_utc(m["at"]),  # type: ignore[arg-type]
            )
            for m in (row._mapping for row in connection.execute(query))
        ]


class Verdicts(LedgerBase):
    """The reviewers' verdicts, read."""

    def flagged_claims(self) -> list[FlaggedClaim]:
        return flagged_claims(self.engine)
