"""Submission throughput: portalbot's engine against the floor of bare Playwright.

The Acme mock portal runs in its own process. For each concurrency (1, 2, 4) the engine
submits a fresh batch of synthetic claims through a fresh SQLite ledger; the floor is a
minimal script with the same clicks (the history search, the form, the submit click, the
confirmation) and the same full-page screenshot, but no ledger, no engine, no evidence
store and no trace. Both report claims per minute, the median of ``--runs`` runs.

Targets (issue 4): the ledger and engine add at most 15% to the time per claim at
concurrency 1; with 300 ms added to every portal response, concurrency 4 reaches at least
3x the claims per minute of concurrency 1. Also reported: the memory each extra browser
context costs (resident set of the whole browser process tree).

Each run starts its own browser and signs in afresh (about a second with 300 ms per
response), and that start-up is timed with the claims. At concurrency 4 each session
spreads it over a quarter as many claims, so the latency runs use a batch of 48 (12 per
session): a handful of claims would measure the sign-in, not the throughput.

    python bench/bench_submit.py [--claims 24] [--runs 3] [--latency-claims 48]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.claims.synthetic import synthetic_batch  # noqa: E402
from fixtures.portals._common import ControlClient  # noqa: E402
from fixtures.portals.acme import DEFAULT_PASSWORD, DEFAULT_USERNAME  # noqa: E402
from payers.acme import AcmeAdapter  # noqa: E402
from portalbot.adapters import Credentials, Filing  # noqa: E402
from portalbot.browser import launch  # noqa: E402
from portalbot.config import PayerSettings, Settings  # noqa: E402
from portalbot.engine import Engine  # noqa: E402
from portalbot.intake import intake  # noqa: E402
from portalbot.ledger import Ledger, derive_portal_key  # noqa: E402
from portalbot.logs import configure  # noqa: E402

LOGIN = Credentials(DEFAULT_USERNAME, DEFAULT_PASSWORD)


def start_portal() -> tuple[subprocess.Popen[bytes], str]:
    port_file = Path(tempfile.mkdtemp()) / "port"
    process = subprocess.Popen(
        [sys.executable, "-m", "fixtures.portals.acme", "--port", "0", "--port-file",
         str(port_file), "--log-level", "warning"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text().strip()):
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit("the mock portal did not start")
        time.sleep(0.05)  # waiting for another process to write its port file
    return process, f"http://127.0.0.1:{port_file.read_text().strip()}"


def engine_run(base_url: str, concurrency: int, count: int, tag: str) -> float:
    """Claims per minute through intake, ledger, engine, evidence and traces."""
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            data_dir=Path(data), concurrency=concurrency,
            payers={"acme": PayerSettings(base_url=base_url, max_sessions=concurrency)},
        )
        ledger = Ledger.open(settings.resolved_ledger_url)
        loaded = intake(ledger, settings, synthetic_batch(count, prefix=tag))
        engine = Engine(settings, ledger, lookup_credentials=lambda *_: LOGIN)
        started = time.perf_counter()
        summary = asyncio.run(engine.run(batch_id=loaded.batch_id))
        elapsed = time.perf_counter() - started
        accepted = sum(r.state == "accepted" for r in summary.results)
        ledger.close()
    if accepted != count:
        raise SystemExit(f"engine run {tag}: {accepted} of {count} accepted")
    return count / elapsed * 60


async def _floor(base_url: str, concurrency: int, count: int, tag: str) -> float:
    adapter = AcmeAdapter(base_url)
    claims = [c.claim for c in synthetic_batch(count, prefix=tag).claims]
    queue: asyncio.Queue[object] = asyncio.Queue()
    for claim in claims:
        queue.put_nowait(claim)
    shots = Path(tempfile.mkdtemp())
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await launch(playwright, Settings().browser)

        async def worker() -> None:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            await adapter.login(page, LOGIN)
            while not queue.empty():
                claim = queue.get_nowait()
                key = derive_portal_key(claim.claim_id, 1)  # type: ignore[attr-defined]
                await adapter.find_submission(page, key)
                await adapter.open_form(page)
                await adapter.fill(page, adapter.to_form(claim, Filing(key)))  # type: ignore[arg-type]
                await adapter.submit(page)
                await adapter.read_outcome(page)
                await page.screenshot(path=shots / f"{key}.png", full_page=True)
            await context.close()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        await browser.close()
    return count / elapsed * 60


def floor_run(base_url: str, concurrency: int, count: int, tag: str) -> float:
    return asyncio.run(_floor(base_url, concurrency, count, tag))


def _tree_pss_kib(root: int) -> int:
    """Proportional set size of a process and all its descendants, from /proc.

    PSS divides shared pages among the processes sharing them, so summing it over
    Chromium's many processes does not count its shared libraries once per process.
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            total += next(int(line.split()[1]) for line in rollup.splitlines()
                          if line.startswith("Pss:"))
        except (OSError, StopIteration):
            pass
        stack.extend(children.get(pid, []))
    return total


async def _context_memory(base_url: str, contexts: int) -> int:
    from playwright.async_api import async_playwright

    adapter = AcmeAdapter(base_url)
    async with async_playwright() as playwright:
        browser = await launch(playwright, Settings().browser)
        pages = []
        for _ in range(contexts):
            context = await browser.new_context()
            page = await context.new_page()
            await adapter.login(page, LOGIN)
            await adapter.open_form(page)
            pages.append(page)
        peak = _tree_pss_kib(os.getpid())
        await browser.close()
    return peak


def median_of(runs: int, run: Callable[[int], float]) -> float:
    return statistics.median(run(n) for n in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=24)
    parser.add_argument("--latency-claims", type=int, default=48)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    configure(level="WARNING")
    portal, base_url = start_portal()
    control = ControlClient(base_url)
    try:
        print(f"submission throughput, {args.claims} claims a run, median of {args.runs} runs")
        print(f"{'concurrency':>12} {'engine/min':>11} {'floor/min':>10} {'overhead':>9}")
        results = {}
        for concurrency in (1, 2, 4):
            def engine(n: int, c: int = concurrency) -> float:
                control.reset()
                return engine_run(base_url, c, args.claims, f"E{c}-{n}")

            def floor(n: int, c: int = concurrency) -> float:
                control.reset()
                return floor_run(base_url, c, args.claims, f"F{c}-{n}")

            rate, base = median_of(args.runs, engine), median_of(args.runs, floor)
            results[concurrency] = (rate, base)
            overhead = (base / rate - 1) * 100
            print(f"{concurrency:>12} {rate:>11.1f} {base:>10.1f} {overhead:>8.1f}%")
        overhead_1 = (results[1][1] / results[1][0] - 1) * 100
        print(f"time added per claim by ledger and engine at concurrency 1: {overhead_1:.1f}% "
              f"(target <= 15%): {'PASS' if overhead_1 <= 15 else 'FAIL'}")

        control.reset()
        control.set_faults(latency_ms=300)
        slow = {}
        for concurrency in (1, 4):
            def slow_engine(n: int, c: int = concurrency) -> float:
                control.reset()
                control.set_faults(latency_ms=300)
                return engine_run(base_url, c, args.latency_claims, f"L{c}-{n}")

            slow[concurrency] = median_of(args.runs, slow_engine)
        ratio = slow[4] / slow[1]
        print(f"with 300 ms per response: concurrency 1 {slow[1]:.1f}/min, concurrency 4 "
              f"{slow[4]:.1f}/min, ratio {ratio:.2f} (target >= 3): "
              f"{'PASS' if ratio >= 3 else 'FAIL'}")
        control.reset()

        one = asyncio.run(_context_memory(base_url, 1))
        five = asyncio.run(_context_memory(base_url, 5))
        print(f"memory per extra browser context (logged in, claim form open, PSS): "
              f"{(five - one) / 4 / 1024:.1f} MiB (process tree with 1 context: {one / 1024:.0f} MiB)")
    finally:
        control.close()
        portal.terminate()
        portal.wait()


if __name__ == "__main__":
    main()
