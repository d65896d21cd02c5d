"""The portal boundary: third-party exceptions turned into portalbot's, once.

Before the click an error is an outage (retried) or drift (not); after it, anything at
all is ``SubmissionUncertain``: the claim may or may not be stored."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.async_api import TimeoutError as PlaywrightTimeout

from portalbot.errors import (
    AdapterError,
    FormRefused,
    PortalError,
    PortalUnavailable,
    SubmissionUncertain,
)
from portalbot.logs import scrub
from portalbot.outcomes import Outcome

_NAVIGATIONS = frozenset({
    "goto", "reload", "go_back", "go_forward", "wait_for_load_state", "wait_for_url",
    "wait_for_navigation", "expect_navigation", "wait_for_response", "expect_response",
})


_NETWORK = {
    "ERR_CONNECTION_REFUSED": "the portal refused the connection",
    "ERR_CONNECTION_RESET": "the connection to the portal was reset",
    "ERR_CONNECTION_CLOSED": "the portal closed the connection",
    "ERR_EMPTY_RESPONSE": "the portal sent an empty response",
    "ERR_NAME_NOT_RESOLVED": "the portal's address could not be resolved (DNS)",
    "ERR_ADDRESS_UNREACHABLE": "the portal's address is unreachable",
    "ERR_INTERNET_DISCONNECTED": "the network is down",
    "ERR_TIMED_OUT": "the connection to the portal timed out",
    "ERR_CONNECTION_TIMED_OUT": "the connection to the portal timed out",
}


def translate(exc: BaseException, payer_id: str | None, step: str) -> PortalError:
    """A Playwright (or any third-party) exception as portalbot's, before the click.

    Outage and drift are told apart: a network failure, a navigation that does not finish
    or a dead page is ``PortalUnavailable`` (retried); an element that is not there after
    the bounded wait is ``AdapterError`` naming what was waited for (drift: not retried).
    Playwright's own text quotes locators and page HTML, so only the locator survives,
    scrubbed of claim values.
    """
    if isinstance(exc, PortalError):
        return exc
    message = getattr(exc, "message", None) or str(exc)
    network = re.search(r"net::(ERR_[A-Z_]+)", message)
    if network:
        code = network.group(1)
        return PortalUnavailable(_NETWORK.get(code, f"the portal could not be reached ({code})"),
                                 payer_id=payer_id, step=step)
    if re.search(r"(has been closed|crashed|Target closed)", message):
        return PortalUnavailable("the browser page closed or crashed", payer_id=payer_id, step=step)
    if isinstance(exc, (PlaywrightTimeout, TimeoutError)):
        api = message.split(":", 1)[0].rsplit(".", 1)[-1]
        if api in _NAVIGATIONS or not isinstance(exc, PlaywrightTimeout):
            return PortalUnavailable("the portal did not answer in time", payer_id=payer_id, step=step)
        waited = re.search(r"waiting for (.+)", message)
        what = scrub(waited.group(1).strip())[:160] if waited else "an element"
        return AdapterError(f"{what} did not appear in time: the page is not what the adapter "
                            "expects", payer_id=payer_id, step=step)
    return AdapterError("the page did not behave as the adapter expects", payer_id=payer_id, step=step)


@contextmanager
def portal_boundary(payer_id: str, step: str, *, clicked: bool = False) -> Iterator[None]:
    """Translate third-party exceptions into portalbot's, once, without their text.

    ``clicked``: the submit click has happened, so whatever goes wrong means the claim may
    or may not be stored: ``SubmissionUncertain``. Only ``FormRefused``, which an adapter
    raises from a page it read, and ``SubmissionUncertain`` itself pass through as they are.
    """
    try:
        yield
    except (FormRefused, SubmissionUncertain):
        raise
    except Exception as exc:  # noqa: BLE001 - every third-party error, translated once
        if not clicked:
            raise translate(exc, payer_id, step) from None
        kind = type(translate(exc, payer_id, step)).__name__
        raise SubmissionUncertain(
            f"no outcome could be read after the submit click ({kind})",
            payer_id=payer_id, step=step,
        ) from None


def scrubbed(outcome: Outcome) -> Outcome:
    """Text copied from a portal page can echo PHI; scrub it before it reaches the ledger."""
    from dataclasses import fields, replace

    changes = {
        f.name: scrub(getattr(outcome, f.name))
        for f in fields(outcome)
        if isinstance(getattr(outcome, f.name), str)
    }
    return replace(outcome, **changes)  # type: ignore[arg-type]
