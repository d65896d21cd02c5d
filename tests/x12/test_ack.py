"""277CA in: each claim's status category recorded as accepted, pending or rejected."""

from __future__ import annotations

from collections.abc import Callable

from click.testing import Result

from portalbot.ledger import ClaimRecord, Ledger
from portalbot.ledger.remits import unmatched_remits
from portalbot.x12.acknowledgment import read_acknowledgments
from tests.x12.conftest import ACK_277CA, FIRST_835, STATUS_277

Newest = Callable[[str], ClaimRecord]


def test_the_277ca_fixture_reads_each_claims_category_and_codes() -> None:
    [ack] = read_acknowledgments(ACK_277CA)
    assert ack.kind == "277CA" and ack.payer == "ACME HEALTH PLAN"
    assert [(c.category, c.codes, c.state) for c in ack.claims] == [
        ("A2", ("A2:20",), "accepted"), ("A1", ("A1:19",), "accepted"),
        ("P1", ("P1:20",), "pending"), ("A7", ("A7:21:85",), "rejected"),
        ("A6", ("A6:35",), "rejected"), ("A4", ("A4:20",), "rejected"),
    ]
    assert ack.claims[0].payer_claim_number == "ACM261010001"


def test_ack_records_rejections_and_acceptance_of_pending_claims(
    cli: Callable[..., Result], claim_state: Newest, demo_ledger: Ledger
) -> None:
    waiting = claim_state("NORTHSIDE-2026-10-000102")
    demo_ledger.transition(waiting.pk, "accepted", "pending", "test", "received, later verdict")
    result = cli("ack", ACK_277CA)
    assert result.exit_code == 1  # the claim status no claim explains
    assert claim_state("NORTHSIDE-2026-10-000101").state == "accepted"
    assert claim_state("NORTHSIDE-2026-10-000102").state == "accepted"
    rejected = claim_state("NORTHSIDE-2026-10-000111")
    assert rejected.state == "rejected" and rejected.reason_code == "A7:21:85"
    assert "rejected for invalid information" in (rejected.reason or "")
    assert claim_state("NORTHSIDE-2026-10-000112").reason_code == "A6:35"
    assert claim_state("NORTHSIDE-2026-10-000110").state == "pending"
    [kept] = unmatched_remits(demo_ledger)
    assert kept["kind"] == "277CA" and kept["patient_control_number"] == "NS0000000999"
    again = cli("ack", ACK_277CA)
    assert "were imported before" in again.stderr and again.exit_code == 0


def test_ack_refuses_an_835_and_says_what_it_reads(cli: Callable[..., Result]) -> None:
    result = cli("ack", FIRST_835)
    assert result.exit_code == 2 and "is of type 835, not 277; give this command 277 files" in result.stderr


def test_a_late_acknowledgment_does_not_take_a_paid_claim_back(
    cli: Callable[..., Result], claim_state: Newest
) -> None:
    cli("remit", FIRST_835)
    cli("ack", ACK_277CA)
    assert claim_state("NORTHSIDE-2026-10-000101").state == "paid"
    assert claim_state("NORTHSIDE-2026-10-000110").state == "paid"


def test_a_277_claim_status_response_is_refused_as_unmapped(
    cli: Callable[..., Result], demo_ledger: Ledger
) -> None:
    result = cli("ack", STATUS_277)
    assert result.exit_code == 2
    assert "has no pyx12 map" in result.stderr and "277CA 005010X214" in result.stderr
    assert unmatched_remits(demo_ledger) == []
