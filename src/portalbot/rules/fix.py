"""Corrections a person can approve: never applied silently, always as a new version.

Only one kind of correction is unambiguous: the claim bills one CCM family (base on the
claim) and more units than the counted minutes or the unit cap allow; the fix trims the
units to what the minutes support *within that family*, scaling the line's charge by its
unit price. Switching families, inventing a base, moving dates or touching anything else is
a judgement for a person, so `propose_fix` returns None.
"""

from __future__ import annotations

from decimal import Decimal

from portalbot.claims import Claim, ServiceLine
from portalbot.rules.checks import analyse
from portalbot.rules.context import RuleContext
from portalbot.rules.derive import family_units
from portalbot.rules.evaluate import evaluate
from portalbot.rules.model import Verdict

FIXABLE = frozenset({"CCM-CODE-01", "CCM-CODE-04"})
MUST_CLEAR = frozenset({"CCM-CODE-01", "CCM-CODE-02", "CCM-CODE-03", "CCM-CODE-04",
                        "CCM-EXCL-01", "CCM-EXCL-02", "CCM-EXCL-03"})
_CENT = Decimal("0.01")


def _scaled_charge(line: ServiceLine, units: int) -> Decimal | None:
    """The charge for fewer units at the line's unit price, or None when not whole cents."""
    if line.units < 1:
        return None
    charge = line.charge * units / line.units
    return charge if charge == charge.quantize(_CENT) else None


def _target_units(claim: Claim, context: RuleContext) -> dict[str, int] | None:
    """Units each claimed CCM code should have after the fix, or None when ambiguous."""
    table = context.code_table
    analysis = analyse(claim, table)
    families = {table.codes[c].family for c in analysis.claimed}
    if len(families) != 1:
        return None
    family = families.pop()
    base, _ = table.family_codes(family)
    if base.code not in analysis.claimed:
        return None
    if base.requires_complexity and not analysis.complexity_ok:
        return None
    support = family_units(family, analysis.count, table)
    if not support:
        return None
    return {code: min(units, support.get(code, 0)) for code, units in analysis.claimed.items()}


def propose_fix(claim: Claim, verdict: Verdict, context: RuleContext) -> Claim | None:
    """A corrected copy (version + 1) when the fix is unambiguous, else None."""
    if not any(f.rule in FIXABLE for f in verdict.errors):
        return None
    targets = _target_units(claim, context)
    if targets is None:
        return None
    lines: list[ServiceLine] = []
    for line in claim.service_lines:
        target = targets.get(line.code)
        if target is None or target == line.units:
            lines.append(line)
            continue
        if sum(1 for other in claim.service_lines if other.code == line.code) > 1:
            return None  # which line to trim is a person's call
        if target == 0:
            continue
        charge = _scaled_charge(line, target)
        if charge is None:
            return None
        lines.append(line.model_copy(update={"units": target, "charge": charge}))
    if lines == list(claim.service_lines):
        return None
    data = claim.model_dump()
    data["version"] = claim.version + 1
    data["service_lines"] = [line.model_dump() for line in lines]
    fixed = Claim.model_validate(data)
    after = evaluate(fixed, context)
    if any(f.rule in MUST_CLEAR for f in after.errors):
        return None
    return fixed


def _line_label(line: ServiceLine) -> str:
    return f"{line.code} on {line.date_of_service.isoformat()}"


def describe_changes(old: Claim, new: Claim) -> list[str]:
    """What a person approving the correction needs to read, without PHI values."""
    changes: list[str] = []
    if old.claim_id != new.claim_id:
        changes.append("claim_id changed")
    if old.version != new.version:
        changes.append(f"version {old.version} → {new.version}")
    remaining = list(new.service_lines)
    for line in old.service_lines:
        match = next((n for n in remaining if n.code == line.code
                      and n.date_of_service == line.date_of_service
                      and n.modifiers == line.modifiers), None)
        if match is None:
            changes.append(f"service line {_line_label(line)} ({line.units} unit(s), "
                           f"{line.charge}) removed")
            continue
        remaining.remove(match)
        if match.units != line.units or match.charge != line.charge:
            changes.append(f"{_line_label(line)}: units {line.units} → {match.units}, "
                           f"charge {line.charge} → {match.charge}")
        elif match != line:
            changes.append(f"{_line_label(line)}: changed")
    for line in remaining:
        changes.append(f"service line {_line_label(line)} ({line.units} unit(s), "
                       f"{line.charge}) added")
    skip = {"claim_id", "version", "service_lines"}
    for name in type(old).model_fields:
        if name not in skip and getattr(old, name) != getattr(new, name):
            changes.append(f"{name} changed")
    return changes
