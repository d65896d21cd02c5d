"""The world the tests need: an isolated keyring, a running Acme portal, settings, a ledger.

The keyring backend is forced to a plaintext file under a temporary directory before
anything imports keyring, so no test ever touches the developer's real keyring.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_KEYRING_HOME = tempfile.mkdtemp(prefix="portalbot-test-keyring-")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
os.environ["XDG_DATA_HOME"] = _KEYRING_HOME
for _variable in [v for v in os.environ if v.startswith("PORTALBOT_")]:
    del os.environ[_variable]
# The terminal's size is the test's to choose (pytest-xdist's workers set COLUMNS=80):
# a command's output is drawn for a pipe unless a test says COLUMNS=….
for _variable in ("COLUMNS", "LINES"):
    os.environ.pop(_variable, None)

import pytest  # noqa: E402

from fixtures.portals._common import ControlClient, RunningPortal, serve_in_thread  # noqa: E402
from fixtures.portals.acme import create_app  # noqa: E402
from portalbot.claims import ClaimBatchFile, load_claims  # noqa: E402
from portalbot.config import PayerSettings, RetrySettings, Settings  # noqa: E402
from portalbot.ledger import Ledger  # noqa: E402
from tests.helpers import ACME_LOGIN, CLAIMS, MovingClock, Runner  # noqa: E402


@pytest.fixture(scope="session")
def acme_server() -> Iterator[RunningPortal]:
    with serve_in_thread(create_app()) as portal:
        yield portal


@pytest.fixture
def acme(acme_server: RunningPortal) -> Iterator[ControlClient]:
    """The Acme mock portal, reset to a clean state for this test."""
    with ControlClient(acme_server.base_url) as control:
        control.reset()
        yield control
        control.reset()


@pytest.fixture
def settings(tmp_path: Path, acme_server: RunningPortal) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        payers={"acme": PayerSettings(base_url=acme_server.base_url)},
        retry=RetrySettings(in_place_attempts=3, in_place_wait_s=0.0, backoff_s=60.0),
    )


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock()


@pytest.fixture
def ledger(settings: Settings, clock: MovingClock) -> Iterator[Ledger]:
    store = Ledger.open(settings.resolved_ledger_url, clock=clock)
    yield store
    store.close()


@pytest.fixture
def demo_batch() -> ClaimBatchFile:
    return load_claims(CLAIMS / "demo.json")


@pytest.fixture
def runner(settings: Settings, ledger: Ledger) -> Runner:
    return Runner(settings, ledger, ACME_LOGIN)
