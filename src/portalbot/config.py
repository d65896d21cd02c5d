"""Settings: one TOML file plus environment variables; never a secret.

Secrets live in the keyring (``portalbot.credentials``). Everything here is a frozen
pydantic model with ``extra="forbid"`` so a typo in the file is an error, not a default.

Environment variables (they win over the file):
``PORTALBOT_CONFIG`` (the file), ``PORTALBOT_DATA_DIR``, ``PORTALBOT_LEDGER_URL``,
``PORTALBOT_EVIDENCE_DIR``, ``PORTALBOT_CHROMIUM`` (a browser executable),
``PORTALBOT_BROWSER_WS`` (connect to a remote Playwright browser server) and
``PORTALBOT_PAYER_<ID>_BASE_URL`` (a payer portal's address).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from portalbot.errors import ConfigError


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountSettings(_Frozen):
    """A portal account; its username and password are in the keyring under ``name``."""

    name: str = "default"
    npis: tuple[str, ...] = ()
    tins: tuple[str, ...] = ()

    def may_submit_for(self, npi: str, tax_id: str) -> bool:
        npi_ok = not self.npis or npi in self.npis
        tin_ok = not self.tins or tax_id.replace("-", "") in {t.replace("-", "") for t in self.tins}
        return npi_ok and tin_ok


class PayerSettings(_Frozen):
    base_url: str | None = None
    accounts: tuple[AccountSettings, ...] = (AccountSettings(),)
    max_sessions: int | None = Field(default=None, ge=1)
    min_interval_s: float | None = Field(default=None, ge=0)
    timely_filing_days: int = Field(default=365, ge=1)
    # The payer's variant of the CCM code table: add-on unit caps (None = uncapped).
    unit_caps: dict[str, int | None] = {}

    def account_for(self, npi: str, tax_id: str) -> AccountSettings | None:
        return next((a for a in self.accounts if a.may_submit_for(npi, tax_id)), None)


class BrowserSettings(_Frozen):
    executable_path: Path | None = None
    ws_endpoint: str | None = None
    headless: bool = True
    trace_snapshots: bool = False
    navigation_timeout_s: float = Field(default=30.0, gt=0)
    action_timeout_s: float = Field(default=10.0, gt=0)


class RetrySettings(_Frozen):
    in_place_attempts: int = Field(default=3, ge=1)
    in_place_wait_s: float = Field(default=0.5, ge=0)
    max_attempts: int = Field(default=5, ge=1)
    backoff_s: float = Field(default=300.0, ge=0)
    # The payer's circuit: this many consecutive drift errors or in-doubt submissions open
    # it; after the cool-down one trial claim may go through, and its success closes it.
    circuit_threshold: int = Field(default=3, ge=1)
    circuit_cooldown_s: float = Field(default=900.0, ge=0)


class Settings(_Frozen):
    data_dir: Path = Path.home() / ".local" / "share" / "portalbot"
    ledger_url: str | None = None
    evidence_dir: Path | None = None
    concurrency: int = Field(default=1, ge=1, le=32)
    worker_name: str | None = None
    lease_s: float = Field(default=300.0, gt=0)
    # Everything after the submit click (reading the answer, its screenshot and HTML) is
    # bounded by this; a live worker's claim is never taken over before its lease plus this
    # (and the evidence time) has passed.
    post_click_deadline_s: float = Field(default=120.0, gt=0)
    poll_s: float = Field(default=2.0, gt=0)
    icd10cm_file: Path | None = None
    icd10cm_release: str | None = None
    # Let the group read and write the data directory and ledger (others never): for an
    # installation shared with a group on purpose. Off: everything is owner-only.
    group_access: bool = False
    # Unreadable records of a claims file reported one by one; the rest are counted.
    max_problems_reported: int = Field(default=200, ge=1)
    usual_place_of_service: str = Field(default="11", pattern=r"^\d{2}$")
    browser: BrowserSettings = BrowserSettings()
    retry: RetrySettings = RetrySettings()
    payers: dict[str, PayerSettings] = {}

    @property
    def resolved_ledger_url(self) -> str:
        return self.ledger_url or f"sqlite:///{self.data_dir / 'ledger.sqlite3'}"

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite ledger's file, or None for PostgreSQL (or an in-memory ledger)."""
        url = self.resolved_ledger_url
        if not url.startswith("sqlite:///"):
            return None
        database = url[len("sqlite:///"):].split("?", 1)[0]
        return Path(database) if database and database != ":memory:" else None

    @property
    def resolved_evidence_dir(self) -> Path:
        return self.evidence_dir or self.data_dir / "evidence"

    def payer(self, payer_id: str) -> PayerSettings:
        return self.payers.get(payer_id, PayerSettings())


def _env_overrides(environ: dict[str, str]) -> dict[str, object]:
    data: dict[str, object] = {}
    simple = {
        "PORTALBOT_DATA_DIR": "data_dir",
        "PORTALBOT_LEDGER_URL": "ledger_url",
        "PORTALBOT_EVIDENCE_DIR": "evidence_dir",
    }
    for variable, key in simple.items():
        if environ.get(variable):
            data[key] = environ[variable]
    browser: dict[str, object] = {}
    if environ.get("PORTALBOT_CHROMIUM"):
        browser["executable_path"] = environ["PORTALBOT_CHROMIUM"]
    if environ.get("PORTALBOT_BROWSER_WS"):
        browser["ws_endpoint"] = environ["PORTALBOT_BROWSER_WS"]
    if browser:
        data["browser"] = browser
    payers: dict[str, dict[str, object]] = {}
    for variable, value in environ.items():
        if variable.startswith("PORTALBOT_PAYER_") and variable.endswith("_BASE_URL") and value:
            payer_id = variable[len("PORTALBOT_PAYER_") : -len("_BASE_URL")].lower()
            payers[payer_id] = {"base_url": value}
    if payers:
        data["payers"] = payers
    return data


def _merge(base: dict[str, object], override: dict[str, object]) -> dict[str, object]:
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged


def load_settings(
    path: Path | None = None, environ: dict[str, str] | None = None, **overrides: object
) -> Settings:
    """Read the TOML file (if any), then the environment, then explicit overrides."""
    environ = dict(os.environ) if environ is None else environ
    path = path or (Path(environ["PORTALBOT_CONFIG"]) if environ.get("PORTALBOT_CONFIG") else None)
    if path is None and Path("portalbot.toml").exists():
        path = Path("portalbot.toml")
    data: dict[str, object] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
    data = _merge(data, _env_overrides(environ))
    data = _merge(data, {k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"bad settings: {problems}") from None
