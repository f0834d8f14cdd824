"""The Scrapy item pipeline that runs inside the crawl subprocess.

`monitor crawl` adds it with `-s ITEM_PIPELINES=...` and passes the database
path and run id as settings. Posts are committed in small batches (at most
COMMIT_EVERY seconds apart), so a crawl that dies loses at most the last
fraction of a second, which the next run reads again; the run's counters
and Scrapy's stats are written to `crawl_runs` as it goes and when it ends.
"""

from __future__ import annotations

import gc
import time

from rules import Detector

from .db import Database
from .ingest import ingest_post

OUTCOME_STATS = {"new": "posts_new", "updated": "posts_updated", "unchanged": "posts_unchanged"}
PROGRESS_EVERY = 2.0  # seconds between progress writes to crawl_runs
COMMIT_EVERY = 0.5  # seconds between commits of stored posts


class IngestPipeline:
    def __init__(self, db_path: str, run_id: int | None, stats):
        self.db_path = db_path
        self.run_id = run_id
        self.stats = stats
        self.db: Database | None = None
        self.detector: Detector | None = None
        self.last_progress = self.last_commit = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler):
        run_id = crawler.settings.getint("MONITOR_RUN_ID") or None
        return cls(crawler.settings.get("MONITOR_DB"), run_id, crawler.stats)

    def open_spider(self, spider=None):
        self.db = Database(self.db_path)
        self.detector = Detector()
        # Rules, vocabularies and Scrapy's machinery live for the whole run: move them out of
        # the garbage collector's sight so collections triggered per post stay cheap.
        gc.freeze()

    def process_item(self, item, spider=None):
        self.db.begin()
        result = ingest_post(self.db, self.detector, dict(item))
        self.stats.inc_value(f"monitor/{OUTCOME_STATS[result.outcome]}")
        if result.flag == "new":
            self.stats.inc_value("monitor/flags_new")
        if self.run_id and time.monotonic() - self.last_progress > PROGRESS_EVERY:
            self.last_progress = self.last_commit = time.monotonic()
            counters = run_counters(self.stats.get_stats())
            del counters["stats"]
            self.db.update_run(self.run_id, **counters)
        if time.monotonic() - self.last_commit > COMMIT_EVERY:
            self.db.commit()
            self.last_commit = time.monotonic()
        return item

    def close_spider(self, spider=None):
        self.db.commit()
        if self.run_id:
            self.db.update_run(self.run_id, **run_counters(self.stats.get_stats()))
        self.db.close()


def run_counters(stats: dict) -> dict:
    """The crawl_runs columns from Scrapy's stats."""
    errors = {}
    for key, value in stats.items():
        if key.startswith("downloader/exception_type_count/"):
            errors[key.rsplit("/", 1)[-1].rsplit(".", 1)[-1]] = value
        elif key.startswith("spider_exceptions/"):
            errors[key.split("/", 1)[1]] = value
        elif key.startswith("downloader/response_status_count/") and key.rsplit("/", 1)[-1][0] in "45":
            errors["HTTP " + key.rsplit("/", 1)[-1]] = value
    if stats.get("monitor/no_preview"):
        errors["no_preview"] = 1
    return {
        "pages": stats.get("response_received_count", 0),
        "posts_new": stats.get("monitor/posts_new", 0),
        "posts_updated": stats.get("monitor/posts_updated", 0),
        "posts_unchanged": stats.get("monitor/posts_unchanged", 0),
        "flags_new": stats.get("monitor/flags_new", 0),
        "errors": errors,
        "stats": {k: v for k, v in stats.items()},
    }
