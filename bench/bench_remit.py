"""How fast does `portalbot remit` record a big 835? Target: 5,000 claim payments in < 30 s,
peak memory < 400 MB, and the same for the second import of the same file (nothing recorded).

Builds one 835 of N claim payments from the claim loop of the demo fixture (each with its
own patient control number, the BPR total kept balanced), then runs the command users run,
`portalbot remit FILE`, in a fresh process against a fresh SQLite ledger: first the
import, then the same file again. Every claim payment is unmatched (no claims in that
ledger), so each is still looked up by patient control number and payer claim number and
kept in the remits table. Reports wall and CPU time and peak RSS of each.

    python bench/bench_remit.py [--claims 5000]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from figures import figure  # noqa: E402

FIXTURE = ROOT / "fixtures" / "x12" / "acme-835-2026-11-20.x12"
TARGET_SECONDS, TARGET_MB = 30.0, 400


def big_835(claims: int) -> str:
    """The fixture's first claim loop, N times, in one balanced transaction set."""
    segments = FIXTURE.read_text().split("~\n")
    first = next(i for i, s in enumerate(segments) if s.startswith("CLP"))
    second = next(i for i in range(first + 1, len(segments)) if segments[i].startswith("CLP"))
    loop = segments[first:second]
    pcn = loop[0].split("*")[1]
    body = [s.replace(f"CLP*{pcn}*", f"CLP*BENCH{n:09d}*") for n in range(claims) for s in loop]
    paid = Decimal(loop[0].split("*")[4]) * claims
    header = [s if not s.startswith("BPR") else s.replace("*672.45*", f"*{paid:.2f}*")
              for s in segments[2:first]]
    sets = [*header, *body]
    trailer = [f"SE*{len(sets) + 1}*0001", "GE*1*101", "IEA*1*000000101", ""]
    return "~\n".join([segments[0], segments[1], *sets, *trailer])


def run(data_dir: Path, path: Path) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS MB, exit status) of one `portalbot remit` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    status = subprocess.call(
        [str(Path(sys.executable).with_name("portalbot")), "--data-dir", str(data_dir),
         "remit", str(path), "--format", "json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024, status


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big-835.x12"
        path.write_text(big_835(args.claims))
        size = path.stat().st_size / 1e6
        print(f"835 of {args.claims} claim payments ({size:.1f} MB)")
        ok = True
        # exit 1 the first time: the claim payments are unmatched (this ledger has no
        # claims); 0 the second: nothing recorded, everything imported before.
        for label, expected in (("first import", 1), ("second import", 0)):
            wall, cpu, peak, status = run(Path(tmp) / "data", path)
            ok &= figure(f"remit {args.claims} claim payments, {label}", wall, "s",
                         f"< {TARGET_SECONDS:.0f} s", status == expected and wall < TARGET_SECONDS,
                         f"{cpu:.1f} s CPU, exit {status}, expected {expected}")
            ok &= figure(f"remit {args.claims} claim payments, {label}, peak RSS", peak, "MB",
                         f"< {TARGET_MB} MB", peak < TARGET_MB)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
