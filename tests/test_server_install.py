"""The server install the README walks through: the configuration `config init` writes,
the systemd units in deploy/systemd, and the keyring passphrase from systemd credentials."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from portalbot.cli import COMMANDS, main
from portalbot.config import Settings, load_settings
from portalbot.credentials import passphrase_from_systemd

ROOT = Path(__file__).resolve().parents[1]
UNITS = sorted((ROOT / "deploy" / "systemd").iterdir())
DEFAULT_LINE = re.compile(r"^# (\w+ = .*?)(\s+#.*)?$")


def _init(tmp_path: Path, *extra: str) -> tuple[int, str, Path]:
    target = tmp_path / "portalbot.toml"
    result = CliRunner().invoke(main, ["config", "init", str(target), *extra])
    return result.exit_code, result.output, target


def test_config_init_writes_an_owner_only_file_that_loads(tmp_path: Path) -> None:
    code, _, target = _init(tmp_path)
    assert code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    settings = load_settings(target, environ={})
    assert settings.data_dir == Path("/var/lib/portalbot")
    assert settings.resolved_ledger_url == "sqlite:////var/lib/portalbot/ledger.sqlite3"


def test_every_default_the_file_shows_is_the_real_default(tmp_path: Path) -> None:
    _, _, target = _init(tmp_path)
    uncommented = "\n".join(
        (DEFAULT_LINE.sub(r"\1", line) if DEFAULT_LINE.match(line) else line)
        for line in target.read_text().splitlines()
    )
    shown = tomllib.loads(uncommented)
    defaults = Settings().model_dump()
    for section in ("browser", "retry"):
        assert shown[section], f"[{section}] shows no defaults"
        for key, value in shown[section].items():
            assert defaults[section][key] == value, f"{section}.{key}"
    for key, value in shown.items():
        if key not in {"browser", "retry", "data_dir", "ledger_url"}:
            assert defaults[key] == value, key
    load_settings(tmp_path / "portalbot.toml", environ={})  # the file as written still loads


def test_config_init_refuses_to_replace_a_file(tmp_path: Path) -> None:
    _init(tmp_path)
    code, output, _ = _init(tmp_path)
    assert code == 2
    assert "--force" in output
    assert _init(tmp_path, "--force")[0] == 0


def test_the_keyring_passphrase_comes_from_the_systemd_credential(tmp_path: Path) -> None:
    (tmp_path / "keyring-passphrase").write_text("correct horse battery staple\n")
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert passphrase_from_systemd(environ)
    assert environ["KEYRING_CRYPTFILE_PASSWORD"] == "correct horse battery staple"
    assert not passphrase_from_systemd({"CREDENTIALS_DIRECTORY": str(tmp_path / "none")})


def test_a_keyring_backend_that_is_not_installed_is_one_line_naming_the_extra(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyrings.notinstalled.NoKeyring"}
    done = subprocess.run(
        [sys.executable, "-m", "portalbot", "credentials", "check", "acme"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )
    assert done.returncode == 3
    assert "portalbot[keyring-file]" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("unit", [u.name for u in UNITS if u.suffix == ".service"])
def test_each_unit_runs_a_portalbot_command(unit: str) -> None:
    text = (ROOT / "deploy" / "systemd" / unit).read_text()
    command = re.search(r"^ExecStart=\S+/portalbot (\w+)", text, re.M)
    assert command and command.group(1) in COMMANDS


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here; the units are checked where it is")
    portalbot = Path(sys.executable).with_name("portalbot")
    for unit in UNITS:
        text = unit.read_text().replace("/opt/portalbot/venv/bin/portalbot", str(portalbot))
        (tmp_path / unit.name).write_text(text)
    done = subprocess.run([analyze, "verify", "--man=no", *map(str, sorted(tmp_path.iterdir()))],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
