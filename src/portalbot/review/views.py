"""What a person needs to see of a claim, read defensively from the ledger's stored payload.

The payload is the claim as it was loaded; a field missing from an old or odd payload shows
as blank rather than breaking the page or the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True)
class Line:
    code: str
    modifiers: str
    units: str
    charge: str
    date_of_service: str


@dataclass(frozen=True)
class ClaimSummary:
    patient: str
    birth_date: str
    member_id: str
    service_month: str
    diagnoses: list[str]
    lines: list[Line]
    total_charge: str
    billing_npi: str
    rendering_provider: str

    @property
    def codes(self) -> str:
        return " ".join(line.code for line in self.lines)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def summarize(payload: dict[str, Any]) -> ClaimSummary:
    patient = _dict(payload.get("patient"))
    subscriber = _dict(payload.get("subscriber"))
    lines: list[Line] = []
    total = Decimal("0")
    for raw in payload.get("service_lines") or []:
        line = _dict(raw)
        charge = _money(line.get("charge"))
        units = line.get("units") or 1
        if charge is not None:
            total += charge
        lines.append(Line(
            code=_text(line.get("code")),
            modifiers=" ".join(_text(m) for m in line.get("modifiers") or []),
            units=_text(units),
            charge=f"{charge:.2f}" if charge is not None else _text(line.get("charge")),
            date_of_service=_text(line.get("date_of_service")),
        ))
    name = " ".join(
        part for part in (_text(patient.get("first_name")), _text(patient.get("last_name"))) if part
    )
    return ClaimSummary(
        patient=name,
        birth_date=_text(patient.get("birth_date")),
        member_id=_text(subscriber.get("member_id")),
        service_month=_text(payload.get("service_month")),
        diagnoses=[_text(d) for d in payload.get("diagnoses") or []],
        lines=lines,
        total_charge=f"{total:.2f}",
        billing_npi=_text(_dict(payload.get("billing_provider")).get("npi")),
        rendering_provider=_text(_dict(payload.get("rendering_provider")).get("name")),
    )
