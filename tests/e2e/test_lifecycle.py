"""A claim's life after the confirmation page: resubmission, status, corrections, worklist."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from fixtures.claims.synthetic import synthetic_batch, synthetic_claims
from fixtures.portals._common import ControlClient, RunningPortal
from portalbot import credentials
from portalbot.claims import ClaimBatchFile, LoadedClaim
from portalbot.config import PayerSettings, RetrySettings, Settings
from portalbot.engine import Engine
from portalbot.evidence import EvidenceStore
from portalbot.intake import intake
from portalbot.ledger import Ledger
from portalbot.worklist import build_worklist, to_csv
from tests.helpers import ACME_LOGIN, ROOT, Clock, Runner

pytestmark = pytest.mark.browser


def _batch_of(*claims: object) -> ClaimBatchFile:
    loaded = [LoadedClaim(c, f"claim #{n}") for n, c in enumerate(claims, start=1)]  # type: ignore[arg-type]
    return ClaimBatchFile(Path("corrections.json"), f"h{id(claims)}", loaded, [])


def _status(runner: Runner) -> None:
    engine = runner.engine()
    asyncio.run(engine.check_statuses())


def test_a_claim_failed_by_an_outage_is_sent_exactly_once_when_its_retry_is_due(
    tmp_path: Path, acme_server: RunningPortal, acme: ControlClient
) -> None:
    clock = Clock()
    settings = Settings(
        data_dir=tmp_path, payers={"acme": PayerSettings(base_url=acme_server.base_url)},
        retry=RetrySettings(in_place_attempts=1, in_place_wait_s=0, backoff_s=300),
    )
    ledger = Ledger.open(settings.resolved_ledger_url, clock=clock)
    runner = Runner(settings, ledger, ACME_LOGIN)
    acme.set_faults(maintenance=True)
    loaded, _ = runner.submit(synthetic_batch(2, prefix="OUT"))
    acme.set_faults(maintenance=False)

    assert runner.run().results == []  # before next_attempt_at nothing is sent
    assert acme.submissions() == []
    clock.now += timedelta(seconds=301)
    runner.run()
    runner.run()

    assert {r.state for r in ledger.claims_in_batch(loaded.batch_id)} == {"accepted"}
    assert len(acme.submissions()) == 2


def test_two_resubmit_processes_started_together_send_each_due_claim_once(
    tmp_path: Path, settings: Settings, ledger: Ledger, acme_server: RunningPortal,
    acme: ControlClient,
) -> None:
    credentials.store("acme", "default", ACME_LOGIN)
    loaded = intake(ledger, settings, synthetic_batch(6, prefix="RESUB"))
    env = {**os.environ, "PORTALBOT_PAYER_ACME_BASE_URL": acme_server.base_url}
    command = [sys.executable, "-m", "portalbot", "--data-dir", str(settings.data_dir), "resubmit"]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in processes]

    assert [p.returncode for p in processes] == [0, 0], [o[1].decode()[-800:] for o in outputs]
    per_key = Counter(s["patient_account_number"] for s in acme.submissions())
    assert sorted(per_key.values()) == [1] * 6
    assert {r.state for r in ledger.claims_in_batch(loaded.batch_id)} == {"accepted"}


def test_status_records_a_later_denial_and_payment_with_evidence(
    runner: Runner, acme: ControlClient, ledger: Ledger
) -> None:
    loaded, _ = runner.submit(synthetic_batch(2, prefix="STAT"))
    denied, paid = ledger.claims_in_batch(loaded.batch_id)
    acme_post = acme._post  # the adjudication switch is Acme's own control route
    acme_post("/adjudicate", {"claim_number": denied.confirmation, "status": "denied",
                              "reason_code": "CO-50", "reason": "Not medically necessary."})
    acme_post("/adjudicate", {"claim_number": paid.confirmation, "status": "paid",
                              "paid_amount": "42.10"})
    _status(runner)

    denied, paid = ledger.claim(denied.pk), ledger.claim(paid.pk)
    assert (denied.state, denied.reason_code) == ("denied", "CO-50")
    assert "Not medically necessary" in (denied.reason or "")
    assert paid.state == "paid" and paid.reason == "paid 42.10"
    status_attempt = ledger.attempts(denied.pk)[-1]
    assert status_attempt["kind"] == "status"
    assert Path(status_attempt["screenshot"]).read_bytes().startswith(b"\x89PNG")


def test_a_denied_claim_corrected_as_version_2_goes_as_a_replacement_naming_the_original(
    runner: Runner, acme: ControlClient, ledger: Ledger
) -> None:
    (claim,) = synthetic_claims(1, prefix="CORR")
    runner.submit(_batch_of(claim))
    first = ledger.find(claim.claim_id, 1)
    assert first is not None and first.state == "accepted"
    acme._post("/adjudicate", {"claim_number": first.confirmation, "status": "denied",
                               "reason_code": "CO-16", "reason": "Missing information."})
    _status(runner)
    assert ledger.claim(first.pk).state == "denied"

    corrected = claim.model_copy(update={"version": 2})
    runner.submit(_batch_of(corrected))

    second = ledger.find(claim.claim_id, 2)
    assert second is not None and second.state == "accepted"
    replacement = next(s for s in acme.submissions()
                       if s["patient_account_number"] == second.portal_key)
    assert replacement["claim_frequency"] == "7"
    assert replacement["original_claim_number"] == first.confirmation


def test_a_rejected_claim_corrected_as_version_2_goes_as_a_new_original(
    runner: Runner, acme: ControlClient, ledger: Ledger
) -> None:
    (claim,) = synthetic_claims(1, prefix="REJ")
    unknown = claim.subscriber.model_copy(update={"member_id": "ACM999999999"})
    runner.submit(_batch_of(claim.model_copy(update={"subscriber": unknown})))
    assert ledger.find(claim.claim_id, 1).state == "rejected"  # type: ignore[union-attr]

    runner.submit(_batch_of(claim.model_copy(update={"version": 2})))

    second = ledger.find(claim.claim_id, 2)
    assert second is not None and second.state == "accepted"
    stored = next(s for s in acme.submissions() if s["patient_account_number"] == second.portal_key)
    assert stored["claim_frequency"] == "1" and not stored["original_claim_number"]


def test_the_worklist_groups_by_payer_and_reason_most_urgent_first_and_its_csv_parses_back(
    runner: Runner, acme: ControlClient, ledger: Ledger, settings: Settings
) -> None:
    claims = synthetic_claims(4, prefix="WORK")
    unknown = [c.model_copy(update={"subscriber": c.subscriber.model_copy(
        update={"member_id": f"ACM99999999{n}"})}) for n, c in enumerate(claims[:3])]
    runner.submit(_batch_of(*unknown, claims[3]))

    items = build_worklist(ledger, settings, flagged={})
    assert [(i.payer_id, i.reason) for i in items] == [("acme", "rejected R01")] * 3
    assert [i.days_left for i in items] == sorted(i.days_left for i in items)  # type: ignore[type-var]
    assert all(i.filing_deadline and i.amount > 0 for i in items)

    rows = list(csv.DictReader(io.StringIO(to_csv(items))))
    assert [r["claim_id"] for r in rows] == [i.claim_id for i in items]
    assert {r["reason"] for r in rows} == {"rejected R01"}
    assert rows[0]["amount"] == f"{items[0].amount:.2f}"


def test_purging_evidence_keeps_the_ledgers_record_that_it_existed(
    runner: Runner, acme: ControlClient, ledger: Ledger, settings: Settings
) -> None:
    loaded, _ = runner.submit(synthetic_batch(1, prefix="PURGE"))
    (record,) = ledger.claims_in_batch(loaded.batch_id)
    attempt = ledger.attempts(record.pk)[-1]
    screenshot = Path(attempt["screenshot"])

    removed = EvidenceStore(settings.resolved_evidence_dir).purge(0, now=datetime.now().timestamp() + 60)
    ledger.mark_evidence_purged(removed)

    assert attempt["id"] in removed and not screenshot.exists()
    kept = ledger.attempts(record.pk)[-1]
    assert kept["screenshot"] == str(screenshot) and kept["evidence_purged_at"] is not None


def test_engine_status_check_skips_payers_without_a_status_page(
    runner: Runner, acme: ControlClient, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from payers.acme import AcmeAdapter
    from portalbot.adapters import PortalAdapter

    runner.submit(synthetic_batch(1, prefix="NOSTAT"))
    monkeypatch.setattr(AcmeAdapter, "check_status", PortalAdapter.check_status)
    summary = asyncio.run(Engine(runner.settings, ledger, lookup_credentials=lambda *_: ACME_LOGIN)
                          .check_statuses())
    assert summary.results == []
