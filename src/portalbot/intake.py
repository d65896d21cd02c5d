"""From a claims file to the ledger: check every claim, hold the ones the rules refuse.

A claim with an error finding (or for a payer with no adapter) is recorded ``held`` with
its findings and never reaches a browser; the rest are ``queued``. A claim version the
ledger already knows keeps its state, so loading the same file twice sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from portalbot.adapters import discover_adapters
from portalbot.claims import Claim, ClaimBatchFile
from portalbot.config import Settings
from portalbot.errors import ConfigError
from portalbot.ledger import ClaimRecord, Ledger

Finding = dict[str, Any]


@dataclass(frozen=True)
class IntakeResult:
    batch_id: str
    records: list[ClaimRecord]
    already_known: int
    # Ledger ids of the claim versions this intake recorded for the first time.
    new: frozenset[int] = frozenset()


class RuleChecker:
    """The CCM rules with each payer's variant of the code table from the configuration.

    One streaming BatchChecker per payer (a patient-month belongs to one payer), with the
    ledger as memory for the one-claim-per-patient-month check when a ledger is given.
    """

    def __init__(self, settings: Settings, ledger: Ledger | None = None):
        from portalbot import rules

        self.settings = settings
        self._rules = rules
        self._known = ledger.patient_month_claim_ids if ledger is not None else None
        self._base = rules.default_context(
            icd_file=settings.icd10cm_file, icd_release=settings.icd10cm_release,
            usual_place_of_service=settings.usual_place_of_service,
        )
        self._contexts: dict[str, Any] = {}
        self._checkers: dict[str, Any] = {}

    def context_for(self, payer_id: str) -> Any:
        if payer_id not in self._contexts:
            caps = self.settings.payer(payer_id).unit_caps
            context = self._base
            if caps:
                try:
                    table = context.code_table.with_caps(caps, name=f"{payer_id} code table")
                except ValueError as exc:
                    raise ConfigError(f"payers.{payer_id}.unit_caps: {exc}") from None
                context = replace(context, code_table=table)
            self._contexts[payer_id] = context
        return self._contexts[payer_id]

    def verdict(self, claim: Claim) -> Any:
        if claim.payer_id not in self._checkers:
            self._checkers[claim.payer_id] = self._rules.BatchChecker(
                self.context_for(claim.payer_id), known_elsewhere=self._known
            )
        return self._checkers[claim.payer_id].check(claim)

    def findings(self, claim: Claim) -> list[Finding]:
        return [
            {"rule": f.rule, "severity": f.severity, "field": f.field, "message": f.message}
            for f in self.verdict(claim).findings
        ]


def _payer_findings(claim: Claim, known: set[str]) -> list[Finding]:
    if claim.payer_id in known:
        return []
    return [{
        "rule": "PAYER-01", "severity": "error", "field": "payer_id",
        "message": f"no adapter for payer {claim.payer_id!r}; known payers: "
                   f"{', '.join(sorted(known)) or 'none'}",
    }]


def intake(ledger: Ledger, settings: Settings, batch: ClaimBatchFile) -> IntakeResult:
    checker = RuleChecker(settings, ledger)
    known_payers = set(discover_adapters())
    batch_id = ledger.create_batch(
        batch.path.name, batch.content_hash, len(batch.claims), batch.unreadable
    )
    already = 0
    new: set[int] = set()
    for loaded in batch.claims:
        claim = loaded.claim
        findings = checker.findings(claim) + _payer_findings(claim, known_payers)
        enqueued = ledger.enqueue(
            batch_id, claim_id=claim.claim_id, version=claim.version, payer_id=claim.payer_id,
            service_month=claim.service_month, member_id=claim.subscriber.member_id,
            frequency=claim.frequency, replaces=claim.replaces,
            payload=claim.model_dump(mode="json"), findings=findings,
            blocked=any(f["severity"] == "error" for f in findings),
            location=loaded.location, worker="intake",
        )
        already += 0 if enqueued.is_new else 1
        if enqueued.is_new:
            new.add(enqueued.record.pk)
    return IntakeResult(batch_id, ledger.claims_in_batch(batch_id), already, frozenset(new))
