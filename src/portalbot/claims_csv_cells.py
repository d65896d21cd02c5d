"""The CSV layout's columns (each with its path in the claim and its kind) and how a cell of
each kind is read. A cell that cannot be read raises CellError with advice, never with the
cell's value. The layout itself is described in ``portalbot.claims_csv``."""

from __future__ import annotations

import re
from typing import Any

LIST_SEPARATOR = "|"

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_US_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}$")
WHOLE_NUMBER = re.compile(r"^[+-]?\d+$")

# column -> (path in the claim, kind). Kinds: text, int, date, list, int_list, services, stays.
CLAIM_COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "claim_id": (("claim_id",), "text"),
    "version": (("version",), "int"),
    "frequency": (("frequency",), "text"),
    "replaces": (("replaces",), "text"),
    "payer_id": (("payer_id",), "text"),
    "service_month": (("service_month",), "text"),
    "patient_first_name": (("patient", "first_name"), "text"),
    "patient_last_name": (("patient", "last_name"), "text"),
    "patient_birth_date": (("patient", "birth_date"), "date"),
    "patient_sex": (("patient", "sex"), "text"),
    "patient_address_line1": (("patient", "address", "line1"), "text"),
    "patient_address_line2": (("patient", "address", "line2"), "text"),
    "patient_city": (("patient", "address", "city"), "text"),
    "patient_state": (("patient", "address", "state"), "text"),
    "patient_postal_code": (("patient", "address", "postal_code"), "text"),
    "subscriber_member_id": (("subscriber", "member_id"), "text"),
    "subscriber_group_number": (("subscriber", "group_number"), "text"),
    "subscriber_relationship": (("subscriber", "relationship"), "text"),
    "subscriber_first_name": (("subscriber", "first_name"), "text"),
    "subscriber_last_name": (("subscriber", "last_name"), "text"),
    "subscriber_birth_date": (("subscriber", "birth_date"), "date"),
    "billing_name": (("billing_provider", "name"), "text"),
    "billing_npi": (("billing_provider", "npi"), "text"),
    "billing_tax_id": (("billing_provider", "tax_id"), "text"),
    "billing_taxonomy": (("billing_provider", "taxonomy"), "text"),
    "billing_address_line1": (("billing_provider", "address", "line1"), "text"),
    "billing_address_line2": (("billing_provider", "address", "line2"), "text"),
    "billing_city": (("billing_provider", "address", "city"), "text"),
    "billing_state": (("billing_provider", "address", "state"), "text"),
    "billing_postal_code": (("billing_provider", "address", "postal_code"), "text"),
    "rendering_name": (("rendering_provider", "name"), "text"),
    "rendering_npi": (("rendering_provider", "npi"), "text"),
    "diagnoses": (("diagnoses",), "list"),
    "consent_obtained_on": (("consent", "obtained_on"), "date"),
    "consent_method": (("consent", "method"), "text"),
    "consent_document_ref": (("consent", "document_ref"), "text"),
    "consent_revoked_on": (("consent", "revoked_on"), "date"),
    "care_plan_document_ref": (("care_plan", "document_ref"), "text"),
    "care_plan_last_reviewed_on": (("care_plan", "last_reviewed_on"), "date"),
    "care_plan_shared_with_patient_on": (("care_plan", "shared_with_patient_on"), "date"),
    "care_plan_elements": (("care_plan", "elements"), "list"),
    "other_services": (("other_services",), "services"),
    "initiating_visit_date": (("initiating_visit", "date"), "date"),
    "initiating_visit_code": (("initiating_visit", "code"), "text"),
    "complexity_medical_decision_making": (("complexity", "medical_decision_making"), "text"),
    "complexity_care_plan_revised_on": (("complexity", "care_plan_revised_on"), "date"),
    "inpatient_stays": (("inpatient_stays",), "stays"),
}
LINE_COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "line_code": (("code",), "text"),
    "line_modifiers": (("modifiers",), "list"),
    "line_units": (("units",), "int"),
    "line_charge": (("charge",), "text"),
    "line_date_of_service": (("date_of_service",), "date"),
    "line_place_of_service": (("place_of_service",), "text"),
    "line_diagnosis_pointers": (("diagnosis_pointers",), "int_list"),
}
TIME_COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "claim_id": (("claim_id",), "text"),
    "version": (("version",), "int"),
    "date": (("date",), "date"),
    "minutes": (("minutes",), "int"),
    "performer_role": (("performer_role",), "text"),
    "performer": (("performer",), "text"),
    "activity": (("activity",), "text"),
    "face_to_face": (("face_to_face",), "bool"),
}
REQUIRED_CLAIM_COLUMNS = ("claim_id", "version", "payer_id", "service_month", "diagnoses",
                          *(c for c in LINE_COLUMNS if c != "line_modifiers"))
GROUPS_WITH_LISTS = {("care_plan",): "elements"}
PATH_TO_COLUMN = {path: name for name, (path, _) in CLAIM_COLUMNS.items()}


class CellError(ValueError):
    """A cell that cannot be read; the message is advice, never the cell's value."""


# --- cells ------------------------------------------------------------------------------

def _date(text: str) -> str:
    if _ISO_DATE.match(text):
        return text
    if _US_DATE.match(text):
        raise CellError("dates must be YYYY-MM-DD; this looks like MM/DD/YYYY (give "
                        "2026-10-31, not 10/31/2026)")
    raise CellError("dates must be YYYY-MM-DD, such as 2026-10-31")


def _int(text: str) -> int:
    if not WHOLE_NUMBER.match(text):
        raise CellError("give a whole number, such as 1")
    return int(text)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()]


def _services(text: str) -> list[dict[str, str]]:
    services = []
    for part in _split(text):
        code, sep, when = (p.strip() for p in part.partition("@"))
        if not sep or not code or not when:
            raise CellError("give other services as CODE@YYYY-MM-DD separated by |, such as "
                            "99214@2026-10-12")
        services.append({"code": code, "date": _date(when)})
    return services


def _stays(text: str) -> list[dict[str, str]]:
    stays = []
    for part in _split(text):
        admitted, sep, discharged = (p.strip() for p in part.partition("/"))
        if not sep or not admitted or not discharged:
            raise CellError("give inpatient stays as ADMITTED/DISCHARGED dates separated by |, "
                            "such as 2026-10-05/2026-10-09")
        stays.append({"admitted_on": _date(admitted), "discharged_on": _date(discharged)})
    return stays


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise CellError("give true or false")


CONVERT = {
    "text": lambda text: text,
    "int": _int,
    "date": _date,
    "list": _split,
    "int_list": lambda text: [_int(p) for p in _split(text)],
    "services": _services,
    "stays": _stays,
    "bool": _bool,
}


def put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
