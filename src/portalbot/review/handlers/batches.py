"""The batches list, one batch's summary, and the flagged worklist."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from portalbot.review import store
from portalbot.review.desk import Desk


async def batches_page(request: Request, desk: Desk, session: store.Session) -> Response:
    batches = list(reversed(await desk.db(desk.ledger.batches)))
    return desk.render(request, "batches.html", batches=batches)


async def batch_page(request: Request, desk: Desk, session: store.Session) -> Response:
    summary = await desk.db(store.batch_summary, desk.engine,
                            request.path_params["batch_id"][:32])
    if summary is None:
        return desk.render(request, "error.html", 404, message="No such batch.")
    states = sorted(summary.by_state)
    return desk.render(request, "batch.html", summary=summary, states=states,
                       verdict_choices=(*store.VERDICTS, store.NO_VERDICT))


async def flagged_page(request: Request, desk: Desk, session: store.Session) -> Response:
    flagged = await desk.db(store.flagged_claims, desk.engine)
    return desk.render(request, "flagged.html", flagged=flagged)
