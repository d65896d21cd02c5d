"""277CA and 277 in: each claim's status category recorded as accepted, pending or rejected."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import Result

from portalbot.ledger import ClaimRecord, Ledger, derive_portal_key
from portalbot.ledger.remits import remits_of, unmatched_remits
from portalbot.x12 import reader
from portalbot.x12.acknowledgment import ClaimStatus, read_acknowledgments
from portalbot.x12.maps import HERE as HERE_MAPS
from portalbot.x12.maps import PYX12_MAPS, map_path
from portalbot.x12.reader import X12FileError
from tests.helpers import ROOT
from tests.x12.conftest import ACK_277CA, FIRST_835, STATUS_277

DEMO = ROOT / "fixtures" / "claims" / "demo.json"

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


def test_the_277_claim_status_response_reads_subscriber_and_dependent_claims_in_order() -> None:
    [status] = read_acknowledgments(STATUS_277)
    assert (status.kind, status.payer, status.reference) == (
        "277", "ACME HEALTH PLAN", "STAT2611150001")
    assert [(c.patient_control_number[-3:] if c.patient_control_number.startswith("NS")
             else c.patient_control_number, c.codes) for c in status.claims] == [
        (_key("108"), ("P1:20",)), (_key("109"), ("A7:21",)), (_key("105"), ("A3:21",)),
        (_key("107"), ("A2:20",)), (_key("103"), ("F1:65",)), (_key("110"), ("F2:1",)),
        ("999", ("A4:35",)),
    ]  # REF*EJ, not the inquiry's TRN02; the dependent (2200E) in its place
    finalized = status.claims[5]
    assert finalized.charge == Decimal("146.00") and finalized.payer_claim_number == "ACM261100001"
    # its service lines say F2:88 in loop 2220D: the claim's own STC is the verdict


def _key(number: str) -> str:
    claim = next(c for c in json.loads(DEMO.read_text()) if c["claim_id"].endswith(number))
    return derive_portal_key(claim["claim_id"], claim["version"])


@pytest.mark.parametrize(
    ("category", "state", "kept_as"),
    [("A1", "accepted", "accepted"), ("A2", "accepted", "accepted"),
     ("A3", "rejected", "rejected"), ("A4", "rejected", "rejected"),
     ("A6", "rejected", "rejected"), ("A7", "rejected", "rejected"),
     *[(f"P{n}", "pending", "pending") for n in range(6)],
     *[(f"F{n}", "accepted", "finalized") for n in range(5)],
     ("E0", None, "informational"), ("R3", None, "informational")],
)
def test_each_status_category_is_recorded_as_the_issue_says(
    category: str, state: str | None, kept_as: str
) -> None:
    status = ClaimStatus("PB", category, (f"{category}:20",), "", None, 1)
    assert (status.state, status.recorded_as) == (state, kept_as)


def test_ack_records_a_277_claim_status_response_matched_by_patient_account_number(
    cli: Callable[..., Result], claim_state: Newest, demo_ledger: Ledger
) -> None:
    for number in ("103", "107"):
        waiting = claim_state(f"NORTHSIDE-2026-10-000{number}")
        demo_ledger.transition(waiting.pk, "accepted", "pending", "test", "in process")
    result = cli("ack", STATUS_277)
    assert result.exit_code == 1, result.stderr  # the status no claim explains
    assert "7 claim statuses" in result.stderr
    assert claim_state("NORTHSIDE-2026-10-000108").state == "pending"
    rejected = claim_state("NORTHSIDE-2026-10-000109")
    assert (rejected.state, rejected.reason_code) == ("rejected", "A7:21")
    returned = claim_state("NORTHSIDE-2026-10-000105")
    assert returned.state == "rejected" and "returned as unprocessable" in (returned.reason or "")
    assert claim_state("NORTHSIDE-2026-10-000107").state == "accepted"
    finalized = claim_state("NORTHSIDE-2026-10-000103")
    assert finalized.state == "accepted" and finalized.payer_claim_number == "ACM261030001"
    event = demo_ledger.events(finalized.pk)[-1]
    assert "finalized: paid (F1:65" in event["reason"] and "acme-277-2026-11-15.x12" in event["reason"]
    assert [r["verdict"] for r in remits_of(demo_ledger, finalized.pk)] == ["finalized"]
    assert claim_state("NORTHSIDE-2026-10-000110").state == "accepted"  # the 835 says why
    [kept] = unmatched_remits(demo_ledger)
    assert (kept["kind"], kept["patient_control_number"]) == ("277", "NS0000000999")
    again = cli("ack", STATUS_277)
    assert again.exit_code == 0 and "were imported before" in again.stderr


def test_pyx12s_own_x212_map_misplaces_the_hl_loops_so_portalbot_ships_a_corrected_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When pyx12 reads this fixture with its own map, portalbot's copy can go."""
    monkeypatch.setattr(reader, "map_path", lambda: str(PYX12_MAPS))
    with pytest.raises(X12FileError, match=r"segment 5 \(HL, loop HEADER\)"):
        read_acknowledgments(STATUS_277)


def _segments(path: Path) -> list[tuple[str | None, list[tuple[str, str | None, str]]]]:
    root = ElementTree.parse(path).getroot()
    return [(s.get("xid"), [(e.tag, e.get("xid"), (e.text or "").strip()) for e in s.iter()])
            for s in root.iter("segment")]


def _loop_paths(path: Path) -> dict[str, str]:
    paths: dict[str, str] = {}

    def walk(node: ElementTree.Element, prefix: str) -> None:
        for loop in node.findall("loop"):
            paths[loop.get("xid") or ""] = f"{prefix}/{loop.get('xid')}"
            walk(loop, paths[loop.get("xid") or ""])

    walk(ElementTree.parse(path).getroot(), "")
    return paths


def test_the_corrected_x212_map_changes_only_where_the_loops_sit() -> None:
    ours, theirs = HERE_MAPS / "277.5010.X212.xml", PYX12_MAPS / "277.5010.X212.xml"
    assert _segments(ours) == _segments(theirs)  # every segment and element as pyx12 has it
    loops = _loop_paths(ours)
    assert loops["2200E"] == ("/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2000C/2000D/2000E"
                              "/2200E")
    assert loops["FOOTER"] == "/ISA_LOOP/GS_LOOP/ST_LOOP/FOOTER"
    assert set(_loop_paths(theirs)) - set(loops) == {f"TABLE2AREA{n}" for n in range(3, 7)}


@pytest.mark.parametrize("source", [ACK_277CA, STATUS_277], ids=["277CA", "277"])
def test_a_malformed_277_exits_2_naming_segment_and_loop_and_records_nothing(
    cli: Callable[..., Result], demo_ledger: Ledger, claim_state: Newest, tmp_path: Path,
    source: Path,
) -> None:
    bad = tmp_path / source.name
    bad.write_text(re.sub(r"(STC\*A7[^~]*\*)64", r"\g<1>6X4", source.read_text(), count=1))
    result = cli("ack", STATUS_277, bad)
    assert result.exit_code == 2
    assert re.search(r"segment \d+ \(STC, loop 2200D\): STC04: the data element has an invalid "
                     "character", result.stderr), result.stderr
    assert claim_state("NORTHSIDE-2026-10-000109").state == "accepted"
    assert unmatched_remits(demo_ledger) == []


def test_a_277_without_the_patient_account_number_is_matched_by_the_payers_claim_number(
    cli: Callable[..., Result], claim_state: Newest, demo_ledger: Ledger, tmp_path: Path
) -> None:
    claim = claim_state("NORTHSIDE-2026-10-000109")
    with demo_ledger._tx() as tx:  # what an earlier status answer left: the payer's number
        demo_ledger._transition(tx, claim.pk, "accepted", "pending", "test", "in process",
                                payer_claim_number="ACM261090001")
    edited = tmp_path / STATUS_277.name
    edited.write_text(STATUS_277.read_text().replace(f"REF*EJ*{claim.portal_key}~", "", 1)
                      .replace("SE*64*", "SE*63*", 1))
    assert cli("ack", edited).exit_code == 1  # the claim portalbot never sent
    rejected = claim_state("NORTHSIDE-2026-10-000109")
    assert (rejected.state, rejected.reason_code) == ("rejected", "A7:21")


def test_pyx12_reads_its_maps_from_a_private_directory_with_portalbots_map_in_place() -> None:
    directory = Path(map_path())
    assert directory.stat().st_mode & 0o777 == 0o700
    assert (directory / "277.5010.X212.xml").resolve() == HERE_MAPS / "277.5010.X212.xml"
    assert (directory / "835.5010.X221.A1.xml").resolve() == PYX12_MAPS / "835.5010.X221.A1.xml"
    assert {p.name for p in directory.iterdir()} == {p.name for p in PYX12_MAPS.iterdir()
                                                     if p.is_file()}


def test_a_277ca_that_rejects_the_whole_batch_at_provider_level_says_so_and_exits_1(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    edited = tmp_path / ACK_277CA.name
    text = ACK_277CA.read_text()
    assert "STC*A1:19**WQ*100~" in text  # the provider level (2200C)
    edited.write_text(text.replace("STC*A1:19**WQ*100~", "STC*A3:24:85**U*100~", 1))
    [ack] = read_acknowledgments(edited)
    assert [(r.level, r.codes) for r in ack.batch_rejections] == [
        ("provider (2200C)", ("A3:24:85",))]
    result = cli("ack", edited)
    assert result.exit_code == 1
    assert "rejected batch: acme-277ca-2026-11-01.x12 (277CA ACK2611010001): the payer rejected " \
           "at the provider (2200C) level (A3:24:85)" in " ".join(result.stderr.split())
    assert read_acknowledgments(ACK_277CA)[0].batch_rejections == ()
