"""835 files in: every value reaches the JSON, the balance is checked, bad files are refused."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import Result

from portalbot.ledger import Ledger
from portalbot.ledger.remits import unmatched_remits
from portalbot.x12.reader import X12FileError, read_x12
from portalbot.x12.remittance import read_remittances
from tests.x12.conftest import CORRECTION_835, FIRST_835


def _segments(path: Path) -> list[list[str]]:
    """The file split the plain way, independently of pyx12, to compare against."""
    text = path.read_text()
    element, terminator = text[3], text[105]
    return [s.strip().split(element) for s in text.split(terminator) if s.strip()]


def _dry_run(cli: Callable[..., Result], *files: Path) -> dict:
    result = cli("remit", *files, "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("path", [FIRST_835, CORRECTION_835], ids=lambda p: p.name)
def test_every_amount_code_and_adjustment_of_the_fixture_is_in_the_json(
    cli: Callable[..., Result], path: Path
) -> None:
    shown = _dry_run(cli, path)
    claims = [c for f in shown["files"] for c in f["claims"]]
    lines = [line for c in claims for line in c["lines"]]
    raw = _segments(path)
    component = path.read_text()[104]
    clps = [s for s in raw if s[0] == "CLP"]
    assert [(c["patient_control_number"], c["status_code"], Decimal(c["charge"]),
             Decimal(c["paid"]), Decimal(c["patient_responsibility"]), c["payer_claim_number"])
            for c in claims] == [
        (s[1], s[2], Decimal(s[3]), Decimal(s[4]), Decimal(s[5]), s[7]) for s in clps]
    svcs = [s for s in raw if s[0] == "SVC"]
    assert [(line["code"], Decimal(line["charge"]), Decimal(line["paid"]), Decimal(line["units"]))
            for line in lines] == [
        (s[1].split(component)[1], Decimal(s[2]), Decimal(s[3]), Decimal(s[5])) for s in svcs]
    in_file = [(s[1], s[i], Decimal(s[i + 1])) for s in raw if s[0] == "CAS"
               for i in range(2, len(s), 3)]
    in_json = [(a["group"], a["reason"], Decimal(a["amount"]))
               for c in claims for a in c["adjustments"] + [
                   x for line in c["lines"] for x in line["adjustments"]]]
    assert sorted(in_json) == sorted(in_file) and in_file
    remarks = {s[2] for s in raw if s[0] == "LQ"} | {r for s in raw if s[0] == "MOA" for r in s[3:] if r}
    assert remarks == {r for c in claims for r in c["remarks"] + [
        x for line in c["lines"] for x in line["remarks"]]}
    bprs = [s for s in raw if s[0] == "BPR"]
    assert [(f["payment"]["method"], Decimal(f["payment"]["amount"])) for f in shown["files"]] == [
        (s[4], Decimal(s[2])) for s in bprs]
    assert [f["payment"]["trace"] for f in shown["files"]] == [s[2] for s in raw if s[0] == "TRN"]
    assert all(f["balanced"] for f in shown["files"])


def test_the_dry_run_matches_claim_payments_to_the_demo_claims_and_names_the_rest(
    cli: Callable[..., Result], demo_ledger: Ledger
) -> None:
    claims = _dry_run(cli, FIRST_835)["files"][0]["claims"]
    assert claims[0]["matched"] == {"claim_id": "NORTHSIDE-2026-10-000101", "version": 1}
    assert claims[-1]["matched"] is None
    assert sum(c["matched"] is not None for c in claims) == 12
    assert demo_ledger.versions_of("NORTHSIDE-2026-10-000101")[-1].state == "accepted"
    assert unmatched_remits(demo_ledger) == []


def test_the_provider_level_adjustment_balances_the_payment() -> None:
    remittance = read_remittances(FIRST_835)[0]
    plb = {(p.reason, p.amount) for p in remittance.provider_adjustments}
    assert plb == {("L6", Decimal("-1.25")), ("WO", Decimal("20.00"))}
    assert remittance.payment.amount == sum(c.paid for c in remittance.claims) - Decimal("18.75")
    assert remittance.balanced


def _edited(tmp_path: Path, old: str, new: str, source: Path = FIRST_835) -> Path:
    text = source.read_text()
    assert old in text
    target = tmp_path / source.name
    target.write_text(text.replace(old, new, 1))
    return target


def test_an_edited_total_is_caught_and_not_recorded_unless_accepted(
    cli: Callable[..., Result], demo_ledger: Ledger, tmp_path: Path
) -> None:
    edited = _edited(tmp_path, "BPR*I*672.45*", "BPR*I*682.45*")
    assert _dry_run_exit(cli, edited) == 1
    refused = cli("remit", edited)
    assert refused.exit_code == 1
    assert "unbalanced" in refused.stderr and "682.45" in refused.stderr
    assert "672.45" in refused.stderr
    assert demo_ledger.versions_of("NORTHSIDE-2026-10-000101")[-1].state == "accepted"
    accepted = cli("remit", edited, "--accept-unbalanced")
    assert accepted.exit_code == 1  # the one claim payment no claim explains
    assert demo_ledger.versions_of("NORTHSIDE-2026-10-000101")[-1].state == "paid"


def _dry_run_exit(cli: Callable[..., Result], path: Path) -> int:
    result = cli("remit", path, "--dry-run", "--format", "json")
    assert json.loads(result.stdout)["files"][0]["balanced"] is False
    return result.exit_code


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("SE*131*0001~\n", "", "segment 133 (SE, loop ST_LOOP): a mandatory segment is missing: SE"),
        ("SE*131*0001", "SE*130*0001", "segment 133 (SE, loop ST_LOOP): SE01 does not match"),
        ("CLP*PB26E45CC2PXVN*1*64*", "CLP*PB26E45CC2PXVN*1*6A4*",
         "segment 32 (CLP, loop 2100): CLP03: the data element has an invalid character"),
        ("GS*HP*", "GS|HP|", "segment 2 (segment id not recognized, loop ISA_LOOP)"),
    ],
    ids=["missing SE", "wrong SE count", "letter in an amount", "wrong delimiters"],
)
def test_malformed_835_is_reported_with_segment_and_loop_and_records_nothing(
    cli: Callable[..., Result], demo_ledger: Ledger, tmp_path: Path, old: str, new: str, said: str
) -> None:
    bad = _edited(tmp_path, old, new)
    result = cli("remit", FIRST_835, bad)
    assert result.exit_code == 2
    assert said in result.stderr
    assert "Traceback" not in result.output and "OLLANDER" not in result.stderr
    assert demo_ledger.versions_of("NORTHSIDE-2026-10-000101")[-1].state == "accepted"
    assert unmatched_remits(demo_ledger) == []


def test_a_truncated_file_says_it_ends_early(tmp_path: Path) -> None:
    cut = tmp_path / "cut.x12"
    cut.write_text(FIRST_835.read_text()[:3000])
    with pytest.raises(X12FileError, match=r"IEA\) is missing: the file ends early"):
        read_x12(cut)


def test_a_file_that_is_not_x12_is_refused_in_words(tmp_path: Path) -> None:
    other = tmp_path / "claims.json"
    other.write_text('{"claims": []}')
    with pytest.raises(X12FileError, match="does not start with a complete ISA segment"):
        read_x12(other)


def test_several_interchanges_with_their_own_delimiters_and_crlf_are_read() -> None:
    transactions = read_x12(CORRECTION_835)
    assert [t.interchange for t in transactions] == ["000000102", "000000103"]
    assert CORRECTION_835.read_bytes().count(b"~\r\n") > 10
    assert CORRECTION_835.read_text()[3] == "|"


def _redelimited(element: str, component: str, terminator: str) -> str:
    """FIRST_835 written with other delimiters, as its ISA then declares them."""
    text = FIRST_835.read_text().replace("*^*00501*", "*!*00501*", 1)  # ISA11, repetition
    segments = [s for s in text.split("~\n") if s]
    swapped = [s.replace("*", element).replace(":", component) for s in segments]
    return terminator.join(swapped) + terminator


def _payments(path: Path) -> list[tuple[object, ...]]:
    return [(r.payment, r.claims, r.provider_adjustments) for r in read_remittances(path)]


@pytest.mark.parametrize(
    ("element", "component", "terminator"),
    [("|", ">", "~"), ("+", "<", "'\r\n"), ("^", "\\", "\n"), ("*", ":", "~\r")],
    ids=["pipe, one line", "plus, quote CR LF", "caret, newline as terminator", "tilde CR"],
)
def test_any_delimiters_and_line_ends_the_isa_declares_read_the_same(
    tmp_path: Path, element: str, component: str, terminator: str
) -> None:
    other = tmp_path / "other.x12"
    other.write_bytes(_redelimited(element, component, terminator).encode())
    text = other.read_text()
    assert text[3] == element and text[104] == component and text[105] == terminator[0]
    assert _payments(other) == _payments(FIRST_835)


def test_several_groups_and_transaction_sets_in_one_interchange_are_each_read(
    tmp_path: Path,
) -> None:
    lines = FIRST_835.read_text().split("~\n")
    isa, gs, body, iea = lines[0], lines[1], lines[2:-3], lines[-2]
    second = [s.replace("ACH2611200001", "ACH2611200002").replace("ST*835*0001", "ST*835*0002")
              .replace("SE*131*0001", "SE*131*0002") for s in body]
    third = [s.replace("ACH2611200001", "ACH2611200003") for s in body]
    groups = [gs, *body, *second, "GE*2*101", gs.replace("*101*", "*102*"), *third, "GE*1*102"]
    target = tmp_path / "groups.x12"
    target.write_text("~\n".join([isa, *groups, iea.replace("IEA*1*", "IEA*2*"), ""]))
    remittances = read_remittances(target)
    assert [r.payment.trace for r in remittances] == [
        "ACH2611200001", "ACH2611200002", "ACH2611200003"]
    assert [t.control for t in read_x12(target)] == ["0001", "0002", "0001"]
    assert all(r.claims == remittances[0].claims for r in remittances)


def test_a_truncated_remittance_exits_2_naming_segment_and_loop_and_records_nothing(
    cli: Callable[..., Result], demo_ledger: Ledger, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.x12"
    cut.write_text(FIRST_835.read_text()[:3000])
    result = cli("remit", FIRST_835, cut)
    assert result.exit_code == 2
    assert re.search(r"segment \d+ \(\w+, loop \w+\): the interchange trailer \(IEA\) is "
                     "missing", result.stderr)
    assert demo_ledger.versions_of("NORTHSIDE-2026-10-000101")[-1].state == "accepted"
    assert unmatched_remits(demo_ledger) == []


def test_claim_data_in_an_835_is_printed_as_text_never_as_terminal_markup(
    cli: Callable[..., Result], demo_ledger: Ledger, tmp_path: Path
) -> None:
    hostile = _edited(tmp_path, "CLP*NS0000000999*", "CLP*NS[bold]9[/bold]*")
    shown = cli("remit", hostile, "--dry-run")
    assert shown.exit_code == 0, shown.output
    assert "NS[bold]9[/bold]" in shown.stdout
    recorded = cli("remit", hostile)
    assert "patient control number NS[bold]9[/bold]:" in recorded.stderr
    assert "NS[bold]9[/bold]" in recorded.stdout
