"""Running one configured source: a `scrapy crawl` subprocess and its crawl_runs record.

Each crawl runs in its own process (Twisted's reactor cannot restart) and
process group, with a hard time limit; the ingest pipeline inside it writes
posts as they arrive. This module decides the run's outcome from the exit
code and the counters the pipeline left: a run that fetched no page, or whose
requests mostly failed, failed, whatever Scrapy's exit code says; a run that
read nothing from the pages it fetched, or stopped at `max_pages` or
`max_depth`, is degraded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import Source
from ..images.phase import MIN_SECONDS as MIN_IMAGE_SECONDS
from ..images.phase import budget as image_budget
from ..images.phase import images_command, images_enabled
from ..report.actors import rebuild_members
from ..report.alerts import Alerts, alert_run
from ..store import Database
from ..store.common import open_private, private_dir, write_private
from ..store.keys import SecretKeyError, secret_key
from .arguments import INCREMENTAL_KINDS, last_error_line, source_settings, spider_arguments
from .processes import child_setup
from .remote import cancel_abandoned, crawl_on_node, images_on_node
from .scrapyd import Cluster

PIPELINE = {"monitor.crawl.pipelines.IngestPipeline": 300}
DEFAULT_TIME_LIMIT = 3600


def state_dir(db_path: Path, source: Source) -> Path:
    """Where a source keeps cookies and the threads already read, beside the database."""
    return db_path.parent / "state" / source.name


def scrapy_command(source: Source, db_path: Path, run_id: int, pipeline: dict = PIPELINE) -> list[str]:
    """The `scrapy crawl` command line for one source; `pipeline` replaces the ingest pipeline (benchmarks)."""
    args = spider_arguments(source)
    if source.kind in INCREMENTAL_KINDS:
        args["state_dir"] = str(state_dir(db_path, source))
    settings = {
        "ITEM_PIPELINES": json.dumps(pipeline),
        "MONITOR_DB": str(db_path),
        "MONITOR_RUN_ID": str(run_id),
        **source_settings(source),
    }
    if source.options.get("listing"):
        settings["MONITOR_LISTING"] = json.dumps(source.options["listing"])
    cmd = [sys.executable, "-m", "scrapy", "crawl", source.kind]
    for name, value in args.items():
        cmd += ["-a", f"{name}={value}"]
    for name, value in settings.items():
        cmd += ["-s", f"{name}={value}"]
    return cmd


def export_state(db: Database, db_path: Path, source: Source) -> None:
    """Write what the spider needs to crawl incrementally: the threads read to the end, and their markers."""
    if source.kind in INCREMENTAL_KINDS:
        folder = state_dir(db_path, source)
        private_dir(folder)
        write_private(folder / "known_threads.json", json.dumps(db.known_threads(source.name)).encode("utf-8"))


def crawl_env() -> dict:
    env = dict(os.environ)
    env["SCRAPY_SETTINGS_MODULE"] = "spiders.settings"  # works from any folder, not only the repo root
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class Stopped(Exception):
    """The daemon is shutting down and the crawl outlived the grace period."""


@dataclass
class Skipped:
    """A crawl not started because another process runs the same source."""

    source: str
    holder: dict

    @property
    def reason(self) -> str:
        return (f"{self.source} is already being crawled by process {self.holder['pid']} on {self.holder['host']} "
                f"(since {self.holder['acquired_at']})")


def crawl_source(source: Source, db_path: str | os.PathLike, alerts: Alerts | None = None, **kwargs) -> dict | Skipped:
    """Run one source under its lock: one run per source at a time, across processes; then send its alerts."""
    db_path = Path(db_path).resolve()
    with Database(db_path) as db:
        previous = db.lock_of(source.name)
        holder = db.acquire_lock(source.name)
    if holder is not None:
        return Skipped(source.name, holder)
    if kwargs.get("cluster") is not None and previous and previous.get("job_id"):
        # Taken over from a process that died while its job ran on a node: that job must not crawl on beside ours.
        cancel_abandoned(kwargs["cluster"], previous["node"], previous["job_id"])
    try:
        run = run_source(source, db_path, **kwargs)
        refresh_actors(db_path)
        if alerts and alerts.rules:
            with Database(db_path) as db:
                failed = alert_run(db, run, alerts)
                if failed:
                    run = {**db.run(run["id"]), "log": run.get("log"), "alerts_failed": failed}
        return run
    finally:
        with Database(db_path) as db:
            db.release_lock(source.name)


def refresh_actors(db_path: Path) -> None:
    """Re-group posts into sellers for the queue; a failure here is logged, never the run's."""
    try:
        with Database(db_path) as db:
            rebuild_members(db)
    except Exception as exc:  # the run is recorded already; the queue keeps the previous grouping
        print(f"sellers not regrouped: {type(exc).__name__}: {exc}", file=sys.stderr)


def run_source(source: Source, db_path: str | os.PathLike, *, time_limit: float = DEFAULT_TIME_LIMIT, progress=None,
               stop: threading.Event | None = None, grace: float = 30.0, log_days: int = 30,
               cluster: Cluster | None = None) -> dict:
    """Crawl one source to the end (or the time limit) and return its crawl_runs row.

    `progress`, if given, is called about every second with the run's row as
    it stands. When `stop` is set (the daemon shuts down), the crawl gets
    `grace` seconds to finish, then is killed and recorded as interrupted. With a `cluster`
    of Scrapyd nodes the pages are crawled on a node (monitor.crawl.remote), stored here.
    """
    db_path = Path(db_path).resolve()
    with Database(db_path) as db:
        run_id = db.start_run(source.name, source.kind)
        export_state(db, db_path, source)
    try:
        secret_key(db_path)  # the ingest worker needs it: say why here rather than let the worker die
    except SecretKeyError as exc:
        with Database(db_path) as db:
            run = db.finish_run(run_id, "failed", str(exc))
        run["log"] = None
        return run
    log_dir = db_path.parent / "logs"
    private_dir(log_dir)
    prune_logs(log_dir, log_days)
    log_path = log_dir / f"run-{run_id}-{source.name}.log"
    deadline = time.monotonic() + time_limit
    with os.fdopen(open_private(log_path), "wb") as log:
        if cluster is not None:
            returncode, status, reason = crawl_on_node(cluster, source, db_path, run_id, log, log_path, time_limit,
                                                       progress, stop, grace)
        else:
            returncode, status, reason = _crawl_here(source, db_path, run_id, log, time_limit, progress, stop, grace)
    if status == "ok":
        with Database(db_path) as db:
            status, reason = judge(db.run(run_id), returncode, log_path)
    if not images_enabled(source):
        with Database(db_path) as db:
            db.skip_queued_images(source.name)  # the page says why they are not fetched, not "queued" forever
    elif status in ("ok", "degraded"):
        try:
            problem = run_image_phase(source, db_path, run_id, log_path, deadline - time.monotonic(), progress, stop, grace,
                                      cluster)
        except KeyboardInterrupt:
            with Database(db_path) as db:
                db.finish_run(run_id, "interrupted", "interrupted by the user while reading images")
            raise
        if problem:
            status, reason = "degraded", "; ".join(r for r in (reason, problem) if r)
    with Database(db_path) as db:
        run = db.finish_run(run_id, status, reason)
    run["log"] = str(log_path)
    return run


def _crawl_here(source: Source, db_path: Path, run_id: int, log, time_limit: float, progress, stop, grace: float
                ) -> tuple[int | None, str, str | None]:
    """The page crawl of a run as a local `scrapy crawl` subprocess: (returncode, status, reason)."""
    status, reason = "ok", None
    proc = start_child(scrapy_command(source, db_path, run_id), log, db_path, source, run_id)
    try:
        returncode = _wait(proc, db_path, run_id, time_limit, progress, stop, grace)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        returncode, status, reason = None, "failed", f"time limit of {time_limit:g}s reached; crawl killed"
    except Stopped:
        _kill_group(proc)
        returncode, status, reason = None, "interrupted", f"the scheduler stopped; the crawl outlived the {grace:g}s grace period"
    except KeyboardInterrupt:
        _kill_group(proc)
        with Database(db_path) as db:
            db.finish_run(run_id, "interrupted", "interrupted by the user")
        raise
    return returncode, status, reason


def start_child(cmd: list[str], log, db_path: Path, source: Source, run_id: int) -> subprocess.Popen:
    """Start a crawl subprocess (its own process group, dying with us) logging to `log`; the source's lock names it."""
    proc = subprocess.Popen(cmd, env=crawl_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=child_setup())
    with Database(db_path) as db:
        db.set_lock_child(source.name, proc.pid, run_id)
    return proc


def run_image_phase(source: Source, db_path: Path, run_id: int, log_path: Path, seconds: float, progress=None,
                    stop: threading.Event | None = None, grace: float = 30.0, cluster: Cluster | None = None) -> str | None:
    """Fetch and read the source's wanted images (up to its budget) in a second subprocess (or a second
    job on the run's Scrapyd node), logging to the run's log; returns what went wrong, or None.
    Images not reached stay queued for the next run."""
    with Database(db_path) as db:
        urls = db.images_to_fetch(source.name, image_budget(source))
    if not urls:
        return None
    if seconds < MIN_IMAGE_SECONDS:
        return f"images: the time limit left no time for {len(urls)} images; they wait for the next run"
    if cluster is not None:
        return images_on_node(cluster, source, db_path, run_id, urls, log_path, seconds, progress, stop, grace)
    folder = state_dir(db_path, source)
    private_dir(folder)
    urls_file = folder / f"images-{run_id}.json"
    write_private(urls_file, json.dumps(urls).encode("utf-8"))
    try:
        with open(log_path, "ab") as log:
            proc = start_child(images_command(source, db_path, run_id, urls_file), log, db_path, source, run_id)
            try:
                returncode = _wait(proc, db_path, run_id, seconds, progress, stop, grace)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                return "images: the time limit was reached; the images not read wait for the next run"
            except Stopped:
                _kill_group(proc)
                return "images: the scheduler stopped; the images not read wait for the next run"
            except KeyboardInterrupt:
                _kill_group(proc)
                raise
    finally:
        urls_file.unlink(missing_ok=True)
    if returncode != 0:
        return f"images: the image crawl exited with code {returncode}: {last_error_line(log_path)}"
    with Database(db_path) as db:
        if db.run(run_id)["errors"].get("image_worker_died"):
            return "images: the image worker died; the images not read wait for the next run (see the log)"
    return None


def _wait(proc: subprocess.Popen, db_path: Path, run_id: int, time_limit: float, progress,
          stop: threading.Event | None, grace: float) -> int:
    deadline = time.monotonic() + time_limit
    stop_deadline = None
    while True:
        try:
            return proc.wait(timeout=min(1.0, max(0.01, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                raise
            if stop is not None and stop.is_set():
                stop_deadline = stop_deadline or time.monotonic() + grace
                if time.monotonic() >= stop_deadline:
                    raise Stopped() from None
            if progress is not None:
                with Database(db_path) as db:
                    progress(db.run(run_id))


def prune_logs(log_dir: Path, days: int) -> int:
    """Delete crawl logs older than `days`; returns how many."""
    cutoff = time.time() - days * 86400
    removed = 0
    for path in log_dir.glob("run-*.log"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def judge(run: dict, returncode: int, log_path: Path) -> tuple[str, str | None]:
    """The outcome of a finished crawl subprocess."""
    errors = run.get("errors") or {}
    stats = json.loads(run.get("stats") or "{}")
    if returncode is not None and returncode < 0:
        return "interrupted", f"crawler killed by signal {-returncode}"
    if returncode != 0:
        return "failed", f"crawler exited with code {returncode}: {last_error_line(log_path)}"
    if errors.get("ingest_worker_died"):
        return "failed", "the ingest worker died; posts after that point were not stored"
    lost = [f"{errors[label]} {what if errors[label] != 1 else what[:-1]}"  # counted by the ingest worker
            for label, what in (("posts_not_stored", "posts"), ("pages_not_stored", "captured pages")) if errors.get(label)]
    if lost:
        why = next((label.removeprefix("not stored: ") for label in errors if label.startswith("not stored: ")), "see the log")
        return "failed", f"{' and '.join(lost)} could not be stored ({why})"
    if errors.get("login_failed"):
        return "failed", stats.get("monitor/close_reason") or "login failed"
    if errors.get("no_preview"):
        return "failed", "the channel has no public web preview"
    if errors.get("auth_required"):
        return "failed", f"the instance answered {errors['auth_required']}: it requires a login for its public timelines"
    if errors.get("onion_without_proxy"):
        return "failed", ".onion requests were dropped: the source has no proxy"
    ok_pages = sum(v for k, v in stats.items() if k.startswith("downloader/response_status_count/2"))
    if not ok_pages:
        detail = ", ".join(f"{k} x{v}" for k, v in errors.items()) or last_error_line(log_path)
        return "failed", f"no page could be fetched ({detail})"
    prefix = "downloader/response_status_count/"
    error_codes = {k[len(prefix):]: v for k, v in stats.items() if k.startswith((prefix + "4", prefix + "5"))}
    failed_requests = sum(error_codes.values()) + sum(v for k, v in stats.items() if k.startswith("downloader/exception_type_count/"))
    posts = sum(run.get(k) or 0 for k in ("posts_new", "posts_updated", "posts_unchanged"))
    if failed_requests > ok_pages or (not posts and failed_requests and failed_requests >= ok_pages):
        # Most requests failed: a moved site, a changed URL scheme or a blocking host, not a quiet day.
        codes = ", ".join(f"{code} x{n}" for code, n in sorted(error_codes.items())) or ", ".join(f"{k} x{v}" for k, v in errors.items())
        read = "no post was read" if not posts else f"only {posts} posts were read"
        return "failed", f"{read} and {failed_requests} of {failed_requests + ok_pages} requests failed ({codes})"
    return degraded(run, stats, posts, ok_pages)


def degraded(run: dict, stats: dict, posts: int, ok_pages: int) -> tuple[str, str | None]:
    """'degraded' with the reasons when a run that did not fail read less than the site holds; else 'ok'.

    A forum run that skipped threads as unchanged and read no post is a quiet
    day, not a broken one; a run that fetched pages and read nothing else means
    the markup no longer matches the preset.
    """
    reasons = []
    unchanged = stats.get("monitor/threads_unchanged", 0)
    if not posts and not unchanged and not (run.get("errors") or {}).get("empty_timeline"):
        reasons.append(f"{ok_pages} pages were fetched but no post was read (has the site's markup changed?)")
    if stats.get("monitor/max_pages_reached"):
        reasons.append(f"max_pages reached: {stats['monitor/max_pages_reached']} links not followed")
    if stats.get("depth/request_ignored_count"):
        reasons.append(f"max_depth reached: {stats['depth/request_ignored_count']} links not followed")
    if stats.get("monitor/thread_pages_empty"):
        reasons.append(f"{stats['monitor/thread_pages_empty']} thread pages had no post (has the site's markup changed?)")
    crashed = {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("spider_exceptions/")}
    if crashed:
        pages = sum(crashed.values())
        reasons.append(f"{pages} pages could not be read ({', '.join(f'{k} x{v}' for k, v in sorted(crashed.items()))})")
    return ("degraded", "; ".join(reasons)) if reasons else ("ok", None)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
