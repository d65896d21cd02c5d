"""How fast does `portalbot submit FILE --max-claims 0` load a big file into the ledger?
Targets: 100,000 claims in < 30 s on SQLite, < 60 s on PostgreSQL; the re-run of the same
file (which loads nothing: "already loaded as batch …") in the same time.

Generates the synthetic claims bench_validate.py uses (every fifth one broken, so about
40 % are held) into a JSON Lines file, then runs the command a biller runs, as a
subprocess, on a fresh SQLite ledger and on a fresh PostgreSQL database of its own on
127.0.0.1:5432 (dropped afterwards; skipped with the reason when no server answers), each
followed by the re-run. Prints wall seconds, claims/s, CPU seconds and the command's peak
RSS, PASS/FAIL against the target (at 100,000 claims or more), and the load average (the
machine is shared: CPU seconds are the steadier figure). A re-run that does not say the
file was already loaded fails at any size.

    python bench/bench_intake.py [--claims 100000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_validate import generate

TARGETS_S = {"sqlite": 30.0, "postgresql": 60.0}
TARGET_CLAIMS = 100_000
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"

_WRAPPER = (
    "import resource, subprocess, sys, time, json\n"
    "start = time.perf_counter()\n"
    "with open(sys.argv[1], 'wb') as out, open(sys.argv[1] + '.err', 'wb') as err:\n"
    "    code = subprocess.call(sys.argv[2:], stdout=out, stderr=err)\n"
    "wall = time.perf_counter() - start\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'seconds': wall, 'cpu_seconds': u.ru_utime + u.ru_stime,"
    " 'peak_rss_mb': u.ru_maxrss / 1024, 'code': code}))\n"
)


def load(path: Path, data_dir: Path, ledger_url: str | None, out: Path) -> dict[str, Any]:
    """One `portalbot submit FILE --max-claims 0` in a fresh process, measured by a wrapper
    child (so its peak RSS is this command's alone)."""
    portalbot = Path(sys.executable).with_name("portalbot")
    command = [str(portalbot), "--data-dir", str(data_dir)]
    command += ["--ledger", ledger_url] if ledger_url else []
    command += ["submit", str(path), "--max-claims", "0", "--no-progress"]
    result = subprocess.run([sys.executable, "-c", _WRAPPER, str(out), *command],
                            check=True, capture_output=True, text=True)
    measured: dict[str, Any] = json.loads(result.stdout)
    if measured["code"] not in (0, 1):
        tail = Path(f"{out}.err").read_text(encoding="utf-8", errors="replace")[-600:]
        raise SystemExit(f"portalbot submit exited {measured['code']}: {tail}")
    measured["stderr"] = Path(f"{out}.err").read_text(encoding="utf-8", errors="replace")
    return measured


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A database of this run's own, dropped afterwards; None when no server answers."""
    try:
        import sqlalchemy as sa

        admin = sa.create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://"),
                                 isolation_level="AUTOCOMMIT")
        name = f"portalbot_bench_intake_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means "skip"
        print(f"PostgreSQL: skipped, no server at 127.0.0.1:5432 ({type(exc).__name__})")
        yield None
        return
    try:
        yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def report(what: str, claims: int, run: dict[str, Any], target: float) -> bool:
    """One line; PASS/FAIL only at the target's size (a smaller run's start-up time would
    dominate a scaled target), a projection from its CPU time otherwise."""
    if claims >= TARGET_CLAIMS:
        ok = run["seconds"] < target
        verdict = f"target < {target:g} s: {'PASS' if ok else 'FAIL'}"
    else:
        ok = True
        verdict = (f"target < {target:g} s is for {TARGET_CLAIMS:,}, not judged (CPU "
                   f"{run['cpu_seconds'] / claims * TARGET_CLAIMS:.0f} s at that rate)")
    print(f"{what}: {run['seconds']:.1f} s wall ({run['cpu_seconds']:.1f} s CPU), "
          f"{claims / run['seconds']:,.0f} claims/s, peak RSS {run['peak_rss_mb']:.0f} MB — "
          f"{verdict} (load {', '.join(f'{x:.1f}' for x in os.getloadavg())})", flush=True)
    return ok


def backend(name: str, path: Path, claims: int, tmp: Path, url: str | None) -> bool:
    data = tmp / f"data-{name}"
    first = load(path, data, url, tmp / f"{name}-1.out")
    ok = report(f"{name}: portalbot submit FILE --max-claims 0", claims, first, TARGETS_S[name])
    again = load(path, data, url, tmp / f"{name}-2.out")
    ok &= report(f"{name}: the same file again", claims, again, TARGETS_S[name])
    if "already loaded as batch" not in again["stderr"]:
        print(f"{name}: FAIL — the re-run did not say the file was already loaded")
        ok = False
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=TARGET_CLAIMS)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        path = tmp / "claims.jsonl"
        started = time.perf_counter()
        generate(path, args.claims)
        print(f"generated {args.claims:,} claims ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        ok &= backend("sqlite", path, args.claims, tmp, None)
        if not args.no_postgres:
            with postgres_database() as url:
                if url is not None:
                    ok &= backend("postgresql", path, args.claims, tmp, url)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
