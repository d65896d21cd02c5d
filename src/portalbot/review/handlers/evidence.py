"""Evidence files and the desk's own static files.

Evidence is looked up by attempt id and kind in the ledger, never by a client path, and
must resolve inside the evidence directory; every view writes an audit row. Stored portal
pages are hostile content: served sandboxed (no script, opaque origin).
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from portalbot.review import store
from portalbot.review.desk import Desk

STATIC_FILES = {"review.js": "text/javascript", "review.css": "text/css"}
EVIDENCE_HTML_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'"
)


async def evidence(request: Request, desk: Desk, session: store.Session) -> Response:
    attempt_id = request.path_params["attempt_id"]
    kind = request.path_params["kind"]
    path = await desk.db(store.evidence_file, desk.engine, attempt_id, kind,
                         desk.config.evidence_dir)
    if path is None:
        return PlainTextResponse("not found", status_code=404)
    attempt = await desk.db(store.attempt_row, desk.engine, attempt_id)
    action_name = "thumbnail" if request.query_params.get("thumb") else f"evidence:{kind}"
    await desk.db(store.record_audit, desk.engine, session.reviewer_id, action_name, desk.now(),
                  claim_pk=attempt["claim_pk"] if attempt else None, attempt_id=attempt_id)
    if kind in ("screenshot", "region"):
        media = "image/jpeg" if path.suffix.lower() in {".jpg", ".jpeg"} else "image/png"
        return FileResponse(path, media_type=media)
    if kind == "html":
        return FileResponse(path, media_type="text/html; charset=utf-8",
                            headers={"content-security-policy": EVIDENCE_HTML_CSP})
    return FileResponse(path, media_type="application/zip", filename=f"trace-{attempt_id}.zip")


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC_FILES:
        return PlainTextResponse("not found", status_code=404)
    body = (resources.files("portalbot.review") / "static" / name).read_bytes()
    return Response(body, media_type=STATIC_FILES[name])
