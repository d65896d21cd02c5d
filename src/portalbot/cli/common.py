"""What every ``portalbot`` command shares: the two consoles, the exit statuses, reading
the settings and opening the ledger, and turning environment faults into one line.

It imports only what the commands' help needs; the ledger, the settings model and the
engine are imported when a command runs, so ``portalbot --help`` starts fast.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from portalbot.text import for_terminal

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from portalbot.claims import ClaimBatchFile
    from portalbot.config import Settings
    from portalbot.intake_prepare import PreparedBatch
    from portalbot.ledger import ClaimRecord, Ledger

EXIT_OK, EXIT_NEEDS_PERSON, EXIT_USAGE, EXIT_ENVIRONMENT, EXIT_RETRY_SCHEDULED = 0, 1, 2, 3, 4

_consoles: dict[str, Console] = {}


def _console(name: str) -> Console:
    """``out`` or ``err``, made on first use: rich costs a fifth of ``--help``'s start-up,
    and help is printed by click."""
    if name not in _consoles:
        from rich.console import Console

        stdout = Console()
        if not stdout.is_terminal:
            stdout = Console(width=240)  # a pipe or a log file: keep each claim on one line
        _consoles["out"] = stdout
        _consoles["err"] = Console(stderr=True, soft_wrap=True)
    return _consoles[name]


def __getattr__(name: str) -> Console:
    """``from portalbot.cli.common import out, err`` (the consoles, made on first use)."""
    if name in ("out", "err"):
        return _console(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def say(message: str) -> None:
    """One line for the person at the terminal, on standard error; ``message`` is markup
    the caller wrote, so claim data in it must already be escaped (``for_terminal``)."""
    _console("err").print(message, highlight=False)


def fail(message: str, code: int) -> NoReturn:
    _console("err").print(f"[bold red]portalbot:[/] {message}", highlight=False)
    sys.exit(code)


def usage_error(message: str) -> NoReturn:
    fail(message, EXIT_USAGE)


@contextmanager
def environment_errors() -> Iterator[None]:
    """Turn errors about the environment into exit status 3 with one clear line.

    A ledger fault (a full disk, a locked SQLite file, a lost PostgreSQL connection) is
    one of them wherever it strikes: the message says what to fix, never the SQL or a
    traceback, and nothing half-done was committed (every ledger write is a transaction).
    """
    try:
        yield
    except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
        raise  # click's own ends (--help, a usage error): not the environment
    except Exception as exc:
        # Imported here, not above: the ledger is heavy and ``--help`` must start fast.
        from portalbot.errors import ConfigError, LedgerError
        from portalbot.ledger import faults as ledger_faults
        from portalbot.ledger.urls import LedgerUrlError

        if isinstance(exc, LedgerUrlError):  # a bad --ledger is a usage error
            fail(for_terminal(exc), EXIT_USAGE)
        if isinstance(exc, ConfigError | LedgerError):
            fail(for_terminal(exc), EXIT_ENVIRONMENT)
        message = ledger_faults.describe(exc)
        if message is None:
            raise
        fail(message, EXIT_ENVIRONMENT)


def settings_for(ctx: click.Context, **overrides: Any) -> Settings:
    """The settings from the root options (``--config``, ``--data-dir``, ``--ledger``)."""
    from portalbot.config import load_settings

    options = ctx.find_root().params
    with environment_errors():
        return load_settings(
            options.get("config"),
            data_dir=options.get("data_dir"),
            ledger_url=options.get("ledger"),
            **overrides,
        )


def open_ledger(settings: Settings) -> Ledger:
    """The ledger, after refusing a data directory others can read (the evidence is PHI)."""
    from portalbot.ledger import Ledger
    from portalbot.private import check_installation

    with environment_errors():
        check_installation(settings.data_dir, settings.resolved_evidence_dir,
                           settings.sqlite_file, group_access=settings.group_access)
        return Ledger.open(settings.resolved_ledger_url)


def load_or_exit(file: Path, settings: Settings, evidence: Path | None = None) -> ClaimBatchFile:
    """Read a claim file; an unreadable file exits 2, unreadable claims are listed and kept
    out of the batch (one bad claim never stops the rest)."""
    from portalbot.claims import load_claims

    batch = _read_or_exit(lambda: load_claims(
        file, max_problems=settings.max_problems_reported, evidence=evidence))
    say_problems(batch)
    return batch


def prepare_or_exit(file: Path, settings: Settings,
                    evidence: Path | None = None) -> ClaimBatchFile | PreparedBatch:
    """``load_or_exit`` for intake: a JSON Lines file is read, checked and serialized on
    every core as intake writes it (``portalbot.intake_prepare``): its unreadable claims
    are listed by ``say_problems`` once it has been read. Any other file loads whole."""
    if file.suffix.lower() not in {".jsonl", ".ndjson"} or evidence is not None:
        return load_or_exit(file, settings, evidence)
    from portalbot.intake_prepare import prepare_file

    return _read_or_exit(lambda: prepare_file(
        file, settings, max_problems=settings.max_problems_reported))


Loaded = TypeVar("Loaded", "ClaimBatchFile", "PreparedBatch")


def _read_or_exit(read: Callable[[], Loaded]) -> Loaded:
    from portalbot.claims import ClaimFileError

    try:
        return read()
    except ClaimFileError as exc:
        usage_error(for_terminal(exc))


def say_problems(batch: ClaimBatchFile | PreparedBatch) -> None:
    for problem in batch.problems:
        say(f"[yellow]unreadable claim:[/] {for_terminal(problem)}")
    if batch.more_problems:
        say(f"[yellow]unreadable claim:[/] … and {batch.more_problems} more, not listed "
            "(max_problems_reported in the config)")


def one_version(store: Ledger, claim_id: str, version: int | None) -> ClaimRecord:
    """The named version of a claim, or its newest; exit 2 naming what is missing."""
    versions = store.versions_of(claim_id)
    if version is not None:
        versions = [r for r in versions if r.version == version]
    if not versions:
        which = f"claim {claim_id}" + (f" v{version}" if version is not None else "")
        usage_error(for_terminal(f"{which} is not in the ledger (`portalbot ledger` lists them)"))
    return versions[-1]


def stop_on_signal() -> threading.Event:
    """SIGTERM/SIGINT let the current run finish its claims, then stop the loop."""
    stop = threading.Event()

    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(ValueError):  # not the main thread (tests): no handler
            signal.signal(sig, handler)
    return stop
