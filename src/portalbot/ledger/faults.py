"""Ledger faults are environment faults: a full disk, a locked SQLite file, a lost
PostgreSQL connection become one plain sentence, never a traceback.

The sentence is built from the kind of fault only. SQLAlchemy's own text quotes the SQL
statement and its parameters (claim payloads: PHI), and a server's message can name
hosts and users, so neither is ever passed on. Nothing here decides what happens to a
claim: the ledger's transactions are atomic, so a write that failed recorded nothing,
and whatever was committed before stays committed for the next run to carry on from.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

import sqlalchemy as sa

from portalbot.errors import LedgerError

_SQLITE_FAULTS = (
    ("database or disk is full",
     "the ledger's disk is full; free some space and run again"),
    ("database is locked",
     "the ledger is locked by another process (waited for it and gave up); run again once "
     "that process is done, or wait longer with `?timeout=SECONDS` on a sqlite:/// ledger URL"),
    ("disk i/o error",
     "the ledger could not be read or written (disk I/O error): is its disk full or failing?"),
    ("unable to open database file",
     "the ledger file cannot be opened: check that its folder exists and is writable"),
    ("readonly database",
     "the ledger is read-only here: check the file's owner and permissions"),
)
_OS_FAULTS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
}
_AFTERWORD = "; what was recorded before stays recorded, and the next run carries on from it"


def describe(exc: BaseException) -> str | None:
    """The one-line message for a fault of the ledger's environment, or None if it is not one."""
    if isinstance(exc, sa.exc.DBAPIError):
        if isinstance(exc.orig, sqlite3.Error):
            return _sqlite(exc.orig)
        return _postgres(exc)
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        return _sqlite(exc) or "the ledger cannot be used (SQLite refused the operation)"
    if isinstance(exc, OSError) and exc.errno in _OS_FAULTS:
        where = f" (writing {exc.filename})" if exc.filename else ""
        return f"{_OS_FAULTS[exc.errno]}{where}; free some space and run again{_AFTERWORD}"
    return None


def as_ledger_error(exc: BaseException, sqlite_file: Path | None = None) -> LedgerError | None:
    """The fault as a ``LedgerError`` that carries only the plain message.

    SQLite that cannot create its write-ahead log on a full disk says only "disk I/O
    error"; where the file is known, the free space on its disk tells the two apart.
    """
    message = describe(exc)
    if message and sqlite_file is not None and "disk I/O error" in message and _full(sqlite_file):
        message = _SQLITE_FAULTS[0][1] + _AFTERWORD
    return LedgerError(message) if message else None


def _full(sqlite_file: Path) -> bool:
    try:
        return shutil.disk_usage(sqlite_file.parent).free < 1 << 20
    except OSError:
        return False


def _sqlite(orig: BaseException | None) -> str | None:
    if not isinstance(orig, sqlite3.Error):
        return None
    text = str(orig).lower()
    for fragment, message in _SQLITE_FAULTS:
        if fragment in text:
            return message + _AFTERWORD
    return None


def _postgres(exc: sa.exc.DBAPIError) -> str | None:
    if not isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) and not (
        exc.connection_invalidated
    ):
        return None
    return (
        "the ledger's PostgreSQL server cannot be reached or the connection to it was lost "
        f"({type(exc.orig).__name__}); check the server and the network, then run again"
        + _AFTERWORD
    )
