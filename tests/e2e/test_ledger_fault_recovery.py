"""A full disk and a locked ledger, met by real `portalbot` processes: exit status 3 and one
line, nothing recorded wrongly, and the next run carries on without sending anything twice.

What was sent is read from the Acme mock portal's own stored submissions.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.claims.synthetic import synthetic_batch, write_jsonl
from fixtures.portals._common import ControlClient, RunningPortal
from portalbot import credentials
from portalbot.config import Settings
from portalbot.intake import intake
from portalbot.ledger import Ledger
from tests.helpers import ACME_LOGIN, ROOT, postgres_database

pytestmark = pytest.mark.browser


@pytest.fixture
def keyring_login(acme: ControlClient) -> Iterator[None]:
    credentials.store("acme", "default", ACME_LOGIN)
    yield
    credentials.delete("acme", "default")


def _portalbot(
    data_dir: Path, portal: RunningPortal, *args: str, ledger_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PORTALBOT_PAYER_ACME_BASE_URL": portal.base_url}
    if ledger_url:
        env["PORTALBOT_LEDGER_URL"] = ledger_url
    return subprocess.run(
        [sys.executable, "-m", "portalbot", "--data-dir", str(data_dir), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def _assert_one_line_exit_3(result: subprocess.CompletedProcess[str], words: str) -> None:
    assert result.returncode == 3, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert words in lines[0] and "Traceback" not in result.stderr


def _each_sent_once(acme: ControlClient, ledger: Ledger, count: int) -> None:
    records = ledger.all_claims()
    assert len(records) == count
    assert {r.state for r in records} == {"accepted"}
    per_key = Counter(s["patient_account_number"] for s in acme.submissions())
    assert per_key == Counter({r.portal_key: 1 for r in records})


# --- a full disk ------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs of its own, so the test can fill it without filling the machine."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True, text=True, check=False,
    ) if os.geteuid() == 0 else None
    if mounted is None or mounted.returncode != 0:
        why = "not running as root" if mounted is None else mounted.stderr.strip()
        pytest.skip(f"cannot mount a small tmpfs to fill here: {why}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while True:
            os.write(descriptor, b"\0" * 65536)
    except OSError:
        pass
    try:  # the last few pages
        while True:
            os.write(descriptor, b"\0" * 512)
    except OSError:
        pass
    os.close(descriptor)
    return filler


def test_a_full_disk_exits_3_in_one_line_and_the_run_after_it_sends_each_claim_once(
    tmp_path: Path, small_disk: Path, acme_server: RunningPortal, acme: ControlClient,
    keyring_login: None,
) -> None:
    data = small_disk / "data"
    first = write_jsonl(tmp_path / "first.jsonl", 2, prefix="DISK")
    second = write_jsonl(tmp_path / "second.jsonl", 2, offset=2, prefix="DISK")
    assert _portalbot(data, acme_server, "submit", str(first)).returncode == 0

    filler = _fill(small_disk)
    full = _portalbot(data, acme_server, "submit", str(second))
    _assert_one_line_exit_3(full, "disk is full")
    again = _portalbot(data, acme_server, "resubmit")
    _assert_one_line_exit_3(again, "disk is full")
    assert len(acme.submissions()) == 2  # nothing was sent while the ledger could not record it

    filler.unlink()
    recovered = _portalbot(data, acme_server, "submit", str(second))
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    assert _portalbot(data, acme_server, "resubmit").returncode == 0

    ledger = Ledger.open(f"sqlite:///{data / 'ledger.sqlite3'}")
    _each_sent_once(acme, ledger, 4)
    ledger.close()


# --- a ledger locked by another process ----------------------------------------------------------

HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("COMMIT")
"""


def test_a_ledger_locked_by_another_process_exits_3_and_the_next_run_carries_on(
    tmp_path: Path, acme_server: RunningPortal, acme: ControlClient, keyring_login: None,
) -> None:
    data = tmp_path / "data"
    first = write_jsonl(tmp_path / "first.jsonl", 2, prefix="LOCK")
    second = write_jsonl(tmp_path / "second.jsonl", 2, offset=2, prefix="LOCK")
    assert _portalbot(data, acme_server, "submit", str(first)).returncode == 0
    database = data / "ledger.sqlite3"
    impatient = f"sqlite:///{database}?timeout=1"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(database)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        for command in (["submit", str(second)], ["resubmit"], ["ledger"]):
            locked = _portalbot(data, acme_server, *command, ledger_url=impatient)
            _assert_one_line_exit_3(locked, "locked by another process")
        assert len(acme.submissions()) == 2
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)

    recovered = _portalbot(data, acme_server, "submit", str(second), ledger_url=impatient)
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    ledger = Ledger.open(f"sqlite:///{database}")
    _each_sent_once(acme, ledger, 4)
    ledger.close()


# --- a lost PostgreSQL connection ----------------------------------------------------------------

class CuttableLink:
    """A TCP relay to the PostgreSQL server that the test can cut and restore, as a network
    outage or a server restart would, on a fixed local port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        with self._lock:
            if self._listener is not None:
                with contextlib.suppress(OSError):  # wakes the accepting thread
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._open += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@pytest.mark.postgres
def test_a_lost_postgresql_connection_exits_3_in_one_line_and_the_next_run_sends_each_claim_once(
    tmp_path: Path, settings: Settings, acme_server: RunningPortal, acme: ControlClient,
    keyring_login: None,
) -> None:
    with postgres_database() as url:
        ledger = Ledger.open(url)
        intake(ledger, settings, synthetic_batch(2, prefix="PGLOST"))
        link = CuttableLink(("127.0.0.1", 5432))
        link.start()
        via_link = url.replace("127.0.0.1:5432", f"127.0.0.1:{link.port}")
        try:
            acme.arm_pause("claim_form")  # the worker has a claim in hand, before its intent
            worker = _worker_process(tmp_path, acme_server, via_link)
            acme.wait_parked("claim_form", timeout=120)
            link.cut()
            acme.release("claim_form")
            _out, stderr = worker.communicate(timeout=120)
            _assert_one_line_exit_3(
                subprocess.CompletedProcess(worker.args, worker.returncode, "", stderr),
                "PostgreSQL server cannot be reached or the connection to it was lost",
            )
            assert acme.submissions() == []  # the intent could not be recorded: no click

            link.start()
            recovered = _worker_process(tmp_path, acme_server, via_link)
            _out, stderr = recovered.communicate(timeout=300)
            assert recovered.returncode == 0, stderr[-3000:]
            _each_sent_once(acme, ledger, 2)
        finally:
            link.cut()
            ledger.close()


def _worker_process(tmp_path: Path, portal: RunningPortal, ledger_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PORTALBOT_PAYER_ACME_BASE_URL": portal.base_url,
           "PORTALBOT_LEDGER_URL": ledger_url}
    return subprocess.Popen(
        [sys.executable, "-m", "portalbot", "--data-dir", str(tmp_path / "data"), "worker",
         "--until-empty", "--concurrency", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
