"""How fast does `portalbot validate` go on a big batch? Target: 100,000 claims in < 5 s.

Generates synthetic claims (every fifth one broken in some way) into a temporary JSON
Lines file, then runs the command a biller runs, `portalbot validate FILE --format json >
out` and `--format table`, as a subprocess: the median wall, user and total CPU time of 3
runs, the CPU per claim, and the largest peak RSS of any one process of the command
(resource.getrusage(RUSAGE_CHILDREN): the parent or a worker, not their sum). CPU time is
the steadier number on a shared machine; the load average is printed with it.
``--library`` also times the library path (`claims.read_claims` + `rules.BatchChecker`).

    python bench/bench_validate.py [--claims 100000] [--runs 3] [--library [--split]]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ELEMENTS = ["problem_list", "expected_outcomes", "measurable_goals", "symptom_management",
            "planned_interventions", "medication_management", "community_resources",
            "care_coordination", "review_schedule"]
DIAGNOSES = ["E11.9", "I10", "N18.30", "E78.5", "J44.9", "I48.91", "I50.9", "F32.9",
             "M17.11", "G30.9", "E11.65", "J45.909", "Z79.4"]
CODES = {20: ("99490", "64.00"), 40: ("99439", "48.00")}


def synthetic_claim(n: int, rng: random.Random) -> dict[str, Any]:
    """A plausible claim; every fifth has a defect the rules must find."""
    month_day = rng.randint(1, 28)
    entries = []
    total = 0
    for _ in range(rng.randint(1, 4)):
        minutes = rng.randint(5, 25)
        total += minutes
        entries.append({"date": f"2026-10-{rng.randint(1, 28):02d}", "minutes": minutes,
                        "performer_role": rng.choice(["clinical_staff", "clinical_staff",
                                                      "physician", "qhp"]),
                        "performer": "RN Synthetic", "activity": "care coordination call",
                        "face_to_face": rng.random() < 0.05})
    lines = [{"code": "99490", "modifiers": [], "units": 1, "charge": "64.00",
              "date_of_service": "2026-10-31", "place_of_service": "11",
              "diagnosis_pointers": [1, 2]}]
    if total >= 40 or n % 5 == 0:
        lines.append({"code": "99439", "modifiers": [], "units": 1, "charge": "48.00",
                      "date_of_service": "2026-10-31", "place_of_service": "11",
                      "diagnosis_pointers": [1, 2]})
    return {
        "claim_id": f"BENCH-{n:07d}", "version": 1, "payer_id": "acme",
        "service_month": "2026-10",
        "patient": {"first_name": "Synth", "last_name": f"Patient{n}",
                    "birth_date": f"19{40 + n % 40}-0{1 + n % 9}-{1 + n % 28:02d}", "sex": "F",
                    "address": {"line1": "1 Test St", "city": "Springfield", "state": "IL",
                                "postal_code": "62701"}},
        "subscriber": {"member_id": f"M{n % 99_000:09d}", "relationship": "self"},
        "billing_provider": {"name": "Bench Clinic", "npi": "1234567893",
                             "tax_id": "12-3456789",
                             "address": {"line1": "500 Main St", "city": "Springfield",
                                         "state": "IL", "postal_code": "62701"}},
        "rendering_provider": {"name": "Dr Bench", "npi": "1245319599"},
        "diagnoses": rng.sample(DIAGNOSES, rng.randint(2, 5)),
        "service_lines": lines,
        "consent": {"obtained_on": f"2026-0{1 + n % 9}-{month_day:02d}", "method": "verbal",
                    "document_ref": f"NOTE-{n}"},
        "care_plan": {"document_ref": f"CP-{n}", "last_reviewed_on": "2026-09-02",
                      "shared_with_patient_on": "2026-01-05",
                      "elements": ELEMENTS if n % 7 else ELEMENTS[:-1]},
        "time_entries": entries,
        "other_services": [{"code": "99214", "date": "2026-10-12"}] if n % 3 == 0 else [],
        "initiating_visit": {"date": "2025-12-20", "code": "99214"} if n % 11 else None,
    }


def generate(path: Path, count: int) -> None:
    rng = random.Random(20261127)
    with path.open("w", encoding="utf-8") as handle:
        for n in range(count):
            handle.write(json.dumps(synthetic_claim(n, rng), separators=(",", ":")))
            handle.write("\n")


def one_run(path: Path, validate: bool = True) -> dict[str, Any]:
    """Read (and validate) the whole file in this process; report time and peak RSS."""
    import resource
    from datetime import date

    started = time.perf_counter()
    from portalbot.claims import LoadedClaim, read_claims
    from portalbot.rules import BatchChecker, default_context

    checker = BatchChecker(default_context(today=date(2026, 11, 27)))
    claims = billable = problems = findings = 0
    for item in read_claims(path):
        if isinstance(item, LoadedClaim) and not validate:
            claims += 1
        elif isinstance(item, LoadedClaim):
            verdict = checker.check(item.claim)
            claims += 1
            billable += verdict.billable
            findings += len(verdict.findings)
        else:
            problems += 1
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024, "claims": claims,
            "billable": billable, "problems": problems, "findings": findings}


def command_run(path: Path, fmt: str, out_dir: Path) -> dict[str, Any]:
    """`portalbot validate FILE --format FMT > out` as users run it: a fresh process each
    time, wall time, and the peak RSS of the command and its worker processes (a wrapper
    child measures only its own children, so one run's peak does not leak into the next)."""
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "start = time.perf_counter()\n"
        "with open(sys.argv[1], 'wb') as out:\n"
        "    code = subprocess.call(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL)\n"
        "wall = time.perf_counter() - start\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps({'seconds': wall, 'cpu_seconds': u.ru_utime + u.ru_stime,"
        " 'user_seconds': u.ru_utime, 'peak_rss_mb': u.ru_maxrss / 1024, 'code': code}))\n"
    )
    portalbot = Path(sys.executable).with_name("portalbot")
    result = subprocess.run(
        [sys.executable, "-c", wrapper, str(out_dir / f"out.{fmt}"), str(portalbot),
         "validate", str(path), "--format", fmt],
        check=True, capture_output=True, text=True)
    measured: dict[str, Any] = json.loads(result.stdout)
    if measured["code"] not in (0, 1):
        raise SystemExit(f"portalbot validate exited {measured['code']}")
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--library", action="store_true",
                        help="also time the library path (read_claims + BatchChecker)")
    parser.add_argument("--split", action="store_true",
                        help="with --library, also time loading alone")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--load-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(args.child, validate=not args.load_only)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "claims.jsonl"
        started = time.perf_counter()
        generate(path, args.claims)
        print(f"generated {args.claims:,} claims ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s")
        for fmt in ("json", "table"):
            runs = [command_run(path, fmt, Path(tmp)) for _ in range(args.runs)]
            _report(f"portalbot validate --format {fmt} > file", runs, TARGET_S, args.claims)
        if args.library:
            _library(path, args)


TARGET_S = 5.0


def _report(what: str, runs: list[dict[str, Any]], target: float, claims: int) -> None:
    """Wall time against the target, and beside it the user CPU seconds: on a machine
    shared with others the wall time mostly measures them, the CPU time mostly us. The CPU
    budget is the target times the cores; within it, a missed wall target is the load's."""
    median = statistics.median(r["seconds"] for r in runs)
    cpu = statistics.median(r["cpu_seconds"] for r in runs)
    user = statistics.median(r.get("user_seconds", r["cpu_seconds"]) for r in runs)
    peak = max(r["peak_rss_mb"] for r in runs)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    verdict = "PASS" if median < target else "FAIL"
    budget = "within" if cpu < target * cores else "over"
    print(f"{what}: {claims:,} claims, median {median:.2f} s wall over {len(runs)} runs — "
          f"target < {target:g} s: {verdict}; user CPU {user:.2f} s ({cpu:.2f} s with system, "
          f"{cpu / claims * 1e3:.3f} ms a claim; {budget} the {target * cores:g} CPU-s "
          f"of {cores} cores in {target:g} s); peak RSS {peak:.0f} MB (load "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())})", flush=True)


def _library(path: Path, args: argparse.Namespace) -> None:
    if args.split:
        loads = [_child(path, load_only=True) for _ in range(args.runs)]
        print(f"library, loading alone: median "
              f"{statistics.median(r['seconds'] for r in loads):.2f} s wall")
    _report("library read_claims + BatchChecker", [_child(path) for _ in range(args.runs)], 10,
            args.claims)


def _child(path: Path, load_only: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(path)]
    out = subprocess.run([*command, "--load-only"] if load_only else command,
                         check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


if __name__ == "__main__":
    main()
