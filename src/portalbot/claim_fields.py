"""The field types of the claim format: ISO dates, decimal money, text without control
characters and the code patterns, strict models (nothing coerced, nothing unknown).

Pydantic's own coercions are refused on purpose: a claim that loads "more or less" is a
claim billed wrong.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from portalbot.text import control_characters

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONEY_RE = re.compile(r"^-?\d{1,9}(\.\d{1,2})?$")
_MONEY_HINT = 'give money as a decimal string such as "62.00"'


def _parse_date(value: Any) -> date:
    """Accept ISO dates only: "03/04/2026" is ambiguous, and silent guessing bills wrong.

    Pydantic's own date type would also take "1654646400" as a Unix time, so dates are
    parsed here; this runs for every date of every claim, hence no regex on the happy path
    (with dashes at 4 and 7, `fromisoformat` takes nothing but YYYY-MM-DD).
    """
    if type(value) is str and len(value) == 10 and value[4] == value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            if _DATE_RE.match(value):
                raise ValueError("not a real calendar date; give an ISO YYYY-MM-DD date") from None
    elif type(value) is date:
        return value
    raise ValueError("give dates as ISO YYYY-MM-DD, such as \"2026-10-31\"")


def _parse_money(value: Any) -> Any:
    """Floats lose cents (0.1 + 0.2), so money travels as a decimal string."""
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not _MONEY_RE.match(value):
        raise ValueError(_MONEY_HINT)
    return Decimal(value)


def _refuse_controls(value: Any) -> Any:
    """No text field of a claim holds NUL, a line break, ESC or another C0 control: storage
    cannot keep NUL (PostgreSQL), and the others only ever arrive to forge what is shown.
    This runs for every text field of every claim: printable text (the usual case, and
    never a control) is told apart at C speed."""
    if type(value) is str and value.isprintable():
        return value
    if isinstance(value, str) and control_characters(value):
        raise ValueError(_CONTROL_HINT)
    return value


_CONTROL_HINT = ("must not contain control characters (NUL, tab, line break, ESC, …); "
                 "remove them in the system that exported the claim")
NoControls = BeforeValidator(_refuse_controls)

IsoDate = Annotated[date, BeforeValidator(_parse_date)]
Money = Annotated[
    Decimal,
    BeforeValidator(_parse_money),
    WithJsonSchema({"type": "string", "pattern": _MONEY_RE.pattern, "examples": ["62.00"]}),
]
# NoControls after the constraints wraps them, so it runs first (a line break in a claim_id
# is named as such, not as a pattern mismatch) and the length messages stay pydantic's own.
Text = Annotated[str, StringConstraints(min_length=1, max_length=200), NoControls]
Npi = Annotated[str, StringConstraints(pattern=r"^\d{10}$")]
ServiceMonth = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
ProcedureCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{5}$")]
Modifier = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")]
StateCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
PostalCode = Annotated[str, StringConstraints(pattern=r"^\d{5}(-?\d{4})?$")]
PlaceOfService = Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
ClaimId = Annotated[str, StringConstraints(pattern=r"^\S(.*\S)?$", max_length=64), NoControls]

CarePlanElement = Literal[
    "problem_list", "expected_outcomes", "measurable_goals", "symptom_management",
    "planned_interventions", "medication_management", "community_resources",
    "care_coordination", "review_schedule",
]
CARE_PLAN_ELEMENTS: tuple[str, ...] = get_args(CarePlanElement)


def field_error(field: str, message: str) -> PydanticCustomError:
    """A model-level error that still points at one field (pydantic would name the model)."""
    return PydanticCustomError("claim_field", "{message}", {"field": field, "message": message})


class StrictModel(BaseModel):
    """Unknown fields are errors and nothing is coerced: "1" is not 1, 1 is not true."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
