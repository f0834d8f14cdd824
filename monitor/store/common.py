"""Helpers the database and its query mixins share (so neither imports the other for them)."""

from __future__ import annotations

import datetime as dt
import os


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
