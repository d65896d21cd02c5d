"""The CCM rules as the configuration sets them for each payer (its variant of the code
table), apart from the ledger and intake so that ``portalbot validate`` and its workers
start without importing the storage layer (SQLAlchemy alone costs them a second)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from portalbot.claims import Claim
from portalbot.config import Settings
from portalbot.errors import ConfigError

Finding = dict[str, Any]


class RuleChecker:
    """The CCM rules with each payer's variant of the code table from the configuration.

    One streaming BatchChecker per payer (a patient-month belongs to one payer), with
    ``known_elsewhere`` (payer, member, month) -> claim ids (intake's ``LedgerMonths``)
    as memory for the one-claim-per-patient-month check when it is given.
    """

    def __init__(self, settings: Settings,
                 known_elsewhere: Callable[[str, str, str], set[str]] | None = None):
        from portalbot import rules

        self.settings = settings
        self._rules = rules
        self._known = known_elsewhere
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
        return [f.to_json() for f in self.verdict(claim).findings]
