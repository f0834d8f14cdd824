"""Times as the team reads them: stored in UTC, shown in the team's time zone with its label.

The store writes ISO 8601 times in UTC ("2026-12-06T05:10:00+00:00"). People read them in the
zone of `[scheduler] timezone` (default Asia/Jakarta): in tables as "2026-12-06 12:10 WIB", and in
JSON, CSV and lists for other tools as ISO 8601 with that zone's offset
("2026-12-06T12:10:00+07:00"), so a script still reads the exact instant. A value that is not a
time with a zone (a bare date, a site's own wording, None) is shown as it is: guessing its zone
would make it wrong.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from .crawl.scheduling import DEFAULT_TIMEZONE, timezone_of

ZONE_HELP = (f"Times are in the team's zone ([scheduler] timezone, default {DEFAULT_TIMEZONE}): "
             "'2026-12-06 12:10 WIB' in tables, ISO 8601 with the offset in JSON and CSV.")


def team_zone(config=None) -> ZoneInfo:
    """The zone of a loaded configuration's `[scheduler] timezone`; the default without a configuration."""
    return timezone_of(config.scheduler["timezone"] if config is not None else DEFAULT_TIMEZONE)


def parse_time(value) -> dt.datetime | None:
    """`value` as an aware datetime when it is a full time with a zone (ISO text or a datetime), else None."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None and value.utcoffset() is not None else None
    if not isinstance(value, str) or not 10 < len(value) <= 40:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def zone_label(moment: dt.datetime) -> str:
    """The zone's name at that moment ("WIB", "WITA", "UTC"); for zones that have only an offset
    ("+07"), that offset written so it cannot be misread ("UTC+07:00")."""
    name = moment.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = moment.utcoffset() or dt.timedelta(0)
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def local_iso(value, zone: ZoneInfo | None = None):
    """A stored time as ISO 8601 in the team's zone with its offset, to the second; anything else unchanged."""
    moment = parse_time(value)
    if moment is None:
        return value
    return moment.astimezone(zone or team_zone()).isoformat(timespec="seconds")


def local_label(value, zone: ZoneInfo | None = None):
    """A stored time as people read it: "2026-12-06 12:10 WIB" in the team's zone; anything else unchanged."""
    moment = parse_time(value)
    if moment is None:
        return value
    here = moment.astimezone(zone or team_zone())
    return f"{here:%Y-%m-%d %H:%M} {zone_label(here)}"
