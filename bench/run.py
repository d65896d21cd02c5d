"""`make bench`: every benchmark, one after the other, each in its own process.

    python bench/run.py [--quick]

--quick runs smaller batches (a smoke test of the benchmarks themselves, not a measurement).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    runs = [
        ["bench_validate.py"] + (["--claims", "10000", "--runs", "1"] if quick else []),
        ["bench_submit.py"] + (["--claims", "6", "--runs", "1", "--latency-claims", "4"]
                               if quick else []),
        ["bench_garbage.py"] + (["--megabytes", "20"] if quick else []),
        ["bench_remit.py"] + (["--claims", "300"] if quick else []),
        ["bench_ledger.py"] + (["--claims", "20000", "--runs", "1"] if quick else []),
        ["bench_intake.py"] + (["--claims", "2000"] if quick else []),
    ]
    status = 0
    for script, *args in runs:
        print(f"\n== {script} {' '.join(args)}", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / script), *args])
    return status


if __name__ == "__main__":
    sys.exit(main())
