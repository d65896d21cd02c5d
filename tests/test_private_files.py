"""Owner-only from the first byte: modes under a permissive umask, refusal of unsafe
installations, tightening of loose ones, and outputs that never follow a symlink."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from portalbot.cli import main
from portalbot.ledger import Ledger
from tests.helpers import CLAIMS, ROOT


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _portalbot(data_dir: Path, *args: str, config: Path | None = None) -> Result:
    options = ["--config", str(config)] if config else []
    return CliRunner().invoke(main, [*options, "--data-dir", str(data_dir), *args])


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _loose_modes(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        wanted = 0o700 if path.is_dir() else 0o600
        if _mode(path) != wanted:
            found.append(f"{path.relative_to(root)} {_mode(path):04o}")
    return found


@pytest.mark.browser
def test_everything_the_demo_and_a_backup_create_is_owner_only_under_umask_022(
    tmp_path: Path,
) -> None:
    data = tmp_path / "demo"
    environment = {**os.environ, "PORTALBOT_DEMO_DIR": str(data)}

    def permissive() -> None:
        os.umask(0o022)

    demo = subprocess.run([sys.executable, "-m", "fixtures.demo"], cwd=ROOT, env=environment,
                          preexec_fn=permissive, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr[-2000:]
    backup = subprocess.run(
        [str(Path(sys.executable).parent / "portalbot"), "--data-dir", str(data), "ledger", "backup",
         str(data / "backups" / "copy.sqlite3")],
        cwd=ROOT, env=environment, preexec_fn=permissive, capture_output=True, text=True,
        timeout=120,
    )
    assert backup.returncode == 0, backup.stderr
    # A reader keeps the WAL and shared-memory files in place while the tree is walked.
    reader = sqlite3.connect(data / "ledger.sqlite3")
    try:
        reader.execute("select count(*) from claims").fetchone()
        names = {p.name for p in data.iterdir()}
        assert {"ledger.sqlite3-wal", "ledger.sqlite3-shm"} <= names
        assert list((data / "evidence").rglob("*.png")), "the demo left no evidence"
        assert (data / "backups" / "copy.sqlite3").exists()
        assert _loose_modes(data) == []
    finally:
        reader.close()


def test_a_planted_world_writable_ledger_is_refused_with_how_to_fix_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    planted = data / "ledger.sqlite3"
    planted.touch()
    planted.chmod(0o666)

    result = _portalbot(data, "ledger")

    assert result.exit_code == 3
    assert "other users can write to it" in result.stderr
    assert f"chmod 600 {planted}" in result.stderr
    assert planted.stat().st_size == 0, "the planted ledger received data"


def test_a_world_writable_data_directory_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)

    result = _portalbot(data, "ledger")

    assert result.exit_code == 3
    assert f"chmod 700 {data}" in result.stderr
    assert not (data / "ledger.sqlite3").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_ledger_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    planted = data / "ledger.sqlite3"
    planted.touch(mode=0o600)
    os.chown(planted, 65534, 65534)

    result = _portalbot(data, "ledger")

    assert result.exit_code == 3
    assert "belongs to another user" in result.stderr
    assert planted.stat().st_size == 0


def test_a_loose_but_safe_installation_is_tightened_with_a_warning(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Ledger.open(f"sqlite:///{data / 'ledger.sqlite3'}").close()
    data.chmod(0o755)
    (data / "ledger.sqlite3").chmod(0o644)

    result = _portalbot(data, "ledger")

    assert result.exit_code == 0, result.output
    assert "tightened a loose mode" in result.stderr
    assert (_mode(data), _mode(data / "ledger.sqlite3")) == (0o700, 0o600)


def test_group_access_in_the_config_lets_the_group_in_but_never_others(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Ledger.open(f"sqlite:///{data / 'ledger.sqlite3'}").close()
    data.chmod(0o770)
    (data / "ledger.sqlite3").chmod(0o664)
    config = tmp_path / "portalbot.toml"
    config.write_text("group_access = true\n", encoding="utf-8")

    shared = _portalbot(data, "ledger", config=config)
    assert shared.exit_code == 0, shared.output
    assert (_mode(data), _mode(data / "ledger.sqlite3")) == (0o770, 0o660)

    (data / "ledger.sqlite3").chmod(0o666)
    assert _portalbot(data, "ledger", config=config).exit_code == 3


def test_backup_and_fix_replace_a_symlink_instead_of_writing_through_it(
    tmp_path: Path, umask_022: None
) -> None:
    data = tmp_path / "data"
    Ledger.open(f"sqlite:///{data / 'ledger.sqlite3'}").close()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    outputs = {name: tmp_path / name for name in ("copy.sqlite3", "fixed.json")}
    for link in outputs.values():
        link.symlink_to(victim)

    assert _portalbot(data, "ledger", "backup", str(outputs["copy.sqlite3"])).exit_code == 0
    fixed = _portalbot(data, "validate", str(CLAIMS / "demo.json"), "--fix",
                       str(outputs["fixed.json"]))
    assert fixed.exit_code == 1, fixed.output  # the demo holds one claim back

    assert victim.read_text(encoding="utf-8") == "keep me"
    for path in outputs.values():
        assert not path.is_symlink() and _mode(path) == 0o600
