"""A toy payer defined only in the tests — ``toyhealth.py``, one declarative adapter file
under 100 lines — over a small static page set, recorded once with
``portalbot.authoring.record`` and run through the same generated-test machinery
(``adapter_cases.run_recorded``) as a real payer without a mock portal. No mock-portal
code is involved: the pages are fixed strings served by the standard library, and the
replay runs with that server gone."""

from __future__ import annotations

import asyncio
import json
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from portalbot import portal as pb
from portalbot.adapters import Credentials
from portalbot.authoring.record import PLACEHOLDER, record, recordings
from portalbot.config import BrowserSettings
from portalbot.portal import Box

from . import toyhealth
from .adapter_cases import case_claim, kind, run_recorded
from .conftest import Portals
from .toyhealth import ToyAdapter

pytestmark = pytest.mark.browser

PASSWORD = "toy-Secret-Pass-9"
FORM = """<h1>New claim</h1><form method="post" action="/claims">{}
<button type="submit">Submit claim</button></form>"""
BOXES = ["Member ID", "Patient last name", "Date of birth", "Patient account number",
         *(f"Diagnosis {x}" for x in "ABCD"), *(f"Line 1 {x}" for x in ("procedure", "charge"))]
PAGES = {
    "/login": """<h1>Toy Health</h1><form method="post" action="/login">
      <label>Username <input name="u"></label><label>Password <input name="p" type="password">
      </label><button type="submit">Sign in</button></form>""",
    "/home": "<h1>Home</h1><form action='/login'><button>Sign out</button></form>",
    "/claims/new": FORM.format("".join(f'<label>{b} <input name="f{i}"></label>'
                                       for i, b in enumerate(BOXES))),
    "accepted": "<h1>Claim accepted</h1><dl><dt>Confirmation number</dt><dd>TOY-00000001</dd>",
    "rejected": "<h1>New claim</h1><p role='alert'>Rejected (R7): member not covered</p>",
}


class StaticPages(BaseHTTPRequestHandler):
    """The page set: GETs answered from PAGES, the two POSTs by a redirect or a page."""

    def do_GET(self) -> None:
        self._page(PAGES.get(self.path.split("?")[0], "<h1>Not found</h1>"))

    def do_POST(self) -> None:
        body = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        if self.path == "/login":
            self.send_response(303)
            self.send_header("Location", "/home")
            self.send_header("Set-Cookie", f"session=s3ss10n-{body['p'][0]}")
            self.end_headers()
            return
        self._page(PAGES["rejected" if "999999999" in body["f0"][0] else "accepted"])

    def _page(self, html: str) -> None:
        data = f"<!doctype html><html><body>{html}</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The toy portal's pages, recorded once per case, then the server is gone."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), StaticPages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    folder = tmp_path_factory.mktemp("recordings") / "toyhealth"
    adapter = ToyAdapter(f"http://127.0.0.1:{server.server_port}")
    login = Credentials("toy-biller", PASSWORD)
    try:
        for case in ToyAdapter.cases:
            asyncio.run(record(adapter, case, case_claim(case), login, folder,
                               BrowserSettings(action_timeout_s=5.0), submit=True))
    finally:
        server.shutdown()
        server.server_close()
    yield folder


def test_the_recording_holds_no_password_cookie_or_session(recorded: Path) -> None:
    for har in recorded.glob("*.har"):
        text = har.read_text()
        assert PASSWORD not in text and "s3ss10n" not in text
        assert PLACEHOLDER in text  # the sign-in was recorded, its secret replaced
        entries = json.loads(text)["log"]["entries"]
        assert all(not e["request"]["cookies"] and not e["response"]["cookies"] for e in entries)


def test_the_recording_is_owner_only(recorded: Path) -> None:
    assert stat.S_IMODE(recorded.stat().st_mode) == 0o700
    for kept in recorded.iterdir():
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600, kept.name


def test_the_toy_payer_runs_on_recorded_pages_not_a_mock(recorded: Path) -> None:
    assert kind("toyhealth", recorded) == "recorded"
    kept = recordings(recorded)
    assert set(kept) == {c.claim_id for c in ToyAdapter.cases}
    assert all(r.submitted for r in kept.values()), "test mode records through submission"
    source = Path(toyhealth.__file__).read_text()
    assert "fixtures.portals" not in source and "fixtures/portals" not in source


def test_the_toy_payer_is_one_file_under_100_lines() -> None:
    """The issue's "done when": an ordinary labelled form is one file under 100 lines
    plus recorded pages (the recordings are the ``recorded`` fixture's HAR files)."""
    lines = Path(toyhealth.__file__).read_text().splitlines()
    assert len(lines) < 100, len(lines)
    assert [v for v in vars(toyhealth).values() if isinstance(v, type)
            and issubclass(v, pb.LabelledFormAdapter) and "payer_id" in vars(v)] == [ToyAdapter]


@pytest.mark.parametrize("case", ToyAdapter.cases, ids=lambda c: f"{c.claim_id}-{c.expect}")
def test_toy_declared_case_replayed_from_har(case: pb.Case, recorded: Path) -> None:
    try:
        run_recorded(ToyAdapter, case, recorded)
    except pytest.skip.Exception as skipped:  # every toy case is recorded through the click
        pytest.fail(f"the toy case was not run to its outcome: {skipped}")


def test_a_field_map_that_types_something_else_fails_the_replay(recorded: Path) -> None:
    class Drifted(ToyAdapter):
        fields = (*ToyAdapter.fields[:1], Box("last_name", "Patient last name",
                                              "patient.first_name"), *ToyAdapter.fields[2:])

    with pytest.raises(Exception):  # noqa: B017 - the aborted POST, however it surfaces
        run_recorded(Drifted, ToyAdapter.cases[0], recorded)


def test_portalbot_record_keeps_a_scrubbed_session_up_to_the_click(
        tmp_path: Path, portals: Portals) -> None:
    from click.testing import CliRunner

    from portalbot import credentials
    from portalbot.adapters import adapter_for
    from portalbot.cli import main

    login = portals.login("acme")
    credentials.store("acme", "default", login)
    portals.reset_all()
    out = tmp_path / "acme"
    done = CliRunner().invoke(
        main, ["--data-dir", str(tmp_path / "data"), "record", "acme", "--out", str(out)],
        env={"PORTALBOT_PAYER_ACME_BASE_URL": portals.server("acme").base_url})
    assert done.exit_code == 0, done.output
    (har,) = out.glob("*.har")
    assert login.password not in har.read_text()
    assert stat.S_IMODE(har.stat().st_mode) == 0o600
    assert portals.control("acme").submissions() == [] or all(
        s.get("username") == "keyed-by-hand" for s in portals.control("acme").submissions())
    with pytest.raises(pytest.skip.Exception, match="stops before the click"):
        run_recorded(adapter_for("acme"), adapter_for("acme").cases[0], out)
