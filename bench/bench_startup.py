"""How fast does `portalbot` start? Target: `portalbot --help` and `portalbot validate
--help` each in < 0.3 s (median wall time of N runs, as a fresh process).

A biller types these first, and every command pays the same start-up before it does any
work. Each is run as users run it: the console script, a new process, output to a pipe.
Then one more run under ``python -X importtime`` lists the modules that cost the most
(cumulative microseconds, the module and everything it imported first), so a regression
names its culprit.

    python bench/bench_startup.py [--runs 15] [--top 8]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import figure

TARGET_S = 0.3
COMMANDS = (["--help"], ["validate", "--help"])


def one_run(argv: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of one `portalbot ARGV` process. CPU time is the steadier figure on
    a shared machine: on an idle one the wall time is about the CPU time."""
    portalbot = Path(sys.executable).with_name("portalbot")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([str(portalbot), *argv], check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_offenders(argv: list[str], top: int) -> list[tuple[int, str]]:
    """(cumulative µs, module) of the costliest top-level imports of one run."""
    probe = ("import sys\nfrom portalbot.cli import main\n"
             f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n")
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", probe],
                          capture_output=True, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _self, cumulative, module = line.removeprefix("import time:").split("|")
        if cumulative.strip().isdigit() and not module.startswith("   "):
            rows.append((int(cumulative), module.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    one_run(["--help"])  # the first run reads the files from disk: not what users see
    for argv in COMMANDS:
        runs = [one_run(argv) for _ in range(args.runs)]
        wall = statistics.median(w for w, _cpu in runs)
        cpu = statistics.median(c for _w, c in runs)
        name = f"portalbot {' '.join(argv)}"
        figure(name, wall, "s", f"< {TARGET_S} s", wall < TARGET_S,
               f"median wall of {args.runs}, fastest {min(w for w, _c in runs):.3f} s")
        figure(f"{name}, CPU", cpu, "s", f"< {TARGET_S} s", cpu < TARGET_S,
               f"median CPU time of {args.runs}")
        offenders = ", ".join(f"{module} {us / 1000:.0f} ms"
                              for us, module in import_offenders(argv, args.top))
        print(f"  costliest imports (-X importtime, cumulative): {offenders}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
