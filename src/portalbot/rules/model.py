"""The verdict's vocabulary: findings, code units and the verdict itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portalbot.rules.codes import Severity


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    field: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": self.severity, "field": self.field,
                "message": self.message}


@dataclass(frozen=True)
class CodeUnits:
    code: str
    units: int

    def __str__(self) -> str:
        return self.code if self.units == 1 else f"{self.code}×{self.units}"


CodeSet = tuple[CodeUnits, ...]


def format_code_set(code_set: CodeSet) -> str:
    return " + ".join(str(c) for c in code_set)


def format_code_sets(code_sets: tuple[CodeSet, ...]) -> str:
    """"99490 + 99439×2, or 99491" — or "none" when the minutes support nothing."""
    return ", or ".join(format_code_set(s) for s in code_sets) if code_sets else "none"


@dataclass(frozen=True)
class Verdict:
    claim_id: str
    version: int
    findings: tuple[Finding, ...]
    supported_code_sets: tuple[CodeSet, ...]

    @property
    def billable(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    def to_json(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "version": self.version,
            "billable": self.billable,
            "findings": [f.to_json() for f in self.findings],
            "supported_code_sets": [
                [{"code": c.code, "units": c.units} for c in code_set]
                for code_set in self.supported_code_sets
            ],
        }
