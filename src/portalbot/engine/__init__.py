"""The engine: it drives claims from the ledger through their payers' adapters.

The engine knows nothing about any portal and an adapter knows nothing about the ledger.
The guarantee the engine keeps: the write-ahead intent is committed before the submit
click, the click happens once, and nothing after it is ever retried — an unreadable
answer leaves the claim ``in_doubt`` for reconciliation, never for a second click.

Its parts, each one idea (scrapy keeps engine, scheduler and scraper apart the same way):
``loop`` (the run loop), ``click`` (the click protocol), ``reconcile`` (the portal's
records settle what is in doubt; status checks), ``policies`` (retry, back-off, circuit,
pacing), ``tracing`` (evidence and traces), ``boundary`` (exceptions translated once),
``limits`` (deadlines and lease owners), ``base`` (adapter, account, credentials, filing).
"""

from portalbot.engine.boundary import portal_boundary, translate
from portalbot.engine.limits import (
    EVIDENCE_S,
    default_worker_name,
    evidence_bound_s,
    owner_is_dead,
    pre_submit_retry,
    takeover_grace_s,
)
from portalbot.engine.loop import Engine
from portalbot.engine.results import ClaimResult, RunSummary

__all__ = [
    "EVIDENCE_S",
    "ClaimResult",
    "Engine",
    "RunSummary",
    "default_worker_name",
    "evidence_bound_s",
    "owner_is_dead",
    "portal_boundary",
    "pre_submit_retry",
    "takeover_grace_s",
    "translate",
]
