from __future__ import annotations

from decimal import Decimal

from portalbot.rules import RuleContext, describe_changes, evaluate, propose_fix

from .conftest import PHI_VALUES, build, entry, line


def test_trims_capped_add_on_units(ctx: RuleContext) -> None:
    claim = build(service_lines=[line("99490", charge="64.00"),
                                 line("99439", 3, charge="144.00")],
                  time_entries=[entry(10, 80)])
    fixed = propose_fix(claim, evaluate(claim, ctx), ctx)
    assert fixed is not None
    assert fixed.version == 2 and fixed.claim_id == claim.claim_id
    assert [(s.code, s.units, s.charge) for s in fixed.service_lines] == [
        ("99490", 1, Decimal("64.00")), ("99439", 2, Decimal("96.00"))]
    assert evaluate(fixed, ctx).billable
    changes = describe_changes(claim, fixed)
    assert changes == ["version 1 → 2",
                       "99439 on 2026-10-31: units 3 → 2, charge 144.00 → 96.00"]


def test_drops_add_on_the_minutes_do_not_reach(ctx: RuleContext) -> None:
    claim = build(service_lines=[line("99490"), line("99439")], time_entries=[entry(10, 39)])
    fixed = propose_fix(claim, evaluate(claim, ctx), ctx)
    assert fixed is not None
    assert [s.code for s in fixed.service_lines] == ["99490"]
    assert describe_changes(claim, fixed)[1].endswith("removed")
    assert not any(v in " ".join(describe_changes(claim, fixed)) for v in PHI_VALUES)


def test_base_units_trimmed_to_one(ctx: RuleContext) -> None:
    claim = build(service_lines=[line("99491", 2, charge="170.00")],
                  time_entries=[entry(10, 45, "physician")])
    fixed = propose_fix(claim, evaluate(claim, ctx), ctx)
    assert fixed is not None and fixed.service_lines[0].units == 1
    assert fixed.service_lines[0].charge == Decimal("85.00")


def test_no_fix_when_base_is_not_reached(ctx: RuleContext) -> None:
    claim = build(time_entries=[entry(10, 19)])
    assert propose_fix(claim, evaluate(claim, ctx), ctx) is None


def test_no_fix_across_families(ctx: RuleContext) -> None:
    claim = build(service_lines=[line("99487")], time_entries=[entry(10, 70)])
    assert propose_fix(claim, evaluate(claim, ctx), ctx) is None  # complexity missing


def test_no_fix_for_a_clean_claim(ctx: RuleContext) -> None:
    claim = build()
    assert propose_fix(claim, evaluate(claim, ctx), ctx) is None


def test_no_fix_when_charge_would_not_be_whole_cents(ctx: RuleContext) -> None:
    claim = build(service_lines=[line("99490"), line("99439", 3, charge="100.00")],
                  time_entries=[entry(10, 80)])
    assert propose_fix(claim, evaluate(claim, ctx), ctx) is None


def test_no_fix_when_the_code_is_split_over_lines(ctx: RuleContext) -> None:
    claim = build(service_lines=[line("99490"), line("99439", dos="2026-10-30"),
                                 line("99439", 2, dos="2026-10-31")],
                  time_entries=[entry(10, 80)])
    assert propose_fix(claim, evaluate(claim, ctx), ctx) is None


def test_orphan_add_on_is_not_fixed(ctx: RuleContext) -> None:
    claim = build(service_lines=[line("99439", 3)], time_entries=[entry(10, 80)])
    assert propose_fix(claim, evaluate(claim, ctx), ctx) is None
