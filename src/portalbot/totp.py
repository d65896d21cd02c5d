"""One-time codes (TOTP, RFC 6238) for portals with a second sign-in step.

A portal refuses a code used once, so two sessions of one account signing in within the
same 30-second window must not both send the current code: the second waits for the
next one. ``OneTimeCodes`` hands out each time step at most once per (payer, account),
reserving the step before it waits so concurrent sign-ins never race for the same one.
The clock and the sleep are injectable: tests tie them to a mock portal's settable clock
instead of waiting for real time to pass.

Where the step is reserved is injectable too (``StepReservation``). On its own the guard
is per process (``LocalSteps``); the engine hands adapters a guard whose steps are
reserved in the ledger (``OneTimeCodes.reserving_with``), so worker processes on many
hosts sharing one portal account never send the same code. Adapters know nothing of
the ledger: they only ask ``self.codes`` for a code.
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
StepReservation = Callable[[str, str, int], int]
"""``reserve(payer_id, account, earliest)``: reserve and return the lowest time step at or
after ``earliest`` that no other session of the account has reserved."""
STEP_S = 30


class LocalSteps:
    """Reserves time steps within this process only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_step: dict[tuple[str, str], int] = {}

    def __call__(self, payer_id: str, account: str, earliest: int) -> int:
        key = (payer_id, account)
        with self._lock:
            step = max(earliest, self._last_step.get(key, -1) + 1)
            self._last_step[key] = step
            return step

    def forget(self, payer_id: str, account: str) -> None:
        with self._lock:
            self._last_step.pop((payer_id, account), None)


class OneTimeCodes:
    """Hands out TOTP codes, each time step at most once per (payer, account)."""

    def __init__(
        self,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        step_s: int = STEP_S,
        reserve: StepReservation | None = None,
    ):
        self.clock = clock
        self.sleep = sleep
        self.step_s = step_s
        self.reserve: StepReservation = reserve or LocalSteps()

    def reserving_with(self, reserve: StepReservation) -> OneTimeCodes:
        """The same clock and sleep, with each step reserved through ``reserve`` (the
        ledger: across processes and hosts)."""
        return OneTimeCodes(self.clock, self.sleep, self.step_s, reserve)

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
        step = self.reserve(payer_id, account, int(self.clock() // self.step_s))
        wait = step * self.step_s - self.clock()
        if wait > 0:
            await self.sleep(wait)
        return totp.generate_otp(step)

    def forget(self, payer_id: str, account: str) -> None:
        if isinstance(self.reserve, LocalSteps):
            self.reserve.forget(payer_id, account)


_shared = OneTimeCodes()


def shared_codes() -> OneTimeCodes:
    """The process-wide guard adapters use unless they are given their own."""
    return _shared
