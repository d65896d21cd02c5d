"""837P in: the same claims as portalbot's JSON, the same portal fields, held without evidence."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from payers.acme import AcmeAdapter
from portalbot.adapters import Filing
from portalbot.claims import ClaimBatchFile, ClaimFileError, load_claims
from portalbot.config import Settings
from portalbot.intake import intake
from portalbot.ledger import Ledger
from tests.x12.conftest import CLAIMS_837P, EVIDENCE_837P, EVIDENCE_837P_CSV

ORIGINALS = ["NORTHSIDE-2026-10-000101", "NORTHSIDE-2026-10-000102", "NORTHSIDE-2026-10-000107"]


def test_837p_claims_with_evidence_equal_the_demo_json_claims(demo_batch: ClaimBatchFile) -> None:
    batch = load_claims(CLAIMS_837P, evidence=EVIDENCE_837P)
    assert batch.problems == []
    demo = {c.claim.claim_id: c.claim for c in demo_batch.claims}
    read = {c.claim.claim_id: c.claim for c in batch.claims}
    for claim_id in ORIGINALS:
        assert read[claim_id] == demo[claim_id]
    assert read["NORTHSIDE-2026-10-000107"].subscriber.relationship == "spouse"


def test_837p_claims_give_acme_the_same_portal_fields_as_the_json_claims(
    demo_batch: ClaimBatchFile,
) -> None:
    demo = {c.claim.claim_id: c.claim for c in demo_batch.claims}
    adapter = AcmeAdapter()
    for loaded in load_claims(CLAIMS_837P, evidence=EVIDENCE_837P).claims:
        claim = loaded.claim
        if claim.claim_id not in ORIGINALS:
            continue
        filing = Filing("PBKEY000000001")
        assert adapter.to_form(claim, filing) == adapter.to_form(demo[claim.claim_id], filing)


def test_the_replacement_claim_keeps_its_frequency_and_original_claim_number() -> None:
    [replacement] = [c.claim for c in load_claims(CLAIMS_837P, evidence=EVIDENCE_837P).claims
                     if c.claim.frequency != "original"]
    assert (replacement.claim_id, replacement.version) == ("NORTHSIDE-2026-10-000103", 2)
    assert replacement.frequency == "replacement" and replacement.replaces == "ACM261030001"


def test_without_the_evidence_file_every_claim_is_held_naming_what_is_missing(
    ledger: Ledger, settings: Settings
) -> None:
    batch = load_claims(CLAIMS_837P)
    assert batch.problems == [] and len(batch.claims) == 4
    records = intake(ledger, settings, batch).records
    assert {r.state for r in records} == {"held"}
    for record in records:
        rules = {f["rule"] for f in record.findings if f["severity"] == "error"}
        assert {"CCM-CONSENT-01", "CCM-PLAN-01", "CCM-ELIG-03", "CCM-CODE-01"} <= rules


def test_validate_reads_an_837p_with_its_evidence(cli: Callable[..., Result]) -> None:
    assert cli("validate", CLAIMS_837P, "--evidence", EVIDENCE_837P).exit_code == 0
    held = cli("validate", CLAIMS_837P)
    assert held.exit_code == 1 and "4 held" in held.stderr


def test_convert_writes_the_claims_in_portalbots_format_owner_only(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    target = tmp_path / "claims.json"
    result = cli("convert", CLAIMS_837P, "--evidence", EVIDENCE_837P, "--out", target)
    assert result.exit_code == 0, result.stderr
    assert target.stat().st_mode & 0o777 == 0o600
    written = json.loads(target.read_text())["claims"]
    assert [c["claim_id"] for c in written] == [*ORIGINALS, "NORTHSIDE-2026-10-000103"]
    again = load_claims(target)
    assert [c.claim for c in again.claims] == [
        c.claim for c in load_claims(CLAIMS_837P, evidence=EVIDENCE_837P).claims]
    bare = cli("convert", CLAIMS_837P, "--out", tmp_path / "bare.json")
    assert bare.exit_code == 1 and "4 have no CCM evidence" in bare.stderr


def test_an_evidence_entry_with_an_unknown_field_is_reported_not_guessed(tmp_path: Path) -> None:
    evidence = json.loads(EVIDENCE_837P.read_text())
    evidence["claims"]["NORTHSIDE-2026-10-000101"]["minutes"] = 20
    edited = tmp_path / "evidence.json"
    edited.write_text(json.dumps(evidence))
    batch = load_claims(CLAIMS_837P, evidence=edited)
    [problem] = batch.problems
    assert problem.field == "minutes" and problem.claim_id == "NORTHSIDE-2026-10-000101"
    assert len(batch.claims) == 3


def test_a_malformed_837p_is_an_unreadable_file_with_segment_and_loop(tmp_path: Path) -> None:
    bad = tmp_path / "bad.837"
    bad.write_text(CLAIMS_837P.read_text().replace("SV1*HC:99490*64*", "SV1*HC:99490*6X4*", 1))
    with pytest.raises(ClaimFileError, match=r"segment \d+ \(SV1, loop 2400\): SV102"):
        load_claims(bad, evidence=EVIDENCE_837P)


# --- the evidence as CSV -------------------------------------------------------------------

def _csv_pair(tmp_path: Path, edit: Callable[[str], str] = lambda t: t,
              edit_time: Callable[[str], str] = lambda t: t) -> Path:
    """The fixture's CSV evidence pair, copied (and edited) under tmp_path."""
    target = tmp_path / EVIDENCE_837P_CSV.name
    target.write_text(edit(EVIDENCE_837P_CSV.read_text()), newline="")
    time = EVIDENCE_837P_CSV.with_name(EVIDENCE_837P_CSV.stem + ".time.csv")
    (tmp_path / time.name).write_text(edit_time(time.read_text()), newline="")
    return target


def test_csv_evidence_gives_the_same_claims_as_the_json_evidence() -> None:
    from_csv = load_claims(CLAIMS_837P, evidence=EVIDENCE_837P_CSV)
    from_json = load_claims(CLAIMS_837P, evidence=EVIDENCE_837P)
    assert from_csv.problems == [] and len(from_csv.claims) == 4
    assert [c.claim for c in from_csv.claims] == [c.claim for c in from_json.claims]
    first = from_csv.claims[0].claim
    assert [t.minutes for t in first.time_entries] == [9, 14]  # from the .time.csv


def test_a_claim_without_a_row_in_the_csv_evidence_is_held_naming_what_is_missing(
    ledger: Ledger, settings: Settings, tmp_path: Path
) -> None:
    def drop(text: str) -> str:
        return "".join(line for line in text.splitlines(keepends=True)
                       if not line.startswith("NORTHSIDE-2026-10-000102,"))

    batch = load_claims(CLAIMS_837P, evidence=_csv_pair(tmp_path, drop, drop))
    assert batch.problems == []
    states = {r.claim_id: r for r in intake(ledger, settings, batch).records}
    held = states["NORTHSIDE-2026-10-000102"]
    assert held.state == "held"
    rules = {f["rule"] for f in held.findings if f["severity"] == "error"}
    assert {"CCM-CONSENT-01", "CCM-PLAN-01", "CCM-ELIG-03", "CCM-CODE-01"} <= rules
    assert {r.state for cid, r in states.items() if cid != held.claim_id} == {"queued"}


def test_a_bad_cell_in_the_csv_evidence_names_the_row_the_column_and_the_fix(
    tmp_path: Path,
) -> None:
    evidence = _csv_pair(tmp_path, lambda t: t.replace(",2026-01-22,verbal,", ",01/22/2026,verbal,"))
    batch = load_claims(CLAIMS_837P, evidence=evidence)
    [problem] = batch.problems
    assert (problem.source, problem.location, problem.claim_id, problem.field) == (
        evidence.name, "row 3, column consent_obtained_on", "NORTHSIDE-2026-10-000102",
        "consent.obtained_on")
    assert "dates must be YYYY-MM-DD; this looks like MM/DD/YYYY" in problem.message
    assert "01/22" not in str(problem)
    assert len(batch.claims) == 3  # one bad claim never stops the rest


def test_a_value_the_claim_format_refuses_points_at_its_csv_row_and_column(tmp_path: Path) -> None:
    evidence = _csv_pair(
        tmp_path, lambda t: t.replace(",CONSENT-4107,", ",CONSENT-4107,", 1).replace(
            "2026-06-03,written,", "2026-06-03,telepathic,"),
        lambda t: t.replace(",12,clinical_staff,RN Odile", ",12,janitor,RN Odile"))
    problems = {p.claim_id: p for p in load_claims(CLAIMS_837P, evidence=evidence).problems}
    method = problems["NORTHSIDE-2026-10-000107"]
    assert (method.source, method.location, method.field) == (
        evidence.name, "row 4, column consent_method", "consent.method")
    role = problems["NORTHSIDE-2026-10-000102"]
    assert role.source == "northside-837p-2026-11-01.evidence.time.csv"
    assert role.location == "row 4, column performer_role"
    assert role.field == "time_entries[0].performer_role"


def test_csv_evidence_for_a_claim_the_837p_does_not_have_is_reported(tmp_path: Path) -> None:
    evidence = _csv_pair(tmp_path, lambda t: t + "NORTHSIDE-2026-10-000199,,,,,,,,,,,,,,,,,\r\n")
    batch = load_claims(CLAIMS_837P, evidence=evidence)
    [stray] = batch.problems
    assert (stray.location, stray.claim_id) == ("row 6", "NORTHSIDE-2026-10-000199")
    assert "not in the 837P file" in stray.message and len(batch.claims) == 4


def test_a_csv_evidence_file_with_an_unknown_column_is_refused_pointing_at_the_layout(
    tmp_path: Path,
) -> None:
    evidence = _csv_pair(tmp_path, lambda t: t.replace("consent_method", "consent_mthd", 1))
    with pytest.raises(ClaimFileError, match=r"row 1, column 6: not a known column \(did you "
                       r"mean consent_method\?\).*docs/claim-format.md"):
        load_claims(CLAIMS_837P, evidence=evidence)


def test_validate_and_convert_read_csv_evidence(cli: Callable[..., Result], tmp_path: Path) -> None:
    assert cli("validate", CLAIMS_837P, "--evidence", EVIDENCE_837P_CSV).exit_code == 0
    target = tmp_path / "claims.json"
    result = cli("convert", CLAIMS_837P, "--evidence", EVIDENCE_837P_CSV, "--out", target)
    assert result.exit_code == 0, result.stderr
    assert [c.claim for c in load_claims(target).claims] == [
        c.claim for c in load_claims(CLAIMS_837P, evidence=EVIDENCE_837P).claims]


@pytest.mark.parametrize(
    ("old", "new", "element", "said"),
    [("*11:B:1*Y*A*Y*Y~", "*11:B:1*N*A*Y*Y~", "CLM06", "signature must be on file"),
     ("*11:B:1*Y*A*Y*Y~", "*11:B:1*Y*C*Y*Y~", "CLM07", "assignment must be accepted"),
     ("*11:B:1*Y*A*Y*Y~", "*11:B:1*Y*A*N*Y~", "CLM08", "benefits must be assigned"),
     ("CLM*NORTHSIDE-2026-10-000101*64*", "CLM*NORTHSIDE-2026-10-000101*65*", "CLM02",
      "total charge differs from the sum of its service lines")],
    ids=["no signature", "assignment not accepted", "benefits not assigned", "total off"],
)
def test_a_claim_the_portal_form_would_misstate_is_reported_not_filed(
    tmp_path: Path, old: str, new: str, element: str, said: str
) -> None:
    bad = tmp_path / "bad.837"
    bad.write_text(CLAIMS_837P.read_text().replace(old, new, 1))
    batch = load_claims(bad, evidence=EVIDENCE_837P)
    [problem] = batch.problems
    assert (problem.claim_id, problem.field) == ("NORTHSIDE-2026-10-000101", element)
    assert said in problem.message and problem.location.endswith(f", {element}")
    assert len(batch.claims) == 3


def test_validate_refuses_a_malformed_837p_with_exit_2(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.837"
    bad.write_text(CLAIMS_837P.read_text().replace("SE*", "XX*", 1))
    result = cli("validate", bad, "--evidence", EVIDENCE_837P_CSV)
    assert result.exit_code == 2
    assert "(SE, loop ST_LOOP)" in result.stderr or "segment id not recognized" in result.stderr
    assert "Traceback" not in result.output


def test_an_837p_claim_that_is_not_ccm_is_held_by_the_rules(
    ledger: Ledger, settings: Settings, tmp_path: Path
) -> None:
    office_visit = tmp_path / "visit.837"
    office_visit.write_text(CLAIMS_837P.read_text().replace("SV1*HC:99490*64*", "SV1*HC:99213*64*", 1))
    batch = load_claims(office_visit, evidence=EVIDENCE_837P_CSV)
    assert batch.problems == []
    records = {r.claim_id: r for r in intake(ledger, settings, batch).records}
    visit = records["NORTHSIDE-2026-10-000101"]
    assert visit.state == "held"
    assert [f["rule"] for f in visit.findings if f["severity"] == "error"] == ["CCM-CODE-02"]
    assert records["NORTHSIDE-2026-10-000102"].state == "queued"


def test_a_value_the_claim_format_refuses_in_json_evidence_names_the_entry(tmp_path: Path) -> None:
    evidence = json.loads(EVIDENCE_837P.read_text())
    evidence["claims"]["NORTHSIDE-2026-10-000101"]["consent"]["method"] = "telepathic"
    edited = tmp_path / "evidence.json"
    edited.write_text(json.dumps(evidence))
    [problem] = load_claims(CLAIMS_837P, evidence=edited).problems
    assert (problem.source, problem.location, problem.field) == (
        "evidence.json", "entry NORTHSIDE-2026-10-000101", "consent.method")
