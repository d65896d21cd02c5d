"""What one more logged-in browser context costs, in memory of the Chromium process tree.

One browser is launched as portalbot launches it; one context signs in to Acme and opens
the claim form, the tree's proportional set size (PSS: shared pages divided among the
processes sharing them, so Chromium's libraries are not counted once per process) is
read from /proc/<pid>/smaps_rollup of every Chromium process; then N more contexts do
the same and it is read again. The figure is the difference divided by N.

``--flags`` compares extra Chromium switches on top of portalbot's own (browser.py's
LAUNCH_ARGS), each measured the same way, to see which cut the per-context cost.

    python bench/chromium_memory.py [--runs 3] [--flags]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from figures import load  # noqa: E402

from payers.acme import AcmeAdapter  # noqa: E402
from portalbot.adapters import Credentials  # noqa: E402
from portalbot.browser import LAUNCH_ARGS, find_chromium  # noqa: E402
from portalbot.config import Settings  # noqa: E402

#: Candidate switches, each tried alone on top of LAUNCH_ARGS. None of them changes what a
#: page does; --disable-features is left out on purpose (a second one replaces Playwright's).
CANDIDATES: dict[str, list[str]] = {
    "portalbot's flags": [],
    "--renderer-process-limit=1": ["--renderer-process-limit=1"],
    "--js-flags=--max-old-space-size=64": ["--js-flags=--max-old-space-size=64"],
    "--disable-extensions --disable-dev-shm-usage": ["--disable-extensions",
                                                     "--disable-dev-shm-usage"],
    "--disable-site-isolation-trials": ["--disable-site-isolation-trials"],
    "--js-flags=--lite-mode": ["--js-flags=--lite-mode"],
}


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    return children


def chromium_pss_kib(root: int) -> int:
    """PSS of every Chromium process under ``root`` (this process: Playwright's driver
    starts the browser), not counting Python or the driver itself."""
    children, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            if "chrom" not in name and "headless" not in name:
                continue
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            total += next(int(line.split()[1]) for line in rollup.splitlines()
                          if line.startswith("Pss:"))
        except (OSError, StopIteration):
            continue
    return total


async def per_context_mib(base_url: str, login: Credentials, extra: int = 4,
                          flags: list[str] | None = None) -> tuple[float, float]:
    """(MiB per extra logged-in context, MiB of the tree with one context)."""
    import os

    from playwright.async_api import async_playwright

    adapter = AcmeAdapter(base_url)
    settings = Settings().browser
    async with async_playwright() as playwright:
        executable = find_chromium(playwright, settings)
        browser = await playwright.chromium.launch(
            headless=True, executable_path=str(executable) if executable else None,
            args=[*LAUNCH_ARGS, *(flags or [])])

        async def signed_in_form() -> object:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            await adapter.login(page, login)
            await adapter.open_form(page)
            return page

        pages = [await signed_in_form()]
        one = chromium_pss_kib(os.getpid())
        pages += [await signed_in_form() for _ in range(extra)]
        more = chromium_pss_kib(os.getpid())
        await browser.close()
    return (more - one) / extra / 1024, one / 1024


def median_per_context(base_url: str, login: Credentials, runs: int = 3,
                       flags: list[str] | None = None) -> tuple[float, float, list[float]]:
    """Median (MiB per extra context, MiB with one) over ``runs`` browsers, and each run's."""
    measured = [asyncio.run(per_context_mib(base_url, login, flags=flags)) for _ in range(runs)]
    return (statistics.median(e for e, _one in measured),
            statistics.median(o for _e, o in measured), [e for e, _one in measured])


def main() -> int:
    from acme_portal import start_portal

    from fixtures.portals.acme import DEFAULT_PASSWORD, DEFAULT_USERNAME

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flags", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="median of this many browsers")
    args = parser.parse_args()
    portal, base_url = start_portal()
    login = Credentials(DEFAULT_USERNAME, DEFAULT_PASSWORD)
    try:
        for name, flags in CANDIDATES.items() if args.flags else [("portalbot's flags", [])]:
            each, one, runs = median_per_context(base_url, login, args.runs, flags)
            print(f"{name:<46} {each:6.1f} MiB per extra context (tree with one: {one:.0f} MiB; "
                  f"runs {', '.join(f'{e:.1f}' for e in runs)}; load {load()})", flush=True)
    finally:
        portal.terminate()
        portal.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
