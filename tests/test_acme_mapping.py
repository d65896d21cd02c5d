"""Acme's to_form: the claim in Acme's own formats, without a browser."""

from __future__ import annotations

import pytest

from payers.acme import AcmeAdapter
from portalbot.adapters import Filing
from portalbot.claims import Claim, ClaimBatchFile
from portalbot.errors import ClaimError


def _claim(batch: ClaimBatchFile, claim_id: str) -> Claim:
    return next(c.claim for c in batch.claims if c.claim.claim_id == claim_id)


def test_dates_tax_id_and_pointers_take_acmes_formats(demo_batch: ClaimBatchFile) -> None:
    claim = _claim(demo_batch, "NORTHSIDE-2026-10-000102")
    form = AcmeAdapter().to_form(claim, Filing("PBKEY000000001"))

    assert form.patient_birth_date == claim.patient.birth_date.strftime("%m/%d/%Y")
    assert form.tax_id == "123456789"
    assert form.patient_account_number == "PBKEY000000001"
    assert form.claim_frequency == "1"
    assert [line.pointers for line in form.lines] == [
        "".join("ABCDEFGHIJKL"[p - 1] for p in line.diagnosis_pointers)
        for line in claim.service_lines
    ]
    assert form.lines[0].charge == "64.00"


def test_a_replacement_names_the_original_claim_number(demo_batch: ClaimBatchFile) -> None:
    claim = _claim(demo_batch, "NORTHSIDE-2026-10-000101")
    form = AcmeAdapter().to_form(claim, Filing("PBKEY", "replacement", "ACM-261101-000009"))
    assert (form.claim_frequency, form.original_claim_number) == ("7", "ACM-261101-000009")


def test_a_member_id_acme_cannot_hold_names_the_field_and_the_fix(
    demo_batch: ClaimBatchFile,
) -> None:
    claim = _claim(demo_batch, "NORTHSIDE-2026-10-000101")
    odd = claim.model_copy(
        update={"subscriber": claim.subscriber.model_copy(update={"member_id": "XYZ12"})}
    )
    with pytest.raises(ClaimError) as caught:
        AcmeAdapter().to_form(odd, Filing("PBKEY"))
    message = str(caught.value)
    assert "NORTHSIDE-2026-10-000101" in message and "subscriber.member_id" in message
    assert "XYZ12" not in message


def test_more_lines_than_the_form_has_is_a_claim_error(demo_batch: ClaimBatchFile) -> None:
    claim = _claim(demo_batch, "NORTHSIDE-2026-10-000101")
    many = claim.model_copy(update={"service_lines": claim.service_lines * 7})
    with pytest.raises(ClaimError, match="at most 6 lines"):
        AcmeAdapter().to_form(many, Filing("PBKEY"))
