"""The submit progress bar: a log line written while it runs prints on its own line, above
the bar, and the bar says how long is left."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

from rich.console import Console

from portalbot.cli.submit import progress_bar
from portalbot.logs import configure, get_logger


def test_a_log_line_during_the_progress_bar_is_a_line_of_its_own() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, color_system=None)
    configure(json_output=True)  # to whatever standard error is when the line is written
    result: Any = SimpleNamespace(state="accepted")
    with progress_bar(3, False, console=console) as advance:
        advance(result)
        get_logger().info("portal slow", payer_id="acme")
        advance(result)
    lines = [line.strip("\r") for line in screen.getvalue().replace("\x1b[2K", "").splitlines()]
    logged = [line for line in lines if '"event": "portal slow"' in line]
    assert logged and all(line.lstrip().startswith("{") for line in logged)
    assert any("ETA" in line and "/3" in line for line in lines)
