"""The CSV claim layout: samples load, quirks are handled, errors name row and column."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from portalbot.claims import ClaimFileError, ClaimProblem, LoadedClaim, read_claims
from portalbot.claims_csv import read_csv_claims, time_file_for

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "claims" / "csv"
PHI = ("Marguerite", "Ollander", "1948-03-14", "ACM100000001")


def load(path: Path) -> tuple[list[LoadedClaim], list[ClaimProblem]]:
    items = list(read_csv_claims(path))
    return ([i for i in items if isinstance(i, LoadedClaim)],
            [i for i in items if isinstance(i, ClaimProblem)])


def copy_sample(tmp_path: Path, name: str = "good") -> Path:
    for suffix in (".csv", ".time.csv"):
        shutil.copy(SAMPLES / f"{name}{suffix}", tmp_path / f"batch{suffix}")
    return tmp_path / "batch.csv"


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_good_sample_loads_two_claims_with_lines_and_time() -> None:
    claims, problems = load(SAMPLES / "good.csv")
    assert problems == []
    first, second = (c.claim for c in claims)
    assert [c.location for c in claims] == ["row 2", "row 4"]
    assert [s.code for s in first.service_lines] == ["99490", "99439"]
    assert first.diagnoses == ["E11.9", "I10", "N18.30"]
    assert first.service_lines[0].diagnosis_pointers == [1, 2, 3]
    assert [t.minutes for t in first.time_entries] == [14, 27]
    assert first.other_services[0].code == "99214"
    assert first.care_plan is not None and len(first.care_plan.elements) == 9
    assert first.complexity is None and first.consent is not None
    assert second.time_entries[0].performer_role == "physician"


def test_read_claims_dispatches_csv() -> None:
    items = list(read_claims(SAMPLES / "good.csv"))
    assert all(isinstance(i, LoadedClaim) for i in items) and len(items) == 2


@pytest.mark.parametrize("sample", ["bom", "semicolon"])
def test_quirky_samples_load_like_the_good_one(sample: str) -> None:
    good, _ = load(SAMPLES / "good.csv")
    claims, problems = load(SAMPLES / f"{sample}.csv")
    assert problems == []
    assert [c.claim for c in claims] == [c.claim for c in good]


def test_bom_sample_really_has_a_bom() -> None:
    assert (SAMPLES / "bom.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_semicolon_sample_has_padded_cells() -> None:
    assert "99490  ;" in (SAMPLES / "semicolon.csv").read_text()


def test_us_date_is_refused_with_row_and_column() -> None:
    claims, problems = load(SAMPLES / "bad_date.csv")
    assert [c.claim.claim_id for c in claims] == ["CSV-2026-10-0001"]
    [problem] = problems
    assert problem.source == "bad_date.csv"
    assert problem.location == "row 4, column line_date_of_service"
    assert problem.claim_id == "CSV-2026-10-0002"
    assert problem.field == "service_lines[0].date_of_service"
    assert "dates must be YYYY-MM-DD; this looks like MM/DD/YYYY" in problem.message
    assert "10/20/2026" not in str(problem)


def test_us_date_in_time_file_names_that_file(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    edit(time_file_for(path), "2026-10-17", "10/17/2026")
    claims, problems = load(path)
    [problem] = problems
    assert (problem.source, problem.location) == ("batch.time.csv", "row 3, column date")
    assert "MM/DD/YYYY" in problem.message
    assert [c.claim.claim_id for c in claims] == ["CSV-2026-10-0002"]


def test_model_errors_name_row_and_column(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    edit(path, ",11,1|2,", ",011,1|2,")  # second line's place of service
    _, problems = load(path)
    [problem] = problems
    assert problem.location == "row 3, column line_place_of_service"
    assert problem.field == "service_lines[1].place_of_service"
    assert "2-digit" in problem.message


def test_claim_columns_must_agree_across_lines(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace("E11.9|I10|N18.30", "E11.9|I10")
    path.write_text("\n".join(lines) + "\n")
    claims, problems = load(path)
    [problem] = problems
    assert problem.location == "row 3, column diagnoses"
    assert "row 2" in problem.message
    assert len(claims) == 1


def test_rows_of_a_claim_must_be_adjacent(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    lines = path.read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    path.write_text("\n".join(lines) + "\n")
    _, problems = load(path)
    assert [p.location for p in problems] == ["row 4, column claim_id"]
    assert "adjacent" in problems[0].message


def test_unknown_column_refuses_the_file_at_once(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    edit(path, "claim_id,", "claim_id,notes,")
    with pytest.raises(ClaimFileError, match="column 2: not a known column;"):
        read_csv_claims(path)


def test_misspelt_column_gets_a_suggestion(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    edit(path, "line_units,", "line_unit,")
    with pytest.raises(ClaimFileError, match=r"did you mean line_units\?"):
        read_csv_claims(path)


def test_file_without_header_does_not_echo_the_first_row(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(ClaimFileError) as caught:
        read_csv_claims(path)
    assert "header" in str(caught.value)
    assert not any(value in str(caught.value) for value in PHI)


def test_missing_required_column(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("claim_id,version\nA,1\n")
    with pytest.raises(ClaimFileError, match="required column"):
        read_csv_claims(path)


def test_missing_required_value_names_its_column(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    edit(path, "Theodora", "")
    _, problems = load(path)
    [problem] = problems
    assert problem.location == "row 4, column patient_first_name"
    assert problem.field == "patient.first_name"


def test_time_entries_for_an_unknown_claim(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    with time_file_for(path).open("a") as handle:
        handle.write("NOPE-1,1,2026-10-05,10,clinical_staff,RN X,call,false\n")
    claims, problems = load(path)
    assert len(claims) == 2
    [problem] = problems
    assert problem.source == "batch.time.csv" and problem.location == "row 6, column claim_id"


def test_without_time_file_claims_have_no_time(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    time_file_for(path).unlink()
    claims, problems = load(path)
    assert problems == [] and all(c.claim.time_entries == [] for c in claims)


def test_bad_boolean_and_number(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    edit(time_file_for(path), ",false", ",no")
    edit(path, ",99490,,1,", ",99490,,one,")
    _, problems = load(path)
    assert {(p.source, p.location) for p in problems} == {
        ("batch.csv", "row 2, column line_units"), ("batch.time.csv", "row 2, column face_to_face")}


def test_problems_never_echo_phi(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    edit(path, "1948-03-14", "03/14/1948", count=2)
    _, problems = load(path)
    assert problems
    assert not any(value in str(p) for p in problems for value in PHI)


def test_complexity_and_inpatient_stays_columns(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    text = path.read_text()
    text = text.replace(",99214,,,\n", ",99214,high,2026-10-06,2026-10-20/2026-10-22\n", 2)
    path.write_text(text)
    claims, problems = load(path)
    assert problems == []
    claim = claims[0].claim
    assert claim.complexity is not None
    assert claim.complexity.medical_decision_making == "high"
    assert [(s.admitted_on.day, s.discharged_on.day) for s in claim.inpatient_stays] == [(20, 22)]
    assert claims[1].claim.complexity is None


def test_malformed_list_cell(tmp_path: Path) -> None:
    path = copy_sample(tmp_path)
    edit(path, "99214@2026-10-12", "99214 on 2026-10-12", count=2)
    _, problems = load(path)
    [problem] = problems
    assert problem.location == "row 2, column other_services"
    assert "CODE@YYYY-MM-DD" in problem.message
