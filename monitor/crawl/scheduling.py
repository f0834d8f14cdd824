"""Schedules: APScheduler triggers built from the configuration, and when a source is due.

A source runs on its own `schedule` (a five-field cron expression) or
`every` (an interval: 90s, 30m, 6h, 1d), or on those of a `[groups.NAME]`
table that lists it. Building the trigger is the validation: an expression
APScheduler cannot read is refused when the configuration is loaded.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

DEFAULT_TIMEZONE = "Asia/Jakarta"
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Schedule:
    kind: str  # cron or every
    expression: str
    origin: str  # the configuration field it came from, for messages

    def trigger(self, timezone: str = DEFAULT_TIMEZONE):
        return build_trigger(self.kind, self.expression, timezone)

    def describe(self) -> str:
        return f"cron {self.expression}" if self.kind == "cron" else f"every {self.expression}"


def timezone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (e.g. Asia/Jakarta, UTC)") from None


def build_trigger(kind: str, expression: str, timezone: str = DEFAULT_TIMEZONE):
    """The APScheduler trigger of a schedule; ValueError says what is wrong with the expression."""
    tz = timezone_of(timezone)
    if kind == "cron":
        if not isinstance(expression, str) or len(expression.split()) != 5:
            raise ValueError("must be a cron expression of five fields: minute hour day month weekday, e.g. '0 6 * * *'")
        try:
            return CronTrigger.from_crontab(expression, timezone=tz)
        except ValueError as exc:
            raise ValueError(f"not a valid cron expression: {exc}") from None
    m = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", expression or "") if isinstance(expression, str) else None
    if not m or int(m.group(1)) == 0:
        raise ValueError("must be an interval like 90s, 30m, 6h or 1d")
    # A fixed start date keeps the phase of the interval stable across restarts of the daemon.
    start = dt.datetime(2026, 1, 1, tzinfo=tz)
    return IntervalTrigger(**{_UNITS[m.group(2)]: int(m.group(1))}, start_date=start, timezone=tz)


def next_due(schedule: Schedule, last_ok_start: dt.datetime | None, timezone: str = DEFAULT_TIMEZONE) -> dt.datetime | None:
    """When a source is next due: for a cron schedule the first fire time after its last
    successful run started, for an interval that run's start plus the interval.

    A source that never ran successfully is due now (None means "now").
    """
    if last_ok_start is None:
        return None
    start = last_ok_start.astimezone(timezone_of(timezone))
    trigger = schedule.trigger(timezone)
    if schedule.kind == "every":
        return start + trigger.interval
    return trigger.get_next_fire_time(None, start)


def is_due(schedule: Schedule, last_ok_start: dt.datetime | None, now: dt.datetime, timezone: str = DEFAULT_TIMEZONE) -> bool:
    due = next_due(schedule, last_ok_start, timezone)
    return due is None or due <= now
