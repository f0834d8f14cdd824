"""Times are stored in UTC and shown in the team's zone ([scheduler] timezone, default Asia/Jakarta):
labelled in tables ("2026-12-06 12:10 WIB"), ISO 8601 with the offset in JSON, CSV and takedown lists."""

import csv
import datetime as dt
import io
import json
import sqlite3
from zoneinfo import ZoneInfo

import pytest
from conftest import run_monitor

from monitor.ingest import ingest_post
from monitor.store import Database
from monitor.store.keys import secret_key
from monitor.timefmt import local_iso, local_label, team_zone
from monitor.web.accounts import add_user
from monitor.web.review import decide
from rules import Detector

STORED = "2026-12-06T05:10:00+00:00"  # what the store writes: UTC
JAKARTA_ISO, JAKARTA_LABEL = "2026-12-06T12:10:00+07:00", "2026-12-06 12:10 WIB"
MAKASSAR_ISO, MAKASSAR_LABEL = "2026-12-06T13:10:00+08:00", "2026-12-06 13:10 WITA"
NO_CONFIG = {"MONITOR_CONFIG": ""}  # the default zone, whatever the environment running the tests says


def config_file(folder, zone: str | None):
    """A configuration with one scheduled source and, given `zone`, its [scheduler] timezone."""
    path = folder / f"sources-{(zone or 'default').replace('/', '-')}.toml"
    scheduler = f'[scheduler]\ntimezone = "{zone}"\n' if zone else ""
    path.write_text(f'{scheduler}[sources.tg]\nkind = "telegram"\nchannel = "stokdata_demo"\nevery = "1h"\n', encoding="utf-8")
    return str(path)


@pytest.fixture
def stored(tmp_path):
    """A database with one confirmed flag, a crawl run and a user, every time in it set to STORED."""
    db_path = str(tmp_path / "m.db")
    with Database(db_path) as db:
        add_user(db, "rina", "reviewer", "correct horse battery")
        result = ingest_post(db, Detector(), {"source": "tg", "kind": "telegram", "post_id": "45", "url": "https://t.me/stokdata_demo/45",
                                              "text": "Jual data NIK + KK valid, 5rb per nomor, minat japri telegram @seller_demo",
                                              "posted_at": STORED}, secret_key(db_path))
        assert result.flag == "new"
        decide(db, db.flag_of_post(result.post_id)["id"], "confirm", db.user("rina"))
    con = sqlite3.connect(db_path)
    con.execute("UPDATE posts SET first_seen = ?, last_seen = ?", [STORED, "2026-12-07T01:00:00Z"])
    con.execute("UPDATE flags SET created_at = ?", [STORED])
    con.execute("UPDATE review_events SET at = ?", [STORED])
    con.execute("UPDATE users SET created_at = ?", [STORED])
    con.execute("INSERT INTO crawl_runs (source, kind, started_at, finished_at, status, pages, posts_new, errors, duration_s) "
                "VALUES ('tg', 'telegram', ?, ?, 'ok', 1, 1, '{}', 1)", [STORED, STORED])
    con.commit()
    return db_path, tmp_path


def monitor(tmp_path, *args):
    """The CLI from a folder without data/sources.toml, so only --config decides the zone."""
    result = run_monitor(*args, cwd=tmp_path, env=NO_CONFIG)
    assert result.returncode == 0, result.stderr
    return result.stdout


# ------------------------------------------------------------------ the module


def test_local_forms_of_a_stored_time():
    for stored in (STORED, "2026-12-06T05:10:00Z", "2026-12-06T12:10:00+07:00"):
        assert local_iso(stored) == JAKARTA_ISO and local_label(stored) == JAKARTA_LABEL
    makassar = ZoneInfo("Asia/Makassar")
    assert (local_iso(STORED, makassar), local_label(STORED, makassar)) == (MAKASSAR_ISO, MAKASSAR_LABEL)
    assert local_iso(dt.datetime(2026, 12, 6, 5, 10, 0, 123456, tzinfo=dt.timezone.utc)) == JAKARTA_ISO  # to the second
    assert local_label("2026-12-05T17:30:00+00:00") == "2026-12-06 00:30 WIB"  # the team's day, not UTC's


def test_what_is_not_a_time_with_a_zone_is_shown_as_it_is():
    for value in ("2026-12-06", "2026-12-06T05:10:00", "3 hari lalu", "", None, 7, "garbage", dt.datetime(2026, 12, 6, 5, 10)):
        assert local_iso(value) == value and local_label(value) == value


def test_a_zone_named_only_by_its_offset_is_labelled_readably():
    assert local_label(STORED, ZoneInfo("America/Sao_Paulo")) == "2026-12-06 02:10 UTC-03:00"  # tzname is "-03"
    assert local_label(STORED, ZoneInfo("Asia/Kathmandu")) == "2026-12-06 10:55 UTC+05:45"
    assert local_label(STORED, ZoneInfo("UTC")) == "2026-12-06 05:10 UTC"
    assert local_iso(STORED, ZoneInfo("Asia/Kathmandu")) == "2026-12-06T10:55:00+05:45"


def test_team_zone_comes_from_the_configuration(tmp_path):
    from monitor.config import load_config

    assert team_zone() == ZoneInfo("Asia/Jakarta")
    assert team_zone(load_config(config_file(tmp_path, None))) == ZoneInfo("Asia/Jakarta")
    assert team_zone(load_config(config_file(tmp_path, "Asia/Makassar"))) == ZoneInfo("Asia/Makassar")


# ------------------------------------------------------------------ the CLI


def test_flags_json_and_csv_carry_the_offset_and_keep_their_columns(stored):
    db_path, tmp = stored
    rows = json.loads(monitor(tmp, "flags", "--db", db_path, "--format", "json"))
    assert (rows[0]["created_at"], rows[0]["posted_at"]) == (JAKARTA_ISO, JAKARTA_ISO)
    table = list(csv.DictReader(io.StringIO(monitor(tmp, "flags", "--db", db_path, "--format", "csv"))))
    assert list(table[0]) == ["id", "status", "severity", "score", "categories", "source", "author", "posted_at", "created_at", "url", "text"]
    assert (table[0]["created_at"], table[0]["posted_at"]) == (JAKARTA_ISO, JAKARTA_ISO)
    makassar = config_file(tmp, "Asia/Makassar")
    rows = json.loads(monitor(tmp, "flags", "--db", db_path, "--format", "json", "--config", makassar))
    assert rows[0]["created_at"] == MAKASSAR_ISO


def test_flags_since_takes_a_time_copied_from_the_output(stored):
    db_path, tmp = stored
    for since, found in ((JAKARTA_ISO, 1), ("2026-12-06T12:11:00+07:00", 0), ("2026-12-06T05:09:00Z", 1),
                         # without an offset: the team's clock, however the time is written
                         ("2026-12-06 12:10", 1), ("2026-12-06T12:10", 1), ("2026-12-06 12:11", 0), ("2026-12-06T12:11:00", 0),
                         ("2026-12-06", 1), ("2026-12-07", 0)):
        rows = json.loads(monitor(tmp, "flags", "--db", db_path, "--format", "json", "--since", since))
        assert len(rows) == found, since
    rescored = monitor(tmp, "rescore", "--db", db_path, "--since", "2026-12-06T12:10:00+07:00")
    assert "1 posts" in rescored, rescored  # the post last seen after that instant (05:10 UTC) is read again


def test_a_misconfigured_source_does_not_stop_commands_that_only_show_times(stored):
    db_path, tmp = stored
    (tmp / "data").mkdir()
    (tmp / "data" / "sources.toml").write_text('[scheduler]\ntimezone = "Asia/Makassar"\n[sources.x]\nkind = "nosuchkind"\n')
    assert MAKASSAR_LABEL in monitor(tmp, "runs", "--db", db_path)  # the zone is read; the bad source is not its business
    (tmp / "data" / "sources.toml").write_text('[scheduler\ntimezone = "Asia/Makassar"\n')
    result = run_monitor("runs", "--db", db_path, cwd=tmp, env=NO_CONFIG)
    assert result.returncode == 0 and JAKARTA_LABEL in result.stdout and "times are shown in Asia/Jakarta" in result.stderr


def test_runs_review_and_users_tables_show_the_label(stored):
    db_path, tmp = stored
    assert JAKARTA_LABEL in monitor(tmp, "runs", "--db", db_path)
    assert JAKARTA_LABEL in monitor(tmp, "review", "list", "1", "--db", db_path)
    assert JAKARTA_LABEL in monitor(tmp, "users", "list", "--db", db_path)
    makassar = config_file(tmp, "Asia/Makassar")
    runs_table = monitor(tmp, "runs", "--db", db_path, "--config", makassar)
    assert MAKASSAR_LABEL in runs_table and "started_at" in runs_table.splitlines()[0] and "+00:00" not in runs_table
    assert MAKASSAR_LABEL in monitor(tmp, "review", "list", "1", "--db", db_path, "--config", makassar)


def test_runs_review_and_users_json_and_csv_carry_the_offset(stored):
    db_path, tmp = stored
    run = json.loads(monitor(tmp, "runs", "--db", db_path, "--format", "json"))[0]
    assert (run["started_at"], run["finished_at"]) == (JAKARTA_ISO, JAKARTA_ISO)
    event = json.loads(monitor(tmp, "review", "list", "1", "--db", db_path, "--format", "json"))[0]
    assert event["at"] == JAKARTA_ISO
    users = list(csv.DictReader(io.StringIO(monitor(tmp, "users", "list", "--db", db_path, "--format", "csv"))))
    assert users[0]["created_at"] == JAKARTA_ISO
    makassar = config_file(tmp, "Asia/Makassar")
    users = json.loads(monitor(tmp, "users", "list", "--db", db_path, "--format", "json", "--config", makassar))
    assert users[0]["created_at"] == MAKASSAR_ISO


def test_status_and_schedule_follow_the_configured_zone(stored):
    db_path, tmp = stored
    jakarta, makassar = config_file(tmp, None), config_file(tmp, "Asia/Makassar")
    assert JAKARTA_LABEL in monitor(tmp, "status", "--config", jakarta, "--db", db_path)
    table = monitor(tmp, "status", "--config", makassar, "--db", db_path)
    assert MAKASSAR_LABEL in table  # last_started
    assert table.count("WITA") == 2  # and next_due
    row = json.loads(monitor(tmp, "status", "--config", makassar, "--db", db_path, "--format", "json"))[0]
    assert row["last_started"] == MAKASSAR_ISO and row["next_due"] == "2026-12-06T14:10:00+08:00"  # an hour after the run
    listed = monitor(tmp, "schedule", "--list", "--config", makassar, "--db", db_path)
    assert "WITA" in listed.splitlines()[2] and "WIB" not in listed


def test_takedown_list_and_letters_carry_the_team_zone(stored):
    db_path, tmp = stored
    out = tmp / "takedown"
    assert "batch 1" in monitor(tmp, "takedown", "--format", "csv", "--out", str(out), "--db", db_path)
    (folder,) = out.iterdir()
    with open(folder / "requests.csv", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert (row["first_seen"], row["last_seen"]) == (JAKARTA_ISO, "2026-12-07T08:00:00+07:00")
    letter_en, letter_id = ((folder / f"letter_{lang}.md").read_text(encoding="utf-8") for lang in ("en", "id"))
    assert f"| {JAKARTA_LABEL} |" in letter_en and f"| {JAKARTA_LABEL} |" in letter_id  # first seen, as people read it
    created = sqlite3.connect(db_path).execute("SELECT created_at FROM takedown_batches").fetchone()[0]
    assert f"Date: {local_label(created)} ·" in letter_en and f"Tanggal: {local_label(created)} ·" in letter_id


def test_takedown_json_in_another_zone(stored):
    db_path, tmp = stored
    out = tmp / "takedown"
    monitor(tmp, "takedown", "--format", "json", "--out", str(out), "--db", db_path, "--config", config_file(tmp, "Asia/Makassar"))
    (folder,) = out.iterdir()
    (row,) = json.loads((folder / "requests.json").read_text(encoding="utf-8"))
    assert (row["first_seen"], row["last_seen"]) == (MAKASSAR_ISO, "2026-12-07T09:00:00+08:00")
    assert "WITA" in (folder / "letter_en.md").read_text(encoding="utf-8")


def test_cti_exports_keep_their_standards_and_date_the_event_in_the_team_zone(stored):
    db_path, tmp = stored
    far_east = config_file(tmp, "Pacific/Kiritimati")  # UTC+14: its day differs from UTC's half of the time
    before = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    monitor(tmp, "export", "misp", "--out", str(tmp / "event.json"), "--db", db_path, "--config", far_east)
    after = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    event = json.loads((tmp / "event.json").read_text(encoding="utf-8"))
    event = event.get("Event", event)
    assert event["date"] in (before, after)
    created = [a["value"] for o in event["Object"] for a in o["Attribute"] if a["object_relation"] == "creation-date"]
    assert created and all(dt.datetime.fromisoformat(v).utcoffset() is not None for v in created)  # never naive
    monitor(tmp, "export", "stix", "--out", str(tmp / "bundle.json"), "--db", db_path, "--config", far_east)
    seen = [o for o in json.loads((tmp / "bundle.json").read_text(encoding="utf-8"))["objects"] if o["type"] == "observed-data"]
    assert [(o["first_observed"], o["last_observed"]) for o in seen] == [("2026-12-06T05:10:00Z", "2026-12-07T01:00:00Z")]


def test_help_says_which_zone(tmp_path):
    for command in (["flags"], ["runs"], ["status"], ["users", "list"]):
        text = run_monitor(*command, "--help", cwd=tmp_path).stdout
        assert "Asia/Jakarta" in text and "[scheduler]" in text, command
