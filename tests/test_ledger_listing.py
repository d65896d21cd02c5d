"""The ledger's listing at scale: counts by payer and state, the newest claims by keyset
page, every claim streamed — each filtered by state, payer and batch."""

from __future__ import annotations

import pytest

from portalbot.ledger import Ledger


@pytest.fixture
def listed(ledger: Ledger) -> dict[str, str]:
    """Seven claims in two batches for two payers; two of them held."""
    first = ledger.create_batch("a.json", "a" * 64, 4, 0)
    second = ledger.create_batch("b.json", "b" * 64, 3, 0)
    for n in range(7):
        ledger.enqueue(
            first if n < 4 else second, claim_id=f"C-{n}", version=1,
            payer_id="acme" if n % 2 == 0 else "keystone", service_month="2026-10",
            member_id=f"M{n}", frequency="original", replaces=None, payload={}, findings=[],
            blocked=n in {1, 4}, location=f"claim #{n}", worker="t",
        )
    return {"first": first, "second": second}


def test_state_counts_are_by_payer_and_state_and_filter(ledger: Ledger,
                                                       listed: dict[str, str]) -> None:
    assert ledger.state_counts() == {("acme", "queued"): 3, ("acme", "held"): 1,
                                     ("keystone", "queued"): 2, ("keystone", "held"): 1}
    assert ledger.state_counts(payer_ids=["keystone"], batch_id=listed["first"]) == {
        ("keystone", "held"): 1, ("keystone", "queued"): 1}


def test_recent_claims_pages_newest_first_by_ledger_id(ledger: Ledger,
                                                      listed: dict[str, str]) -> None:
    page = ledger.recent_claims(3)
    older = ledger.recent_claims(3, before=page[-1].pk)
    last = ledger.recent_claims(3, before=older[-1].pk)

    assert [r.claim_id for r in page + older + last] == [f"C-{n}" for n in range(6, -1, -1)]
    assert [r.claim_id for r in ledger.recent_claims(5, state="held")] == ["C-4", "C-1"]
    assert [r.claim_id for r in ledger.recent_claims(5, payer_ids=["acme"],
                                                     batch_id=listed["second"])] == ["C-6", "C-4"]


def test_iter_claims_streams_every_match_in_ledger_order(ledger: Ledger,
                                                        listed: dict[str, str]) -> None:
    every = ledger.iter_claims()
    assert next(every).claim_id == "C-0"  # a generator: nothing loaded ahead of the reader
    assert [r.claim_id for r in every] == [f"C-{n}" for n in range(1, 7)]
    assert [r.claim_id for r in ledger.iter_claims(state="queued", batch_id=listed["first"],
                                                   payer_ids=["acme"])] == ["C-0", "C-2"]
