"""`python -m portalbot`, with one-time codes on a mock portal's clock instead of real time.

For tests that run real worker processes against a portal with a TOTP sign-in: the
process reads the time from the portal's control API (``PORTAL_CLOCK_URL``), and a
sign-in waiting for the next code waits until the portal's clock gets there, which the
test moves on, so no test waits 30 real seconds for a code. Everything else is the real
command.

    python -m tests.e2e.portal_clock_portalbot [portalbot options] worker --until-empty
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import signal
from datetime import datetime

import httpx

from portalbot import totp
from portalbot.cli import run

POLL_S = 0.05


_last_read = [0.0]


def portal_time() -> float:
    response = httpx.get(os.environ["PORTAL_CLOCK_URL"], timeout=10)
    _last_read[0] = datetime.fromisoformat(response.json()["now"]).timestamp()
    return _last_read[0]


async def until_portal_time(seconds: float) -> None:
    """Wait until the portal's clock is ``seconds`` past the time last read from it.

    The test moves the portal's clock in jumps, so the target is counted from the reading
    the caller based ``seconds`` on, never from a fresh one (that could be a jump later).
    """
    target = _last_read[0] + seconds
    while portal_time() < target:
        await asyncio.sleep(POLL_S)


if __name__ == "__main__":
    faulthandler.register(signal.SIGUSR1)  # a stuck worker's stacks, for the test's failure report
    totp._shared = totp.OneTimeCodes(clock=portal_time, sleep=until_portal_time)
    run()
