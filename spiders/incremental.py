"""Deciding whether a thread already read needs reading again.

A thread is skipped when its listing row (board row, topic list entry) shows
the marker it had when last read to its end. Edits and deletions do not
change that row, so threads with a post in the last `recheck_days` are read
again once they were last read `recheck_hours` ago.
"""

from __future__ import annotations

import datetime as dt

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
