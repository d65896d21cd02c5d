"""One-time codes (TOTP, RFC 6238) for portals with a second sign-in step.

A portal refuses a code used once, so two sessions of one account signing in within the
same 30-second window must not both send the current code: the second waits for the
next one. ``OneTimeCodes`` hands out each time step at most once per (payer, account),
reserving the step before it waits so concurrent sign-ins never race for the same one.
The clock and the sleep are injectable: tests tie them to a mock portal's settable clock
instead of waiting for real time to pass.

The guard is per process. Several worker processes sharing one portal account should be
limited to one session per account (``max_sessions_per_account``), or keep their own
accounts.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

import pyotp

from portalbot.errors import AuthenticationError

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
STEP_S = 30


class OneTimeCodes:
    """Hands out TOTP codes, each time step at most once per (payer, account)."""

    def __init__(self, clock: Clock = time.time, sleep: Sleep = asyncio.sleep, step_s: int = STEP_S):
        self.clock = clock
        self.sleep = sleep
        self.step_s = step_s
        self._lock = threading.Lock()
        self._last_step: dict[tuple[str, str], int] = {}

    def _reserve(self, key: tuple[str, str], now: float) -> int:
        with self._lock:
            step = max(int(now // self.step_s), self._last_step.get(key, -1) + 1)
            self._last_step[key] = step
            return step

    async def code(self, payer_id: str, account: str, secret: str) -> str:
        """A code no other session of this account has used; waits for a fresh step if needed."""
        try:
            totp = pyotp.TOTP(secret, interval=self.step_s)
            totp.now()  # a malformed secret fails here, not halfway through a login
        except (ValueError, TypeError):
            raise AuthenticationError(
                "the TOTP secret in the keyring is not usable (base32, at least 112 bits); store it "
                f"again with `portalbot credentials set {payer_id} --totp`",
                payer_id=payer_id, step="login",
            ) from None
        step = self._reserve((payer_id, account), self.clock())
        wait = step * self.step_s - self.clock()
        if wait > 0:
            await self.sleep(wait)
        return totp.generate_otp(step)

    def forget(self, payer_id: str, account: str) -> None:
        with self._lock:
            self._last_step.pop((payer_id, account), None)


_shared = OneTimeCodes()


def shared_codes() -> OneTimeCodes:
    """The process-wide guard adapters use unless they are given their own."""
    return _shared
