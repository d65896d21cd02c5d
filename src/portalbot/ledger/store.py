"""The ledger: durable record of every claim version, attempt and transition.

``Ledger`` is the one façade the engine, the CLI, the review desk and the worklist use;
it is put together from the parts, one module per thing it stores: ``claims`` (claims,
batches and their transitions), ``attempts`` (attempts and evidence), ``queue`` (leases
and due claims), ``valves`` (session slots, pacing, locks, circuits), on ``base`` (the
transaction and the fenced transition). This module opens it: SQLite or PostgreSQL, the
schema migrated by Alembic.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from portalbot.errors import LedgerError
from portalbot.ledger import faults
from portalbot.ledger.attempts import AttemptStore
from portalbot.ledger.claims import ClaimStore
from portalbot.ledger.listing import Listing
from portalbot.ledger.loading import Loading
from portalbot.ledger.queue import QueueStore
from portalbot.ledger.records import (
    Clock,
    dump_json,
    utcnow,
)
from portalbot.ledger.revisions import at_head
from portalbot.ledger.urls import connect_url, display_url
from portalbot.ledger.valves import Valves
from portalbot.ledger.verdicts import Verdicts
from portalbot.private import create_private_file, ensure_private_dir

SQLITE_BUSY_TIMEOUT_S = 30.0


def _sqlite_pragmas(busy_timeout_s: float) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defeat BEGIN IMMEDIATE (see _make_engine).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: a big intake's index pages
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.close()

    return on_connect


def _make_engine(url: str) -> sa.Engine:
    target = connect_url(url)  # LedgerUrlError for anything but SQLite and PostgreSQL
    if target.get_backend_name() == "sqlite":
        # How long to wait for another process's write lock before the run gives up
        # (a cron run may prefer to fail fast): sqlite:///FILE?timeout=SECONDS.
        busy_timeout_s = _seconds(target.query.get("timeout", str(SQLITE_BUSY_TIMEOUT_S)))
        target = target.difference_update_query(["timeout"])
        database = target.database
        if database and database != ":memory:":
            # Born 0600 in a 0700 folder; SQLite gives -wal/-shm/-journal the file's mode.
            ensure_private_dir(Path(database).parent)
            create_private_file(Path(database))
        engine = sa.create_engine(target, connect_args={"timeout": busy_timeout_s},
                                  json_serializer=dump_json)
        sa.event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_s))
        # Let SQLite take the write lock at BEGIN so two writers queue instead of failing.
        sa.event.listen(
            engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE")
        )
        return engine
    return sa.create_engine(target, pool_pre_ping=True, json_serializer=dump_json)


def _seconds(value: str | tuple[str, ...]) -> float:
    try:
        seconds = float(value if isinstance(value, str) else value[-1])
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86_400:
        raise LedgerError("the ledger URL's ?timeout= must be a number of seconds, like ?timeout=5")
    return seconds


def _sqlite_file(url: str) -> Path | None:
    database = sa.engine.make_url(url).database if url.startswith("sqlite") else None
    return Path(database) if database and database != ":memory:" else None


def _alembic_config(connection: sa.Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("portalbot.ledger") / "migrations")
    )
    config.attributes["connection"] = connection
    return config


class Ledger(Loading, ClaimStore, AttemptStore, QueueStore, Valves, Listing, Verdicts):
    """SQLite by default; PostgreSQL when several workers share the work."""

    @classmethod
    def open(cls, url: str, *, clock: Clock = utcnow, migrate: bool = True) -> Ledger:
        try:
            engine = _make_engine(url)
            ledger = cls(engine, clock=clock)
            if migrate:
                ledger.migrate()
            else:
                ledger.check_schema()
        except sa.exc.OperationalError as exc:
            fault = faults.as_ledger_error(exc, _sqlite_file(url))
            if fault is not None:
                raise LedgerError(f"{fault.message} (ledger {display_url(url)})") from None
            raise LedgerError(
                f"the ledger {display_url(url)} cannot be reached ({type(exc.orig).__name__})"
            ) from None
        return ledger

    def close(self) -> None:
        self.engine.dispose()

    # --- schema --------------------------------------------------------------------
    def migrate(self) -> None:
        if at_head(self.engine):
            return
        from alembic import command

        with self.engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")

    def check_schema(self) -> None:
        if at_head(self.engine):
            return
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            head = ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()
        if current != head:
            raise LedgerError(
                f"the ledger schema is at {current or 'nothing'}, not {head}; "
                "run `portalbot ledger migrate`"
            )

    def backup(self, target: Path) -> None:
        """An online copy of a SQLite ledger (PostgreSQL: use pg_dump)."""
        if self.engine.dialect.name != "sqlite":
            raise LedgerError("backup copies SQLite ledgers; for PostgreSQL use pg_dump")
        import sqlite3

        # Into an exclusive 0600 file beside the target, renamed over it when complete: the
        # copy is never readable by others, and a symlink at the target is never followed.
        ensure_private_dir(target.parent)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                                 suffix=".part")
        os.close(descriptor)
        try:
            destination = sqlite3.connect(temporary)
            try:
                with self.engine.connect() as connection:
                    source = connection.connection.driver_connection
                    source.backup(destination)  # type: ignore[union-attr]
            finally:
                destination.close()
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
