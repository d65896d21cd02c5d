"""Redaction: no patient data or secret reaches a log line."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import date
from typing import Any

from portalbot.claims import ClaimBatchFile
from portalbot.logs import MASK, configure, get_logger, register_claim_phi, register_secrets, scrub


def test_sensitive_keys_are_masked_whatever_their_value() -> None:
    stream = io.StringIO()
    configure(json_output=True, stream=stream)
    get_logger().info("login", password="hunter2", member_id="ACM1", claim_id="C-1")
    line = json.loads(stream.getvalue())
    assert line["password"] == MASK and line["member_id"] == MASK
    assert line["claim_id"] == "C-1"


def test_registered_values_are_scrubbed_from_any_text_in_any_date_format(
    demo_batch: ClaimBatchFile,
) -> None:
    claim = demo_batch.claims[0].claim
    register_claim_phi(claim)
    born: date = claim.patient.birth_date
    text = (
        f"row for {claim.patient.last_name.upper()}, {claim.patient.first_name} "
        f"born {born:%m/%d/%Y} ({born:%m%d%Y}) member {claim.subscriber.member_id}"
    )
    cleaned = scrub(text)
    for value in (claim.patient.last_name, claim.patient.first_name, claim.subscriber.member_id,
                  f"{born:%m/%d/%Y}", f"{born:%m%d%Y}"):
        assert value.lower() not in cleaned.lower()


def test_exception_tracebacks_are_scrubbed_too(demo_batch: ClaimBatchFile) -> None:
    claim = demo_batch.claims[1].claim
    register_claim_phi(claim)
    stream = io.StringIO()
    configure(json_output=True, stream=stream)
    try:
        raise ValueError(f"cell text {claim.patient.last_name}")
    except ValueError:
        get_logger().exception("boom")
    assert claim.patient.last_name not in stream.getvalue()


def test_each_concurrent_task_scrubs_the_claim_it_is_working_on(
    demo_batch: ClaimBatchFile,
) -> None:
    first, second = (loaded.claim for loaded in demo_batch.claims[:2])
    stream = io.StringIO()
    configure(json_output=True, stream=stream)

    async def work(claim: Any, started: asyncio.Event, other_started: asyncio.Event) -> None:
        register_claim_phi(claim)
        started.set()
        await other_started.wait()  # both claims are now registered, in their own tasks
        get_logger().warning("page said", text=f"no coverage for {claim.patient.last_name}")

    async def both() -> None:
        a, b = asyncio.Event(), asyncio.Event()
        await asyncio.gather(work(first, a, b), work(second, b, a))

    asyncio.run(both())
    logged = stream.getvalue()
    assert logged.count(MASK) == 2
    assert first.patient.last_name not in logged and second.patient.last_name not in logged


def test_a_registered_secret_is_scrubbed_in_every_task() -> None:
    stream = io.StringIO()
    configure(json_output=True, stream=stream)
    register_secrets("Keystone-pass-1")

    async def elsewhere() -> None:
        get_logger().warning("page said", text="your password Keystone-pass-1 expires soon")

    asyncio.run(elsewhere())
    assert "Keystone-pass-1" not in stream.getvalue()
    assert MASK in stream.getvalue()


def test_a_set_up_made_before_structlog_is_loaded_applies_to_the_first_logger() -> None:
    """`configure` defers importing structlog (start-up time); the first logger must still
    log through the redaction, in the configured shape."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from portalbot.logs import configure, get_logger, register_secrets\n"
        "configure(json_output=True, stream=sys.stdout)\n"
        "print('LOADED', 'structlog' in sys.modules, file=sys.stderr)\n"
        "register_secrets('hunter22-secret')\n"
        "get_logger().info('signed in', detail='used hunter22-secret', password='x')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert "LOADED False" in done.stderr
    line = json.loads(done.stdout)
    assert line["detail"] == f"used {MASK}" and line["password"] == MASK
