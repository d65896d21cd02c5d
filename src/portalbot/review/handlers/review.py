"""The queue, one attempt's detail page, and the verdicts given there (one, or every
cross-checked attempt at once).

Each page reads a bounded window of the queue by keyset (``after``/``before`` claim pks),
never the whole queue: a busy ledger holds hundreds of thousands of attempts.
"""

from __future__ import annotations

from pathlib import Path

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from portalbot.evidence import region_path
from portalbot.logs import get_logger
from portalbot.review import crosscheck, queue, store
from portalbot.review.desk import Desk, parse_params, qs
from portalbot.review.views import summarize

log = get_logger("portalbot.review")

MAX_BULK = 500
BULK_NOTE = "verified with the machine cross-check: the page shows the ledger's values"


async def queue_page(request: Request, desk: Desk, session: store.Session) -> Response:
    engine, query = desk.engine, request.query_params
    wanted = store.QueueFilter.from_params(query)
    at = query.get("at", "")
    after, before = _cursor(query.get("after")), _cursor(query.get("before"))
    start = None
    if at.isalnum() and after is None and before is None:
        row = await desk.db(store.attempt_row, engine, at)
        start = row["claim_pk"] if row else None
    shown = await desk.db(queue.window, engine, wanted, desk.config.page_size,
                          after=after, before=before, start=start)
    checks = await desk.db(_checks, shown.items)
    matched = [item.attempt_id for item in shown.items
               if checks[item.attempt_id].matched and item.verdict is None]
    return desk.render(
        request, "queue.html", items=shown.items, shown=shown,
        total=await desk.db(queue.count, engine, wanted,
                            shown.items[0].claim_pk if shown.items else 0),
        cap=queue.COUNT_CAP,
        checks=checks, matched=matched, regions=await desk.db(_regions, shown.items),
        verified=query.get("verified", ""),
        wanted=wanted, params=wanted.to_params(), selected=at,
        choices=await desk.db(store.queue_choices, engine),
        batches=list(reversed(await desk.db(desk.ledger.batches))),
        verdict_choices=(*store.VERDICTS, store.NO_VERDICT), done=query.get("done") == "1",
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
    record = await desk.db(ledger.claim, claim_pk)
    attempts = await desk.db(ledger.attempts, claim_pk)
    shows = crosscheck.portal_shows(record.payer_id)
    checks = await desk.db(lambda: {
        a["id"]: crosscheck.check_attempt(a, record.confirmation, record.portal_key, shows)
        for a in attempts
    })
    return desk.render(
        request, "attempt.html", checks=checks, check=checks[attempt_id],
        region=bool(attempt.get("screenshot"))
        and region_path(Path(attempt["screenshot"])).is_file(),
        attempt=attempt, claim=record, summary=summarize(record.payload),
        attempts=attempts,
        events=await desk.db(ledger.events, claim_pk),
        verdicts=await desk.db(store.verdicts, engine, claim_pk),
        previous=await desk.db(queue.neighbour, engine, wanted, claim_pk, following=False),
        following=await desk.db(queue.neighbour, engine, wanted, claim_pk, following=True),
        params=wanted.to_params(),
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
    attempt = (await desk.db(store.attempt_row, engine, attempt_id)
               if attempt_id.isalnum() else None)
    if attempt is None:
        return desk.render(request, "error.html", 404, message="No such attempt.")
    wanted = store.QueueFilter.from_params(parse_params(str(form.get("params") or "")))
    # The next attempt is found before the verdict, so "not reviewed" filters still advance.
    following = await desk.db(queue.neighbour, engine, wanted, attempt["claim_pk"],
                              following=True)
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
    items = await desk.db(queue.listed, engine, wanted, listed)
    checks = await desk.db(_checks, items)
    chosen = [i.attempt_id for i in items if i.verdict is None and checks[i.attempt_id].matched]
    done = await desk.db(store.add_verdicts, engine, chosen, session.reviewer_id,
                         store.VERIFIED, BULK_NOTE, desk.now())
    for attempt_id, claim_pk in done:
        await desk.db(store.record_audit, engine, session.reviewer_id, "verdict:verified",
                      desk.now(), claim_pk=claim_pk, attempt_id=attempt_id)
    log.info("bulk verified", reviewer=session.reviewer_name, attempts=len(done))
    return RedirectResponse(
        "/" + qs({**wanted.to_params(), "verified": str(len(done))}), status_code=303
    )


def _cursor(value: str | None) -> int | None:
    """A keyset cursor (a claim pk); its digits are checked by ``bad_request_values``."""
    return int(value) if value else None


def _checks(items: list[store.QueueItem]) -> dict[str, crosscheck.CrossCheck]:
    """The cross-check of each row (reads saved pages: run off the event loop)."""
    return {
        item.attempt_id: crosscheck.check_attempt(
            {"result": item.result, "html": item.html}, item.confirmation, item.portal_key,
            crosscheck.portal_shows(item.payer_id),
        )
        for item in items
    }


def _regions(items: list[store.QueueItem]) -> set[str]:
    """The attempts whose outcome region was recorded beside their screenshot."""
    return {i.attempt_id for i in items
            if i.screenshot and region_path(Path(i.screenshot)).is_file()}
