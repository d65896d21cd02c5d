"""The ledger at scale: with 1,000,000 claims, on SQLite and PostgreSQL, does each everyday
read answer in under 1 s? (issue #15)

Builds (or reuses) a big synthetic ledger (ledger_build.py: the SQLite file cached under
var/bench/, the PostgreSQL database kept by name), then times, as the user runs them:

- the commands, each a fresh subprocess (`portalbot ledger`, its next page, its filters,
  `ledger show ID`, `worklist`, `resubmit` with nothing due); `portalbot --help` is timed
  too, as the floor every command pays to start Python and import;
- a worker's lease of the next claim, a library call (the newest claim is queued for it
  and put back after);
- the review desk's queue page and one claim's page over HTTP (`portalbot review` as a
  subprocess, signed in as a bench reviewer).

Each figure is the median of --runs, printed with its target, PASS/FAIL and the load
average (2 shared cores: read the figures beside it).

    python bench/bench_ledger.py [--claims 1000000] [--backend sqlite --backend postgresql]
                                 [--runs 3] [--rebuild]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ledger_build

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench"
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
TARGET_S = 1.0
PASSWORD = "bench-reviewer-password-1"
PORTALBOT = str(Path(sys.executable).with_name("portalbot"))


def schema_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "src/portalbot/ledger/migrations"))
    return str(ScriptDirectory.from_config(config).get_current_head())


def sqlite_ledger(claims: int, rebuild: bool) -> str:
    mark = ledger_build.key(schema_head(), claims)
    path = CACHE / f"ledger-{schema_head()}-b{ledger_build.BUILDER}-{claims}.sqlite"
    url = f"sqlite:///{path}"
    if path.exists() and not rebuild and ledger_build.marked(url, mark):
        return url
    CACHE.mkdir(parents=True, exist_ok=True, mode=0o700)
    building = path.with_suffix(".building")
    for stale in (path, building, *CACHE.glob(f"{building.name}-*")):
        stale.unlink(missing_ok=True)
    ledger_build.build(f"sqlite:///{building}", claims)
    ledger_build.mark(f"sqlite:///{building}", mark)
    os.replace(building, path)
    return url


def postgres_ledger(claims: int, rebuild: bool) -> str:
    mark = ledger_build.key(schema_head(), claims)
    name = f"portalbot_scale_bench_{claims}"
    url = f"{POSTGRES}/{name}"
    if not rebuild and ledger_build.marked(url, mark):
        return url
    admin = sa.create_engine(f"{POSTGRES.replace('postgresql://', 'postgresql+psycopg://')}/test",
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    ledger_build.build(url, claims)
    ledger_build.mark(url, mark)
    return url


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def report(what: str, seconds: list[float], target: float = TARGET_S,
           cpu: list[float] | None = None) -> None:
    median = statistics.median(seconds)
    verdict = "PASS" if median < target else "FAIL"
    used = f" ({statistics.median(cpu):.3f} s CPU)" if cpu else ""
    print(f"  {what}: median {median:.3f} s wall{used} over {len(seconds)} runs — target "
          f"< {target:g} s: {verdict} (load {load()})", flush=True)


def command(base: list[str], args: list[str], ok: tuple[int, ...] = (0,),
            timeout: float = 300) -> tuple[float, float]:
    """Wall and CPU seconds of one run of the command (CPU: the steadier figure on a
    shared machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([PORTALBOT, *base, *args], capture_output=True, timeout=timeout)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if result.returncode not in ok:
        raise SystemExit(f"portalbot {' '.join(args)} exited {result.returncode}: "
                         f"{result.stderr.decode(errors='replace')[-800:]}")
    return seconds, cpu


def time_lease(url: str) -> float:
    """Queue the newest claim, time a worker's lease of it, then put it back as it was."""
    from portalbot.ledger import Ledger, schema

    ledger = Ledger.open(url)
    c = schema.claims.c
    with ledger.engine.begin() as tx:
        pk, state = tx.execute(sa.select(c.id, c.state).order_by(c.id.desc()).limit(1)).one()
        tx.execute(schema.claims.update().where(c.id == pk).values(state="queued"))
    try:
        started = time.perf_counter()
        leased = ledger.lease("bench-worker", limit=1)
        seconds = time.perf_counter() - started
        if [r.pk for r in leased] != [pk]:
            raise SystemExit(f"the lease took {[r.pk for r in leased]}, not the queued {pk}")
    finally:
        with ledger.engine.begin() as tx:
            tx.execute(schema.claims.update().where(c.id == pk).values(
                state=state, lease_owner=None, lease_expires_at=None))
        ledger.close()
    return seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def review_desk(base: list[str]) -> Iterator[httpx.Client]:
    """`portalbot review` on a free port, and a client signed in as the bench reviewer."""
    listed = subprocess.run([PORTALBOT, *base, "review", "user", "list"],
                            capture_output=True, text=True, check=True)
    if "bench" not in listed.stdout.split():
        subprocess.run([PORTALBOT, *base, "review", "user", "add", "bench", "--password-stdin"],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    port = free_port()
    desk = subprocess.Popen([PORTALBOT, *base, "review", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
        deadline = time.monotonic() + 120
        while True:  # until the desk answers (or has exited, or the deadline passed)
            try:
                page = client.get("/signin")
                break
            except httpx.TransportError:
                if desk.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the review desk did not start: " + (
                        desk.stderr.read().decode() if desk.stderr else "")) from None
                time.sleep(0.1)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, "no csrf token on the sign-in page"
        signed = client.post("/signin", data={"csrf_token": token[1], "name": "bench",
                                              "password": PASSWORD})
        if signed.status_code != 303 or "/signin" in signed.headers.get("location", ""):
            raise SystemExit(f"signing in to the desk failed ({signed.status_code})")
        yield client
    finally:
        desk.terminate()
        desk.wait(30)


def timed_get(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code}")
    return seconds


def bench(backend: str, url: str, claims: int, runs: int, desk: bool) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    base = ["--data-dir", str(data_dir), "--ledger", url]
    middle = claims // 2
    last_batch = f"bench{(claims - 1) // ledger_build.BATCH:027d}"
    commands: list[tuple[str, list[str], tuple[int, ...]]] = [
        ("portalbot --help (the floor: Python start and imports)", ["--help"], (0,)),
        ("portalbot ledger", ["ledger"], (0,)),
        ("portalbot ledger --before MIDDLE (a page deep in)", ["ledger", "--before", str(middle)],
         (0,)),
        ("portalbot ledger --state denied --payer keystone",
         ["ledger", "--state", "denied", "--payer", "keystone"], (0,)),
        ("portalbot ledger --batch NEWEST", ["ledger", "--batch", last_batch], (0,)),
        ("portalbot ledger show ID", ["ledger", "show", f"BENCH-{middle:07d}"], (0,)),
        ("portalbot worklist (first page)", ["worklist"], (0,)),
        ("portalbot resubmit (nothing due)", ["resubmit"], (0,)),
    ]
    try:
        print(f"\n{backend}: {claims:,} claims", flush=True)
        for what, args, ok in commands:
            measured = [command(base, args, ok) for _ in range(runs)]
            report(what, [wall for wall, _cpu in measured], cpu=[cpu for _wall, cpu in measured])
        report("lease of the next claim (library call)", [time_lease(url) for _ in range(runs)])
        if desk:
            review(base, runs)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def review(base: list[str], runs: int) -> None:
    with review_desk(base) as client:
        queue = [timed_get(client, "/") for _ in range(runs)]
        report("review desk queue page (GET /)", queue)
        attempt = re.search(r'href="/attempts/([0-9a-f]+)', client.get("/").text)
        if attempt is None:
            print("  review desk claim page: no attempt on the queue page to open")
            return
        pages: list[float] = [timed_get(client, f"/attempts/{attempt[1]}") for _ in range(runs)]
        report("review desk claim page (GET /attempts/ID)", pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="build the ledgers afresh")
    parser.add_argument("--no-desk", action="store_true", help="skip the review desk")
    args = parser.parse_args()
    os.umask(0o077)
    makers: dict[str, Callable[[int, bool], str]] = {
        "sqlite": sqlite_ledger, "postgresql": postgres_ledger}
    for backend in args.backend or ["sqlite", "postgresql"]:
        started = time.perf_counter()
        url = makers[backend](args.claims, args.rebuild)
        print(f"{backend} ledger ready in {time.perf_counter() - started:.0f} s", flush=True)
        bench(backend, url, args.claims, args.runs, not args.no_desk)


if __name__ == "__main__":
    main()
