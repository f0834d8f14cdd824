"""Printed post dates into UTC: every way the engines print them, and bad zones refused."""

import datetime as dt

import pytest
from conftest import run_monitor

from spiders.dates import ZoneError, iso_to_utc, parse_printed, zone_of
from spiders.incremental import thread_state

WIB = zone_of("Asia/Jakarta")
NOW = dt.datetime(2026, 12, 6, 5, 30, tzinfo=dt.timezone.utc)  # 12:30 in Jakarta


@pytest.mark.parametrize("raw, formats, zone, want", [
    ("12-05-2026, 10:15 AM", ["%m-%d-%Y, %I:%M %p"], WIB, "2026-12-05T03:15:00+00:00"),  # MyBB, board at +7
    ("by admin » Mon Jan 02, 2017 3:04 pm", ["%a %b %d, %Y %I:%M %p"], zone_of("-06:00"), "2017-01-02T21:04:00+00:00"),  # phpBB 3.2
    ("10 Mar 2015 01:54", ["%d %b %Y %H:%M"], zone_of("UTC"), "2015-03-10T01:54:00+00:00"),
    ("2019-01-01T10:00:00+0000", [], WIB, "2019-01-01T10:00:00+00:00"),  # XenForo: its own offset wins over the zone
    ("2024-01-01T00:00:00.000Z", [], WIB, "2024-01-01T00:00:00+00:00"),  # Mastodon's form
    ("Today, 10:15 AM", [], WIB, "2026-12-06T03:15:00+00:00"),  # no title to read: today in the board's zone
    ("Yesterday, 23:50", [], WIB, "2026-12-05T16:50:00+00:00"),
    ("Kemarin 08.05", [], WIB, "2026-12-05T01:05:00+00:00"),
    ("15 minutes ago", [], WIB, "2026-12-06T05:15:00+00:00"),
])
def test_printed_dates_in_utc(raw, formats, zone, want):
    assert parse_printed(raw, formats, zone, NOW) == want


@pytest.mark.parametrize("raw", ["", "Last edited", "Today", "99-99-2026, 10:15 AM", "x" * 500, "Yesterday, 25:61"])
def test_what_is_not_a_date_is_none(raw):
    assert parse_printed(raw, ["%m-%d-%Y, %I:%M %p"], WIB, NOW) is None


def test_zones_by_name_or_offset_and_bad_ones_named():
    assert zone_of("+07:00").utcoffset(None) == dt.timedelta(hours=7)
    assert zone_of("UTC+7").utcoffset(None) == dt.timedelta(hours=7)
    assert zone_of("-0530").utcoffset(None) == -dt.timedelta(hours=5, minutes=30)
    for bad in ("Mars/Olympus", "+25:00", "", "../../etc/passwd"):
        with pytest.raises(ZoneError):
            zone_of(bad)
    assert iso_to_utc("2024-11-12T03:43:23-07:00") == "2024-11-12T10:43:23+00:00"
    assert iso_to_utc("2024-11-12T03:43:23") is None  # no offset: not guessed here
    assert iso_to_utc("9999-12-31T23:59:59-01:00") is None and iso_to_utc(5) is None  # no such instant; not text
    assert parse_printed("01-01-0001, 01:00 AM", ["%m-%d-%Y, %I:%M %p"], zone_of("+07:00"), NOW) is None


@pytest.mark.parametrize("value", ["inf", "nan", "1e9", "-1"])
def test_recheck_values_that_would_overflow_are_refused(tmp_path, value):
    config = tmp_path / "s.toml"
    config.write_text(f'[sources.f]\nkind = "forum"\nengine = "mybb"\nbase_url = "http://x.example/"\nrecheck_days = {value}\n')
    result = run_monitor("sources", "--config", str(config))
    assert result.returncode != 0 and "sources.f.recheck_days: must be a number from 0 to 36500" in result.stderr


def test_a_bad_timezone_in_the_sources_file_is_refused(tmp_path):
    config = tmp_path / "s.toml"
    config.write_text('[sources.f]\nkind = "forum"\nengine = "mybb"\nbase_url = "http://x.example/"\ntimezone = "WIB"\n')
    result = run_monitor("sources", "--config", str(config))
    assert result.returncode != 0 and "sources.f.timezone" in result.stderr and "'WIB' is not a time zone" in result.stderr


def test_unchanged_threads_are_skipped_until_a_recheck_is_due():
    read = {"marker": "3 | 12-05-2026", "completed_at": "2026-12-05T05:00:00+00:00", "last_post_at": "2026-12-04T00:00:00+00:00"}
    assert thread_state(read, "4 | 12-06-2026", 7, 24, NOW) == "changed"
    assert thread_state(None, "3 | x", 7, 24, NOW) == "changed"
    assert thread_state(read, "3 | 12-05-2026", 7, 24, NOW) == "recheck"  # recent, read over a day ago
    assert thread_state(read, "3 | 12-05-2026", 7, 48, NOW) == "unchanged"  # read too recently
    assert thread_state(read, "3 | 12-05-2026", 1, 24, NOW) == "unchanged"  # last post too old
    assert thread_state(read, "3 | 12-05-2026", 0, 0, NOW) == "unchanged"  # rechecks off
    assert thread_state("3 | 12-05-2026", "3 | 12-05-2026", 7, 24, NOW) == "unchanged"  # an older state file: markers only


@pytest.mark.parametrize("raw, fmt, want", [
    ("December 6th, 2026, 10:15 AM", "%B %d, %Y, %I:%M %p", "2026-12-06T03:15:00+00:00"),  # MyBB "F jS, Y"
    ("Sen Des 07, 2026 9:05 pm", "%a %b %d, %Y %I:%M %p", "2026-12-07T14:05:00+00:00"),  # phpBB in Indonesian
    ("7 Agustus 2026 21:05", "%d %B %Y %H:%M", "2026-08-07T14:05:00+00:00"),
])
def test_ordinals_and_indonesian_names(raw, fmt, want):
    assert parse_printed(raw, [fmt], WIB, NOW) == want
