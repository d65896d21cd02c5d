"""The biller's command line without a browser: a ledger built from the demo file, its
outcomes recorded as the engine records them, then `submit`, `ledger`, `worklist` and
`ledger show` read as a person reads them — at 80 and at 200 columns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from portalbot.claims import load_claims
from portalbot.config import Settings
from portalbot.intake import intake
from portalbot.ledger import Evidence, Ledger
from portalbot.outcomes import Accepted, Rejected
from tests.helpers import CLAIMS

LONG_ID = "NORTHSIDE-FAMILY-MEDICINE-SPRINGFIELD-IL-2026-10-000101-CORR"
LONG_REASON = ("Member not found: the subscriber ID does not match an active member on the "
               "date of service; check the card and resubmit")


@dataclass
class World:
    data: Path
    claims_file: Path
    ledger: Ledger
    batch_id: str
    expected: dict[str, tuple[str, str]]  # claim id -> (state, confirmation or reason)
    twice: str  # a claim with two attempts


def _outcome(ledger: Ledger, pk: int, n: int, evidence_dir: Path) -> tuple[str, str]:
    ledger.lease("w1", limit=50)
    attempt = ledger.begin_attempt(pk, "w1")
    ledger.mark_submitting(pk, attempt, "w1", account="default")
    shot = evidence_dir / f"claim-{pk}" / f"{attempt}.png"
    evidence = Evidence(screenshot=str(shot), html=str(shot.with_suffix(".html")))
    if n % 5 == 4:
        ledger.record_outcome(pk, attempt, "w1", Rejected(LONG_REASON, "MNF"),
                              expected_state="submitting", reason="read", evidence=evidence)
        return "rejected", LONG_REASON
    confirmation = f"ACM-2026-{pk:07d}-Q"
    ledger.record_outcome(pk, attempt, "w1", Accepted(confirmation), expected_state="submitting",
                          reason="read", evidence=evidence)
    return "accepted", confirmation


@pytest.fixture
def world(tmp_path: Path) -> World:
    raw = json.loads((CLAIMS / "demo.json").read_text(encoding="utf-8"))
    claims = raw["claims"] if isinstance(raw, dict) else raw
    claims[0]["claim_id"] = LONG_ID
    claims_file = tmp_path / "claims.json"
    claims_file.write_text(json.dumps(raw), encoding="utf-8")
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    ledger = Ledger.open(settings.resolved_ledger_url)
    loaded = intake(ledger, settings, load_claims(claims_file))
    expected: dict[str, tuple[str, str]] = {}
    queued = [r for r in loaded.records if r.state == "queued"]
    for n, record in enumerate(queued):
        expected[record.claim_id] = _outcome(ledger, record.pk, n, settings.resolved_evidence_dir)
    for record in loaded.records:
        if record.state == "held":
            first = next(f for f in record.findings if f["severity"] == "error")
            expected[record.claim_id] = ("held", f"{first['rule']}: {first['message']}")
    twice = queued[1]
    return World(data, claims_file, ledger, loaded.batch_id, expected, twice.claim_id)


def _portalbot(world: World, *args: str, columns: int = 200, stdin: str | None = None) -> Result:
    return CliRunner().invoke(
        __import__("portalbot.cli", fromlist=["main"]).main,
        ["--data-dir", str(world.data), *args], env={"COLUMNS": str(columns)}, input=stdin,
    )


def _run(lines: list[str], mark: str) -> int:
    """How many of ``lines``, from the first, contain ``mark``."""
    return next((n for n, line in enumerate(lines) if mark not in line), len(lines))


def _columns(text: str, title: str) -> dict[str, str]:
    """The table titled ``title``, each column's cells read top to bottom with every space
    removed: a value that wrapped or folded across lines reads back whole."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if title in line)
    header_at = next(i for i in range(start, len(lines)) if "┃" in lines[i])
    split = [line.strip().strip("┃").split("┃") for line in
             lines[header_at:header_at + _run(lines[header_at:], "┃")]]
    headers = [" ".join(p[n].strip() for p in split if p[n].strip()) for n in range(len(split[0]))]
    end = next((i for i, line in enumerate(lines[header_at:]) if line.startswith("└")), None)
    body = [line for line in lines[header_at:header_at + (end or len(lines))] if "│" in line]
    cells: list[list[str]] = [[] for _ in headers]
    for line in body:
        for n, part in enumerate(line.strip().strip("│").split("│")):
            cells[n].append(part.replace(" ", ""))
    return {h: "".join(c) for h, c in zip(headers, cells, strict=True)}


def _table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(c in line for c in "│┃━─")]


def _assert_every_claim_in_full(world: World, text: str, title: str, outcome: str,
                                why: str, columns: int) -> dict[str, str]:
    assert all(len(line) <= columns for line in _table_lines(text)), "wider than the terminal"
    table = _columns(text, title)
    assert "…" not in text
    for claim_id, (state, detail) in world.expected.items():
        assert claim_id in table["claim"], claim_id
        assert state in table[outcome]
        assert detail.replace(" ", "") in table[why], (claim_id, detail)
    return table


@pytest.mark.parametrize("columns", [80, 200])
def test_submit_shows_every_claim_id_outcome_and_confirmation_or_reason_in_full(
    world: World, columns: int,
) -> None:
    result = _portalbot(world, "submit", str(world.claims_file), columns=columns)

    assert result.exit_code == 0, result.output
    table = _assert_every_claim_in_full(world, result.stdout, "Claims in this batch", "outcome",
                                        "confirmation or reason", columns)
    if columns == 200:  # the screenshot goes last, relative to the data directory
        assert "evidence/claim-" in table["screenshot"]
        assert str(world.data) not in "".join(_table_lines(result.stdout))
    else:  # ... and is the first to go
        assert "screenshot" not in table


@pytest.mark.parametrize("columns", [80, 200])
def test_ledger_shows_every_claim_id_state_and_confirmation_or_reason_in_full(
    world: World, columns: int,
) -> None:
    result = _portalbot(world, "ledger", columns=columns)

    assert result.exit_code == 0, result.output
    table = _assert_every_claim_in_full(world, result.stdout, "Newest", "state",
                                        "confirmation or reason", columns)
    if columns == 200:
        assert world.batch_id[:8] in table["batch"]


@pytest.mark.parametrize("columns", [80, 200])
def test_worklist_shows_every_claim_id_state_and_detail_in_full(world: World, columns: int) -> None:
    result = _portalbot(world, "worklist", columns=columns)

    assert result.exit_code == 0, result.output
    table = _columns(result.stdout, "Worklist")
    needing = {c: v for c, v in world.expected.items() if v[0] != "accepted"}
    assert needing and all(len(line) <= columns for line in _table_lines(result.stdout))
    for claim_id, (state, detail) in needing.items():
        assert claim_id in table["claim"]
        assert state in table["state"]
        assert detail.replace(" ", "") in table[next(h for h in table if h.startswith("confirm"))]


def test_held_claims_are_their_own_group_on_the_worklist_after_the_payer_calls(world: World) -> None:
    result = _portalbot(world, "worklist", "--format", "json")

    items = json.loads(result.stdout)
    held = [i for i in items if i["state"] == "held"]
    assert held and all(i["reason"].startswith("held: fix at the practice (CCM-") for i in held)
    assert items[-len(held):] == held
    assert all(i["detail"].startswith("CCM-") for i in held)


def test_ledger_json_gives_a_held_claims_reason_and_findings(world: World) -> None:
    result = _portalbot(world, "ledger", "--format", "json")

    claims = json.loads(result.stdout)
    held = [c for c in claims if c["state"] == "held"]
    assert held
    for claim in held:
        assert claim["reason"] == world.expected[claim["claim_id"]][1]
        assert any(f["rule"].startswith("CCM-") and f["severity"] == "error"
                   for f in claim["findings"])


def _second_attempt(world: World) -> None:
    record = world.ledger.versions_of(world.twice)[-1]
    # A status check after acceptance: the claim's second trip to the portal.
    attempt = world.ledger.begin_attempt(record.pk, "w2", kind="status")
    world.ledger.note_attempt(attempt, "accepted", "status: still accepted",
                              Evidence(screenshot=str(world.data / "evidence" / "second.png")))


def test_ledger_show_lists_both_attempts_with_their_evidence(world: World) -> None:
    _second_attempt(world)

    text = _portalbot(world, "ledger", "show", world.twice, columns=200)
    shown = json.loads(_portalbot(world, "ledger", "show", world.twice, "--format", "json").stdout)

    assert text.exit_code == 0, text.output
    assert [a["number"] for a in shown["attempts"]] == [1, 2]
    first, second = shown["attempts"]
    assert first["screenshot"].startswith("evidence/claim-") and first["html"].endswith(".html")
    assert second["screenshot"] == "evidence/second.png"
    for attempt in shown["attempts"]:
        assert attempt["screenshot"] in text.stdout
    assert [e["to"] for e in shown["events"]] == ["queued", "submitting", "accepted"]
    assert shown["claim"]["claim_id"] == world.twice and shown["confirmation"] in text.stdout


def test_ledger_show_of_an_unknown_claim_exits_2(world: World) -> None:
    result = _portalbot(world, "ledger", "show", "NOPE-1")
    assert result.exit_code == 2 and "NOPE-1 is not in the ledger" in result.stderr


@pytest.mark.parametrize(("argv", "suggested"), [
    (["ledger", "--state", "queud"], "did you mean queued?"),
    (["ledger", "--payer", "acmee"], "did you mean acme?"),
    (["worklist", "--payer", "acmee"], "did you mean acme?"),
    (["payer", "pause", "acmee"], "did you mean acme?"),
    (["payer", "resume", "acmee"], "did you mean acme?"),
    (["credentials", "check", "acmee"], "did you mean acme?"),
    (["credentials", "delete", "acmee"], "did you mean acme?"),
    (["credentials", "set", "acmee", "--username", "u", "--password-stdin"], "did you mean acme?"),
    (["check", "acmee"], "did you mean acme?"),
])
def test_a_typo_exits_2_with_a_suggestion(world: World, argv: list[str], suggested: str) -> None:
    result = _portalbot(world, *argv, stdin="secret\n")
    assert result.exit_code == 2, result.output
    assert suggested in result.stderr


def test_submit_with_a_mistyped_payer_exits_2_before_anything_is_queued(world: World) -> None:
    before = len(world.ledger.batches())
    result = _portalbot(world, "submit", str(world.claims_file), "--payer", "acmee")
    assert result.exit_code == 2 and "did you mean acme?" in result.stderr
    assert len(world.ledger.batches()) == before


def test_a_batch_id_by_unique_prefix_and_a_mistyped_one(world: World) -> None:
    prefix = world.batch_id[:6]
    by_prefix = _portalbot(world, "ledger", "--batch", prefix, "--format", "json")
    assert by_prefix.exit_code == 0
    assert {c["batch_id"] for c in json.loads(by_prefix.stdout)} == {world.batch_id}

    typo = world.batch_id[:7] + ("0" if world.batch_id[7] != "0" else "1")
    wrong = _portalbot(world, "ledger", "--batch", typo)
    assert wrong.exit_code == 2 and f"did you mean {world.batch_id[:8]}?" in wrong.stderr


def test_an_ambiguous_batch_prefix_lists_the_candidates(world: World) -> None:
    ids = {world.batch_id}
    while len({i[0] for i in ids}) == len(ids):  # two batches sharing a first character
        ids.add(world.ledger.create_batch("other.json", "1" * 64, 0, 0))
    shared = next(i[0] for i in ids if sum(j[0] == i[0] for j in ids) > 1)

    result = _portalbot(world, "ledger", "--batch", shared)

    assert result.exit_code == 2 and "type more of it" in result.stderr
    assert sum(i[:12] in result.stderr for i in ids if i.startswith(shared)) >= 2


def test_report_takes_a_batch_prefix_and_refuses_a_typo(world: World, tmp_path: Path) -> None:
    out = tmp_path / "report.csv"
    good = _portalbot(world, "report", world.batch_id[:8], "--out", str(out), "--format", "csv")
    assert good.exit_code == 0, good.output and out.exists()
    bad = _portalbot(world, "report", "zz" + world.batch_id[2:8], "--out", str(out))
    assert bad.exit_code == 2 and "no batch" in bad.stderr


def test_the_ledger_pages_the_newest_claims_and_streams_all_on_request(world: World) -> None:
    first = json.loads(_portalbot(world, "ledger", "--limit", "4", "--format", "json").stdout)
    every = json.loads(_portalbot(world, "ledger", "--all", "--format", "json").stdout)

    assert len(first) == 4 and len(every) == len(world.expected)
    assert [c["claim_id"] for c in first] == [c["claim_id"] for c in every][::-1][:4]
    table = _portalbot(world, "ledger", "--limit", "4")
    assert "older claims: `portalbot ledger --before" in table.stderr
    assert "Claims by payer and state" in table.stdout


def test_the_ledger_streams_every_claim_as_csv(world: World) -> None:
    from portalbot.csvfile import read_csv

    every = json.loads(_portalbot(world, "ledger", "--all", "--format", "json").stdout)
    result = _portalbot(world, "ledger", "--all", "--format", "csv")
    rows = read_csv(result.stdout)

    assert result.exit_code == 0, result.output
    assert [(r["claim_id"], r["state"]) for r in rows] == [
        (c["claim_id"], c["state"]) for c in every]
    held = _portalbot(world, "ledger", "--all", "--format", "csv", "--state", "held").stdout
    assert {r["state"] for r in read_csv(held)} <= {"held"}
    assert held.startswith("claim_id,version,payer_id,state")


def test_credentials_set_from_stdin_prints_no_prompt(world: World) -> None:
    result = _portalbot(world, "credentials", "set", "acme", "--username", "biller",
                        "--password-stdin", stdin="s3cret\n")
    assert result.exit_code == 0, result.output
    assert "Password" not in result.output and "Username" not in result.output
    assert "stored credentials for acme" in result.stderr


def test_payers_json_is_a_stable_list(world: World) -> None:
    payers = json.loads(_portalbot(world, "payers", "--format", "json").stdout)
    acme = next(p for p in payers if p["payer_id"] == "acme")
    assert set(acme) == {"payer_id", "name", "portal", "history_search", "working",
                         "broken_reason"}


def test_the_html_and_csv_reports_show_why_a_claim_was_held(world: World, tmp_path: Path) -> None:
    from portalbot.csvfile import read_csv

    held = {c: why for c, (state, why) in world.expected.items() if state == "held"}
    csv_out, html_out = tmp_path / "r.csv", tmp_path / "r.html"
    assert _portalbot(world, "report", world.batch_id, "--out", str(csv_out),
                      "--format", "csv").exit_code == 0
    assert _portalbot(world, "report", world.batch_id, "--out", str(html_out),
                      "--screenshots", "none").exit_code == 0

    rows = {r["claim_id"]: r for r in read_csv(csv_out.read_text(encoding="utf-8"))}
    html = html_out.read_text(encoding="utf-8")
    assert held
    for claim_id, why in held.items():
        assert rows[claim_id]["reason"] == why
        assert why.split(":")[0] in html and "(no rounding)" in html


def test_submit_json_is_the_batchs_claims_and_the_unreadable_ones(world: World) -> None:
    result = _portalbot(world, "submit", str(world.claims_file), "--format", "json")

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert set(shown) == {"batch_id", "already_loaded", "claims", "unreadable", "not_recorded",
                          "submitted_in_this_run"}
    assert shown["submitted_in_this_run"] == 0 and shown["unreadable"] == []
    # The world loaded this very file already: the run names that batch, makes no new one.
    assert shown["batch_id"] == shown["already_loaded"]["batch_id"] == world.batch_id
    assert shown["not_recorded"] == []
    claims = {c["claim_id"]: c for c in shown["claims"]}
    assert set(claims) == set(world.expected)
    for claim_id, (state, detail) in world.expected.items():
        claim = claims[claim_id]
        assert claim["state"] == state
        assert detail == claim["confirmation"] or claim["reason"].endswith(detail)
