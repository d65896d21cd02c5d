"""What the rules need besides the claim: today's date, the code table, the ICD-10-CM release,
the chronic-condition table, the usual place of service, and a way to ask which other
claims exist for a patient-month (the batch and the ledger)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from portalbot.rules.codes import CodeTable
from portalbot.rules.conditions import ConditionTable
from portalbot.rules.icd import IcdCodeSet

PatientMonth = tuple[str, str, str]  # (payer_id, member_id, service_month)
PatientMonthLookup = Callable[[str, str, str], Iterable[str]]


@dataclass(frozen=True)
class RuleContext:
    """Everything `evaluate` reads besides the claim; evaluation is pure given this.

    `other_patient_month_claims` answers "which claim_ids are known for this
    (payer_id, member_id, service_month)?" — a callable or a mapping; None means "none".
    """

    today: date
    code_table: CodeTable
    icd: IcdCodeSet
    usual_place_of_service: str = "11"
    other_patient_month_claims: PatientMonthLookup | Mapping[PatientMonth, Iterable[str]] | None \
        = None
    conditions: ConditionTable = field(default_factory=ConditionTable.default)

    def claims_for(self, patient_month: PatientMonth) -> frozenset[str]:
        source = self.other_patient_month_claims
        if source is None:
            return frozenset()
        if callable(source):
            return frozenset(source(*patient_month))
        return frozenset(source.get(patient_month, ()))


def default_context(
    today: date | None = None,
    icd_file: Path | str | None = None,
    code_table: CodeTable | None = None,
    *,
    icd_release: str | None = None,
    usual_place_of_service: str = "11",
    other_patient_month_claims: PatientMonthLookup | None = None,
) -> RuleContext:
    """The context the CLI uses: Medicare's table and the packaged ICD-10-CM release unless
    configuration names a CMS code file (its release defaults to the file's name)."""
    if icd_file is not None:
        path = Path(icd_file)
        icd = IcdCodeSet.from_cms_file(path, release=icd_release or f"ICD-10-CM ({path.name})")
    else:
        icd = IcdCodeSet.packaged()
    return RuleContext(
        today=today or date.today(),
        code_table=code_table or CodeTable.default(),
        icd=icd,
        usual_place_of_service=usual_place_of_service,
        other_patient_month_claims=other_patient_month_claims,
    )
