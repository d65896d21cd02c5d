"""How does `portalbot validate` take a big file of garbage named `.jsonl`?

Writes a file of random bytes (200 MB by default) in three shapes and runs
`portalbot validate` on each in a fresh process, reporting wall time, the child's peak
RSS and how many lines it printed:

- garbage: random bytes from the first byte (refused as not a claims file);
- one claim, then garbage: the file must be read to its end, reporting a bounded number
  of unreadable records and counting the rest;
- one line: the same bytes without a line break (every "line" overlong, never held).

Targets ("seconds, bounded"): each shape exits 1 or 2 (refused or unreadable records
reported, never a crash) in < 30 s for 200 MB (scaled with --megabytes, at least 10 s), peak RSS
< 200 MB whatever the size (nothing is held whole), and < 1,000 lines printed (a bounded
number of problems listed, the rest counted).

    python bench/bench_garbage.py [--megabytes 200]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from figures import figure  # noqa: E402

CHUNK = 1 << 20
SECONDS_PER_200MB, PEAK_MB, LINES = 30.0, 200, 1000


def _write_garbage(path: Path, megabytes: int, *, head: bytes = b"", newlines: bool = True) -> None:
    with path.open("wb") as handle:
        handle.write(head)
        for _ in range(megabytes):
            chunk = os.urandom(CHUNK)
            handle.write(chunk if newlines else chunk.replace(b"\n", b"x"))


def _one_claim() -> bytes:
    sys.path.insert(0, str(ROOT))
    from fixtures.claims.synthetic import synthetic_claims

    return (synthetic_claims(1, prefix="BENCH")[0].model_dump_json() + "\n").encode()


def _run(path: Path) -> tuple[float, float, int, int]:
    """Wall seconds, peak RSS (MB) of this child alone (wait4), lines printed, exit status."""
    portalbot = Path(sys.executable).parent / "portalbot"
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        child = subprocess.Popen([str(portalbot), "validate", str(path)], stdout=output,
                                 stderr=subprocess.STDOUT, cwd=ROOT)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        lines = output.read().count(b"\n")
    return wall, usage.ru_maxrss / 1024, lines, child.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    shapes = {
        "garbage": {},
        "one claim, then garbage": {"head": _one_claim()},
        "one line, no line break": {"newlines": False},
    }
    print(f"portalbot validate on {args.megabytes} MB of random bytes named .jsonl")
    print(f"{'shape':<26} {'exit':>4} {'wall s':>7} {'peak RSS MB':>12} {'lines out':>10}")
    with tempfile.TemporaryDirectory(prefix="portalbot-bench-garbage-") as folder:
        for name, options in shapes.items():
            path = Path(folder) / "garbage.jsonl"
            _write_garbage(path, args.megabytes, **options)  # type: ignore[arg-type]
            wall, peak, lines, status = _run(path)
            print(f"{name:<26} {status:>4} {wall:>7.2f} {peak:>12.0f} {lines:>10}", flush=True)
            path.unlink()
            limit = max(SECONDS_PER_200MB * args.megabytes / 200, 10.0)  # start-up is seconds
            figure(f"garbage {args.megabytes} MB, {name}", wall, "s", f"< {limit:g} s",
                   wall < limit and status in (1, 2), f"exit {status}")
            figure(f"garbage {args.megabytes} MB, {name}, peak RSS", peak, "MB",
                   f"< {PEAK_MB} MB", peak < PEAK_MB)
            figure(f"garbage {args.megabytes} MB, {name}, lines printed", lines, "lines",
                   f"< {LINES}", lines < LINES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
