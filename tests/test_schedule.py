"""Scheduling: jobs from the configuration, one run per source across processes, crash safety, --due, status."""

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from monitor.store import Database
from conftest import run_monitor

from monitor.config import ConfigError, parse_config
from monitor.crawl.daemon import CrawlDaemon
from monitor.demo import DemoServer
from monitor.crawl.scheduling import Schedule, is_due

JAKARTA = dt.timezone(dt.timedelta(hours=7))


def config_doc(extra: dict | None = None) -> dict:
    doc = {
        "scheduler": {"timezone": "Asia/Jakarta", "max_parallel": 2, "misfire_grace_seconds": 120},
        "sources": {
            "daily": {"kind": "telegram", "channel": "chan_daily", "schedule": "0 6 * * *"},
            "grouped-a": {"kind": "telegram", "channel": "chan_aaaa"},
            "grouped-b": {"kind": "telegram", "channel": "chan_bbbb"},
            "manual": {"kind": "telegram", "channel": "chan_manual"},
        },
        "groups": {"hourly": {"sources": ["grouped-a", "grouped-b"], "every": "1h"}},
    }
    doc.update(extra or {})
    return doc


def test_scheduler_built_from_configuration(tmp_path):
    config = parse_config(config_doc(), "x.toml")
    daemon = CrawlDaemon(config, str(tmp_path / "m.db"), scheduler_cls=BackgroundScheduler)
    daemon.scheduler.start(paused=True)  # jobs get their defaults; nothing runs, nothing sleeps
    try:
        jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
    finally:
        daemon.scheduler.shutdown(wait=False)
    assert set(jobs) == {"crawl:daily", "crawl:grouped-a", "crawl:grouped-b"}, "stable ids; unscheduled sources get no job"
    assert isinstance(jobs["crawl:daily"].trigger, CronTrigger)
    assert str(jobs["crawl:daily"].trigger.fields[5]) == "6"  # hour field of 0 6 * * *
    assert isinstance(jobs["crawl:grouped-a"].trigger, IntervalTrigger)
    assert jobs["crawl:grouped-a"].trigger.interval == dt.timedelta(hours=1)
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 120
    listed = daemon.jobs(now=dt.datetime(2026, 11, 25, 7, 30, tzinfo=JAKARTA))
    assert {j["source"]: j["next_run"] for j in listed} == {
        "daily": "2026-11-26T06:00:00+07:00",
        "grouped-a": "2026-11-25T08:00:00+07:00",
        "grouped-b": "2026-11-25T08:00:00+07:00",
    }


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sources": {"x": {"kind": "telegram", "channel": "chan_xxxx", "schedule": "0 25 * * *"}}}, "sources.x.schedule: not a valid cron expression"),
        ({"sources": {"x": {"kind": "telegram", "channel": "chan_xxxx", "schedule": "daily"}}}, "sources.x.schedule: must be a cron expression of five fields"),
        ({"sources": {"x": {"kind": "telegram", "channel": "chan_xxxx", "every": "soon"}}}, "sources.x.every: must be an interval like 90s"),
        ({"sources": {"x": {"kind": "telegram", "channel": "chan_xxxx", "every": "1h", "schedule": "0 6 * * *"}}}, "sources.x: give schedule (cron) or every"),
        ({"groups": {"g": {"sources": ["nope"], "every": "1h"}}}, "groups.g.sources: unknown source 'nope'"),
        ({"groups": {"g": {"sources": ["daily"], "every": "1h"}}}, "groups.g.sources: 'daily' already has a schedule (sources.daily.schedule)"),
        ({"scheduler": {"timezone": "Mars/Olympus"}}, "scheduler.timezone: unknown time zone"),
        ({"scheduler": {"max_parallel": 0}}, "scheduler.max_parallel: must be a whole number >= 1"),
    ],
)
def test_bad_schedules_name_source_and_field(change, message):
    doc = config_doc()
    for key, value in change.items():
        if key == "sources":
            doc["sources"].update(value)
        else:
            doc[key] = value
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_config(doc, "x.toml")


def test_due_times():
    now = dt.datetime(2026, 11, 25, 9, 0, tzinfo=JAKARTA)
    daily = Schedule("cron", "0 6 * * *", "s")
    hourly = Schedule("every", "1h", "s")
    assert is_due(daily, None, now), "never ran: due"
    assert is_due(daily, now - dt.timedelta(days=1), now), "yesterday 09:00; today's 06:00 has passed"
    assert not is_due(daily, now - dt.timedelta(hours=2), now), "ran at 07:00 today"
    assert is_due(hourly, now - dt.timedelta(minutes=61), now)
    assert not is_due(hourly, now - dt.timedelta(minutes=10), now)


def write_config(tmp_path, server, extra_tables: str = "", delay: float = 0.4) -> str:
    path = tmp_path / "sources.toml"
    path.write_text(
        "[scheduler]\ngrace_seconds = 1\n"
        f'[sources.slow]\nkind = "forum"\nengine = "mybb"\nbase_url = "{server.url}/forum/"\ndelay = {delay}\nconcurrency = 1\n'
        f"{extra_tables}", encoding="utf-8")
    return str(path)


def spawn(*args):
    return subprocess.Popen([sys.executable, "-m", "monitor", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout=60.0, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not reached in time")


def scalar(db_path, sql, *params):
    try:
        con = sqlite3.connect(db_path, timeout=5)
        try:
            row = con.execute(sql, params).fetchone()
        finally:
            con.close()
        return row[0] if row else None
    except sqlite3.OperationalError:
        return None


def test_two_concurrent_crawls_of_one_source_run_once(tmp_path):
    db_path = str(tmp_path / "m.db")
    with DemoServer() as server:
        config = write_config(tmp_path, server)
        first = spawn("crawl", "slow", "--config", config, "--db", db_path)
        wait_for(lambda: scalar(db_path, "SELECT count(*) FROM locks"))
        second = spawn("crawl", "slow", "--config", config, "--db", db_path)
        out2, err2 = second.communicate(timeout=120)
        out1, err1 = first.communicate(timeout=180)
    assert second.returncode == 0 and "skipped: slow is already being crawled by process" in err2
    assert first.returncode == 0, err1
    assert scalar(db_path, "SELECT count(*) FROM crawl_runs") == 1
    assert scalar(db_path, "SELECT count(*) FROM locks") == 0, "the lock is released"


def test_killed_crawl_then_rerun_matches_a_clean_run(tmp_path):
    with DemoServer() as server:
        config = write_config(tmp_path, server, delay=1.0)  # slow enough to be killed mid-run
        clean_db = str(tmp_path / "clean.db")
        clean = run_monitor("crawl", "slow", "--config", config, "--db", clean_db, timeout=180)
        assert clean.returncode == 0, clean.stderr
        db_path = str(tmp_path / "m.db")
        victim = spawn("crawl", "slow", "--config", config, "--db", db_path)
        wait_for(lambda: (scalar(db_path, "SELECT posts_new FROM crawl_runs") or 0) > 0)
        child = scalar(db_path, "SELECT child_pid FROM locks")
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        wait_for(lambda: not os.path.exists(f"/proc/{child}") or open(f"/proc/{child}/stat").read().split(") ")[1][0] == "Z",
                 timeout=60)  # the crawler dies with its parent
        rerun = run_monitor("crawl", "slow", "--config", config, "--db", db_path, timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    statuses = [r[0] for r in sqlite3.connect(db_path).execute("SELECT status FROM crawl_runs ORDER BY id")]
    assert statuses == ["interrupted", "ok"]

    def keys(path):
        return sorted(r[0] for r in sqlite3.connect(path).execute("SELECT post_key FROM posts"))

    assert keys(db_path) == keys(clean_db), "no post lost, none doubled"
    flags = lambda path: sorted(r[0] for r in sqlite3.connect(path).execute("SELECT p.post_key FROM flags f JOIN posts p ON p.id = f.post_id"))  # noqa: E731
    assert flags(db_path) == flags(clean_db)


def test_sigterm_to_the_daemon_interrupts_the_running_crawl_and_exits_cleanly(tmp_path):
    db_path = str(tmp_path / "m.db")
    with DemoServer() as server:
        config = tmp_path / "sources.toml"
        config.write_text(
            "[scheduler]\ngrace_seconds = 1\n"
            f'[sources.slow]\nkind = "forum"\nengine = "mybb"\nbase_url = "{server.url}/forum/"\ndelay = 2\nconcurrency = 1\n'
            'every = "2s"\n', encoding="utf-8")
        daemon = spawn("schedule", "--config", str(config), "--db", db_path)
        wait_for(lambda: scalar(db_path, "SELECT count(*) FROM crawl_runs WHERE status = 'running'"), timeout=60)
        time.sleep(1)
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    assert "stopping: no new runs" in err and "scheduler stopped" in err
    status, reason = sqlite3.connect(db_path).execute("SELECT status, reason FROM crawl_runs ORDER BY id DESC").fetchone()
    assert status == "interrupted" and "grace period" in reason


def test_due_picks_exactly_the_due_sources_and_status_reports(tmp_path):
    db_path = str(tmp_path / "m.db")
    with DemoServer() as server:
        channel = server.site.telegram["channel"]
        config = tmp_path / "sources.toml"
        tg = f'kind = "telegram"\nchannel = "{channel}"\nbase_url = "{server.url}/tg/"\n'
        config.write_text(
            f'[sources.fresh]\n{tg}every = "1h"\n'  # ran 10 minutes ago: not due
            f'[sources.stale]\n{tg}every = "1h"\n'  # ran 3 hours ago: due
            f'[sources.never]\n{tg}schedule = "0 6 * * *"\n'  # never ran: due
            f'[sources.unscheduled]\n{tg}', encoding="utf-8")
        Database(db_path).close()  # creates the database
        con = sqlite3.connect(db_path)
        now = dt.datetime.now(dt.timezone.utc)
        for source, ago in (("fresh", 10), ("stale", 180)):
            con.execute("INSERT INTO crawl_runs (source, kind, started_at, finished_at, status, pages, posts_new, errors, duration_s) "
                        "VALUES (?, 'telegram', ?, ?, 'ok', 1, 0, '{}', 1)",
                        [source, (now - dt.timedelta(minutes=ago)).isoformat(), (now - dt.timedelta(minutes=ago)).isoformat()])
        for status_ in ("failed", "degraded", "failed"):  # a run that read nothing counts as a failure in a row
            con.execute("INSERT INTO crawl_runs (source, kind, started_at, status, pages, posts_new, errors, reason) "
                        "VALUES ('unscheduled', 'telegram', ?, ?, 0, 0, '{\"timeout\": 2}', 'no page could be fetched')",
                        [now.isoformat(), status_])
        con.commit()
        result = run_monitor("crawl", "--due", "--config", str(config), "--db", db_path)
    assert result.returncode == 0, result.stderr
    assert "fresh: not due" in result.stderr
    crawled = {r[0] for r in con.execute("SELECT source FROM crawl_runs WHERE id > 5 AND status = 'ok'")}  # after the 5 rows above
    assert crawled == {"stale", "never"}
    status = run_monitor("status", "--config", str(config), "--db", db_path, "--format", "json")
    assert status.returncode == 1 and "failing: unscheduled" in status.stderr
    rows = {r["source"]: r for r in json.loads(status.stdout)}
    assert rows["unscheduled"]["consecutive_failures"] == 3 and rows["unscheduled"]["last_status"] == "failed"
    assert rows["stale"]["last_status"] == "ok" and dt.datetime.fromisoformat(rows["stale"]["next_due"]) > now
    assert rows["fresh"]["schedule"] == "every 1h"
    lenient = run_monitor("status", "--config", str(config), "--db", db_path, "--fail-after", "4")
    assert lenient.returncode == 0


def test_a_dead_ingest_worker_fails_the_run_and_the_next_run_completes(tmp_path):
    db_path = str(tmp_path / "m.db")
    with DemoServer() as server:
        config = write_config(tmp_path, server, delay=1.0)  # slow enough to be hit mid-run
        crawl = spawn("crawl", "slow", "--config", config, "--db", db_path)
        wait_for(lambda: (scalar(db_path, "SELECT posts_new FROM crawl_runs") or 0) > 0)
        crawler = scalar(db_path, "SELECT child_pid FROM locks")
        children = open(f"/proc/{crawler}/task/{crawler}/children").read().split()
        workers = [int(p) for p in children if "spawn_main" in open(f"/proc/{p}/cmdline").read()]  # not the resource tracker
        assert workers, children
        os.kill(workers[0], signal.SIGKILL)
        out, err = crawl.communicate(timeout=120)
        assert crawl.returncode == 1
        status, reason = sqlite3.connect(db_path).execute("SELECT status, reason FROM crawl_runs").fetchone()
        assert status == "failed" and "ingest worker died" in reason
        rerun = run_monitor("crawl", "slow", "--config", config, "--db", db_path, timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    posts = scalar(db_path, "SELECT count(*) FROM posts")
    assert posts == 15, "every forum post of the demo site, once"
