"""Ledger URLs: only SQLite and PostgreSQL, never shown with a password, and a password
that can come from somewhere other than the URL."""

from __future__ import annotations

import io

import keyring
import pytest
from click.testing import CliRunner

from portalbot.cli import main
from portalbot.ledger.urls import (
    KEYRING_SERVICE,
    PASSWORD_VARIABLE,
    connect_url,
    display_url,
)
from portalbot.logs import configure as configure_logs
from portalbot.logs import get_logger

URL = "postgresql://portalbot:Swordfish-77@db.example/portalbot"


def test_a_password_in_the_url_is_masked_when_shown() -> None:
    assert display_url(URL) == "postgresql://portalbot:***@db.example/portalbot"
    assert display_url("sqlite:////var/lib/portalbot/ledger.sqlite3").endswith("ledger.sqlite3")
    assert "Swordfish" not in display_url("postgresql://u:Swordfish-77@[bad")


def test_a_password_given_in_the_url_is_scrubbed_from_every_log_line() -> None:
    stream = io.StringIO()
    configure_logs(stream=stream)
    connect_url(URL)
    get_logger().warning("connecting", detail=f"dsn {URL} failed: password Swordfish-77")
    configure_logs()
    assert "Swordfish-77" not in stream.getvalue()


def test_without_one_in_the_url_the_password_comes_from_the_environment_then_the_keyring(
) -> None:
    bare = "postgresql://portalbot@db.example/portalbot"
    from_env = connect_url(bare, environ={PASSWORD_VARIABLE: "from-env-pw"})
    assert from_env.password == "from-env-pw" and from_env.drivername == "postgresql+psycopg"

    keyring.set_password(KEYRING_SERVICE, "portalbot", "from-keyring-pw")
    try:
        assert connect_url(bare, environ={}).password == "from-keyring-pw"
        assert connect_url(bare, environ={PASSWORD_VARIABLE: "env-wins"}).password == "env-wins"
    finally:
        keyring.delete_password(KEYRING_SERVICE, "portalbot")
    # Nothing anywhere: libpq looks in PGPASSWORD and ~/.pgpass itself.
    assert connect_url(bare, environ={}).password is None
    assert connect_url(URL, environ={PASSWORD_VARIABLE: "ignored"}).password == "Swordfish-77"


@pytest.mark.parametrize("url", [
    "garbage", "mysql://root:Swordfish-77@db/portalbot", "oracle://x", "sqlite+aiosqlite:///x.db",
    "postgresql+asyncpg://u@h/d",
])
def test_an_unsupported_ledger_url_is_one_line_exit_2_naming_the_supported_schemes(
    url: str, tmp_path: object
) -> None:
    result = CliRunner().invoke(main, ["--ledger", url, "ledger"])
    assert result.exit_code == 2
    assert "sqlite:///FILE and postgresql://" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Swordfish" not in result.stderr and "Traceback" not in result.stderr
