"""Evidence and traces: bounded in time, and never the reason a claim fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Page

from portalbot.browser import PortalSession
from portalbot.engine.base import EngineBase
from portalbot.engine.limits import evidence_bound_s
from portalbot.ledger import Evidence
from portalbot.logs import get_logger

log = get_logger("portalbot.engine")


class Tracing(EngineBase):
    """Screenshots, page HTML and a Playwright trace chunk per attempt."""

    async def _capture(self, page: Page, attempt_id: str, label: str) -> Evidence:
        try:
            async with asyncio.timeout(evidence_bound_s(self.settings)):
                return await self.evidence.capture(page, attempt_id, label)
        except Exception:  # noqa: BLE001 - evidence never changes an outcome
            return Evidence()

    async def _evidence_with_trace(
        self, session: PortalSession, attempt_id: str, label: str
    ) -> Evidence:
        evidence = await self._capture(session.page, attempt_id, label)
        return await self._close_trace(session, attempt_id, evidence, keep=True)

    @asynccontextmanager
    async def _traced(self, session: PortalSession) -> AsyncIterator[None]:
        """One trace chunk for the attempt inside: started here and always stopped — kept
        where the attempt closes it (``_close_trace``), dropped when the attempt ends any
        other way (a dry run, a claim given up before the click, an exception)."""
        await self._start_chunk(session)
        try:
            yield
        finally:
            await self._stop_chunk(session, None)

    async def _start_chunk(self, session: PortalSession) -> None:
        """A trace chunk; one that cannot start is logged and dropped."""
        if not session.tracing:
            return
        try:
            async with asyncio.timeout(evidence_bound_s(self.settings)):
                await session.context.tracing.start_chunk()
            session.chunk_open = True
        except Exception:  # noqa: BLE001 - a trace never breaks a claim
            session.chunk_open = False
            log.warning("trace chunk could not start; this attempt has no trace",
                        payer_id=session.key[0])

    async def _stop_chunk(self, session: PortalSession, path: Path | None) -> bool:
        """Stop the attempt's chunk (kept at ``path`` when given); False when none was kept."""
        if not session.chunk_open:
            return False
        session.chunk_open = False
        try:
            async with asyncio.timeout(evidence_bound_s(self.settings)):
                await session.context.tracing.stop_chunk(path=str(path) if path else None)
        except Exception:  # noqa: BLE001 - a lost trace never changes an outcome
            log.warning("trace chunk could not be stopped; dropped", payer_id=session.key[0])
            return False
        if path is not None:
            self.evidence.seal(path)
        return path is not None

    async def _close_trace(
        self, session: PortalSession, attempt_id: str, evidence: Evidence, *, keep: bool
    ) -> Evidence:
        path = self.evidence.trace_path(attempt_id) if keep else None
        if await self._stop_chunk(session, path) and path is not None:
            return Evidence(evidence.screenshot, evidence.html, str(path))
        return evidence

