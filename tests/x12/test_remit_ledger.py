"""835s recorded in the ledger: paid, denied on the worklist by CARC, reversed, once only."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pytest
from click.testing import Result

from portalbot.claims import ClaimBatchFile
from portalbot.config import Settings
from portalbot.intake import intake
from portalbot.ledger import ClaimRecord, Ledger
from portalbot.ledger.remits import remits_of, unmatched_remits
from portalbot.worklist import build_worklist
from portalbot.x12.imports import read_all, record_all
from tests.helpers import postgres_database
from tests.x12.conftest import ACCEPTED, CORRECTION_835, FIRST_835, STATUS_277

Newest = Callable[[str], ClaimRecord]


def test_payments_and_denials_become_ledger_states_with_their_codes(
    cli: Callable[..., Result], claim_state: Newest, demo_ledger: Ledger
) -> None:
    result = cli("remit", FIRST_835)
    assert result.exit_code == 1  # one claim payment no claim explains
    paid = claim_state("NORTHSIDE-2026-10-000101")
    assert paid.state == "paid" and paid.payer_claim_number == "ACM261010001"
    assert "paid 51.20 of 64.00" in (paid.reason or "")
    partial = claim_state("NORTHSIDE-2026-10-000102")
    assert partial.state == "paid" and "partially paid" in (partial.reason or "")
    assert "CO-97 48.00" in (partial.reason or "")
    denied = claim_state("NORTHSIDE-2026-10-000104")
    assert denied.state == "denied" and denied.reason_code == "CO-50"
    assert "OA-23 10.00" in (denied.reason or "") and "N115" in (denied.reason or "")
    event = demo_ledger.events(denied.pk)[-1]
    assert event["from_state"] == "accepted" and event["to_state"] == "denied"
    assert "acme-835-2026-11-20.x12" in event["reason"] and "ACH2611200001" in event["reason"]
    assert "2026-11-20" in event["reason"]


def test_a_denial_puts_the_claim_on_the_worklist_under_its_carc(
    cli: Callable[..., Result], demo_ledger: Ledger, settings: Settings
) -> None:
    cli("remit", FIRST_835)
    items = build_worklist(demo_ledger, settings, flagged={})
    groups: dict[str, list[str]] = {}
    for item in items:
        groups.setdefault(item.reason, []).append(item.claim_id[-3:])
    assert sorted(groups["denied CO-50"]) == ["104", "105"]
    assert groups["denied CO-16"] == ["106"]
    listed = [i.reason for i in items]
    first = listed.index("denied CO-50")
    assert listed[first:first + 2] == ["denied CO-50", "denied CO-50"]  # one group, together
    shown = cli("worklist")
    assert "denied CO-50" in shown.stdout and "denied CO-16" in shown.stdout


def test_a_reversal_followed_by_a_new_payment_ends_as_the_new_payment(
    cli: Callable[..., Result], claim_state: Newest, demo_ledger: Ledger
) -> None:
    cli("remit", FIRST_835)
    result = cli("remit", CORRECTION_835)
    assert result.exit_code == 0, result.stderr
    claim = claim_state("NORTHSIDE-2026-10-000101")
    assert claim.state == "paid" and claim.payer_claim_number == "ACM261010002"
    assert "paid 64.00 of 64.00" in (claim.reason or "")
    moves = [(e["from_state"], e["to_state"]) for e in demo_ledger.events(claim.pk)]
    assert moves[-3:] == [("accepted", "paid"), ("paid", "accepted"), ("accepted", "paid")]
    assert "reversed" in demo_ledger.events(claim.pk)[-2]["reason"]
    appealed = claim_state("NORTHSIDE-2026-10-000106")
    assert appealed.state == "paid" and appealed.reason_code is None
    assert [r["verdict"] for r in remits_of(demo_ledger, claim.pk)] == ["paid", "reversed", "paid"]


def test_importing_a_file_twice_records_nothing_the_second_time_and_says_so(
    cli: Callable[..., Result], demo_ledger: Ledger
) -> None:
    cli("remit", FIRST_835)
    events = sum(len(demo_ledger.events(r.pk)) for r in demo_ledger.all_claims())
    again = cli("remit", FIRST_835)
    assert again.exit_code == 0
    assert "nothing recorded: these 13 claim payments were imported before" in again.stderr
    assert sum(len(demo_ledger.events(r.pk)) for r in demo_ledger.all_claims()) == events
    assert len(unmatched_remits(demo_ledger)) == 1


def test_an_unmatched_claim_payment_is_reported_and_kept(
    cli: Callable[..., Result], demo_ledger: Ledger
) -> None:
    result = cli("remit", FIRST_835)
    assert "unmatched: acme-835-2026-11-20.x12 patient control number NS0000000999" in result.stderr
    [kept] = unmatched_remits(demo_ledger)
    assert kept["patient_control_number"] == "NS0000000999" and kept["paid"] == "88.00"
    assert kept["detail"]["lines"][0]["code"] == "99213" and kept["claim_pk"] is None


def test_a_payment_for_a_claim_the_payer_rejected_is_kept_but_not_applied(
    cli: Callable[..., Result], claim_state: Newest, demo_ledger: Ledger, tmp_path
) -> None:
    rejected = claim_state("NORTHSIDE-2026-10-000113")
    demo_ledger.transition(rejected.pk, "queued", "rejected", "test", "coverage ended")
    text = FIRST_835.read_text().replace("CLP*NS0000000999*", f"CLP*{rejected.portal_key}*", 1)
    edited = tmp_path / "edited.x12"
    edited.write_text(text)
    result = cli("remit", edited)
    assert result.exit_code == 1
    assert "not applied" in result.stderr and "the claim is rejected" in result.stderr
    assert claim_state("NORTHSIDE-2026-10-000113").state == "rejected"
    assert remits_of(demo_ledger, rejected.pk)[0]["applied"] is False


@pytest.mark.postgres
def test_on_postgresql_an_835_is_recorded_once_and_its_denials_listed(
    settings: Settings, demo_batch: ClaimBatchFile
) -> None:
    with postgres_database() as url:
        shared = settings.model_copy(update={"ledger_url": url})
        ledger = Ledger.open(shared.resolved_ledger_url)
        try:
            for record in intake(ledger, shared, demo_batch).records:
                if record.claim_id in ACCEPTED:
                    ledger.transition(record.pk, "queued", "accepted", "test", "accepted")
            remittances = read_all([FIRST_835])
            first = record_all(ledger, remittances, worker="test")
            second = record_all(ledger, remittances, worker="test")
            assert Counter(r.outcome for r in first.results) == {"recorded": 12, "unmatched": 1}
            assert {r.outcome for r in second.results} == {"already imported"}
            reasons = [i.reason for i in build_worklist(ledger, shared, flagged={})]
            assert reasons.count("denied CO-50") == 2 and reasons.count("denied CO-16") == 1
        finally:
            ledger.close()


def test_remit_unmatched_lists_what_no_claim_explains_from_835s_and_277s(
    cli: Callable[..., Result], demo_ledger: Ledger
) -> None:
    assert "nothing unmatched" in cli("remit", "--unmatched").stderr
    cli("remit", FIRST_835)
    cli("ack", STATUS_277)
    listed = cli("remit", "--unmatched", "--format", "json")
    assert listed.exit_code == 0
    kept = json.loads(listed.stdout)
    assert [(k["kind"], k["patient_control_number"], k["verdict"]) for k in kept] == [
        ("835", "NS0000000999", "paid"), ("277", "NS0000000999", "rejected")]
    assert kept[0]["paid"] == "88.00" and kept[0]["file_name"] == FIRST_835.name
    table = cli("remit", "--unmatched")
    assert "NS0000000999" in table.stdout and "2 claim payments and statuses" in table.stderr
    assert cli("remit").exit_code == 2 and cli("remit", "--unmatched", FIRST_835).exit_code == 2
