"""Query plans of what a ledger call really runs: every statement the call sends is
captured and EXPLAINed (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN (FORMAT JSON)) with
its own parameters, so a test can say which read a full scan of a big table."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

BIG_TABLES = ("claims", "attempts", "events")


@contextmanager
def captured(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    """The (statement, parameters) of every read or update sent inside the block."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
               executemany: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "WITH")) and not executemany:
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def plans(engine: sa.Engine, call: Callable[[], object]) -> list[tuple[str, list[str]]]:
    """Each statement ``call`` sends, with its plan as lines naming each table's access."""
    with captured(engine) as statements:
        call()
    with engine.connect() as connection:
        return [(statement, _plan(connection, statement, parameters))
                for statement, parameters in statements]


def _plan(connection: sa.Connection, statement: str, parameters: Any) -> list[str]:
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        return [str(row[-1]) for row in rows]
    document = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}",
                                          parameters).scalar_one()
    tree = document if isinstance(document, list) else json.loads(document)
    return list(_pg_nodes(tree[0]["Plan"]))


def _pg_nodes(node: dict[str, Any]) -> Iterator[str]:
    relation = node.get("Relation Name")
    index = node.get("Index Name")
    yield " ".join(filter(None, (node["Node Type"], relation, index and f"using {index}")))
    for child in node.get("Plans", []):
        yield from _pg_nodes(child)


def full_scans(plan: list[str], *, covering_ok: bool = False) -> list[str]:
    """The lines of ``plan`` that read all of a big table (or, unless ``covering_ok``, all of
    one of its indexes)."""
    bad = []
    for line in plan:
        words = line.split()
        # SQLite: "SCAN claims", "SCAN claims USING [COVERING] INDEX ix" (whole table or
        # index) vs "SEARCH claims USING ..." (a range). PostgreSQL: "Seq Scan claims".
        whole = words[:1] == ["SCAN"] and len(words) > 1 and words[1] in BIG_TABLES
        if whole and not (covering_ok and "COVERING INDEX" in line):
            bad.append(line)
        if line.startswith("Seq Scan") and len(words) > 2 and words[2] in BIG_TABLES:
            bad.append(line)
    return bad


def sorts_everything(plan: list[str]) -> bool:
    """SQLite sorting the rows it found (the index did not give the order)."""
    return any("USE TEMP B-TREE FOR ORDER BY" in line for line in plan)
