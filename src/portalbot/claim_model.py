"""The CCM claim interchange model: one patient, one payer, one month of CCM, with the
evidence to bill it. The models are the source of truth for docs/claim-format.md; loading
checks shape and format only, billing rules (NPI check digits, thresholds, exclusions)
live in ``rules``."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any, Literal

from pydantic import Field, model_validator

from portalbot.claim_fields import (
    CarePlanElement,
    ClaimId,
    IsoDate,
    Modifier,
    Money,
    Npi,
    PlaceOfService,
    PostalCode,
    ProcedureCode,
    ServiceMonth,
    StateCode,
    StrictModel,
    Text,
    field_error,
)


class Address(StrictModel):
    line1: Text
    line2: Text | None = None
    city: Text
    state: StateCode
    postal_code: PostalCode


class Patient(StrictModel):
    first_name: Text
    last_name: Text
    birth_date: IsoDate
    sex: Literal["F", "M", "U"]
    address: Address


class Subscriber(StrictModel):
    member_id: Text
    group_number: Text | None = None
    relationship: Literal["self", "spouse", "child", "other"]
    first_name: Text | None = None
    last_name: Text | None = None
    birth_date: IsoDate | None = None

    @model_validator(mode="after")
    def _insured_named_unless_self(self) -> Subscriber:
        """The payer matches coverage on the insured; when that is not the patient we need them."""
        if self.relationship != "self":
            for name in ("first_name", "last_name", "birth_date"):
                if getattr(self, name) is None:
                    raise field_error(
                        name, "required when relationship is not \"self\": give the insured "
                        "person's first_name, last_name and birth_date"
                    )
        return self


class BillingProvider(StrictModel):
    name: Text
    npi: Npi
    tax_id: Text
    taxonomy: Text | None = None
    address: Address


class RenderingProvider(StrictModel):
    name: Text
    npi: Npi


class ServiceLine(StrictModel):
    code: ProcedureCode
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    units: int
    charge: Money
    date_of_service: IsoDate
    place_of_service: PlaceOfService
    diagnosis_pointers: list[int] = Field(min_length=1)


class Consent(StrictModel):
    obtained_on: IsoDate
    method: Literal["verbal", "written"]
    document_ref: Text
    revoked_on: IsoDate | None = None


class CarePlan(StrictModel):
    document_ref: Text
    last_reviewed_on: IsoDate | None = None
    shared_with_patient_on: IsoDate | None = None
    elements: list[CarePlanElement]


class TimeEntry(StrictModel):
    date: IsoDate
    minutes: int = Field(ge=1, le=1440)
    performer_role: Literal["clinical_staff", "physician", "qhp"]
    performer: Text
    activity: Text
    face_to_face: bool


class OtherService(StrictModel):
    code: ProcedureCode
    date: IsoDate


class InitiatingVisit(StrictModel):
    date: IsoDate
    code: ProcedureCode


class Complexity(StrictModel):
    medical_decision_making: Literal["straightforward", "low", "moderate", "high"]
    care_plan_revised_on: IsoDate


class InpatientStay(StrictModel):
    admitted_on: IsoDate
    discharged_on: IsoDate

    @model_validator(mode="after")
    def _discharge_after_admission(self) -> InpatientStay:
        if self.discharged_on < self.admitted_on:
            raise field_error("discharged_on", "must be on or after admitted_on")
        return self


class Claim(StrictModel):
    """One patient, one payer, one calendar month of CCM, with the evidence to bill it."""

    claim_id: ClaimId
    version: int = Field(ge=1)
    frequency: Literal["original", "replacement", "void"] = "original"
    replaces: Text | None = None
    payer_id: Text
    service_month: ServiceMonth
    patient: Patient
    subscriber: Subscriber
    billing_provider: BillingProvider
    rendering_provider: RenderingProvider
    diagnoses: list[Text] = Field(min_length=1)
    service_lines: list[ServiceLine] = Field(min_length=1)
    consent: Consent | None = None
    care_plan: CarePlan | None = None
    time_entries: list[TimeEntry] = Field(default_factory=list)
    other_services: list[OtherService] = Field(default_factory=list)
    initiating_visit: InitiatingVisit | None = None
    complexity: Complexity | None = None
    inpatient_stays: list[InpatientStay] = Field(default_factory=list)

    @property
    def key(self) -> tuple[str, int]:
        """The idempotency key: the same (claim_id, version) is never submitted twice."""
        return (self.claim_id, self.version)

    @property
    def patient_month(self) -> tuple[str, str, str]:
        """(payer_id, member_id, service_month): only one CCM claim is paid per patient-month."""
        return (self.payer_id, self.subscriber.member_id, self.service_month)

    @property
    def month_start(self) -> date:
        year, month = map(int, self.service_month.split("-"))
        return date(year, month, 1)

    @property
    def month_end(self) -> date:
        year, month = map(int, self.service_month.split("-"))
        return date(year, month, calendar.monthrange(year, month)[1])


def claim_json_schema() -> dict[str, Any]:
    return Claim.model_json_schema()
