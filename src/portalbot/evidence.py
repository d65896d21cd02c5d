"""Screenshots, page HTML and traces: the proof of what a portal showed, kept owner-only.

Evidence is PHI. Files live under the evidence directory in one folder per attempt,
named by the attempt id (never by anything from the claim), with mode 0600 in 0700
folders, whatever the process umask (``portalbot.private``).

Beside a full-page screenshot ``LABEL.png`` may lie ``LABEL.region.png``: the element the
adapter read the outcome from (``Outcome.region``), readable at 1:1 where the full page
is not. It is found by that name (``region_path``), so the ledger needs no column for it.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from portalbot.ledger import Evidence
from portalbot.private import DIR_MODE, FILE_MODE, ensure_private_dir, write_private

if TYPE_CHECKING:
    from playwright.async_api import Page

__all__ = [
    "DIR_MODE", "FILE_MODE", "EvidenceStore", "ensure_private_dir", "region_path", "write_private",
]

# An element screenshot waits at most this long; an element not on the page is not waited for.
REGION_TIMEOUT_MS = 5_000


def region_path(screenshot: Path) -> Path:
    """The outcome-region image recorded beside a full-page screenshot."""
    return screenshot.with_name(f"{screenshot.stem}.region.png")


@dataclass(frozen=True)
class EvidenceStore:
    root: Path

    def attempt_dir(self, attempt_id: str) -> Path:
        if not attempt_id.isalnum():
            raise ValueError("attempt ids are alphanumeric")
        ensure_private_dir(self.root)
        return ensure_private_dir(self.root / attempt_id)

    async def capture(
        self, page: Page, attempt_id: str, label: str, region: str | None = None
    ) -> Evidence:
        """A full-page screenshot and the HTML (and the ``region`` element's own screenshot),
        best effort: evidence never fails a claim."""
        folder = self.attempt_dir(attempt_id)
        screenshot = folder / f"{label}.png"
        html = folder / f"{label}.html"
        saved_png: str | None = None
        saved_html: str | None = None
        try:
            write_private(screenshot, await page.screenshot(full_page=True, timeout=15_000))
            saved_png = str(screenshot)
        except Exception:  # noqa: BLE001 - a page that cannot be photographed still has an outcome
            saved_png = None
        try:
            write_private(html, (await page.content()).encode("utf-8"))
            saved_html = str(html)
        except Exception:  # noqa: BLE001 - nor one whose HTML cannot be read
            saved_html = None
        if region is not None and saved_png is not None:
            await _capture_region(page, region, region_path(screenshot))
        return Evidence(screenshot=saved_png, html=saved_html)

    def trace_path(self, attempt_id: str) -> Path:
        return self.attempt_dir(attempt_id) / "trace.zip"

    def seal(self, path: Path) -> None:
        if path.exists():
            os.chmod(path, FILE_MODE)

    def purge(self, older_than_days: float, *, now: float | None = None) -> list[str]:
        """Delete attempt folders older than the retention; returns the attempt ids removed."""
        if not self.root.exists():
            return []
        cutoff = (now if now is not None else time.time()) - older_than_days * 86_400
        removed = []
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder)
                removed.append(folder.name)
        return removed


async def _capture_region(page: Page, region: str, target: Path) -> None:
    """The first element ``region`` finds, in the page or one of its frames, photographed."""
    try:
        for frame in page.frames:
            element = frame.locator(region).first
            if await element.count():
                write_private(target, await element.screenshot(timeout=REGION_TIMEOUT_MS))
                return
    except Exception:  # noqa: BLE001 - the full page is the evidence; the region is a help
        return
