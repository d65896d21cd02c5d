"""A big synthetic ledger for bench_ledger.py: N claims over three years in batches of
1,000 (their portal keys and patient-month keys are unique stand-ins, not the hashes
intake derives: hashing a million of them is most of the build), with their batch members, attempts and events, written in bulk (SQLite
executemany, PostgreSQL COPY) into a ledger the project's own migrations created.

The mix is a practice's steady state: most claims accepted, a few pending, denied,
rejected, needing a person, in doubt or failed (their retries in the future, so nothing is
due), some held, one in a hundred a second version of the claim before it. Each built
ledger is marked with KEY (schema head, builder version, size) in its first batch's file
name, so a rerun reuses it: SQLite files are cached under var/bench/, PostgreSQL databases
are kept by name.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_validate import synthetic_claim

from portalbot.ledger import Ledger

BUILDER = 2
BATCH = 1_000
CHUNK = 20_000
PAYERS = ("acme", "acme", "acme", "acme", "keystone", "keystone", "blueriver")
# Per 10,000 claims: which state the position n % 10,000 is in (the rest are accepted).
MIX = ((20, "denied"), (30, "rejected"), (35, "needs_human"), (40, "in_doubt"), (50, "held"),
       (70, "pending_stale"), (170, "pending"), (220, "failed"))
COLUMNS = {
    "batches": ("id", "file_name", "content_hash", "created_at", "claim_count",
                "problem_count"),
    "claims": ("id", "claim_id", "version", "payer_id", "service_month", "patient_month",
               "portal_key", "frequency", "replaces", "state", "batch_id", "payload",
               "findings", "confirmation", "reason_code", "reason", "attempt_count",
               "next_attempt_at", "created_at", "updated_at", "current_attempt"),
    "batch_claims": ("batch_id", "claim_pk", "location"),
    "attempts": ("id", "claim_pk", "number", "worker", "kind", "started_at", "intent_at",
                 "finished_at", "result", "detail", "screenshot"),
    "events": ("claim_pk", "at", "worker", "from_state", "to_state", "reason", "attempt_id"),
}
HELD_FINDING = [{"rule": "ccm.minutes", "severity": "error",
                 "message": "19 minutes of care management; 99490 needs 20"}]


def key(head: str, claims: int) -> str:
    return f"bench-ledger schema {head} builder {BUILDER} claims {claims}"


def state_of(n: int) -> str:
    position = n % 10_000
    return next((state for below, state in MIX if position < below), "accepted")


class Templates:
    """Real claim payloads (bench_validate's), 64 of them reused with each claim's ids."""

    def __init__(self) -> None:
        rng = random.Random(20261203)
        self.payloads = [json.dumps(synthetic_claim(k, rng), separators=(",", ":"))
                         for k in range(64)]

    def payload(self, k: int, claim_id: str, version: int, payer_id: str) -> str:
        text = self.payloads[k % 64].replace(f'"BENCH-{k % 64:07d}"', json.dumps(claim_id))
        return text.replace('"version":1', f'"version":{version}').replace(
            '"payer_id":"acme"', f'"payer_id":"{payer_id}"')


def rows(claims: int, now: datetime) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """The tables' rows, CHUNK claims at a time; claim n has primary key n + 1."""
    templates = Templates()
    span = timedelta(days=3 * 365)
    chunk: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
    for n in range(claims):
        pk = n + 1
        batch = f"bench{n // BATCH:027d}"
        at = now - span * ((claims - n) / claims)
        if n % BATCH == 0:
            chunk["batches"].append((batch, f"bench-{n // BATCH}.jsonl", "0" * 64, at,
                                     min(BATCH, claims - n), 0))
        second = n % 100 == 99
        claim_id = f"BENCH-{n - 1 if second else n:07d}"
        version = 2 if second else 1
        payer = PAYERS[(n - 1 if second else n) % len(PAYERS)]
        state = state_of(n)
        # Pending claims are recent: a day (the payer still deciding) or 30 days (the
        # worklist's "pending too long").
        updated = {"pending": now - timedelta(days=1),
                   "pending_stale": now - timedelta(days=30)}.get(state, at)
        state = "pending" if state == "pending_stale" else state
        attempt = None if state == "held" else f"{pk:032x}"
        retry = now + timedelta(days=1) if state in ("failed", "in_doubt") else None
        chunk["claims"].append((
            pk, claim_id, version, payer, "2026-10",
            f"{n:064x}", f"PB{pk:012d}", "replacement" if second else "original",
            f"BENCH-{n - 1:07d}" if second else None, state, batch,
            templates.payload(n, claim_id, version, payer),
            json.dumps(HELD_FINDING if state == "held" else []),
            f"ACM-{pk}" if state in ("accepted", "pending") else None,
            "CO-16" if state in ("denied", "rejected") else None,
            None if state in ("accepted", "held") else f"the portal said {state}",
            0 if attempt is None else 1, retry, at, updated, attempt,
        ))
        chunk["batch_claims"].append((batch, pk, f"line {n % BATCH + 1}"))
        chunk["events"].append((pk, at, "intake", None, "held" if state == "held" else "queued",
                                "loaded from a claims file", None))
        if attempt is not None:
            chunk["attempts"].append((attempt, pk, 1, "worker-1", "submit", at, at, updated,
                                      state, f"the portal said {state}",
                                      f"/nonexistent/evidence/{pk}.png"))
            chunk["events"].append((pk, updated, "worker-1", "submitting", state,
                                    f"the portal said {state}", attempt))
        if len(chunk["claims"]) == CHUNK or n == claims - 1:
            yield chunk
            chunk = {name: [] for name in COLUMNS}


def _sqlite_value(value: Any) -> Any:
    return f"{value:%Y-%m-%d %H:%M:%S.%f}" if isinstance(value, datetime) else value


def build(url: str, claims: int) -> None:
    """Migrate an empty ledger at ``url`` and fill it."""
    ledger = Ledger.open(url)
    now = datetime.now(UTC)
    engine = ledger.engine
    raw: Any = engine.raw_connection()
    try:
        cursor = raw.cursor()
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            cursor.execute("PRAGMA synchronous=OFF")  # a bench file: rebuilt if lost
        for chunk in rows(claims, now):
            if sqlite:
                cursor.execute("BEGIN")
            for table, values in chunk.items():
                if values:
                    _write(engine.dialect.name, cursor, table, values)
            raw.commit()
        cursor.executemany(
            "INSERT INTO payers (payer_id, circuit_open, consecutive_failures, updated_at) "
            + ("VALUES (?, 0, 0, ?)" if engine.dialect.name == "sqlite" else
               "VALUES (%s, false, 0, %s)"),
            [(p, _sqlite_value(now) if engine.dialect.name == "sqlite" else now)
             for p in sorted(set(PAYERS))])
        if engine.dialect.name == "postgresql":
            for table in ("claims", "events"):
                cursor.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
        raw.commit()
    finally:
        raw.close()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    ledger.close()


def _write(dialect: str, cursor: Any, table: str, values: list[tuple[Any, ...]]) -> None:
    columns = COLUMNS[table]
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                           [tuple(_sqlite_value(v) for v in row) for row in values])
        return
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)


def marked(url: str, mark: str) -> bool:
    """Whether the ledger at ``url`` is one this builder made with this ``mark``."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            name = connection.exec_driver_sql(
                "SELECT file_name FROM batches WHERE id = 'bench" + "0" * 27 + "'").scalar()
            return name == mark
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def mark(url: str, mark_text: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE batches SET file_name = :m WHERE id = :i"),
                           {"m": mark_text, "i": "bench" + "0" * 27})
    engine.dispose()
