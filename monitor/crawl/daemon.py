"""The crawl daemon (`monitor schedule`) and the state of each source (`monitor status`).

APScheduler 3's BlockingScheduler fires one job per scheduled source, with a
stable id (`crawl:<source>`), `coalesce=True` and `max_instances=1`; each
job runs the crawl under the source's lock, in its own process group, with
a hard time limit. SIGTERM or SIGINT stop new runs, give running ones a
grace period, then kill them and record them as interrupted.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from ..config import Config
from ..store import Database
from .runner import Skipped, crawl_source
from .scheduling import next_due, timezone_of

log = logging.getLogger("monitor.daemon")


class CrawlDaemon:
    def __init__(self, config: Config, db_path: str, scheduler_cls=BlockingScheduler):
        self.config = config
        self.db_path = db_path
        self.settings = config.scheduler
        self.tz = timezone_of(self.settings["timezone"])
        self.stop = threading.Event()
        self.running: set[str] = set()
        self.idle = threading.Condition()
        self.scheduler = scheduler_cls(
            timezone=self.tz,
            executors={"default": ThreadPoolExecutor(self.settings["max_parallel"])},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": self.settings["misfire_grace_seconds"]},
        )
        for name, schedule in sorted(config.schedules.items()):
            self.scheduler.add_job(self.run_job, schedule.trigger(self.settings["timezone"]), id=f"crawl:{name}",
                                   name=f"crawl {name}", args=[name], replace_existing=True)
        if self.digest_trigger():
            self.scheduler.add_job(self.send_digest, self.digest_trigger(), id="digest", name="daily digest", replace_existing=True)

    def digest_trigger(self):
        """Daily at `[digest] time` in the scheduler's zone, when the digest has somewhere to go."""
        from apscheduler.triggers.cron import CronTrigger

        digest = self.config.digest
        if not digest.time or not (digest.to or digest.apprise):
            return None
        hour, minute = digest.time.split(":")
        return CronTrigger(hour=int(hour), minute=int(minute), timezone=self.tz)

    def send_digest(self) -> list[str]:
        """Send the previous day's digest (the day is complete at the configured time); returns what failed."""
        from ..report.digest import build_digest, send_digest

        day = dt.datetime.now(self.tz).date() - dt.timedelta(days=1)
        try:
            with Database(self.db_path) as db:
                data = build_digest(db, day, self.tz, self.settings["timezone"])
            problems = send_digest(data, self.config.digest)
        except Exception as exc:  # a digest that cannot be made must never stop the scheduler
            log.exception("digest of %s could not be made", day)
            return [f"{type(exc).__name__}: {exc}"]
        for problem in problems:
            log.error("digest of %s not sent: %s", day, problem)
        if not problems:
            log.info("digest of %s sent", day)
        return problems

    def jobs(self, now: dt.datetime | None = None) -> list[dict]:
        """Every job with its trigger and next run time (the scheduler need not be running)."""
        now = now or dt.datetime.now(self.tz)
        out = []
        for name, schedule in sorted(self.config.schedules.items()):
            trigger = schedule.trigger(self.settings["timezone"])
            nxt = trigger.get_next_fire_time(None, now)
            out.append({"id": f"crawl:{name}", "source": name, "schedule": schedule.describe(),
                        "next_run": nxt.isoformat() if nxt else None})
        if self.digest_trigger():
            nxt = self.digest_trigger().get_next_fire_time(None, now)
            out.append({"id": "digest", "source": "", "schedule": f"daily at {self.config.digest.time}",
                        "next_run": nxt.isoformat() if nxt else None})
        return out

    def run_job(self, name: str) -> None:
        if self.stop.is_set():
            return
        with self.idle:
            self.running.add(name)
        try:
            result = crawl_source(self.config.sources[name], self.db_path, alerts=self.config.alerts, time_limit=self.settings["time_limit"],
                                  stop=self.stop, grace=self.settings["grace_seconds"], log_days=self.settings["log_days"],
                                  cluster=self.config.cluster)
            if isinstance(result, Skipped):
                log.warning("skipped: %s", result.reason)
            else:
                log.info("%s: %s in %ss, %s pages, %s new posts%s", name, result["status"], result["duration_s"],
                         result["pages"], result["posts_new"], f" ({result['reason']})" if result.get("reason") else "")
        except Exception:  # a crash of one crawl must never stop the scheduler
            log.exception("crawl of %s crashed", name)
        finally:
            with self.idle:
                self.running.discard(name)
                self.idle.notify_all()

    def request_stop(self, signum=None, frame=None) -> None:
        """Stop taking new runs; running crawls get the grace period (see run_source)."""
        if not self.stop.is_set():
            log.info("stopping: no new runs; %d running crawl(s) get %ss to finish", len(self.running), self.settings["grace_seconds"])
        self.stop.set()
        self.scheduler.shutdown(wait=False)

    def serve(self) -> None:
        """Run until SIGTERM or SIGINT, then wait for running crawls to end or be killed."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        with Database(self.db_path) as db:
            orphaned = db.interrupt_orphaned_runs()
        if orphaned:
            log.info("%d run(s) left running by a dead process recorded as interrupted", orphaned)
        for job in self.jobs():
            log.info("job %s: %s, next run %s", job["id"], job["schedule"], job["next_run"])
        self.scheduler.start()  # blocks until request_stop
        with self.idle:
            while self.running:
                self.idle.wait(timeout=1.0)
        log.info("scheduler stopped")


def source_status(config: Config, db: Database, now: dt.datetime | None = None) -> list[dict]:
    """Per source: the last run, the next due time, and failures in a row."""
    tz_name = config.scheduler["timezone"]
    now = now or dt.datetime.now(timezone_of(tz_name))
    names = sorted(set(config.sources) | set(db.sources_with_runs()))
    rows = []
    for name in names:
        runs = db.runs(name, limit=50)
        last = runs[0] if runs else None
        failures = 0
        for run in runs:
            if run["status"] in ("running", "interrupted"):
                continue
            if run["status"] not in ("failed", "degraded"):  # a run that read nothing counts as a failure
                break
            failures += 1
        schedule = config.schedules.get(name)
        due = None
        if schedule:
            last_ok = db.last_ok_start(name)
            nxt = next_due(schedule, dt.datetime.fromisoformat(last_ok) if last_ok else None, tz_name)
            due = (nxt or now).isoformat()
        rows.append({
            "source": name,
            "configured": name in config.sources,
            "schedule": schedule.describe() if schedule else None,
            "last_started": last and last["started_at"],
            "last_duration_s": last and last["duration_s"],
            "last_status": last and last["status"],
            "last_posts_new": last and last["posts_new"],
            "last_errors": last and last["errors"],
            "last_reason": last and last["reason"],
            "next_due": due,
            "consecutive_failures": failures,
        })
    return rows
