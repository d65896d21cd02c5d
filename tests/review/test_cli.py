"""`portalbot review` refuses unsafe bindings; `portalbot review user` manages accounts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from portalbot.cli import main
from portalbot.ledger import Ledger
from portalbot.review import auth, store
from portalbot.review.cli import check_binding, is_loopback


def _run(tmp_path: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), *args], input=stdin)
    return result.exit_code, result.output


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "review.example.org"])
def test_serving_off_loopback_without_tls_is_refused(tmp_path: Path, host: str) -> None:
    code, output = _run(tmp_path, "review", "--host", host, "--port", "0")
    assert code == 2
    assert "without TLS" in output
    assert not (tmp_path / "ledger.sqlite3").exists()  # refused before anything opened


def test_bindings_that_are_allowed(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("cert")
    key.write_text("key")
    assert check_binding("127.0.0.1", None, None, False) is None
    assert check_binding("::1", None, None, False) is None
    assert check_binding("localhost", None, None, False) is None
    assert check_binding("0.0.0.0", cert, key, False) is None
    assert check_binding("0.0.0.0", None, None, True) is None
    assert check_binding("0.0.0.0", cert, None, False) == "--tls-cert and --tls-key go together"
    assert "does not exist" in (check_binding("0.0.0.0", tmp_path / "no.pem", key, False) or "")
    assert is_loopback("127.0.0.2") and not is_loopback("10.0.0.1")


def test_user_add_stores_a_scrypt_hash_read_from_stdin(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "review", "user", "add", "alice", "--password-stdin",
                        stdin="correct horse battery staple\n")
    assert code == 0, output
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    try:
        alice = store.reviewer_by_name(ledger.engine, "alice")
        assert alice is not None
        assert alice.password_hash.startswith(f"scrypt${auth.SCRYPT_N}$")
        assert auth.verify_password("correct horse battery staple", alice.password_hash)
    finally:
        ledger.close()
    code, output = _run(tmp_path, "review", "user", "add", "alice", "--password-stdin",
                        stdin="another long password\n")
    assert code == 2 and "already exists" in output


def test_user_add_refuses_short_passwords_and_odd_names(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "review", "user", "add", "bob", "--password-stdin",
                        stdin="short\n")
    assert code == 2 and "at least 12" in output
    code, output = _run(tmp_path, "review", "user", "add", "<b>", "--password-stdin",
                        stdin="a long enough password\n")
    assert code == 2
    assert _run(tmp_path, "review", "user", "list")[1] == ""


def test_a_desk_that_cannot_bind_its_port_exits_3_and_says_so(tmp_path: Path) -> None:
    # A process of its own: the desk runs its own event loop, as it does when served.
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "portalbot", "--data-dir", str(tmp_path), "review",
             "--host", "127.0.0.1", "--port", str(port)],
            capture_output=True, text=True, timeout=60, check=False,
        )
    assert done.returncode == 3, done.stderr
    assert f"could not listen on 127.0.0.1:{port}" in done.stderr


def test_a_mistyped_reviewer_name_exits_2_with_the_nearest_name(tmp_path: Path) -> None:
    code, _ = _run(tmp_path, "review", "user", "add", "avery.lin", "--password-stdin",
                   stdin="a long enough password\n")
    assert code == 0
    for command in (["password", "avery.lni", "--password-stdin"], ["disable", "avery.lni"]):
        code, output = _run(tmp_path, "review", "user", *command, stdin="another long password\n")
        assert code == 2
        assert "did you mean avery.lin?" in output
