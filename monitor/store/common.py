"""Helpers the database and its query mixins share (so neither imports the other for them)."""

from __future__ import annotations

import datetime as dt
import os
import secrets


def utcnow() -> str:
    """Now, in UTC, as stored everywhere: ISO 8601 to the second with its offset."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def pid_alive(pid: int | None) -> bool:
    """Whether a process (a lock holder, a run's crawler) still runs on this host."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (dead, not yet reaped) is not running
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
"""Modes of everything in the data folder: posts, captured pages, logs and forum sessions are personal
data or credentials, so only the owner may read them, whatever the umask of the process that writes them."""


def private_dir(path: str | os.PathLike) -> None:
    """Create `path` and any missing parents as 0700 folders (whatever the umask).

    A folder that already exists keeps its mode: the database may live in /tmp or a home folder,
    which are not ours to change; what we put in them is private on its own.
    """
    path = os.path.abspath(path)
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR)
        except FileExistsError:  # another process made it meanwhile
            continue
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is filtered by the umask


def make_private(path: str | os.PathLike) -> None:
    """Take group and other permissions off an existing file or folder of ours (one made before this was enforced)."""
    try:
        st = os.stat(path)
        if st.st_uid == os.getuid() and st.st_mode & 0o077:
            os.chmod(path, PRIVATE_DIR if os.path.isdir(path) else PRIVATE_FILE)
    except OSError:
        pass


def open_private(path: str | os.PathLike, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """os.open a file created 0600 (an existing one is made 0600 too); returns the descriptor."""
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, PRIVATE_FILE)
    except OSError:
        os.close(fd)
        raise
    return fd


def write_private(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` through a 0600 temporary file beside it, replaced into place."""
    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"  # writers in other processes or threads never share one
    try:
        with os.fdopen(open_private(tmp), "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
