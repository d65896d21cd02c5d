"""Portals that fight back, in real headless Chromium: expiring sessions, dropped
responses, one-time codes, forced password changes, CAPTCHAs, maintenance, later
verdicts, and the nightly health check.

No test sleeps: clocks are moved through the control API (``World.advance``), requests
are parked at pause points, and Playwright waits for what the page shows.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.async_api import async_playwright

from portalbot import credentials as keyring_credentials
from portalbot.adapters import Credentials
from portalbot.browser import launch
from portalbot.cli import main as portalbot
from portalbot.config import BrowserSettings

from .conftest import Portals, World, portal_codes

pytestmark = pytest.mark.browser

BLUERIVER = "fixtures/claims/blueriver.json"
KEYSTONE = "fixtures/claims/keystone.json"
ACME = "fixtures/claims/demo.json"


def test_session_expiring_mid_wizard_ends_in_exactly_one_submission(world: World) -> None:
    control = world.portals.control("blueriver")
    control.set_faults(session_lifetime_s=600.0)
    control.arm_pause("step:services")

    def expire_the_session_while_parked() -> None:
        control.wait_parked("step:services", timeout=60)
        control.advance_clock(601)  # idle past the lifetime while the wizard waits
        control.release("step:services")

    helper = threading.Thread(target=expire_the_session_while_parked)
    helper.start()
    loaded = world.load(BLUERIVER, "NORTHSIDE-2026-10-000308")
    world.run(loaded.batch_id)
    helper.join(timeout=5)

    record = world.record("NORTHSIDE-2026-10-000308")
    assert record.state == "pending"
    assert len(world.submitted("blueriver", patient_account_number=record.portal_key)) == 1
    reasons = [e["reason"] or "" for e in world.ledger.events(record.pk)]
    assert not any("in doubt" in r for r in reasons)


@pytest.mark.parametrize(
    ("payer_id", "fixture", "claim_id", "key_field", "settled"),
    [
        ("acme", ACME, "NORTHSIDE-2026-10-000105", "patient_account_number", "accepted"),
        ("blueriver", BLUERIVER, "NORTHSIDE-2026-10-000309", "patient_account_number", "pending"),
    ],
)
def test_dropped_response_is_settled_from_the_portal_history_with_one_submission(
    world: World, payer_id: str, fixture: str, claim_id: str, key_field: str, settled: str
) -> None:
    world.portals.control(payer_id).set_faults(drop_response=True)
    loaded = world.load(fixture, claim_id)
    world.run(loaded.batch_id)
    record = world.record(claim_id)
    # The claim waits in doubt, and is not sent again, until its request can no longer land
    # (the post-click deadline) and a lagging history has caught up.
    wait_s = world.settings.post_click_deadline_s + world.registry[payer_id].history_settle_s
    assert record.state == "in_doubt"
    world.run(loaded.batch_id)
    assert world.record(claim_id).state == "in_doubt"
    world.advance(wait_s + 1)
    world.run(loaded.batch_id)

    record = world.record(claim_id)
    assert record.state == settled
    assert "in_doubt" in [e["to_state"] for e in world.ledger.events(record.pk)]
    assert len(world.submitted(payer_id, **{key_field: record.portal_key})) == 1


def test_dropped_response_on_keystone_goes_to_a_person_after_one_submission(
    world: World,
) -> None:
    world.portals.control("keystone").set_faults(drop_response=True)
    loaded = world.load(KEYSTONE, "NORTHSIDE-2026-10-000407")
    world.run(loaded.batch_id)
    world.portals.control("keystone").set_faults(drop_response=False)
    world.run(loaded.batch_id)  # nothing left to do: it is never sent blindly again

    record = world.record("NORTHSIDE-2026-10-000407")
    assert record.state == "needs_human"
    assert "in_doubt" in [e["to_state"] for e in world.ledger.events(record.pk)]
    assert record.portal_key in (record.reason or "")
    assert len(world.submitted("keystone", patient_control_no=record.portal_key)) == 1


def test_two_blueriver_sessions_in_one_totp_window_both_sign_in(world: World) -> None:
    control = world.portals.control("blueriver")
    control.set_clock("2026-11-02T09:00:05+00:00")  # early in a 30-second window
    adapter = world.adapters()["blueriver"](world.settings.payer("blueriver").base_url)
    login = world.portals.login("blueriver")

    async def two_sessions() -> list[bool]:
        async with async_playwright() as playwright:
            browser = await launch(playwright, BrowserSettings())
            pages = [await (await browser.new_context()).new_page() for _ in range(2)]
            await asyncio.gather(*(adapter.login(page, login) for page in pages))
            signed_in = [await adapter.is_signed_in(page) for page in pages]
            await browser.close()
            return signed_in

    assert asyncio.run(two_sessions()) == [True, True]
    # The second session waited for the next code rather than reuse the first one.
    assert world.portals.control("blueriver").set_clock(advance_s=0).second >= 30


def test_a_code_another_process_used_is_refused_and_the_adapter_waits_for_the_next(
    world: World,
) -> None:
    """Two processes, each with its own guard, sign in within one 30-second window: the
    portal refuses the second use of the code, and the adapter signs in with the next one."""
    control = world.portals.control("blueriver")
    control.set_clock("2026-11-02T09:00:05+00:00")
    base = world.adapters()["blueriver"]
    url = world.settings.payer("blueriver").base_url
    first = type("First", (base,), {"codes": portal_codes(control)})(url)
    second = type("Second", (base,), {"codes": portal_codes(control)})(url)
    login = world.portals.login("blueriver")

    async def sign_in_with_each() -> None:
        async with async_playwright() as playwright:
            browser = await launch(playwright, BrowserSettings())
            try:
                for adapter in (first, second):
                    page = await (await browser.new_context()).new_page()
                    await adapter.login(page, login)
                    assert await adapter.is_signed_in(page)
            finally:
                await browser.close()

    asyncio.run(sign_in_with_each())
    portal_now = datetime.fromisoformat(control._get("/clock")["now"])
    assert portal_now >= datetime.fromisoformat("2026-11-02T09:00:30+00:00")  # the next window


def test_forced_password_change_pauses_the_payer_and_submits_nothing(world: World) -> None:
    world.portals.control("blueriver").advance_clock(91 * 86_400)
    loaded = world.load(BLUERIVER, "NORTHSIDE-2026-10-000301", "NORTHSIDE-2026-10-000302")

    summary = world.run(loaded.batch_id)

    assert "blueriver" in summary.blocked_payers
    states = sorted(world.record(c).state for c in ("NORTHSIDE-2026-10-000301",
                                                     "NORTHSIDE-2026-10-000302"))
    assert states == ["needs_human", "queued"]
    paused, why = world.ledger.payer_circuit("blueriver")
    assert paused and "password" in (why or "")
    assert world.submitted("blueriver") == []


def test_keystone_without_npi_and_ptan_in_the_keyring_pauses_before_any_log_on(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    login = world.portals.login("keystone")
    monkeypatch.setattr(world, "credentials", lambda *_: Credentials(login.username, login.password))
    loaded = world.load(KEYSTONE, "NORTHSIDE-2026-10-000401")

    summary = world.run(loaded.batch_id)

    assert "portalbot credentials set keystone" in summary.blocked_payers["keystone"]
    assert world.record("NORTHSIDE-2026-10-000401").state == "queued"
    assert world.ledger.payer_circuit("keystone")[0]
    assert world.submitted("keystone") == []


def test_captcha_ends_in_needs_human_with_a_screenshot_and_no_submission(world: World) -> None:
    world.portals.control("keystone").set_faults(captcha=True)
    loaded = world.load(KEYSTONE, "NORTHSIDE-2026-10-000403")

    world.run(loaded.batch_id)

    record = world.record("NORTHSIDE-2026-10-000403")
    assert record.state == "needs_human"
    assert "CAPTCHA" in (record.reason or "")
    shots = [a["screenshot"] for a in world.ledger.attempts(record.pk) if a["screenshot"]]
    assert shots and Path(shots[-1]).exists()
    assert world.submitted("keystone") == []


def test_planned_maintenance_window_fails_the_claim_for_later_without_submitting(
    world: World,
) -> None:
    control = world.portals.control("keystone")
    now = control.set_clock("2026-11-07T02:30:00+00:00")
    control.set_faults(maintenance_window={"start": "2026-11-07T02:00:00+00:00",
                                           "end": "2026-11-07T04:00:00+00:00"})
    loaded = world.load(KEYSTONE, "NORTHSIDE-2026-10-000408")

    world.run(loaded.batch_id)

    record = world.record("NORTHSIDE-2026-10-000408")
    assert record.state == "failed" and record.next_attempt_at is not None
    assert world.submitted("keystone") == []
    control.set_clock(now.replace(hour=4, minute=1))
    world.advance(61)
    world.run(loaded.batch_id)
    assert world.record("NORTHSIDE-2026-10-000408").state == "accepted"


def test_later_verdicts_are_read_from_the_status_page_into_the_ledger(world: World) -> None:
    claims = ("NORTHSIDE-2026-10-000301", "NORTHSIDE-2026-10-000306", "NORTHSIDE-2026-10-000307")
    loaded = world.load(BLUERIVER, *claims)
    world.run(loaded.batch_id)
    assert {world.record(c).state for c in claims} == {"pending"}

    def check() -> None:
        asyncio.run(world.engine().check_statuses(payer_ids=["blueriver"]))

    check()  # not adjudicated yet: still received
    assert {world.record(c).state for c in claims} == {"pending"}
    world.advance(601)
    check()

    accepted, rejected, denied = (world.record(c) for c in claims)
    assert accepted.state == "accepted" and accepted.payer_claim_number == f"BR{accepted.confirmation}"
    assert rejected.state == "rejected" and rejected.reason_code == "M02"
    assert denied.state == "denied"


@pytest.fixture
def cli_env(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for payer_id in ("acme", "blueriver", "keystone"):
        keyring_credentials.store(payer_id, "default", world.portals.login(payer_id))
        monkeypatch.setenv(f"PORTALBOT_PAYER_{payer_id.upper()}_BASE_URL",
                           world.portals.server(payer_id).base_url)
    monkeypatch.setenv("PORTALBOT_DATA_DIR", str(tmp_path / "check"))
    return CliRunner()


def test_check_passes_on_every_portal(cli_env: CliRunner) -> None:
    result = cli_env.invoke(portalbot, ["check", "acme", "blueriver", "keystone"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["acme", "blueriver", "keystone"]
    assert all(": ok — " in line for line in lines)


def test_check_fails_naming_the_field_the_portal_no_longer_has(
    cli_env: CliRunner, portals: Portals, world: World
) -> None:
    portals.control("acme").set_faults(omit_fields=["rendering_npi"])

    result = cli_env.invoke(portalbot, ["check", "acme", "keystone"])

    assert result.exit_code == 1
    acme_line, keystone_line = result.stdout.strip().splitlines()
    assert "BROKEN" in acme_line and "'Rendering provider NPI'" in acme_line
    screenshot = acme_line.split("screenshot ")[1].split(";")[0]
    assert Path(screenshot).exists()
    assert "trace " in acme_line
    assert ": ok — " in keystone_line
    assert world.submitted("acme") == [] and world.submitted("keystone") == []
