"""Evaluating claims: one at a time (pure), as a streamed batch, and as a table for people."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from portalbot.claims import Claim
from portalbot.rules.checks import analyse, duplicate_finding, run_checks
from portalbot.rules.context import PatientMonth, RuleContext
from portalbot.rules.model import Verdict, format_code_sets


def _evaluate(claim: Claim, context: RuleContext, others: Iterable[str]) -> Verdict:
    analysis = analyse(claim, context.code_table)
    findings = run_checks(claim, analysis, context)
    duplicate = duplicate_finding(claim, others)
    if duplicate is not None:
        findings.append(duplicate)
    return Verdict(claim.claim_id, claim.version, tuple(findings), analysis.supported)


def evaluate(claim: Claim, context: RuleContext) -> Verdict:
    """The verdict on one claim. Pure: the same claim and context give the same verdict.
    The duplicate patient-month check (CCM-EXCL-06) asks `context.other_patient_month_claims`."""
    return _evaluate(claim, context, context.claims_for(claim.patient_month))


class BatchChecker:
    """Evaluates a batch claim by claim, remembering each patient-month it has seen so a
    second claim_id for the same (payer, member, month) is held (CCM-EXCL-06).

    Streaming: memory grows with the number of patient-months, not claims. The first claim
    of a patient-month passes this check; later ones name it. Versions of the same claim_id
    are corrections, not duplicates. `known_elsewhere` asks the ledger.
    """

    def __init__(self, context: RuleContext,
                 known_elsewhere: Callable[[str, str, str], Iterable[str]] | None = None):
        self.context = context
        self._known_elsewhere = known_elsewhere
        self._seen: dict[PatientMonth, tuple[str, ...]] = {}

    def check(self, claim: Claim) -> Verdict:
        key = claim.patient_month
        others: set[str] = set(self._seen.get(key, ()))
        others |= self.context.claims_for(key)
        if self._known_elsewhere is not None:
            others.update(self._known_elsewhere(*key))
        verdict = _evaluate(claim, self.context, others)
        if claim.frequency != "void":
            known = self._seen.get(key, ())
            if claim.claim_id not in known:
                self._seen[key] = (*known, claim.claim_id)
        return verdict

    @property
    def patient_months(self) -> int:
        return len(self._seen)


def table_summary(verdict: Verdict) -> str:
    """The row's last column: the first error, else how many warnings (else nothing)."""
    errors = verdict.errors
    if errors:
        first = errors[0]
        return f"{first.rule} {first.field}: {first.message}"
    warnings = verdict.warnings
    return f"{len(warnings)} warning(s)" if warnings else ""


def table_row(claim_id: str, version: int, billable: bool, summary: str, *, id_width: int,
              width: int = 100) -> str:
    """One claim's line of the table, cut to ``width`` (the findings below say it all)."""
    status = "billable" if billable else "held"
    line = f"{claim_id:<{id_width}}  {version:>3}  {status:<8}  {summary}"
    return line if len(line) <= width else line[: width - 1] + "…"


def table_head(id_width: int, *, width: int = 100) -> list[str]:
    return [f"{'claim':<{id_width}}  {'ver':>3}  {'status':<8}  first error",
            "-" * min(width, id_width + 20 + 40)]


def table_count(claims: int, held: int) -> str:
    return f"{claims} claim(s): {claims - held} billable, {held} held"


def table_details(verdict: Verdict) -> list[str]:
    """The claim's block under "findings:": what its minutes support and every finding with
    its rule, field and fix; nothing for a claim without findings or supported codes."""
    if not (verdict.findings or verdict.supported_code_sets):
        return []
    lines = [f"{verdict.claim_id} v{verdict.version}  supports: "
             f"{format_code_sets(verdict.supported_code_sets)}"]
    for f in verdict.findings:
        lines.append(f"  {f.severity:<7}  {f.rule:<14}  {f.field}")
        lines.append(f"           {f.message}")
    return lines


def render_table(verdicts: Iterable[Verdict], *, width: int = 100) -> str:
    """A plain-text report: one line per claim (billable or held, with its first error),
    then every finding with its rule, field and fix, then each claim's supported codes.
    ``portalbot.verdict_output.TableWriter`` writes the same text streaming."""
    verdicts = list(verdicts)
    id_width = max([len("claim"), *(len(v.claim_id) for v in verdicts)])
    lines = table_head(id_width, width=width)
    for v in verdicts:
        lines.append(table_row(v.claim_id, v.version, v.billable, table_summary(v),
                               id_width=id_width, width=width))
    held = sum(1 for v in verdicts if not v.billable)
    lines.append("")
    lines.append(table_count(len(verdicts), held))
    details = [line for v in verdicts for line in table_details(v)]
    if details:
        lines.append("")
        lines.append("findings:")
    lines.extend(details)
    return "\n".join(lines) + "\n"
