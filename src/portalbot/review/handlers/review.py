"""The queue, one attempt's detail page, and the verdicts given there (one, or every
cross-checked attempt at once)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from portalbot.evidence import region_path
from portalbot.logs import get_logger
from portalbot.review import crosscheck, store
from portalbot.review.desk import Desk, parse_params, qs
from portalbot.review.views import summarize

log = get_logger("portalbot.review")

MAX_BULK = 500
BULK_NOTE = "verified with the machine cross-check: the page shows the ledger's values"


async def queue_page(request: Request, desk: Desk, session: store.Session) -> Response:
    engine = desk.engine
    wanted = store.QueueFilter.from_params(request.query_params)
    items = await desk.db(store.queue, engine, wanted)
    choices = await desk.db(store.queue_choices, engine)
    batches = list(reversed(await desk.db(desk.ledger.batches)))
    at = request.query_params.get("at", "")
    shown = _page_of(items, desk.config.page_size, request.query_params.get("page"), at)
    checks = {item.attempt_id: _check_item(item) for item in shown.items}
    matched = [item.attempt_id for item in shown.items
               if checks[item.attempt_id].matched and item.verdict is None]
    return desk.render(
        request, "queue.html", items=shown.items, total=len(items), shown=shown,
        checks=checks, matched=matched, regions=_regions(shown.items),
        verified=request.query_params.get("verified", ""),
        wanted=wanted, params=wanted.to_params(), selected=at, choices=choices,
        batches=batches, verdict_choices=(*store.VERDICTS, store.NO_VERDICT),
        done=request.query_params.get("done") == "1",
    )


async def attempt_page(request: Request, desk: Desk, session: store.Session) -> Response:
    engine, ledger = desk.engine, desk.ledger
    attempt_id = request.path_params["attempt_id"]
    attempt = (await desk.db(store.attempt_row, engine, attempt_id)
               if attempt_id.isalnum() else None)
    if attempt is None:
        return desk.render(request, "error.html", 404, message="No such attempt.")
    claim_pk = attempt["claim_pk"]
    await desk.db(store.record_audit, engine, session.reviewer_id, "view", desk.now(),
                  claim_pk=claim_pk, attempt_id=attempt_id)
    wanted = store.QueueFilter.from_params(request.query_params)
    items = await desk.db(store.queue, engine, wanted)
    previous, following = _neighbours(items, attempt_id)
    record = await desk.db(ledger.claim, claim_pk)
    attempts = await desk.db(ledger.attempts, claim_pk)
    checks = {a["id"]: crosscheck.check_attempt(a, record.confirmation, record.portal_key)
              for a in attempts}
    return desk.render(
        request, "attempt.html", checks=checks, check=checks[attempt_id],
        region=bool(attempt.get("screenshot"))
        and region_path(Path(attempt["screenshot"])).is_file(),
        attempt=attempt, claim=record, summary=summarize(record.payload),
        attempts=attempts,
        events=await desk.db(ledger.events, claim_pk),
        verdicts=await desk.db(store.verdicts, engine, claim_pk),
        previous=previous, following=following, params=wanted.to_params(),
        position=_position(items, attempt_id), total=len(items),
    )


async def verdict_post(request: Request, desk: Desk, session: store.Session,
                       form: FormData) -> Response:
    engine = desk.engine
    attempt_id = request.path_params["attempt_id"]
    verdict = str(form.get("verdict") or "")
    note = str(form.get("note") or "").strip()
    if verdict not in store.VERDICTS:
        return PlainTextResponse("unknown verdict", status_code=400)
    if verdict == store.FLAGGED and not note:
        return PlainTextResponse("a flag needs a note", status_code=400)
    if not attempt_id.isalnum() or await desk.db(store.attempt_row, engine, attempt_id) is None:
        return desk.render(request, "error.html", 404, message="No such attempt.")
    wanted = store.QueueFilter.from_params(parse_params(str(form.get("params") or "")))
    # The next attempt is found before the verdict, so "not reviewed" filters still advance.
    items = await desk.db(store.queue, engine, wanted)
    _, following = _neighbours(items, attempt_id)
    claim_pk = await desk.db(store.add_verdict, engine, attempt_id, session.reviewer_id,
                             verdict, note, desk.now())
    await desk.db(store.record_audit, engine, session.reviewer_id, f"verdict:{verdict}",
                  desk.now(), claim_pk=claim_pk, attempt_id=attempt_id)
    params = wanted.to_params()
    if following is None:
        return RedirectResponse("/" + qs({**params, "done": "1"}), status_code=303)
    return RedirectResponse(f"/attempts/{following}{qs(params)}", status_code=303)


async def verify_matched(request: Request, desk: Desk, session: store.Session,
                         form: FormData) -> Response:
    """Verify, at once, every listed attempt whose cross-check matches and that has no
    verdict yet: checked again here, never taken on the page's word."""
    engine = desk.engine
    wanted = store.QueueFilter.from_params(parse_params(str(form.get("params") or "")))
    listed = set(str(form.get("attempts") or "").split()[:MAX_BULK])
    items = [i for i in await desk.db(store.queue, engine, wanted) if i.attempt_id in listed]
    chosen = [i.attempt_id for i in items if i.verdict is None and _check_item(i).matched]
    done = await desk.db(store.add_verdicts, engine, chosen, session.reviewer_id,
                         store.VERIFIED, BULK_NOTE, desk.now())
    for attempt_id, claim_pk in done:
        await desk.db(store.record_audit, engine, session.reviewer_id, "verdict:verified",
                      desk.now(), claim_pk=claim_pk, attempt_id=attempt_id)
    log.info("bulk verified", reviewer=session.reviewer_name, attempts=len(done))
    return RedirectResponse(
        "/" + qs({**wanted.to_params(), "verified": str(len(done))}), status_code=303
    )


@dataclass(frozen=True)
class QueuePage:
    items: list[store.QueueItem]
    number: int  # 1-based
    pages: int
    first: int  # 1-based position of the first row shown (0 when there is none)

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def following(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


def _page_of(
    items: list[store.QueueItem], size: int, wanted: str | None, at: str
) -> QueuePage:
    """The page asked for; without one, the page holding `at` (the attempt a reviewer
    came back from), else the first. Out-of-range pages clamp to the last."""
    pages = max(1, -(-len(items) // size))
    position = _position(items, at) if at else None
    if wanted:
        number = int(wanted)  # checked by _bad_request_values: 1-6 ASCII digits
    elif position is not None:
        number = (position - 1) // size + 1
    else:
        number = 1
    number = min(max(number, 1), pages)
    start = (number - 1) * size
    return QueuePage(items[start:start + size], number, pages, start + 1 if items else 0)


def _neighbours(items: list[store.QueueItem], attempt_id: str) -> tuple[str | None, str | None]:
    ids = [item.attempt_id for item in items]
    if attempt_id not in ids:
        return None, ids[0] if ids else None
    index = ids.index(attempt_id)
    previous = ids[index - 1] if index > 0 else None
    following = ids[index + 1] if index + 1 < len(ids) else None
    return previous, following


def _position(items: list[store.QueueItem], attempt_id: str) -> int | None:
    ids = [item.attempt_id for item in items]
    return ids.index(attempt_id) + 1 if attempt_id in ids else None


def _check_item(item: store.QueueItem) -> crosscheck.CrossCheck:
    return crosscheck.check_attempt(
        {"result": item.result, "html": item.html}, item.confirmation, item.portal_key
    )


def _regions(items: list[store.QueueItem]) -> set[str]:
    """The attempts whose outcome region was recorded beside their screenshot."""
    return {i.attempt_id for i in items
            if i.screenshot and region_path(Path(i.screenshot)).is_file()}
