"""The Acme mock portal in a process of its own, for the browser benchmarks: in-process it
would share the benchmark's CPU and event loop with the browser driver it is timing."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_portal(*extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """The running portal and its base URL; ``extra`` are its command-line flags."""
    port_file = Path(tempfile.mkdtemp()) / "port"
    process = subprocess.Popen(
        [sys.executable, "-m", "fixtures.portals.acme", "--port", "0", "--port-file",
         str(port_file), "--log-level", "warning", *extra],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (port_file.exists() and port_file.read_text().strip()):
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit("the mock portal did not start")
        time.sleep(0.05)  # waiting for another process to write its port file
    return process, f"http://127.0.0.1:{port_file.read_text().strip()}"
