"""`make bench`: every benchmark, one after the other, each in its own process, then one
table of every figure (name, measured, target, PASS/FAIL, load).

    python bench/run.py [--quick] [--only NAME ...]

--quick runs smaller batches (a smoke test of the benchmarks themselves, not a measurement).
Each benchmark records its figures through ``bench/figures.py`` as JSON lines in the file
named by ``PORTALBOT_BENCH_RESULTS``, which this script sets; a benchmark that records
none (bench_validate.py prints its own) has its PASS/FAIL lines taken from its output.

Exit status: 0 when every benchmark ran, even if figures missed their targets — a miss is
a result, reported in the table, and on a shared machine often the load's doing; 1 when
a benchmark crashed or exited with an error (its figures are then missing or partial).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from figures import RESULTS_VARIABLE, load  # noqa: E402

#: script → (its arguments with --quick); scripts other engineers are adding run when present.
BENCHMARKS: dict[str, list[str]] = {
    "bench_startup.py": ["--runs", "3"],
    "bench_validate.py": ["--claims", "10000", "--runs", "1"],
    "bench_submit.py": ["--quick"],
    "bench_garbage.py": ["--megabytes", "20"],
    "bench_remit.py": ["--claims", "300"],
    "bench_ledger.py": ["--claims", "20000", "--runs", "1", "--backend", "sqlite"],
    "bench_intake.py": ["--claims", "2000"],
}
#: Exit statuses that mean "ran, and some figure missed" in scripts that exit 1 on a miss.
MISSED = {"bench_remit.py": {1}, "bench_intake.py": {1}}
VERDICT = re.compile(r"\b(PASS|FAIL)\b")


def run_one(script: str, args: list[str], results: Path) -> tuple[int, list[dict[str, str]]]:
    """Run one benchmark, echoing its output; its exit status and the figures it recorded."""
    results.write_text("")
    env = {**os.environ, RESULTS_VARIABLE: str(results)}
    child = subprocess.Popen([sys.executable, str(HERE / script), *args], env=env,
                             stdout=subprocess.PIPE, text=True, bufsize=1)
    assert child.stdout is not None
    printed = []
    for line in child.stdout:
        print(line, end="", flush=True)
        printed.append(line.rstrip("\n"))
    status = child.wait()
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    if not rows:  # a benchmark that prints its figures but does not record them
        rows = [{"benchmark": Path(script).stem, "name": line.split(":")[0].strip(),
                 "measured": line, "unit": "", "target": "(in the line)",
                 "verdict": VERDICT.findall(line)[-1], "load": ""}
                for line in printed if VERDICT.search(line)]
    return status, rows


def table(rows: list[dict[str, str]], crashed: list[str]) -> None:
    print("\n== summary")
    print(f"{'benchmark':<16} {'figure':<58} {'measured':>14} {'target':<22} {'':<5} load")
    for row in rows:
        measured = row["measured"]
        shown = (f"{measured:.3g} {row['unit']}" if isinstance(measured, float | int)
                 else str(measured)[:60])
        print(f"{row['benchmark']:<16} {row['name'][:58]:<58} {shown:>14} "
              f"{row['target'][:22]:<22} {row['verdict']:<5} {row['load']}")
    missed = sum(row["verdict"] == "FAIL" for row in rows)
    print(f"{len(rows)} figures, {missed} missed their target; load now {load()}")
    for script in crashed:
        print(f"CRASHED: {script} (its figures above are missing or partial)")


def main() -> int:
    argv = sys.argv[1:]
    quick = "--quick" in argv
    only = argv[argv.index("--only") + 1:] if "--only" in argv else None
    rows: list[dict[str, str]] = []
    crashed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="portalbot-bench-") as folder:
        results = Path(folder) / "figures.jsonl"
        for script, quick_args in BENCHMARKS.items():
            if not (HERE / script).exists() or (only and Path(script).stem not in only
                                                 and script not in only):
                continue
            args = quick_args if quick else []
            print(f"\n== {script} {' '.join(args)} (load {load()})", flush=True)
            status, found = run_one(script, args, results)
            rows += found
            if status != 0 and status not in MISSED.get(script, set()):
                crashed.append(f"{script} exited {status}")
    table(rows, crashed)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
