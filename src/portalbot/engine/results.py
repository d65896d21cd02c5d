"""What a run reports: each claim as the run left it, and the payers it could not work."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from portalbot.ledger.states import FAILED


@dataclass(frozen=True)
class ClaimResult:
    claim_id: str
    version: int
    payer_id: str
    state: str
    detail: str
    screenshot: str | None = None
    submitted: bool = False
    next_attempt_at: datetime | None = None


@dataclass
class RunSummary:
    results: list[ClaimResult] = field(default_factory=list)
    blocked_payers: dict[str, str] = field(default_factory=dict)
    # Claims another worker changed first: noted, never a reason to stop.
    overtaken: int = 0
    # Payers blocked only because their circuit is open: their in-doubt claims still run.
    paused: set[str] = field(default_factory=set)

    @property
    def latest(self) -> list[ClaimResult]:
        """Each claim version once, as this run left it."""
        by_claim = {(r.claim_id, r.version): r for r in self.results}
        return list(by_claim.values())

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.latest:
            counts[result.state] = counts.get(result.state, 0) + 1
        return counts

    @property
    def next_retry_at(self) -> datetime | None:
        """When the earliest claim this run left failed is due again."""
        due = [r.next_attempt_at for r in self.latest if r.state == FAILED and r.next_attempt_at]
        return min(due) if due else None
