"""Toy Health: a payer added with one file and recorded pages, no mock portal.

A one-page labelled claim form behind a password; the answer is a result page (accepted,
with a confirmation number) or an alert on the form (rejected, with a reason code). It
has a test mode, so its recordings go through submission and its cases are replayed from
them (``tests/e2e/test_recorded_payer.py``). It lives in the tests, not in ``payers/``:
the registry must not find it.
"""

from __future__ import annotations

from typing import ClassVar

from portalbot import portal as pb
from portalbot.portal import Box, Each, Read, When

DEMO = "fixtures/claims/demo.json"


class ToyAdapter(pb.LabelledFormAdapter):
    payer_id = "toyhealth"
    display_name = "Toy Health"
    default_base_url = "http://toy.invalid"
    cases: ClassVar[tuple[pb.Case, ...]] = (
        pb.Case(DEMO, "NORTHSIDE-2026-10-000101", "accepted"),
        pb.Case(DEMO, "NORTHSIDE-2026-10-000114", "rejected", reason_code="R7"),
    )
    test_mode = True
    sign_in = pb.SignIn("/login", "Sign in", pb.Place(role="button", name="Sign out"))
    claim_form = pb.ClaimForm("/claims/new", pb.heading("New claim"), "Submit claim")
    fields = (
        Box("member_id", "Member ID", "subscriber.member_id"),
        Box("last_name", "Patient last name", "patient.last_name"),
        Box("birth_date", "Date of birth", "patient.birth_date", pb.mdy),
        pb.key("account", "Patient account number"),
        Each("diagnoses", "diagnoses", (Box("", "Diagnosis {letter}", "."),), most=4),
        Each("lines", "service_lines", (
            Box("code", "Line {n} procedure", "code"),
            Box("charge", "Line {n} charge", "charge", pb.money),
        ), most=1, least=1),
    )
    outcomes = (
        pb.OnAccepted(When(pb.heading(), is_="Claim accepted"),
                      Read(pb.term("Confirmation number"), r"^TOY-\d{8}$")),
        pb.OnRejected(When(pb.alert(), matches=r"Rejected \((?P<code>R\d+)\): (?P<text>.+)"),
                      message="text", reason_code="code"),
    )
