"""Is the ledger's schema already at the newest migration? Answered without Alembic.

Every command opens the ledger, and opening migrates; importing Alembic to learn that
there is nothing to do costs a short command a good part of its time. The head is read
from the migration files' own ``revision``/``down_revision`` lines and the ledger's from
``alembic_version``; only when they differ (or anything is unclear) is Alembic loaded.
"""

from __future__ import annotations

import re
from importlib import resources

import sqlalchemy as sa

_REVISION = re.compile(r'^revision\s*=\s*"([^"]+)"', re.MULTILINE)
_DOWN = re.compile(r'^down_revision\s*=\s*"([^"]+)"', re.MULTILINE)


def head_revision() -> str | None:
    """The one revision no other migration revises; None when there is not exactly one."""
    revisions: set[str] = set()
    revised: set[str] = set()
    versions = resources.files("portalbot.ledger") / "migrations" / "versions"
    for entry in versions.iterdir():
        if not entry.name.endswith(".py") or entry.name.startswith("__"):
            continue
        text = entry.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(text))
        revised.update(_DOWN.findall(text))
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: sa.Engine) -> bool:
    """Whether the ledger records exactly the head revision (False when unsure)."""
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            current = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    except sa.exc.ProgrammingError:
        return False  # PostgreSQL: no alembic_version table yet
    except sa.exc.OperationalError as exc:
        if "no such table" in str(exc.orig):
            return False  # SQLite: a new ledger
        raise
    return [row[0] for row in current] == [head]
