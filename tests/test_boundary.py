"""The boundary that turns third-party errors into portalbot's knows outage from drift,
and which side of the submit click it is on."""

from __future__ import annotations

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from portalbot.engine import portal_boundary
from portalbot.errors import (
    AdapterError,
    FormRefused,
    PortalError,
    PortalUnavailable,
    SubmissionUncertain,
)


def _raised(exc: BaseException, *, clicked: bool = False) -> PortalError:
    with pytest.raises(PortalError) as caught, portal_boundary("acme", "step", clicked=clicked):
        raise exc
    return caught.value


@pytest.mark.parametrize(("code", "words"), [
    ("ERR_CONNECTION_REFUSED", "refused the connection"),
    ("ERR_CONNECTION_RESET", "reset"),
    ("ERR_NAME_NOT_RESOLVED", "DNS"),
    ("ERR_EMPTY_RESPONSE", "empty response"),
])
def test_a_network_failure_before_the_click_is_an_outage_in_plain_words(code: str, words: str) -> None:
    error = _raised(PlaywrightError(f"Page.goto: net::{code} at http://127.0.0.1:1/login"))
    assert type(error) is PortalUnavailable
    assert words in error.message and "127.0.0.1" not in error.message


def test_a_navigation_that_does_not_finish_is_an_outage() -> None:
    error = _raised(PlaywrightTimeout("Page.goto: Timeout 30000ms exceeded."))
    assert type(error) is PortalUnavailable


def test_a_missing_element_is_drift_naming_what_was_waited_for_not_an_outage() -> None:
    error = _raised(PlaywrightTimeout(
        'Locator.click: Timeout 5000ms exceeded.\nCall log:\n  - waiting for '
        'get_by_role("button", name="Submit claim")'))
    assert type(error) is AdapterError
    assert 'name="Submit claim"' in error.message


def test_a_closed_page_before_the_click_is_an_outage() -> None:
    error = _raised(PlaywrightError("Target page, context or browser has been closed"))
    assert type(error) is PortalUnavailable


@pytest.mark.parametrize("exc", [
    PlaywrightError("net::ERR_CONNECTION_RESET"),
    PlaywrightTimeout("Locator.wait_for: Timeout 5000ms exceeded."),
    PlaywrightError("Target page, context or browser has been closed"),
    AdapterError("unknown status", payer_id="acme"),
    PortalUnavailable("HTTP 503", payer_id="acme"),
    KeyError("anything at all"),
])
def test_after_the_click_every_failure_is_in_doubt(exc: BaseException) -> None:
    assert type(_raised(exc, clicked=True)) is SubmissionUncertain


def test_after_the_click_only_a_refusal_the_adapter_read_passes_through() -> None:
    refused = FormRefused("the portal refused our form", payer_id="acme")
    assert _raised(refused, clicked=True) is refused
