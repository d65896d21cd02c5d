"""Names typed on the command line are checked before anything runs: a payer id, a state
or a batch id that does not exist exits 2 with the nearest real name (difflib), instead of
quietly matching nothing. Batch ids may be shortened to any unique prefix, as in git."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from portalbot.cli.common import usage_error
from portalbot.text import for_terminal

if TYPE_CHECKING:
    from portalbot.ledger import Ledger


def suggestion(value: str, known: Iterable[str]) -> str:
    """The "; did you mean X?" for the nearest known name, else the names there are."""
    names = sorted(set(known))
    close = difflib.get_close_matches(value, names, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]}?"
    if not names:
        return ""
    listed = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
    return f"; known: {listed}"


def check_name(kind: str, value: str, known: Iterable[str]) -> str:
    """``value`` if it is one of ``known``; else exit 2 naming it and the nearest name."""
    names = set(known)
    if value not in names:
        usage_error(for_terminal(f"no {kind} {value!r}{suggestion(value, names)}"))
    return value


def check_names(kind: str, values: Iterable[str], known: Iterable[str]) -> list[str]:
    names = set(known)
    return [check_name(kind, value, names) for value in values]


def adapter_payers() -> set[str]:
    from portalbot.adapters import discover_adapters

    return set(discover_adapters())


def ledger_payers(ledger: Ledger) -> set[str]:
    """The payers with adapters and every payer a claim in the ledger names."""
    return adapter_payers() | set(ledger.payer_ids())


def check_state(value: str) -> str:
    from portalbot.ledger.states import ALL_STATES

    return check_name("state", value, ALL_STATES)


def resolve_batch(ledger: Ledger, given: str) -> str:
    """The full id of the batch ``given`` names in full or by a unique prefix; exit 2 on
    no match (with the nearest id) or on an ambiguous prefix (listing the candidates)."""
    ids = [str(b["id"]) for b in ledger.batches()]
    if given in ids:
        return given
    matches = [i for i in ids if i.startswith(given.lower())] if given else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = ", ".join(m[:12] for m in matches[:10]) + (", …" if len(matches) > 10 else "")
        usage_error(for_terminal(f"batch prefix {given!r} matches {len(matches)} batches "
                                 f"({listed}); type more of it"))
    shortened = {i[: max(len(given), 8)]: i for i in ids}
    close = difflib.get_close_matches(given.lower(), list(shortened), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else "; `portalbot ledger` shows the batches"
    usage_error(for_terminal(f"no batch {given!r}{hint}"))

