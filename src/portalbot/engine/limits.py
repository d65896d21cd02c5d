"""The limits every part of the engine keeps: how long evidence may take, how long a live
worker may still be finishing a click, the retry policy before the click, and who owns a
lease."""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import tenacity

from portalbot.config import Settings
from portalbot.errors import (
    PortalUnavailable,
)

# The bound on an in-doubt page's screenshot and HTML, and on a trace chunk's writing.
EVIDENCE_S = 15.0


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_is_dead(owner: str) -> bool:
    """A lease holder on this host whose process is gone: its leases are void at once.

    Holders on other hosts are never judged from here; their leases simply expire.
    """
    host, _, pid_text = owner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def pre_submit_retry(settings: Settings, sleep: Callable[[float], Awaitable[None]]) -> Any:
    """The named retry policy for everything before the click: PortalUnavailable alone."""
    return tenacity.AsyncRetrying(
        retry=tenacity.retry_if_exception_type(PortalUnavailable),
        stop=tenacity.stop_after_attempt(settings.retry.in_place_attempts),
        wait=tenacity.wait_random_exponential(
            multiplier=settings.retry.in_place_wait_s, max=settings.retry.in_place_wait_s * 8
        ),
        sleep=sleep,
        reraise=True,
    )


def evidence_bound_s(settings: Settings) -> float:
    """The bound on one piece of evidence (a page's screenshot and HTML, a trace chunk)."""
    return min(EVIDENCE_S, settings.post_click_deadline_s)


def takeover_grace_s(settings: Settings) -> float:
    """How long past its lease a live worker may still be finishing a click: the post-click
    deadline, then the evidence of an in-doubt answer and its trace."""
    return settings.post_click_deadline_s + 2 * evidence_bound_s(settings)
