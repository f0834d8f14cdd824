"""Writing to a busy database: a write that meets "database is locked" is tried again, for a bounded time.

Every connection waits BUSY_TIMEOUT_MS for the write lock inside SQLite. Several crawls writing one
file, a rescore, or the regrouping of sellers after a large crawl can hold the lock longer; a crawl
must then neither lose posts nor leave its run 'running'. Its writes are retried whole (the failed
transaction rolled back first), with growing pauses, for up to `lock_wait_seconds()` in all (minutes,
MONITOR_LOCK_WAIT_SECONDS overrides it), and then fail with SQLite's error for the caller to report.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import time

BUSY_TIMEOUT_MS = 30_000
"""How long one statement waits for the write lock inside SQLite."""
LOCK_WAIT_SECONDS = 300.0
"""How long a write is retried in all while the database stays busy."""
LOCK_WAIT_ENV = "MONITOR_LOCK_WAIT_SECONDS"
FIRST_PAUSE, MAX_PAUSE = 0.05, 2.0  # seconds between tries, doubling


def lock_wait_seconds() -> float:
    """LOCK_WAIT_SECONDS, or MONITOR_LOCK_WAIT_SECONDS when set (the crawl's worker processes inherit it)."""
    value = os.environ.get(LOCK_WAIT_ENV, "").strip()
    try:
        return max(0.0, float(value)) if value else LOCK_WAIT_SECONDS
    except ValueError:
        return LOCK_WAIT_SECONDS


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "database is busy": another connection holds the lock."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    message = str(exc).lower()
    return "locked" in message or "busy" in message


def retrying(conn: sqlite3.Connection, work, seconds: float | None = None):
    """`work()`, tried again while it fails on a busy database, for up to `seconds` in all; its result.

    `work` must leave no transaction open when it raises (roll back what it began), so that a
    new try redoes all of it. SQLite's own wait is shortened to the time left, so the whole
    stays within `seconds`; once they are spent, the last "database is locked" is raised.
    """
    deadline = time.monotonic() + (lock_wait_seconds() if seconds is None else seconds)
    pause = FIRST_PAUSE
    try:
        while True:
            left = deadline - time.monotonic()
            conn.execute(f"PRAGMA busy_timeout = {int(max(FIRST_PAUSE, min(BUSY_TIMEOUT_MS / 1000, left)) * 1000)}")
            try:
                return work()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() + pause >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def retried_transaction(db, work, seconds: float | None = None):
    """`work()` in a write transaction of `db` (a `Database`), the whole retried while the database is busy; its result."""

    def attempt():
        with db.transaction():
            return work()

    return retrying(db.db.conn, attempt, seconds)


def retried(method):
    """A `Database` method that writes on its own, retried while the database is busy.

    Called inside a transaction the caller opened, it runs once: only the caller can redo its
    transaction from the start.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        conn = self.db.conn
        if conn.in_transaction:
            return method(self, *args, **kwargs)
        return retrying(conn, lambda: method(self, *args, **kwargs))

    return wrapper
