"""The ``remit --dry-run --format json`` shape of a remittance, as the README documents it.

Amounts are decimal strings, never floats; ``matched`` is the ledger claim a claim payment
was matched to, or null. The same dict of a claim payment is kept in its ``remits`` row.
"""

from __future__ import annotations

from portalbot.x12.remittance import Adjustment, ClaimPayment, Remittance


def adjustment_dict(adjustment: Adjustment) -> dict[str, str]:
    return {"group": adjustment.group, "reason": adjustment.reason,
            "amount": str(adjustment.amount)}


def claim_dict(claim: ClaimPayment, matched: dict[str, object] | None) -> dict[str, object]:
    """One claim payment in the ``remit --dry-run --format json`` shape."""
    return {
        "patient_control_number": claim.patient_control_number,
        "status_code": claim.status_code,
        "charge": str(claim.charge),
        "paid": str(claim.paid),
        "patient_responsibility": str(claim.patient_responsibility),
        "payer_claim_number": claim.payer_claim_number,
        "adjustments": [adjustment_dict(a) for a in claim.adjustments],
        "remarks": list(claim.remarks),
        "lines": [
            {
                "code": line.code,
                "modifiers": list(line.modifiers),
                "charge": str(line.charge),
                "paid": str(line.paid),
                "units": str(line.units.normalize()) if line.units == line.units.to_integral()
                else str(line.units),
                "adjustments": [adjustment_dict(a) for a in line.adjustments],
                "remarks": list(line.remarks),
            }
            for line in claim.lines
        ],
        "matched": matched,
    }


def remittance_dict(
    remittance: Remittance, matches: list[dict[str, object] | None]
) -> dict[str, object]:
    payment = remittance.payment
    return {
        "file": remittance.file,
        "payer": remittance.payer,
        "payment": {
            "method": payment.method,
            "amount": str(payment.amount),
            "date": payment.date.isoformat() if payment.date else None,
            "trace": payment.trace,
        },
        "balanced": remittance.balanced,
        "claims": [claim_dict(c, m) for c, m in zip(remittance.claims, matches, strict=True)],
    }
