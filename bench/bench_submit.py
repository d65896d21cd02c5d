"""Submission throughput: portalbot's engine against the floor of bare Playwright.

The Acme mock portal runs in its own process. For each concurrency (1, 2, 4) the engine
submits a fresh batch of synthetic claims through a fresh SQLite ledger; the floor is a
minimal script with the same clicks (the history search, the form, the submit click, the
confirmation) and the same full-page screenshot, but no ledger, no engine, no evidence
store and no trace. Both report claims per minute, the median of ``--runs`` runs.

Targets (issues 4 and 15): the ledger and engine add at most 15% to the time per claim at
concurrency 1; with 300 ms added to every portal response, concurrency 4 reaches at least
3x the claims per minute of concurrency 1; with 1,000 ms (slow portals), concurrency 8
reaches at least 6x — one browser, one context per session, each signed in once; each
extra logged-in context costs at most 35 MiB of the Chromium process tree (PSS, see
chromium_memory.py).

Each run starts its own browser and signs in afresh (about a second with 300 ms per
response), and that start-up is timed with the claims. At concurrency 4 each session
spreads it over a quarter as many claims, so the latency runs use a batch of 48 (12 per
session): a handful of claims would measure the sign-in, not the throughput. At 1,000 ms
a claim at concurrency 1 takes about 4 s (four requests), so the slow-portal pair runs
once (``--slow-runs``) on a batch of 48 (6 per session at concurrency 8).

    python bench/bench_submit.py [--claims 24] [--runs 3] [--latency-claims 48]
                                 [--slow-claims 48] [--slow-runs 1] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from acme_portal import start_portal  # noqa: E402
from chromium_memory import median_per_context  # noqa: E402
from figures import figure, note  # noqa: E402

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


def median_of(runs: int, run: Callable[[int], float]) -> float:
    return statistics.median(run(n) for n in range(runs))


def throughput(base_url: str, control: ControlClient, args: argparse.Namespace) -> None:
    """Engine against the floor at concurrency 1, 2 and 4, no added latency."""
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
        print(f"{concurrency:>12} {rate:>11.1f} {base:>10.1f} {overhead:>8.1f}%", flush=True)
    overhead_1 = (results[1][1] / results[1][0] - 1) * 100
    figure("time added per claim by ledger and engine, concurrency 1", overhead_1, "%",
           "<= 15%", overhead_1 <= 15,
           f"engine {results[1][0]:.1f}/min, bare Playwright {results[1][1]:.1f}/min")


def scaling(base_url: str, control: ControlClient, latency_ms: int, high: int, count: int,
            runs: int, target: float) -> None:
    """Claims per minute at concurrency 1 and ``high`` with ``latency_ms`` per response."""
    rates = {}
    for concurrency in (1, high):
        def slow_engine(n: int, c: int = concurrency) -> float:
            control.reset()
            control.set_faults(latency_ms=latency_ms)
            return engine_run(base_url, c, count, f"L{latency_ms}-{c}-{n}")

        rates[concurrency] = median_of(runs, slow_engine)
    control.reset()
    ratio = rates[high] / rates[1]
    figure(f"{latency_ms} ms per response: concurrency {high} vs 1, claims/min", ratio, "x",
           f">= {target:g}x", ratio >= target,
           f"{rates[high]:.1f} vs {rates[1]:.1f}/min, {count} claims, median of {runs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=24)
    parser.add_argument("--latency-claims", type=int, default=48)
    parser.add_argument("--slow-claims", type=int, default=48)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slow-runs", type=int, default=1)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: small batches, one run each")
    args = parser.parse_args()
    if args.quick:
        args.claims, args.runs, args.latency_claims, args.slow_claims = 6, 1, 8, 8
    configure(level="WARNING")
    portal, base_url = start_portal()
    control = ControlClient(base_url)
    try:
        throughput(base_url, control, args)
        scaling(base_url, control, 300, 4, args.latency_claims, args.runs, 3)
        scaling(base_url, control, 1000, 8, args.slow_claims, args.slow_runs, 6)
        control.reset()
        each, one, runs = median_per_context(base_url, LOGIN, 1 if args.quick else 3)
        figure("memory per extra logged-in browser context (PSS)", each, "MiB", "<= 35 MiB",
               each <= 35, f"median of {len(runs)} browsers: {', '.join(f'{e:.1f}' for e in runs)}")
        note("Chromium process tree with one context (PSS)", one, "MiB")
    finally:
        control.close()
        portal.terminate()
        portal.wait()


if __name__ == "__main__":
    main()
