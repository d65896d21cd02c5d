"""One-time codes: each 30-second step at most once per account, without real waiting."""

from __future__ import annotations

import asyncio

import pyotp
import pytest

from portalbot.errors import AuthenticationError
from portalbot.totp import OneTimeCodes

SECRET = "JBSWY3DPEHPK3PXPNORTHSIDE2"


class FakeTime:
    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def codes_at(now: float) -> tuple[OneTimeCodes, FakeTime]:
    fake = FakeTime(now)
    return OneTimeCodes(clock=fake.clock, sleep=fake.sleep), fake


def test_a_second_session_in_the_same_window_waits_for_the_next_code() -> None:
    codes, fake = codes_at(1_800_000_005.0)  # 5 s into a 30-s window

    async def two() -> list[str]:
        return list(await asyncio.gather(codes.code("blueriver", "billing", SECRET),
                                         codes.code("blueriver", "billing", SECRET)))

    first, second = asyncio.run(two())
    totp = pyotp.TOTP(SECRET)
    assert first == totp.at(1_800_000_005) and second == totp.at(1_800_000_030)
    assert fake.slept == [25.0]


def test_other_accounts_and_payers_do_not_wait() -> None:
    codes, fake = codes_at(1_800_000_005.0)

    async def three() -> None:
        await codes.code("blueriver", "billing", SECRET)
        await codes.code("blueriver", "second-office", SECRET)
        await codes.code("otherpayer", "billing", SECRET)

    asyncio.run(three())
    assert fake.slept == []


def test_a_later_window_needs_no_wait() -> None:
    codes, fake = codes_at(1_800_000_005.0)
    asyncio.run(codes.code("blueriver", "billing", SECRET))
    fake.now += 40
    asyncio.run(codes.code("blueriver", "billing", SECRET))
    assert fake.slept == []


def test_a_secret_that_is_not_base32_is_an_authentication_error_without_the_secret() -> None:
    codes, _ = codes_at(1_800_000_005.0)
    with pytest.raises(AuthenticationError) as raised:
        asyncio.run(codes.code("blueriver", "billing", "not base32 at all!"))
    assert "not base32" not in str(raised.value) and "--totp" in str(raised.value)


def test_steps_come_from_the_injected_reservation_so_another_process_can_hold_them() -> None:
    """A reservation that another process already took step N in: this guard waits for N+1."""
    fake = FakeTime(1_800_000_005.0)
    held_elsewhere = {1_800_000_005 // 30}
    asked: list[tuple[str, str, int]] = []

    def reserve(payer_id: str, account: str, earliest: int) -> int:
        asked.append((payer_id, account, earliest))
        step = earliest
        while step in held_elsewhere:
            step += 1
        held_elsewhere.add(step)
        return step

    codes = OneTimeCodes(clock=fake.clock, sleep=fake.sleep).reserving_with(reserve)
    code = asyncio.run(codes.code("blueriver", "billing", SECRET))

    assert asked == [("blueriver", "billing", 1_800_000_005 // 30)]
    assert code == pyotp.TOTP(SECRET).at(1_800_000_030) and fake.slept == [25.0]
