"""Post dates as sites print them, stored in UTC.

Forums print times in the board's zone (or the visitor's, which for a
crawler is the board's default), with no offset; recent ones relatively
("Today, 10:15 AM", "Yesterday", "15 minutes ago"), the absolute date then
sitting in a `title` attribute; phpBB 3.2 prints text only; XenForo, phpBB 3.3
and Telegram give ISO 8601 with an offset. Every date is turned into UTC
(`2026-12-06T03:15:00+00:00`) with the zone configured for the source, and
the printed form is kept beside it by the spiders.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.timezone.utc
_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?")
_RELATIVE_DAYS = {"today": 0, "hari ini": 0, "yesterday": 1, "kemarin": 1}
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})(?:\s*([AaPp])\.?[Mm]\.?)?")
_ORDINAL = re.compile(r"(?<=\d)(?:st|nd|rd|th)\b", re.I)  # MyBB's "F jS, Y": "December 6th, 2026"
_INDONESIAN = {  # Indonesian language packs print these; strptime reads English month and day names only
    "januari": "January", "februari": "February", "maret": "March", "mei": "May", "juni": "June", "juli": "July",
    "agustus": "August", "oktober": "October", "desember": "December", "agu": "Aug", "agt": "Aug", "okt": "Oct",
    "des": "Dec", "senin": "Monday", "selasa": "Tuesday", "rabu": "Wednesday", "kamis": "Thursday", "jumat": "Friday",
    "sabtu": "Saturday", "minggu": "Sunday", "sen": "Mon", "sel": "Tue", "rab": "Wed", "kam": "Thu", "jum": "Fri",
    "sab": "Sat", "min": "Sun",
}
_WORD = re.compile(r"[A-Za-z']+")
_AGO = re.compile(r"(\d+)\s*(second|minute|hour|detik|menit|jam)s?\s*(?:ago|yang lalu|lalu)", re.I)


class ZoneError(ValueError):
    pass


def zone_of(name: str) -> dt.tzinfo:
    """A zone from an IANA name ("Asia/Jakarta", "UTC") or a fixed offset ("+07:00", "+7", "UTC+7")."""
    text = (name or "").strip()
    if not text:
        raise ZoneError("empty time zone")
    if text.upper() in ("UTC", "GMT", "Z"):
        return UTC
    m = _OFFSET.fullmatch(text)
    if m:
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if hours > 14 or minutes >= 60:
            raise ZoneError(f"{name!r}: offsets run from -14:00 to +14:00")
        sign = -1 if m.group(1) == "-" else 1
        return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ZoneError(f"{name!r} is not a time zone: use an IANA name such as Asia/Jakarta, or an offset such as +07:00") from None


def in_utc(value: dt.datetime, zone: dt.tzinfo = UTC) -> str | None:
    """ISO 8601 in UTC to the second, one form for every kind; a naive `value` is a wall-clock time in `zone`."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    try:
        return value.astimezone(UTC).replace(microsecond=0).isoformat()
    except OverflowError:  # year 1 or 9999 moved across midnight: no such instant to store
        return None


def iso_to_utc(raw: str | None) -> str | None:
    """An ISO 8601 date with an offset ('...+0000', '...000Z') in UTC; None when it has none or is not ISO."""
    if not raw or not isinstance(raw, str):
        return None
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return in_utc(value) if value.tzinfo is not None else None


def parse_printed(raw: str, formats: list[str], zone: dt.tzinfo = UTC, now: dt.datetime | None = None) -> str | None:
    """A printed date in UTC, or None.

    ISO forms are read with their own offset (or as `zone`'s wall clock);
    other forms with the preset's strptime `formats`, after ordinal suffixes
    ("6th") are dropped and Indonesian month and day names put in English. "Today"/"Yesterday"
    followed by a time and "N minutes ago" are read against `now` in `zone`;
    used only when the page gives no absolute date. Leading words that are
    not part of the date ("by admin » Mon Jan 02, 2017 3:04 pm") are skipped.
    """
    text = " ".join((raw or "").split()).strip(" ,»«|-–")
    if not text or len(text) > 200:
        return None
    english = _WORD.sub(lambda m: _INDONESIAN.get(m.group(0).casefold().replace("'", ""), m.group(0)), _ORDINAL.sub("", text))
    words = english.split(" ")
    for start in range(min(len(words), 8)):
        candidate = " ".join(words[start:]).strip(" ,»«|-–")
        value = _parse_absolute(candidate, formats)
        if value is not None:
            return in_utc(value, zone)
    return _parse_relative(text, zone, now)


def _parse_absolute(text: str, formats: list[str]) -> dt.datetime | None:
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    if re.match(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _parse_relative(text: str, zone: dt.tzinfo, now: dt.datetime | None) -> str | None:
    now = (now or dt.datetime.now(UTC)).astimezone(zone)
    lower = text.casefold()
    m = _AGO.search(lower)
    if m:
        unit = {"second": "seconds", "detik": "seconds", "minute": "minutes", "menit": "minutes", "hour": "hours", "jam": "hours"}
        try:  # an elapsed time: counted on UTC, not on a wall clock that may have moved for daylight saving
            value = now.astimezone(UTC) - dt.timedelta(**{unit[m.group(2)]: int(m.group(1))})
        except OverflowError:
            return None
        return in_utc(value.replace(second=0, microsecond=0))
    for word, days_back in _RELATIVE_DAYS.items():
        if lower.startswith(word):
            t = _TIME.search(lower[len(word):])
            if not t:
                return None
            hour, minute = int(t.group(1)), int(t.group(2))
            if t.group(3):
                hour = hour % 12 + (12 if t.group(3).lower() == "p" else 0)
            if hour > 23 or minute > 59:
                return None
            try:
                day = now.date() - dt.timedelta(days=days_back)
            except OverflowError:
                return None
            return in_utc(dt.datetime(day.year, day.month, day.day, hour, minute), zone)
    return None
