"""The claim-version state machine: every legal transition, in one table.

A transition not listed here raises ``LedgerError`` and changes nothing. ``None`` is the
state of a claim version the ledger has not seen yet.
"""

from __future__ import annotations

from portalbot.errors import LedgerError

HELD = "held"
QUEUED = "queued"
SUBMITTING = "submitting"
ACCEPTED = "accepted"
PENDING = "pending"
REJECTED = "rejected"
DUPLICATE = "duplicate"
NEEDS_HUMAN = "needs_human"
IN_DOUBT = "in_doubt"
FAILED = "failed"
DENIED = "denied"
PAID = "paid"
VOID = "void"

ALL_STATES = (
    HELD, QUEUED, SUBMITTING, ACCEPTED, PENDING, REJECTED, DUPLICATE, NEEDS_HUMAN,
    IN_DOUBT, FAILED, DENIED, PAID, VOID,
)

# What the portal can answer (found by a history search, or read after the click).
_ANSWERS = {ACCEPTED, PENDING, REJECTED, DUPLICATE, NEEDS_HUMAN}

TRANSITIONS: dict[str | None, frozenset[str]] = {
    None: frozenset({QUEUED, HELD}),
    HELD: frozenset({QUEUED, VOID}),
    # From queued: the click (submitting), a pre-submission search that found the claim
    # on the portal, a failure before the click, or a page that needs a person.
    QUEUED: frozenset({SUBMITTING, FAILED, HELD, VOID} | _ANSWERS),
    # After the click: the answer, no readable answer (in_doubt), or a validation page
    # that proves nothing was stored (failed: our own mapping was refused).
    SUBMITTING: frozenset({IN_DOUBT, FAILED} | _ANSWERS),
    # The only road from in_doubt back to the portal is reconciliation.
    IN_DOUBT: frozenset({QUEUED} | _ANSWERS),
    FAILED: frozenset({QUEUED, NEEDS_HUMAN, VOID}),
    NEEDS_HUMAN: frozenset({QUEUED, VOID}),
    PENDING: frozenset({ACCEPTED, REJECTED, DENIED, PAID}),
    # A later verdict: the payer may still reject, deny or pay what its portal accepted.
    ACCEPTED: frozenset({PENDING, REJECTED, DENIED, PAID, VOID}),
    REJECTED: frozenset(),
    DUPLICATE: frozenset({NEEDS_HUMAN}),
    # An 835 can pay a denied claim (an appeal), and can reverse a payment or a denial: the
    # claim is back in the payer's hands (accepted) until the corrected remittance arrives.
    DENIED: frozenset({PAID, ACCEPTED}),
    PAID: frozenset({ACCEPTED}),
    VOID: frozenset(),
}

FINAL_STATES = frozenset({ACCEPTED, PENDING, REJECTED, DUPLICATE, DENIED, PAID, VOID})
NEEDS_PERSON_STATES = frozenset({NEEDS_HUMAN, IN_DOUBT})


def check_transition(current: str | None, target: str) -> None:
    if target not in ALL_STATES:
        raise LedgerError(f"unknown state {target!r}")
    if target not in TRANSITIONS.get(current, frozenset()):
        raise LedgerError(f"illegal transition {current or 'new'} -> {target}")
