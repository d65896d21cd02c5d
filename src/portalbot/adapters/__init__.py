"""The adapter contract: an adapter describes one portal, the engine drives it.

An adapter module in ``payers/`` declares what is particular to its portal (class
attributes), maps a claim to the portal's own fields (``to_form``, pure), and fills in
small async hooks. The base class owns the public steps the engine calls (``prepare``,
``send``, ``search``) so every adapter gets the same safety: ``prepare`` may be retried,
``send`` is the one irreversible click and is never retried.

Adapters raise only portalbot errors; Playwright's own exceptions are translated once, at
the engine's boundary. An adapter never writes ``payer_id=`` or ``step=`` by hand: every
portalbot error leaving one of its hooks is stamped with the payer and the hook's name
(where the error did not name a step itself).

Its parts: the values an adapter is given and declares (``values``: ``PortalForm``,
``Filing``, ``Credentials``, ``Case``, ``ClaimRefs``), the base class (``base``:
``PortalAdapter``, ``runs``, ``Derived``), the error stamping (``stamping``) and the
registry (``registry``: ``discover_adapters``, ``adapter_for``); import them from here.

The toolkit for writing one (navigation, reads, guards, the declarative labelled-form
base) is ``portalbot.portal``.
"""

from portalbot.adapters.base import Derived, FormT, PortalAdapter, runs
from portalbot.adapters.registry import adapter_for, discover_adapters
from portalbot.adapters.values import Case, ClaimRefs, Credentials, Filing, Frequency, PortalForm

__all__ = [
    "Case",
    "ClaimRefs",
    "Credentials",
    "Derived",
    "Filing",
    "FormT",
    "Frequency",
    "PortalAdapter",
    "PortalForm",
    "adapter_for",
    "discover_adapters",
    "runs",
]
