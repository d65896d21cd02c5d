"""A worker process that stops itself (SIGSTOP) between the write-ahead intent and the
click, for the test that freezes a live worker past its lease. Run as
``python -m tests.e2e.frozen_worker``; settings come from PORTALBOT_CONFIG and the
environment, like `portalbot worker`'s.
"""

from __future__ import annotations

import asyncio
import os
import signal

from playwright.async_api import Page

from portalbot.config import load_settings
from portalbot.engine import Engine
from portalbot.ledger import ClaimRecord, Ledger


async def freeze(record: ClaimRecord, _page: Page) -> None:
    print(f"intent {record.claim_id}", flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)


def main() -> None:
    settings = load_settings()
    ledger = Ledger.open(settings.resolved_ledger_url)
    summary = asyncio.run(Engine(settings, ledger, on_intent=freeze).run())
    states = ",".join(r.state for r in summary.results)
    print(f"done {states or '-'}", flush=True)


if __name__ == "__main__":
    main()
