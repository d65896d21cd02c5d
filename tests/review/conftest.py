"""Review-desk fixtures: a ledger with claims and evidence written directly, a reviewer,
the app served on a loopback port, and Playwright pointed at the system Chromium.

No portal is involved: attempts and outcomes are recorded through ``Ledger`` the way the
engine records them, with evidence files the tests write themselves.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fixtures.portals._common import serve_in_thread
from portalbot.browser import LAUNCH_ARGS, system_chromium
from portalbot.evidence import EvidenceStore, region_path, write_private
from portalbot.ledger import Evidence, Ledger
from portalbot.outcomes import Accepted, Rejected
from portalbot.review import auth, store
from portalbot.review.app import ReviewConfig, create_app
from tests.helpers import postgres_database

REVIEWER = "alice"
PASSWORD = "correct horse battery staple"
WORKER = "test-worker"


def _chromium() -> str | None:
    configured = os.environ.get("PORTALBOT_CHROMIUM")
    if configured:
        return configured
    found = system_chromium(headless=True)
    return str(found) if found else None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options, pointed at the system Chromium when there is one."""
    executable = _chromium()
    extra: dict[str, Any] = {"args": LAUNCH_ARGS}
    if executable:
        extra["executable_path"] = executable
    return {**browser_type_launch_args, **extra}


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small valid PNG of one colour: distinct bytes per claim, no imaging library needed."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def claim_payload(claim_id: str, *, first: str = "Ada", last: str = "Lovelace",
                  member_id: str = "ACM123456789") -> dict[str, Any]:
    return {
        "claim_id": claim_id, "version": 1, "frequency": "original", "replaces": None,
        "payer_id": "acme", "service_month": "2026-10",
        "patient": {"first_name": first, "last_name": last, "birth_date": "1950-12-10",
                    "sex": "F"},
        "subscriber": {"member_id": member_id, "group_number": "GRP-0042",
                       "relationship": "self"},
        "billing_provider": {"name": "Northside Family Medicine", "npi": "1234567893"},
        "rendering_provider": {"name": "Grace Hopper MD", "npi": "1245319599"},
        "diagnoses": ["E11.9", "I10"],
        "service_lines": [
            {"code": "99490", "modifiers": [], "units": 1, "charge": "64.00",
             "date_of_service": "2026-10-31"},
            {"code": "99439", "modifiers": [], "units": 1, "charge": "48.00",
             "date_of_service": "2026-10-31"},
        ],
    }


@dataclass
class Recorded:
    pk: int
    claim_id: str
    attempt_id: str
    screenshot: Path
    patient: str
    member_id: str
    confirmation: str | None = None
    portal_key: str = ""
    region: Path | None = None


@dataclass
class DeskData:
    """The ledger under test and what was written into it."""

    ledger: Ledger
    evidence_dir: Path
    batch_id: str
    claims: list[Recorded] = field(default_factory=list)

    def add(self, claim_id: str, *, first: str = "Ada", last: str = "Lovelace",
            member_id: str | None = None, rejected: bool = False,
            findings: list[dict[str, Any]] | None = None,
            screenshot: bytes | None = None, region: bytes | None = None,
            payer_id: str = "acme", page_omits: tuple[str, ...] = ()) -> Recorded:
        """One claim with one finished attempt. Its saved page shows the confirmation and
        the portal key (the cross-check matches) unless ``page_omits`` names them."""
        n = len(self.claims) + 1
        member = member_id or f"ACM{n:09d}"
        payload = claim_payload(claim_id, first=first, last=last, member_id=member)
        enqueued = self.ledger.enqueue(
            self.batch_id, claim_id=claim_id, version=1, payer_id=payer_id,
            service_month="2026-10", member_id=member, frequency="original", replaces=None,
            payload=payload, findings=findings or [], blocked=False, location=f"item {n}",
            worker=WORKER,
        )
        pk = enqueued.record.pk
        leased = self.ledger.lease(WORKER, batch_id=self.batch_id, limit=1)
        assert [r.pk for r in leased] == [pk]
        attempt_id = self.ledger.begin_attempt(pk, WORKER)
        self.ledger.mark_submitting(pk, attempt_id, WORKER, "default")
        folder = EvidenceStore(self.evidence_dir).attempt_dir(attempt_id)
        shot = folder / "outcome.png"
        write_private(shot, screenshot or png(64 + n, 40, (n * 40 % 256, 90, 200)))
        region_file = None
        if region is not None:
            region_file = region_path(shot)
            write_private(region_file, region)
        confirmation = None if rejected else f"ACM-261127-{n:06d}"
        portal_key = enqueued.record.portal_key
        shown = "".join(f"<p>{label}: {value}</p>" for name, label, value in (
            ("confirmation", "Confirmation", confirmation),
            ("portal_key", "Patient account", portal_key),
        ) if value and name not in page_omits)
        html = folder / "outcome.html"
        write_private(html, f"<html><body><h1>Claim received</h1>{shown}</body></html>".encode())
        outcome = (Rejected("Member ID not found.", reason_code="R01") if rejected
                   else Accepted(confirmation or ""))
        self.ledger.record_outcome(
            pk, attempt_id, WORKER, outcome, expected_state="submitting",
            reason="the portal answered", evidence=Evidence(screenshot=str(shot), html=str(html)),
        )
        recorded = Recorded(pk, claim_id, attempt_id, shot, f"{first} {last}", member,
                            confirmation, portal_key, region_file)
        self.claims.append(recorded)
        return recorded


BOTH_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_backends` run on SQLite and on PostgreSQL: the desk reads the
    ledger the workers share, whichever database that is."""
    if "ledger_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_backends"
    ):
        metafunc.parametrize("ledger_url", BOTH_BACKENDS, indirect=True)


@pytest.fixture
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite, unless the test is marked `both_backends` and this is its PostgreSQL run."""
    if getattr(request, "param", "sqlite") == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture
def desk(tmp_path: Path, ledger_url: str) -> Iterator[DeskData]:
    ledger = Ledger.open(ledger_url)
    batch_id = ledger.create_batch("october.json", "0" * 64, 3, 0)
    data = DeskData(ledger, tmp_path / "evidence", batch_id)
    yield data
    ledger.close()


@pytest.fixture
def three_claims(desk: DeskData) -> DeskData:
    desk.add("NORTHSIDE-2026-10-000001", first="Marguerite", last="Ollander")
    desk.add("NORTHSIDE-2026-10-000002", first="Theodore", last="Brannick")
    desk.add("NORTHSIDE-2026-10-000003", first="Ines", last="Calloway", rejected=True)
    return desk


@pytest.fixture
def reviewer(desk: DeskData) -> int:
    # A cheap scrypt cost keeps the suite fast; the stored hash names its own parameters.
    return store.add_reviewer(
        desk.ledger.engine, REVIEWER, auth.hash_password(PASSWORD, n=2**12), desk.ledger.clock()
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Served:
    base_url: str
    clock: FakeClock


@pytest.fixture
def served(request: pytest.FixtureRequest, desk: DeskData, reviewer: int) -> Iterator[Served]:
    """The desk on a loopback port; parametrize indirectly with ReviewConfig overrides."""
    clock = FakeClock()
    overrides: dict[str, Any] = getattr(request, "param", {})
    config = ReviewConfig(evidence_dir=desk.evidence_dir, clock=clock, **overrides)
    app = create_app(desk.ledger.engine, config)
    with serve_in_thread(app) as running:
        yield Served(running.base_url, clock)


def sign_in(page: Any, base_url: str, name: str = REVIEWER, password: str = PASSWORD) -> Any:
    page.goto(f"{base_url}/signin")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    return page


# --- Playwright's sync API, kept to this package ------------------------------------------
# The sync API runs an event loop in the main thread for as long as it lives. Scoped to the
# session (pytest-playwright's default) it would still be running when later tests call
# asyncio.run(), which then refuses to start. These overrides end it with this package.

@pytest.fixture(scope="package")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="package")
def browser_type(playwright: Any, browser_name: str) -> Any:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def browser(browser_type: Any, browser_type_launch_args: dict[str, Any]) -> Iterator[Any]:
    launched = browser_type.launch(**browser_type_launch_args)
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def browser_context_args(playwright: Any, device: str | None) -> dict[str, Any]:
    return dict(playwright.devices[device]) if device else {}
