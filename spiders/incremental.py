"""Deciding whether a thread already read needs reading again.

A thread is skipped when its listing row (board row, topic list entry) shows
the marker it had when last read to its end. Edits and deletions do not
change that row, so threads with a post in the last `recheck_days` are read
again once they were last read `recheck_hours` ago.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib

UTC = dt.timezone.utc


def when(value) -> dt.datetime | None:
    """A stored ISO time as an aware datetime (naive ones are UTC); None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def thread_state(known, marker: str, recheck_days: float, recheck_hours: float, now: dt.datetime | None = None) -> str:
    """'changed' (new, or its marker moved), 'recheck' (unchanged but due for a look at edits) or 'unchanged'.

    `known` is what the store exported for the thread: a dict with marker,
    completed_at and last_post_at, a bare marker string (older state files), or None.
    """
    known = known if isinstance(known, dict) else {"marker": known}
    if not marker or known.get("marker") != marker:
        return "changed"
    if recheck_days <= 0:
        return "unchanged"
    now = now or dt.datetime.now(UTC)
    last_post, read_at = when(known.get("last_post_at")), when(known.get("completed_at"))
    if last_post is None or read_at is None:
        return "unchanged"
    recent = now - last_post <= dt.timedelta(days=recheck_days)
    due = now - read_at >= dt.timedelta(hours=recheck_hours)
    return "recheck" if recent and due else "unchanged"


KNOWN_PREFIX = "z:"
"""A `known_threads` spider argument: "z:" + base64 of zlib-compressed JSON (one command-line argument)."""


def pack_known(known: dict, limit: int) -> tuple[str, int]:
    """`known` as a spider argument of at most `limit` characters, and how many threads it holds.

    A Scrapyd job gets its arguments on a command line, where one argument is capped (128 KiB on
    Linux). When every thread does not fit, the most recently read ones are kept: a thread left out
    is only read again in full, never missed.
    """
    items = sorted(known.items(), key=lambda kv: str((kv[1] or {}).get("completed_at") or "") if isinstance(kv[1], dict) else "",
                   reverse=True)
    count = len(items)
    while True:
        data = json.dumps(dict(items[:count]), separators=(",", ":")).encode("utf-8")
        packed = KNOWN_PREFIX + base64.b64encode(zlib.compress(data, 9)).decode("ascii")
        if len(packed) <= limit or count == 0:
            return packed, count
        count = count * max(1, limit) // len(packed) * 9 // 10 if count > 1 else 0


def unpack_known(value: str) -> dict:
    """The threads a `known_threads` argument names (see pack_known); plain JSON is taken too."""
    if value.startswith(KNOWN_PREFIX):
        raw = zlib.decompressobj().decompress(base64.b64decode(value[len(KNOWN_PREFIX):]), 64 * 1024 * 1024)
        value = raw.decode("utf-8")
    known = json.loads(value)
    if not isinstance(known, dict):
        raise ValueError("known_threads must be a JSON object of thread URL -> state")
    return known
