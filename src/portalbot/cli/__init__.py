"""The ``portalbot`` command.

Exit status (every command): 0 — every claim touched has a recorded outcome (a rejection
is an outcome); 1 — claims need a person (needs_human, in_doubt, unreadable claims in the
file, held in ``validate``); 2 — bad invocation or an unreadable input file; 3 — the
environment is not usable (no browser, ledger unreachable, missing credentials, a
payer's circuit open); 4 — claims failed on an outage or on drift and their retry is
scheduled (the summary says when). A summary goes to standard error.

Each command lives in a module of its own and is imported only when it runs: the list
below names them with their one-line help, so ``portalbot --help`` imports none of them
(a test keeps each line equal to its command's own help).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click

from portalbot.cli.common import EXIT_ENVIRONMENT, environment_errors
from portalbot.text import for_terminal

#: name → (where the command is, its one-line help), in the order a biller meets them.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("portalbot.cli.validate:validate",
                 "Check claims against the CCM rules without submitting anything."),
    "submit": ("portalbot.cli.submit:submit",
               "Check and submit every claim in FILE (JSON, JSON Lines, CSV or X12 837P)."),
    "ledger": ("portalbot.cli.ledger:ledger",
               "What happened to each claim (default), and ledger maintenance."),
    "worklist": ("portalbot.cli.worklist:worklist",
                 "Claims that need a person, grouped by payer and reason, most urgent first."),
    "report": ("portalbot.review.cli:report_command",
               "Write a report of batch BATCH_ID for people without the review app."),
    "review": ("portalbot.review.cli:review_group",
               "Serve the review desk (default), or manage reviewers with `review user`."),
    "remit": ("portalbot.x12.cli:remit_command",
              "Record the payments and denials in 835 remittance FILES (paid, denied, reversed)."),
    "ack": ("portalbot.x12.cli:ack_command",
            "Record the claim statuses in 277CA and 277 FILES (accepted, pending, rejected)."),
    "convert": ("portalbot.x12.cli:convert_command",
                "Write the claims of an X12 837P FILE in portalbot's own JSON format, for a person to read."),
    "worker": ("portalbot.cli.queue:worker",
               "Work the ledger's queue: queued claims, due retries and in-doubt reconciliation."),
    "resubmit": ("portalbot.cli.queue:resubmit",
                 "Send every claim whose retry is due and settle in-doubt ones, then exit (for cron)."),
    "status": ("portalbot.cli.queue:status",
               "Record what each payer now says about pending and recently accepted claims."),
    "payers": ("portalbot.cli.admin:list_payers", "The payers portalbot has adapters for."),
    "payer": ("portalbot.cli.admin:payer_group", "Pause or resume a payer for every worker."),
    "credentials": ("portalbot.cli.admin:credentials_group",
                    "Portal passwords in the OS keyring (never in files or on command lines)."),
    "check": ("portalbot.cli.admin:check_command",
              "Sign in to each portal, open its claim form, find every field; submit nothing."),
    "browser": ("portalbot.cli.admin:browser_command",
                "Say which Chromium portalbot will drive (and install one with --install)."),
    "evidence": ("portalbot.cli.admin:evidence_group", "Screenshots, page HTML and traces."),
    "scaffold": ("portalbot.authoring.commands:scaffold_command",
                 "Write a draft adapter for PAYER_ID from its claim form at --url."),
    "record": ("portalbot.authoring.commands:record_command",
               "Keep one real portal session of PAYER_ID as a HAR recording, for its tests."),
    "config": ("portalbot.cli.setup:config_group",
               "Write and check the configuration file."),
    "schema": ("portalbot.cli.validate:schema",
               "Print the JSON Schema of the claim interchange format."),
}


def load_command(name: str) -> click.Command:
    module_name, _, attribute = COMMANDS[name][0].partition(":")
    module = importlib.import_module(module_name)
    command: click.Command = getattr(module, attribute)
    return command


class _Commands(click.Group):
    """The commands, imported when one is run; each runs inside ``environment_errors``,
    so a ledger fault in any of them exits 3 with one line (a traceback would print the
    SQL, and with it claim data)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_where, short) in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> Any:
        with environment_errors():
            return super().invoke(ctx)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(path_type=Path), help="portalbot.toml to read.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Where the ledger and evidence live.")
@click.option("--ledger", help="Ledger URL: sqlite:///FILE or postgresql://…")
@click.option("--log-json", is_flag=True, help="Log one JSON object per line.")
@click.option("--log-level", default="INFO", show_default=True)
@click.version_option(package_name="portalbot")
def main(config: Path | None, data_dir: Path | None, ledger: str | None, log_json: bool,
         log_level: str) -> None:
    """Submit finished CCM claims through payer portals, exactly once, with evidence."""
    from portalbot.logs import configure as configure_logs
    from portalbot.private import restrict_umask

    restrict_umask()  # before anything is created: every file owner-only from its first byte
    configure_logs(json_output=log_json, level=log_level.upper())


def run() -> None:
    """The console script: ``main`` with a last net for portalbot's own errors."""
    from portalbot.errors import PortalbotError

    try:
        main()
    except PortalbotError as exc:
        from portalbot.cli.common import err  # rich, only when there is something to say

        err.print(f"[bold red]portalbot:[/] {for_terminal(exc)}", highlight=False)
        sys.exit(EXIT_ENVIRONMENT)
