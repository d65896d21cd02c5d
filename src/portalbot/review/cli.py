"""``portalbot review`` (serve the review desk, manage reviewers) and ``portalbot report``.

Registered in ``portalbot.cli.COMMANDS`` and imported only when one of them runs; it
reads the settings itself, from the same root options.
"""

from __future__ import annotations

import getpass
import ipaddress
import re
import sys
from contextlib import suppress
from pathlib import Path
from typing import Any

import click

from portalbot.config import Settings, load_settings
from portalbot.errors import ConfigError, LedgerError
from portalbot.ledger import Ledger
from portalbot.ledger.urls import LedgerUrlError
from portalbot.private import check_installation, restrict_umask
from portalbot.review import auth, store

EXIT_USAGE, EXIT_ENVIRONMENT = 2, 3
NAME_PATTERN = re.compile(r"[A-Za-z0-9._@-]{1,64}")


def _fail(message: str, code: int) -> None:
    click.echo(f"portalbot: {message}", err=True)
    sys.exit(code)


def _settings(ctx: click.Context) -> Settings:
    options = ctx.find_root().params
    try:
        return load_settings(
            options.get("config"), data_dir=options.get("data_dir"), ledger_url=options.get("ledger")
        )
    except ConfigError as exc:
        _fail(str(exc), EXIT_ENVIRONMENT)
        raise


def _ledger(settings: Settings) -> Ledger:
    try:
        check_installation(settings.data_dir, settings.resolved_evidence_dir,
                           settings.sqlite_file, group_access=settings.group_access)
        return Ledger.open(settings.resolved_ledger_url)
    except LedgerUrlError as exc:
        _fail(str(exc), EXIT_USAGE)
        raise
    except (LedgerError, ConfigError) as exc:
        _fail(str(exc), EXIT_ENVIRONMENT)
        raise


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, tls_cert: Path | None, tls_key: Path | None,
                  behind_tls_proxy: bool) -> str | None:
    """Why this binding is refused, or None. PHI never crosses a network in clear text."""
    if (tls_cert is None) != (tls_key is None):
        return "--tls-cert and --tls-key go together"
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            return f"{path} does not exist"
    if not is_loopback(host) and tls_cert is None and not behind_tls_proxy:
        return (
            f"refusing to serve PHI on {host} without TLS: give --tls-cert and --tls-key, "
            "or --behind-tls-proxy if a TLS-terminating proxy sits in front"
        )
    return None


@click.group("review", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--tls-cert", type=click.Path(path_type=Path, dir_okay=False), help="TLS certificate (PEM).")
@click.option("--tls-key", type=click.Path(path_type=Path, dir_okay=False), help="TLS private key (PEM).")
@click.option("--behind-tls-proxy", is_flag=True,
              help="A TLS-terminating proxy is in front: allow a non-loopback address without TLS here.")
@click.option("--allowed-host", "allowed_hosts", multiple=True,
              help="Host names the app answers to off loopback (repeatable; default: any).")
@click.pass_context
def review_group(ctx: click.Context, host: str, port: int, tls_cert: Path | None,
                 tls_key: Path | None, behind_tls_proxy: bool,
                 allowed_hosts: tuple[str, ...]) -> None:
    """Serve the review desk (default), or manage reviewers with `review user`."""
    if ctx.invoked_subcommand is not None:
        return
    restrict_umask()  # the desk's own files (sessions in the ledger, logs) owner-only too
    problem = check_binding(host, tls_cert, tls_key, behind_tls_proxy)
    if problem:
        _fail(problem, EXIT_USAGE)
    import uvicorn

    from portalbot.review.app import LOOPBACK_HOSTS, ReviewConfig, create_app

    settings = _settings(ctx)
    ledger = _ledger(settings)
    if not store.reviewers(ledger.engine):
        click.echo("portalbot: no reviewers yet; add one with `portalbot review user add NAME`",
                   err=True)
    secure = tls_cert is not None or behind_tls_proxy
    # Loopback answers only to loopback names (DNS rebinding); elsewhere the operator's list.
    off_loopback = tuple(h.lower() for h in allowed_hosts) or None
    hosts = LOOPBACK_HOSTS if is_loopback(host) else off_loopback
    config = ReviewConfig(
        evidence_dir=settings.resolved_evidence_dir, secure_cookies=secure, hsts=secure,
        allowed_hosts=hosts,
    )
    app = create_app(ledger.engine, config)
    scheme = "https" if tls_cert else "http"
    click.echo(f"portalbot: review desk on {scheme}://{host}:{port}/", err=True)
    options: dict[str, Any] = {
        "host": host, "port": port, "access_log": False, "server_header": False,
        "proxy_headers": behind_tls_proxy, "log_level": "warning",
    }
    if tls_cert is not None:
        options.update(ssl_certfile=str(tls_cert), ssl_keyfile=str(tls_key))
    server = uvicorn.Server(uvicorn.Config(app, **options))
    with suppress(SystemExit):  # uvicorn exits when it cannot bind; say why, and not with 0
        server.run()
    if not server.started:
        _fail(f"the review desk could not listen on {host}:{port}: the address is in use or "
              "not this machine's; choose another with --host/--port", EXIT_ENVIRONMENT)


@review_group.group("user")
def user_group() -> None:
    """Reviewer accounts: each person signs in with their own."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        _fail("the passwords differ", EXIT_USAGE)
    return first


def _checked_password(password_stdin: bool) -> str:
    password = _read_password(password_stdin)
    if len(password) < auth.MIN_PASSWORD_LENGTH:
        _fail(f"a password needs at least {auth.MIN_PASSWORD_LENGTH} characters", EXIT_USAGE)
    return password


def _known_reviewer(ledger: Ledger, name: str) -> None:
    """A reviewer name typed on the command line is one the desk has (exit 2 otherwise,
    with the nearest name)."""
    from portalbot.cli.choices import check_name

    check_name("reviewer", name, [r.name for r in store.reviewers(ledger.engine)])


@user_group.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def user_add(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Add reviewer NAME; the password is asked for (never given on the command line)."""
    if not NAME_PATTERN.fullmatch(name):
        _fail("a reviewer name is 1-64 letters, digits or . _ @ -", EXIT_USAGE)
    ledger = _ledger(_settings(ctx))
    if store.reviewer_by_name(ledger.engine, name) is not None:
        _fail(f"a reviewer named {name} already exists", EXIT_USAGE)
    password = _checked_password(password_stdin)
    store.add_reviewer(ledger.engine, name, auth.hash_password(password), ledger.clock())
    click.echo(f"portalbot: reviewer {name} added", err=True)


@user_group.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def user_password(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a new password for NAME (and re-enable the account); open sessions end."""
    ledger = _ledger(_settings(ctx))
    _known_reviewer(ledger, name)
    store.set_password(ledger.engine, name, auth.hash_password(_checked_password(password_stdin)))
    click.echo(f"portalbot: password of {name} changed", err=True)


@user_group.command("disable")
@click.argument("name")
@click.pass_context
def user_disable(ctx: click.Context, name: str) -> None:
    """Stop NAME signing in; their open sessions end at once."""
    ledger = _ledger(_settings(ctx))
    _known_reviewer(ledger, name)
    try:
        store.disable_reviewer(ledger.engine, name)
    except store.ReviewError as exc:
        _fail(str(exc), EXIT_USAGE)
    click.echo(f"portalbot: reviewer {name} disabled", err=True)


@user_group.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """The reviewers, one a line."""
    for reviewer in store.reviewers(_ledger(_settings(ctx)).engine):
        click.echo(f"{reviewer.name}{'  (disabled)' if reviewer.disabled else ''}")


@click.command("report")
@click.argument("batch_id")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The file to write (owner-only: it holds PHI).")
@click.option("--format", "fmt", type=click.Choice(["html", "csv"]), default="html", show_default=True)
@click.option("--screenshots", type=click.Choice(["embed", "link", "none"]), default="embed",
              show_default=True, help="HTML only: embed the screenshots, link to the files, or leave them out.")
@click.pass_context
def report_command(ctx: click.Context, batch_id: str, out_path: Path, fmt: str,
                   screenshots: str) -> None:
    """Write a report of batch BATCH_ID for people without the review app."""
    from portalbot.cli.choices import resolve_batch
    from portalbot.report import (
        UnknownBatch,
        audit_report,
        render_csv,
        render_html,
        write_report,
    )

    settings = _settings(ctx)
    ledger = _ledger(settings)
    batch_id = resolve_batch(ledger, batch_id)  # a unique prefix will do; a typo exits 2
    try:
        if fmt == "csv":
            text = render_csv(ledger, batch_id)
        else:
            text = render_html(ledger, batch_id, settings.resolved_evidence_dir,
                               screenshots=screenshots)  # type: ignore[arg-type]
    except UnknownBatch as exc:
        _fail(str(exc), EXIT_USAGE)
        return
    try:
        write_report(out_path, text)
    except OSError as exc:
        _fail(f"cannot write {out_path}: {exc.strerror}", EXIT_USAGE)
    audit_report(ledger, batch_id, fmt)
    click.echo(f"portalbot: report of {len(ledger.claims_in_batch(batch_id))} claims written to "
               f"{out_path} (owner-only)", err=True)
