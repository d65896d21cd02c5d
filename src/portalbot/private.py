"""Owner-only from the first byte: how portalbot creates, checks and writes files.

Everything portalbot keeps is PHI or a secret (the ledger holds patients, reviewers'
password hashes and CSRF tokens; evidence holds what was typed into portals). So:

- the process runs under umask 077 (``restrict_umask``, first thing in the CLI and the
  review desk), so even files made by others on our behalf (SQLite's ``-wal``/``-shm``/
  ``-journal``, Playwright's traces and partial traces) are born 0600, folders 0700;
- files portalbot writes itself are created with their mode, never narrowed after the
  data is in: ``write_private`` writes an exclusive owner-only temporary file beside the
  target and renames it over the target, so a symlink planted at the target is replaced,
  never followed;
- before the ledger is opened, ``check_installation`` refuses a data directory, evidence
  directory or ledger file that another user owns or can write (someone could read what
  it receives, or swap it), saying how to fix it, and tightens one that is merely
  readable by others, with a warning. ``group_access = true`` in the config lets the
  group in for operators who share an installation with a group on purpose.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from portalbot.errors import ConfigError
from portalbot.logs import get_logger

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class UnsafePathError(ConfigError):
    """A data directory or ledger file that other users own or can write."""


def restrict_umask() -> None:
    """Owner-only for every file and folder this process (and its children) creates."""
    os.umask(UMASK)


def ensure_private_dir(path: Path) -> Path:
    """``path`` and any missing parents, created 0700 (an existing folder is left as is:
    ``check_private`` judges it)."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    return path


def create_private_file(path: Path) -> bool:
    """Create an empty 0600 file at ``path`` unless something is there; True if created.
    O_EXCL|O_NOFOLLOW: a file or symlink planted at ``path`` is never opened through."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        os.close(os.open(path, flags, FILE_MODE))
    except FileExistsError:
        return False
    return True


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` owner-only: an exclusive 0600 temporary file in the same
    folder, then a rename over ``path`` (which replaces a symlink, never follows it)."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def check_private(path: Path, *, group_access: bool = False) -> None:
    """Refuse ``path`` if another user owns it or can write it; tighten it if others can
    merely read it. Nothing there is fine (it will be created owner-only)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    kind = "directory" if stat.S_ISDIR(info.st_mode) else "file"
    wanted = (0o770 if group_access else DIR_MODE) if kind == "directory" else (
        0o660 if group_access else FILE_MODE)
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.geteuid():
        raise UnsafePathError(
            f"refusing the {kind} {path}: it belongs to another user (uid {info.st_uid}) who "
            f"could read every patient it receives; chown it to this user or use another "
            f"--data-dir"
        )
    writable_by_others = 0o002 | (0 if group_access else 0o020)
    if mode & writable_by_others:
        raise UnsafePathError(
            f"refusing the {kind} {path}: other users can write to it (mode {mode:04o}) and "
            f"could swap what it holds; fix it with `chmod {wanted:o} {path}` (to share it "
            f"with a group on purpose, set group_access = true in the config)"
        )
    if mode & ~wanted & 0o777:
        os.chmod(path, mode & wanted)
        # The logger is made here, not at import: `restrict_umask` runs at every start-up.
        get_logger("portalbot.private").warning(
            "tightened a loose mode: it held PHI readable by other users",
            path=str(path), was=f"{mode:04o}", now=f"{mode & wanted:04o}")


def check_installation(
    data_dir: Path, evidence_dir: Path, sqlite_file: Path | None, *, group_access: bool = False
) -> None:
    """The checks run before the ledger opens: the data and evidence directories, the
    SQLite ledger and its side files (``-wal``, ``-shm``, ``-journal``)."""
    for folder in (data_dir, evidence_dir):
        check_private(folder, group_access=group_access)
    if sqlite_file is not None:
        for suffix in ("", *SQLITE_SIDE_FILES):
            check_private(Path(f"{sqlite_file}{suffix}"), group_access=group_access)
