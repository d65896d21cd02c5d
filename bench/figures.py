"""One figure of a benchmark: printed with its target, PASS/FAIL and the load average, and
recorded as a JSON line for `bench/run.py`'s summary table.

A benchmark calls ``figure(...)`` for every measured number that has a target (and
``note(...)`` for those that are only reported). When ``PORTALBOT_BENCH_RESULTS`` names a
file, each figure is appended to it as one JSON object a line; run.py sets it. The load
average is printed beside every figure because the machine is shared: a figure measured
at load 6 on two cores is not the figure of an idle machine.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

RESULTS_VARIABLE = "PORTALBOT_BENCH_RESULTS"


def load() -> str:
    """The 1, 5 and 15-minute load averages, as printed beside each figure."""
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def figure(name: str, measured: float, unit: str, target: str, passed: bool | None,
           detail: str = "") -> bool:
    """Print and record one figure; ``passed`` None means reported, no target. Returns
    whether it met its target (True when it has none)."""
    verdict = "—" if passed is None else ("PASS" if passed else "FAIL")
    shown = f"{measured:.3g} {unit}".strip() if abs(measured) < 100 else f"{measured:.0f} {unit}"
    extra = f" ({detail})" if detail else ""
    print(f"{name}: {shown}{extra} — target {target}: {verdict} (load {load()})", flush=True)
    _record({"benchmark": Path(sys.argv[0]).stem, "name": name, "measured": measured,
             "unit": unit, "target": target, "verdict": verdict, "load": load()})
    return passed is not False


def note(name: str, measured: float, unit: str, detail: str = "") -> None:
    """A figure that is reported without a target."""
    figure(name, measured, unit, "none (reported)", None, detail)


def _record(row: dict[str, object]) -> None:
    path = os.environ.get(RESULTS_VARIABLE)
    if not path:
        return
    # Owner-only from the first byte, like every file the project writes.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row) + "\n")
