"""``portalbot record``: one real portal session, saved with Playwright's HAR recording.

The session signs in with the keyring credentials, opens the claim form and fills it
with one of the adapter's declared cases (a made-up claim from the fixtures); it clicks
submit only where the adapter declares ``test_mode = True`` (the payer offers a test
submission that files nothing). The recording is then the adapter's pages, which the
generated adapter tests replay with ``route_from_har`` instead of a hand-written mock.

A recording must never hold a secret. Playwright writes the raw HAR into an owner-only
scratch folder; before anything is kept, every cookie, ``Authorization``/``Cookie``/
``Set-Cookie`` header, and every occurrence of the password, the TOTP secret and the
login fields is replaced by ``PLACEHOLDER``, and the scrubbed file is written owner-only
(``write_private``). The replay signs in with the same placeholder, so the recorded
sign-in request still matches.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from playwright.async_api import async_playwright

from portalbot.adapters import Case, Credentials, Filing, PortalAdapter
from portalbot.browser import launch
from portalbot.claims import Claim, load_claims
from portalbot.config import BrowserSettings
from portalbot.errors import ConfigError
from portalbot.private import ensure_private_dir, write_private

PLACEHOLDER = "RECORDED-SECRET"
RECORDING_KEY = "RECORDED1"
"""The portal key every recording is made with (and replayed with: POSTs match exactly)."""
SECRET_HEADERS = {"authorization", "cookie", "set-cookie", "proxy-authorization"}


@dataclass(frozen=True)
class Recording:
    """What a recording holds: which case, made with which username, how far it went."""

    payer_id: str
    claim_id: str
    base_url: str
    username: str
    portal_key: str
    submitted: bool
    har: str

    @classmethod
    def load(cls, path: Path) -> Recording:
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def credentials(self, login_fields: tuple[str, ...] = ()) -> Credentials:
        """What the replay signs in with: the recorded username, the placeholder secrets."""
        return Credentials(self.username, PLACEHOLDER,
                           fields=dict.fromkeys(login_fields, PLACEHOLDER))


def recordings_dir(root: Path, payer_id: str) -> Path:
    return root / "payers" / "recordings" / payer_id


def recordings(folder: Path) -> dict[str, Recording]:
    """The recordings in a payer's folder, by claim id ({} when it has none)."""
    if not folder.is_dir():
        return {}
    found = (Recording.load(p) for p in sorted(folder.glob("*.json")))
    return {r.claim_id: r for r in found if (folder / r.har).exists()}


def case_claim(case: Case) -> Claim:
    """The case's claim, from its fixture file (relative to here or to the checkout)."""
    for path in (Path(case.fixture), Path(__file__).resolve().parents[3] / case.fixture):
        if path.exists():
            for loaded in load_claims(path).claims:
                if loaded.claim.claim_id == case.claim_id:
                    return loaded.claim
    raise ConfigError(f"the case {case.claim_id} is not in {case.fixture}")


def _secrets(credentials: Credentials) -> list[str]:
    values = [credentials.password, credentials.totp_secret or "", *credentials.fields.values()]
    found = {v for v in values if len(v) >= 3}
    for value in list(found):
        found |= {quote(value, safe=""), quote_plus(value)}
    return sorted(found, key=len, reverse=True)


def _scrub_entry(entry: dict[str, Any]) -> None:
    for part in (entry.get("request", {}), entry.get("response", {})):
        part["cookies"] = []
        for header in part.get("headers", []):
            if header.get("name", "").lower() in SECRET_HEADERS:
                header["value"] = PLACEHOLDER


def scrub(har: dict[str, Any], credentials: Credentials) -> str:
    """The HAR as text with no cookie, no credential header and no secret value left."""
    for entry in har.get("log", {}).get("entries", []):
        _scrub_entry(entry)
    text = json.dumps(har, indent=1)
    for secret in _secrets(credentials):
        text = text.replace(secret, PLACEHOLDER)
        text = text.replace(json.dumps(secret)[1:-1], PLACEHOLDER)
    return text


async def record(
    adapter: PortalAdapter[Any], case: Case, form_claim: Claim, credentials: Credentials,
    out: Path, browser: BrowserSettings, *, submit: bool = False,
) -> Recording:
    """Drive one session for ``case`` and keep it, scrubbed, as ``out/<claim_id>.har``."""
    form = adapter.to_form(form_claim, Filing(RECORDING_KEY))
    origin = urlsplit(adapter.base_url)
    ensure_private_dir(out)
    scratch = Path(tempfile.mkdtemp(prefix="portalbot-har-"))  # 0700 by mkdtemp
    raw = scratch / "raw.har"
    try:
        async with async_playwright() as playwright:
            chromium = await launch(playwright, browser)
            try:
                context = await chromium.new_context(
                    record_har_path=raw, record_har_content="embed",
                    record_har_url_filter=f"{origin.scheme}://{origin.netloc}/**")
                context.set_default_timeout(browser.action_timeout_s * 1000)
                page = await context.new_page()
                await adapter.login(page, credentials)
                await adapter.prepare(page, form)
                if submit:
                    await adapter.send(page)
                await context.close()  # writes the HAR
            finally:
                await chromium.close()
        har = json.loads(raw.read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    name = f"{_file_name(case.claim_id)}.har"
    write_private(out / name, scrub(har, credentials).encode("utf-8"))
    kept = Recording(adapter.payer_id, case.claim_id, adapter.base_url, credentials.username,
                     RECORDING_KEY, submit, name)
    write_private(out / f"{_file_name(case.claim_id)}.json",
                  json.dumps(asdict(kept), indent=1).encode("utf-8"))
    return kept


def _file_name(claim_id: str) -> str:
    if not claim_id or not all(c.isalnum() or c in "-_." for c in claim_id):
        raise ConfigError("a case's claim id must be letters, digits, '-', '_' or '.' to "
                          "name its recording")
    return claim_id
