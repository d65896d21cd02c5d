"""Hostile text through every output: rich markup, escape sequences, NUL, BIDI overrides,
line breaks, spreadsheet formulas and 5,000-character values, from a claims file through
validate, submit, ledger, worklist, report and the review desk. Nothing may crash, nothing
may be interpreted, and every CSV cell must be neutralised yet parse back to its value."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient

from fixtures.claims.synthetic import synthetic_claims
from fixtures.portals._common import ControlClient, RunningPortal
from portalbot import credentials
from portalbot.cli import main
from portalbot.csvfile import FORMULA_START, read_csv
from portalbot.ledger import Ledger
from portalbot.logs import configure as configure_logs
from portalbot.review import auth, store
from portalbot.review.app import ReviewConfig, create_app
from tests.helpers import ACME_LOGIN

pytestmark = pytest.mark.browser

LONG = "X" * 5000
# Claim ids the claim format allows (printable, at most 64 characters): they must be sent,
# recorded and shown exactly as they are.
PRINTABLE_IDS = [
    "CLM-[/]",
    "[link=https://evil.example/]click[/link]",
    "[black on black]HIDDEN[/]",
    "\u202eRTL-OVERRIDE\u202c-1",
    '=HYPERLINK("http://evil.example","x")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "@SUM(1+1)",
    "-2+3",
    "<script>alert(1)</script>",
    "'quoted",
]
# Values the claim boundary refuses: the file still loads, each is reported by field.
REFUSED = [
    ("claim_id", "\x1b[31mRED\x1b[0m"),
    ("claim_id", "NUL\x00ID"),
    ("claim_id", "TWO\nLINES"),
    ("claim_id", "\x1b]8;;https://evil.example/\x1b\\link"),
    ("claim_id", LONG),
    ("first_name", "Ann\x00"),
    ("first_name", LONG),
]
# Characters that must never reach a terminal or log as they are.
RAW_CONTROLS = ("\x1b", "\x00", "\u202e", "\u202c")


def _claims_file(tmp_path: Path) -> Path:
    accepted = synthetic_claims(len(PRINTABLE_IDS), prefix="HOSTILE")
    documents: list[dict[str, Any]] = []
    for n, (claim, claim_id) in enumerate(zip(accepted, PRINTABLE_IDS, strict=True)):
        document = json.loads(claim.model_dump_json())
        document["claim_id"] = claim_id
        document["patient"]["first_name"] = ['=HYPERLINK("http://x")', "[/]", "@Ann"][n % 3]
        if n % 2:  # unknown to the portal: rejected, so it lands on the worklist
            document["subscriber"]["member_id"] = f"ACM9999999{n:02d}"
        documents.append(document)
    for n, (field, value) in enumerate(REFUSED):
        document = json.loads(accepted[0].model_dump_json())
        document["claim_id"] = f"BAD-[/]-{n}"
        if field == "claim_id":
            document["claim_id"] = value
        else:
            document["patient"][field] = value
        documents.append(document)
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(documents), encoding="utf-8")
    return path


def _portalbot(data: Path, portal: RunningPortal, *args: str, data_out: bool = False) -> Result:
    """Run the CLI; what it shows a person must hold no raw control character (a CSV on
    standard output, ``data_out``, carries the values exactly: it is data, not a display)."""
    result = CliRunner().invoke(
        main, ["--data-dir", str(data), *args],
        env={"PORTALBOT_PAYER_ACME_BASE_URL": portal.base_url},
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    shown = result.stderr if data_out else result.stdout + result.stderr
    for char in RAW_CONTROLS:
        assert char not in shown, f"{char!r} reached the output of {args[0]}"
    assert "Traceback" not in shown
    return result


def _assert_neutralised(text: str) -> None:
    for row in csv.reader(io.StringIO(text, newline="")):
        for value in row:
            assert not value.startswith(FORMULA_START), f"a live formula cell: {value[:20]!r}"


def _collapsed(text: str) -> str:
    """Table text without the wrapping and borders rich adds."""
    return re.sub(r"[\s│┃|]+", "", text)


def test_hostile_text_is_shown_as_data_everywhere_and_never_interpreted(
    tmp_path: Path, acme_server: RunningPortal, acme: ControlClient
) -> None:
    credentials.store("acme", "default", ACME_LOGIN)
    claims = _claims_file(tmp_path)
    data = tmp_path / "data"

    checked = _portalbot(data, acme_server, "validate", str(claims))
    assert checked.exit_code == 1  # unreadable claims need a person
    assert "CLM-[/]" in checked.stdout and "\\u202eRTL-OVERRIDE\\u202c-1" in checked.stdout
    assert checked.stderr.count("must not contain control characters") == 5
    assert checked.stderr.count("at most 200 characters") + checked.stderr.count(
        "at most 64 characters") == 2
    assert LONG not in checked.stderr

    sent = _portalbot(data, acme_server, "submit", str(claims), "--no-progress")
    assert sent.exit_code == 1, sent.stderr
    assert len(acme.submissions()) == len(PRINTABLE_IDS)
    table = _collapsed(sent.stdout)
    for claim_id in ("CLM-[/]", "[link=https://evil.example/]click[/link]",
                     "[blackonblack]HIDDEN[/]", "\\u202eRTL-OVERRIDE\\u202c-1"):
        assert claim_id in table
    assert "unreadable claim" in sent.stderr and "(claim BAD-[/]-5)" in sent.stderr

    listed = _portalbot(data, acme_server, "ledger")
    assert listed.exit_code == 0
    assert "[link=https://evil.example/]click[/link]" in _collapsed(listed.stdout)
    as_json = _portalbot(data, acme_server, "ledger", "--format", "json")
    assert {r["claim_id"] for r in json.loads(as_json.stdout)} == set(PRINTABLE_IDS)

    worklist = _portalbot(data, acme_server, "worklist")
    assert worklist.exit_code == 0 and "CLM-[/]" not in _collapsed(worklist.stdout)  # accepted
    assert "[link=https://evil.example/]click[/link]" in _collapsed(worklist.stdout)
    as_csv = _portalbot(data, acme_server, "worklist", "--format", "csv",
                        data_out=True).stdout
    _assert_neutralised(as_csv)
    rejected = {claim_id for n, claim_id in enumerate(PRINTABLE_IDS) if n % 2}
    assert {row["claim_id"] for row in read_csv(as_csv)} == rejected

    ledger = Ledger.open(f"sqlite:///{data / 'ledger.sqlite3'}")
    batch_id = ledger.all_claims()[0].batch_id
    html_out, csv_out = tmp_path / "report.html", tmp_path / "report.csv"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    html_out.symlink_to(victim)  # --out replaces a planted symlink, never writes through it
    assert _portalbot(data, acme_server, "report", batch_id, "--out", str(html_out)).exit_code == 0
    assert victim.read_text(encoding="utf-8") == "keep me" and not html_out.is_symlink()
    html = html_out.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert _portalbot(data, acme_server, "report", batch_id, "--out", str(csv_out),
                      "--format", "csv").exit_code == 0
    report_csv = csv_out.read_text(encoding="utf-8")
    _assert_neutralised(report_csv)
    rows = read_csv(report_csv)
    assert {row["claim_id"] for row in rows} == set(PRINTABLE_IDS)
    assert {row["patient"].split(" ")[0] for row in rows} == {'=HYPERLINK("http://x")', "[/]", "@Ann"}

    _the_review_desk_takes_hostile_requests_as_data(ledger, data / "evidence", rejected)
    ledger.close()


def _signed_in(client: TestClient, name: str, password: str) -> None:
    page = client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = client.post("/signin", data={"csrf_token": token[1], "name": name,
                                            "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text


def _the_review_desk_takes_hostile_requests_as_data(
    ledger: Ledger, evidence_dir: Path, rejected: set[str]
) -> None:
    log = io.StringIO()
    configure_logs(stream=log)
    store.add_reviewer(ledger.engine, "alice", auth.hash_password("correct horse battery",
                                                                   n=2**12), ledger.clock())
    app = create_app(ledger.engine, ReviewConfig(evidence_dir=evidence_dir))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        page = client.get("/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        refused = client.post("/signin", data={"csrf_token": token[1], "name": "ali\x00ce",
                                               "password": "x"})
        assert refused.status_code == 400 and "control character" in refused.text
        _signed_in(client, "alice", "correct horse battery")

        queue = client.get("/")
        assert queue.status_code == 200
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in queue.text
        for probe in ("/?page=" + "9" * 5000, "/?page=²", "/?batch=%00", "/batches/%00x",
                      "/?payer=" + LONG):
            assert client.get(probe).status_code == 400, probe[:40]
        assert client.get("/attempts/%1b[31mX").status_code == 400

        attempt_ids = re.findall(r'href="/attempts/([0-9a-f]{32})', queue.text)
        assert attempt_ids
        detail = client.get(f"/attempts/{attempt_ids[0]}")
        assert detail.status_code == 200
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', detail.text)
        assert csrf
        verdict_url = f"/attempts/{attempt_ids[0]}/verdict"
        nul_note = client.post(verdict_url, data={"csrf_token": csrf[1], "verdict": "flagged",
                                                  "note": "bad\x00note", "params": ""},
                               follow_redirects=False)
        assert nul_note.status_code == 400 and "the note" in nul_note.text
        hostile_note = "=HYPERLINK(\"http://evil\") [/] \u202e" + LONG
        flagged = client.post(verdict_url, data={"csrf_token": csrf[1], "verdict": "flagged",
                                                 "note": hostile_note, "params": "batch=%00"},
                              follow_redirects=False)
        assert flagged.status_code == 303
        assert client.get("/flagged").status_code == 200
    lines = log.getvalue()
    assert "\x1b" not in lines and "\\x1b[31mX" in lines
    assert "request failed" not in lines  # nothing fell through to the last-resort handler
    configure_logs()
