"""837P (005010X222A1/A2) professional claims -> portalbot claims, with CCM evidence beside.

pyx12 places each segment in its loop; this module maps the loops to portalbot's claim
format: billing provider (2000A/2010AA), subscriber and payer (2000B/2010BA/2010BB),
patient when not the subscriber (2000C/2010CA), the claim (2300: CLM, REF*F8, HI), the
rendering provider (2310B) and the service lines (2400: SV1, DTP*472).

A practice-management system's 837P carries no CCM evidence (consent, care plan, minutes),
so it comes from a companion file (JSON or CSV, ``companion.py``) keyed by patient control
number (CLM01); a claim without an entry there is loaded as it is and the CCM rules hold
it, naming what is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from portalbot.claims import ClaimFileError, ClaimProblem, LoadedClaim
from portalbot.x12.companion import load_evidence
from portalbot.x12.reader import Segment, X12FileError, read_x12

FREQUENCIES = {"1": "original", "7": "replacement", "8": "void"}
RELATIONSHIPS = {"01": "spouse", "19": "child"}


@dataclass
class _Context:
    billing: dict[str, Segment] = field(default_factory=dict)
    subscriber: dict[str, Segment] = field(default_factory=dict)
    patient: dict[str, Segment] | None = None


@dataclass
class _ClaimLoops:
    context: _Context
    claim: list[Segment] = field(default_factory=list)
    lines: list[list[Segment]] = field(default_factory=list)


def _keyed(segment: Segment) -> str:
    """NM1*85 -> "NM1*85"; N3 -> "N3": the qualifier tells the NM1s of a loop apart."""
    if segment.id in {"NM1", "REF", "PRV", "DTP"}:
        return f"{segment.id}*{segment.value(segment.id + '01')}"
    return segment.id


def _claim_loops(segments: tuple[Segment, ...]) -> Iterator[_ClaimLoops]:
    context = _Context()
    current: _ClaimLoops | None = None
    for segment in segments:
        loop = segment.loop
        if loop in {"2000A", "2010AA", "2010AB", "2010AC"}:
            if segment.id == "HL":
                context = _Context()
            context.billing.setdefault(_keyed(segment), segment)
        elif loop in {"2000B", "2010BA", "2010BB"}:
            if segment.id == "HL":
                context = _Context(billing=context.billing)
            context.subscriber.setdefault(_keyed(segment), segment)
        elif loop in {"2000C", "2010CA"}:
            if segment.id == "HL":
                context = _Context(billing=context.billing, subscriber=context.subscriber,
                                   patient={})
            assert context.patient is not None
            context.patient.setdefault(_keyed(segment), segment)
        elif segment.id == "CLM":
            if current is not None:
                yield current
            current = _ClaimLoops(context, [segment])
        elif current is not None and loop == "2400" and segment.id == "LX":
            current.lines.append([segment])
        elif current is not None and loop.startswith("24") and current.lines:
            current.lines[-1].append(segment)
        elif current is not None and loop.startswith("23"):
            current.claim.append(segment)
    if current is not None:
        yield current


def _address(found: dict[str, Segment]) -> dict[str, str]:
    n3, n4 = found.get("N3"), found.get("N4")
    return {
        "line1": n3.value("N301") if n3 else "",
        "city": n4.value("N401") if n4 else "",
        "state": n4.value("N402") if n4 else "",
        "postal_code": n4.value("N403") if n4 else "",
    }


def _iso(d8: str) -> str:
    return f"{d8[:4]}-{d8[4:6]}-{d8[6:8]}" if len(d8) >= 8 else d8


def _person(found: dict[str, Segment], nm1: str) -> dict[str, Any]:
    name, dmg = found.get(nm1), found.get("DMG")
    return {
        "first_name": name.value("NM104") if name else "",
        "last_name": name.value("NM103") if name else "",
        "birth_date": _iso(dmg.value("DMG02")) if dmg else "",
        "sex": dmg.value("DMG03") if dmg else "U",
    }


def _tax_id(value: str) -> str:
    return f"{value[:2]}-{value[2:]}" if len(value) == 9 and value.isdigit() else value


def _diagnosis(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 and "." not in code else code


def _billing(found: dict[str, Segment]) -> dict[str, Any]:
    name, prv = found.get("NM1*85"), found.get("PRV*BI")
    return {
        "name": name.value("NM103") if name else "",
        "npi": name.value("NM109") if name else "",
        "tax_id": _tax_id(found["REF*EI"].value("REF02")) if "REF*EI" in found else "",
        "taxonomy": prv.value("PRV03") if prv else None,
        "address": _address(found),
    }


def _rendering(claim: list[Segment], billing: dict[str, Any]) -> dict[str, Any]:
    nm1 = next((s for s in claim if s.loop == "2310B" and s.id == "NM1"), None)
    if nm1 is None:  # the billing provider rendered the service
        return {"name": billing["name"], "npi": billing["npi"]}
    parts = [nm1.value("NM104"), nm1.value("NM105"), nm1.value("NM103"), nm1.value("NM107")]
    return {"name": " ".join(p for p in parts if p), "npi": nm1.value("NM109")}


def _diagnoses(claim: list[Segment]) -> list[str]:
    codes = []
    for segment in claim:
        if segment.id != "HI" or segment.loop != "2300":
            continue
        for n in range(1, 13):
            qualifier = segment.value(f"HI{n:02d}-1")
            if qualifier in {"ABK", "ABF", "BK", "BF"}:
                codes.append(_diagnosis(segment.value(f"HI{n:02d}-2")))
    return codes


def _line(segments: list[Segment], place: str) -> dict[str, Any]:
    sv1 = next(s for s in segments if s.id == "SV1")
    dtp = next((s for s in segments if s.id == "DTP" and s.value("DTP01") == "472"), None)
    served = dtp.value("DTP03").split("-")[0] if dtp else ""
    units = sv1.value("SV104") or "1"
    return {
        "code": sv1.value("SV101-2"),
        "modifiers": [m for m in (sv1.value(f"SV101-{n}") for n in range(3, 7)) if m],
        "units": int(float(units)) if units.replace(".", "", 1).isdigit() else units,
        "charge": _money(sv1.value("SV102")),
        "date_of_service": _iso(served),
        "place_of_service": sv1.value("SV105") or place,
        "diagnosis_pointers": [int(p) for p in (sv1.value(f"SV107-{n}") for n in range(1, 5))
                               if p.isdigit()],
    }


def _money(value: str) -> str:
    """"64" -> "64.00", as portalbot's claims write money; anything else is left for the
    claim format to refuse with its own message."""
    try:
        return f"{Decimal(value):.2f}"
    except InvalidOperation:
        return value


def _payer_id(subscriber: dict[str, Segment]) -> str:
    """The portalbot payer the claim is for: the adapter whose id or name the 837P gives."""
    from portalbot.adapters import discover_adapters

    payer = subscriber.get("NM1*PR")
    name = payer.value("NM103") if payer else ""
    code = payer.value("NM109") if payer else ""
    adapters = discover_adapters()
    for payer_id, adapter in adapters.items():
        if code.lower() == payer_id or name.casefold() == adapter.display_name.casefold():
            return payer_id
    return code.lower() or name.lower() or "unknown"


# What every portal form portalbot fills says of the claim (boxes 13, 27, 31 of the CMS-1500):
# benefits assigned, assignment accepted, the provider's signature on file. An 837P claim
# that says otherwise cannot be sent as it is.
CLM_PROMISES = (
    ("CLM06", {"Y"}, "the provider's signature must be on file (Y)"),
    ("CLM07", {"A"}, "assignment must be accepted (A)"),
    ("CLM08", {"Y", "W"}, "benefits must be assigned to the provider (Y, or W)"),
)


def clm_problems(loops: _ClaimLoops) -> list[tuple[str, str]]:
    """(element, message) for a CLM portalbot cannot file as it is; never the values."""
    clm = loops.claim[0]
    found = []
    for element, allowed, rule in CLM_PROMISES:
        if clm.value(element) not in allowed:
            found.append((element, f"{rule} to be filed: portalbot's portal forms confirm it "
                          "for every claim; correct the claim in the practice-management system "
                          "or file it by hand"))
    lines = [s for line in loops.lines for s in line if s.id == "SV1"]
    try:
        total = Decimal(clm.value("CLM02"))
        charges = sum((Decimal(s.value("SV102")) for s in lines), Decimal(0))
    except InvalidOperation:
        return found  # pyx12 has reported the amount that is not one
    if total != charges:
        found.append(("CLM02", "the claim's total charge differs from the sum of its service "
                      "lines' charges (SV102); correct the claim in the practice-management "
                      "system"))
    return found


def to_raw_claim(loops: _ClaimLoops) -> dict[str, Any]:
    """The claim in portalbot's JSON format, without evidence."""
    clm = loops.claim[0]
    context = loops.context
    subscriber_found = context.subscriber
    sbr = subscriber_found.get("SBR")
    patient_found = context.patient
    billing = _billing(context.billing)
    place = clm.value("CLM05-1")
    lines = [_line(line, place) for line in loops.lines]
    f8 = next((s for s in loops.claim if s.id == "REF" and s.value("REF01") == "F8"), None)
    if patient_found is None:
        patient = {**_person(subscriber_found, "NM1*IL"), "address": _address(subscriber_found)}
        subscriber: dict[str, Any] = {"relationship": "self"}
    else:
        patient = {**_person(patient_found, "NM1*QC"), "address": _address(patient_found)}
        insured = _person(subscriber_found, "NM1*IL")
        pat = patient_found.get("PAT")
        subscriber = {
            "relationship": RELATIONSHIPS.get(pat.value("PAT01") if pat else "", "other"),
            "first_name": insured["first_name"], "last_name": insured["last_name"],
            "birth_date": insured["birth_date"] or None,
        }
    member = subscriber_found.get("NM1*IL")
    subscriber["member_id"] = member.value("NM109") if member else ""
    subscriber["group_number"] = (sbr.value("SBR03") if sbr else "") or None
    frequency = FREQUENCIES.get(clm.value("CLM05-3"), clm.value("CLM05-3"))
    dates = sorted(line["date_of_service"] for line in lines if line["date_of_service"])
    return {
        "claim_id": clm.value("CLM01"),
        "version": 1 if frequency == "original" else 2,
        "frequency": frequency,
        "replaces": f8.value("REF02") if f8 else None,
        "payer_id": _payer_id(subscriber_found),
        "service_month": dates[0][:7] if dates else "",
        "patient": patient,
        "subscriber": subscriber,
        "billing_provider": billing,
        "rendering_provider": _rendering(loops.claim, billing),
        "diagnoses": _diagnoses(loops.claim),
        "service_lines": lines,
    }


def read_837p(path: Path, evidence_path: Path | None = None
              ) -> Iterator[tuple[LoadedClaim | ClaimProblem, bool]]:
    """Each claim of the file (validated as portalbot's format) and whether it had evidence;
    then what the evidence file holds for no claim of this file."""
    from portalbot.claim_problems import validate_record

    evidence = load_evidence(evidence_path)
    try:
        transactions = read_x12(path, expect=frozenset({"837"}))
    except X12FileError as exc:
        raise ClaimFileError(str(exc)) from None
    number = 0
    seen: set[str] = set()
    for transaction in transactions:
        for loops in _claim_loops(transaction.segments):
            number += 1
            raw = to_raw_claim(loops)
            pcn = raw["claim_id"]
            seen.add(pcn)
            if pcn in evidence.problems:
                for problem in evidence.problems[pcn]:
                    yield problem, True
                continue
            entry = evidence.entries.get(pcn, {})
            raw.update(entry)
            location = f"claim #{number} (CLM at segment {loops.claim[0].ordinal})"
            refused = clm_problems(loops)
            for element, message in refused:
                yield ClaimProblem(path.name, f"{location}, {element}", pcn, element, message), True
            if refused:
                continue
            for item in validate_record(raw, path.name, location):
                if isinstance(item, ClaimProblem):
                    item = evidence.relocate(pcn, item)
                yield item, bool(entry)
    for problem in evidence.leftovers(seen):
        yield problem, True
