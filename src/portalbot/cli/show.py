"""``portalbot ledger show CLAIM_ID``: one claim version whole — the claim, its findings,
every attempt with its evidence, every event — as a person reads it or as stable JSON."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from portalbot.cli.common import one_version, open_ledger, out, settings_for
from portalbot.cli.tables import relative_path, short_batch, state_text
from portalbot.cli.views import detail, findings_json
from portalbot.text import visible


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _attempt_json(attempt: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    return {
        "number": attempt["number"], "kind": attempt["kind"], "worker": attempt["worker"],
        "started_at": _when(attempt["started_at"]), "intent_at": _when(attempt["intent_at"]),
        "finished_at": _when(attempt["finished_at"]), "result": attempt["result"],
        "detail": attempt["detail"],
        "screenshot": relative_path(attempt["screenshot"], data_dir) or None,
        "html": relative_path(attempt["html"], data_dir) or None,
        "trace": relative_path(attempt["trace"], data_dir) or None,
        "evidence_purged": attempt["evidence_purged_at"] is not None,
    }


def _event_json(event: dict[str, Any]) -> dict[str, Any]:
    return {"at": _when(event["at"]), "from": event["from_state"], "to": event["to_state"],
            "reason": event["reason"], "worker": event["worker"]}


def whole_claim(ledger: Any, record: Any, data_dir: Path) -> dict[str, Any]:
    """The ``ledger show --format json`` shape (README: "JSON shapes")."""
    return {
        "claim_id": record.claim_id, "version": record.version, "payer_id": record.payer_id,
        "state": record.state, "detail": detail(record), "batch_id": record.batch_id,
        "confirmation": record.confirmation, "payer_claim_number": record.payer_claim_number,
        "reason_code": record.reason_code, "reason": record.reason,
        "portal_key": record.portal_key, "frequency": record.frequency,
        "replaces": record.replaces, "next_attempt_at": _when(record.next_attempt_at),
        "findings": findings_json(record),
        "attempts": [_attempt_json(a, data_dir) for a in ledger.attempts(record.pk)],
        "events": [_event_json(e) for e in ledger.events(record.pk)],
        "claim": record.payload,
    }


@click.command("show")
@click.argument("claim_id")
@click.option("--version", type=click.IntRange(1), help="Which version (default: the newest).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_context
def ledger_show(ctx: click.Context, claim_id: str, version: int | None, fmt: str) -> None:
    """Everything about one claim: the claim, its findings, every attempt and event."""
    settings = settings_for(ctx)
    store = open_ledger(settings)
    record = one_version(store, claim_id, version)
    shown = whole_claim(store, record, settings.data_dir)
    if fmt == "json":
        sys.stdout.write(json.dumps(shown, ensure_ascii=True) + "\n")
        return
    _print_whole(shown, record)


def _print_whole(shown: dict[str, Any], record: Any) -> None:
    head = Text.assemble(
        (visible(shown["claim_id"]), "bold"), f" v{shown['version']}  payer ",
        visible(shown["payer_id"]), "  ", state_text(shown["state"]),
        f"  batch {short_batch(shown['batch_id'])}  portal key {shown['portal_key']}",
    )
    out.print(head)
    if shown["detail"]:
        out.print(Text(f"  {visible(shown['detail'])}"))
    lines = record.payload.get("service_lines", [])
    out.print(Text(
        f"  service month {visible(record.payload.get('service_month', ''))}; codes "
        + visible(", ".join(f"{line.get('code')}×{line.get('units')} ${line.get('charge')}"
                            for line in lines))
        + f"; diagnoses {visible(', '.join(record.payload.get('diagnoses', [])))}"
    ))
    _print_rows("Findings", ("rule", "severity", "message"),
                [(f["rule"], f["severity"], f["message"]) for f in shown["findings"]])
    _print_rows("Attempts", ("#", "kind", "result", "started", "detail", "evidence"),
                [(a["number"], a["kind"], a["result"], a["started_at"], a["detail"],
                  "\n".join(filter(None, (a["screenshot"], a["html"], a["trace"])))
                  + (" (purged)" if a["evidence_purged"] else ""))
                 for a in shown["attempts"]])
    _print_rows("Events", ("at", "from", "to", "reason", "worker"),
                [(e["at"], e["from"] or "", e["to"], e["reason"], e["worker"])
                 for e in shown["events"]])


def _print_rows(title: str, headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        out.print(Text(f"{title}: none"))
        return
    table = Table(title=title, title_justify="left")
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(Text("\n".join(visible(p) for p in str(v or "").split("\n")))
                        for v in row))
    out.print(table)
