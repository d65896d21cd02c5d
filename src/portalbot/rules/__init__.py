"""CCM billing rules: the code table as data, minute counting, code derivation and checks.

The rule ids, severities and sources are listed in `portalbot.rules.catalogue` and in
`rules/README.md`. Typical use::

    context = default_context()                    # Medicare table, packaged ICD-10-CM
    batch = BatchChecker(context, known_elsewhere=ledger_lookup)
    verdicts = [batch.check(claim) for claim in claims]
    print(render_table(verdicts))
"""

from portalbot.rules.catalogue import RULES, RuleInfo
from portalbot.rules.codes import (
    CcmCode,
    CodeKind,
    CodeTable,
    ExclusionGroup,
    Family,
    MinutePath,
    Severity,
)
from portalbot.rules.conditions import ChronicCondition, ConditionTable
from portalbot.rules.context import RuleContext, default_context
from portalbot.rules.derive import derive_code_sets, is_valid_code_set
from portalbot.rules.evaluate import BatchChecker, evaluate, render_table
from portalbot.rules.fix import describe_changes, propose_fix
from portalbot.rules.icd import IcdCodeSet, IcdStatus
from portalbot.rules.minutes import MinuteCount, count_minutes
from portalbot.rules.model import CodeUnits, Finding, Verdict

__all__ = [
    "RULES",
    "BatchChecker",
    "CcmCode",
    "ChronicCondition",
    "CodeKind",
    "CodeTable",
    "CodeUnits",
    "ConditionTable",
    "ExclusionGroup",
    "Family",
    "Finding",
    "IcdCodeSet",
    "IcdStatus",
    "MinuteCount",
    "MinutePath",
    "RuleContext",
    "RuleInfo",
    "Severity",
    "Verdict",
    "count_minutes",
    "default_context",
    "derive_code_sets",
    "describe_changes",
    "evaluate",
    "is_valid_code_set",
    "propose_fix",
    "render_table",
]
