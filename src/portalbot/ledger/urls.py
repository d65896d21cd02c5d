"""Ledger URLs: which are supported, how they are shown, where the password comes from.

A PostgreSQL password in the URL would be printed by every table title and summary, kept
in shell history and visible to every user in ``ps``. So URLs are only ever shown through
``display_url`` (the password as ``***``), a password that is in a URL is scrubbed from
every log line, and the password need not be in the URL at all. Without one, it is taken,
in this order, from:

1. ``PORTALBOT_LEDGER_PASSWORD`` in the environment (systemd ``LoadCredential``, …);
2. the keyring, service ``portalbot:ledger``, user = the URL's user name
   (``keyring set portalbot:ledger portalbot``);
3. libpq's own places, as every PostgreSQL client does: ``PGPASSWORD`` and ``~/.pgpass``
   (or ``PGPASSFILE``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import sqlalchemy as sa

from portalbot.errors import LedgerError
from portalbot.logs import register_secrets

SUPPORTED = "sqlite:///FILE and postgresql://USER@HOST/DATABASE"
KEYRING_SERVICE = "portalbot:ledger"
PASSWORD_VARIABLE = "PORTALBOT_LEDGER_PASSWORD"
_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}
_ACCEPTED = frozenset({"sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg"})


class LedgerUrlError(LedgerError):
    """The ledger URL is not one portalbot can use (a usage error: exit status 2)."""


def parse_ledger_url(url: str) -> sa.URL:
    """The URL, checked to be SQLite or PostgreSQL; a password in it is scrubbed from logs."""
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise LedgerUrlError(f"the ledger URL is not a URL; portalbot supports {SUPPORTED}") from None
    if parsed.drivername not in _ACCEPTED:
        raise LedgerUrlError(
            f"unsupported ledger URL scheme {parsed.drivername!r}; portalbot supports {SUPPORTED}"
        )
    if parsed.password:
        register_secrets(str(parsed.password))
    return parsed


def display_url(url: str) -> str:
    """The URL as it may be shown: never with its password."""
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return "(an unreadable ledger URL)"
    return parsed.render_as_string(hide_password=True)


def _keyring_password(user: str) -> str | None:
    import keyring
    import keyring.errors

    try:
        return keyring.get_password(KEYRING_SERVICE, user)
    except keyring.errors.KeyringError:  # no usable backend: libpq's own sources remain
        return None


def connect_url(url: str, environ: Mapping[str, str] | None = None) -> sa.URL:
    """The URL SQLAlchemy connects with: the psycopg driver for PostgreSQL, and the
    password from the environment or the keyring when the URL has none (else libpq
    reads ``PGPASSWORD`` or ``~/.pgpass`` itself)."""
    parsed = parse_ledger_url(url)
    parsed = parsed.set(drivername=_DRIVERS[parsed.get_backend_name()])
    if parsed.get_backend_name() != "postgresql" or parsed.password:
        return parsed
    source: Mapping[str, str] = os.environ if environ is None else environ
    password = source.get(PASSWORD_VARIABLE) or (
        _keyring_password(parsed.username) if parsed.username else None
    )
    if password:
        register_secrets(password)
        parsed = parsed.set(password=password)
    return parsed
