"""Settings are strict and secret-free; the browser is found or the error says how."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from portalbot import browser
from portalbot.config import BrowserSettings, load_settings
from portalbot.errors import ConfigError


def test_a_typo_in_the_config_file_is_an_error_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "portalbot.toml"
    config.write_text('concurency = 2\n[payers.acme]\nbase_url = "http://x"\n')
    with pytest.raises(ConfigError, match="concurency"):
        load_settings(config, environ={})


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "portalbot.toml"
    config.write_text('[payers.acme]\nbase_url = "http://from-file"\n')
    settings = load_settings(
        config, environ={"PORTALBOT_PAYER_ACME_BASE_URL": "http://from-env",
                         "PORTALBOT_LEDGER_URL": "sqlite:///x.db"},
    )
    assert settings.payer("acme").base_url == "http://from-env"
    assert settings.resolved_ledger_url == "sqlite:///x.db"


def test_a_password_in_the_config_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "portalbot.toml"
    config.write_text('[payers.acme]\npassword = "hunter2"\n')
    with pytest.raises(ConfigError, match="password") as caught:
        load_settings(config, environ={})
    assert "hunter2" not in str(caught.value)


class _NoBundledChromium:
    class chromium:  # mimics playwright.chromium
        executable_path = "/nonexistent/playwright/chrome"


def test_without_any_chromium_the_error_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser.shutil, "which", lambda _name: None)
    with pytest.raises(browser.BrowserNotFound) as caught:
        browser.find_chromium(_NoBundledChromium, BrowserSettings())  # type: ignore[arg-type]
    assert "playwright install chromium" in str(caught.value)
    assert "apt-get install chromium" in str(caught.value)


def test_headless_runs_prefer_the_system_headless_shell_when_playwrights_build_is_absent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(browser.shutil, "which", lambda name: f"/usr/bin/{name}")
    headless = browser.find_chromium(_NoBundledChromium, BrowserSettings())  # type: ignore[arg-type]
    headed = browser.find_chromium(
        _NoBundledChromium, BrowserSettings(headless=False)  # type: ignore[arg-type]
    )
    assert headless == Path("/usr/bin/chromium-headless-shell")
    assert headed == Path("/usr/bin/chromium")


def test_without_a_headless_shell_the_full_system_chromium_runs_headless(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    on_path = {"chromium": "/usr/bin/chromium"}
    monkeypatch.setattr(browser.shutil, "which", on_path.get)
    found = browser.find_chromium(_NoBundledChromium, BrowserSettings())  # type: ignore[arg-type]
    assert found == Path("/usr/bin/chromium")


def test_install_falls_back_to_debians_packages_one_by_one_as_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    commands: list[list[str]] = []
    installed: list[str] = []

    def run(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        if command[:2] == ["apt-get", "install"]:
            if command[-1] == "chromium-headless-shell":
                return subprocess.CompletedProcess(command, 100, "", "")  # not in this release
            installed.extend(command[4:])
        failed = "playwright" in command  # offline: Playwright's download fails
        return subprocess.CompletedProcess(command, 1 if failed else 0, "", "")

    def locate(_settings: BrowserSettings) -> str:
        if "chromium" not in installed:
            raise browser.BrowserNotFound("none yet")
        return "/usr/bin/chromium"

    monkeypatch.setattr(browser.subprocess, "run", run)
    monkeypatch.setattr(browser, "locate_chromium", locate)
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    monkeypatch.setattr(browser.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    said: list[str] = []

    found = browser.install_chromium(BrowserSettings(), said.append)

    assert found == "/usr/bin/chromium"
    assert installed == ["chromium"]  # the release has no headless shell: chromium all the same
    assert [c[-1] for c in commands if c[:2] == ["apt-get", "install"]] == [
        "chromium", "chromium-headless-shell"]
    assert commands[0][-3:] == ["playwright", "install", "chromium"]
    assert any("apt-get" in line for line in said)
