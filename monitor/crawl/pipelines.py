"""The Scrapy item pipeline that runs inside the crawl subprocess.

`monitor crawl` adds it with `-s ITEM_PIPELINES=...` and passes the database
path and run id as settings. The pipeline hands each post to an ingest
worker process (`monitor.crawl.ingest_worker`) and, when the spider closes, waits
for the worker and writes the run's pages, errors and Scrapy stats to
`crawl_runs`. A worker that dies stops the crawl and fails the run.
"""

from __future__ import annotations

import json
import multiprocessing

from scrapy.exceptions import CloseSpider

from ..store import Database
from .ingest_worker import STOP, run_worker

QUEUE_SIZE = 2000  # posts in flight; a full queue slows the crawler down to the worker's pace
WORKER_JOIN_TIMEOUT = 600


class IngestPipeline:
    def __init__(self, db_path: str, run_id: int | None, stats, listing=None):
        if not db_path:
            raise ValueError("IngestPipeline needs the MONITOR_DB setting")
        self.db_path = db_path
        self.run_id = run_id
        self.stats = stats
        self.listing = listing  # True: every post is in a listing section; a list: the boards that are
        self.posts = None
        self.worker = None

    @classmethod
    def from_crawler(cls, crawler):
        run_id = crawler.settings.getint("MONITOR_RUN_ID") or None
        listing = crawler.settings.get("MONITOR_LISTING")
        return cls(crawler.settings.get("MONITOR_DB"), run_id, crawler.stats, json.loads(listing) if listing else None)

    def open_spider(self, spider=None):
        Database(self.db_path).close()  # fail early, in this process, on an unusable database
        # spawn, not fork: the crawler already runs threads (Twisted's pool), which fork would copy half-way.
        ctx = multiprocessing.get_context("spawn")
        self.posts = ctx.Queue(maxsize=QUEUE_SIZE)
        self.worker = ctx.Process(target=run_worker, args=(self.db_path, self.run_id, self.posts), name="ingest", daemon=True)
        self.worker.start()

    def process_item(self, item, spider=None):
        if not self.worker.is_alive():
            self.stats.set_value("monitor/ingest_worker_died", 1)
            raise CloseSpider("ingest worker died")
        post = {**dict(item), "_type": type(item).__name__}
        if post["_type"] == "Post" and self.listing:
            board = (post.get("board") or "").strip().casefold()
            post["is_listing"] = self.listing is True or any(board == b.strip().casefold() for b in self.listing)
        self.posts.put(post)
        self.stats.inc_value("monitor/items_handed_over")
        return item

    def close_spider(self, spider=None):
        if self.worker.is_alive():
            self.posts.put(STOP)
        self.worker.join(WORKER_JOIN_TIMEOUT)
        if self.worker.is_alive():
            self.worker.kill()
            self.worker.join()
        if self.worker.exitcode != 0:
            self.stats.set_value("monitor/ingest_worker_died", 1)
        if self.run_id:
            with Database(self.db_path) as db:
                db.update_run(self.run_id, **run_counters(self.stats.get_stats()))


EXCEPTION_LABELS = {
    "DownloadCancelledError": "too_large",  # cancelled when Content-Length exceeds DOWNLOAD_MAXSIZE
    "DownloadTimeoutError": "timeout",
    "TimeoutError": "timeout",
    "TCPTimedOutError": "timeout",
    "ConnectionRefusedError": "connection_refused",
    "DownloadConnectionRefusedError": "connection_refused",
    "CannotResolveHostError": "dns_lookup_failed",
    "DownloadFailedError": "download_failed",
    "ResponseDataLossError": "data_loss",
    "ConnectError": "connection_refused",
    "DNSLookupError": "dns_lookup_failed",
    "ResponseNeverReceived": "no_response",
    "ConnectionLost": "connection_lost",
}
"""Friendlier names for the download exceptions Scrapy counts."""


def run_counters(stats: dict) -> dict:
    """The crawl_runs columns that come from Scrapy's stats (post counters come from the worker)."""
    errors: dict = {}
    for key, value in stats.items():
        if key.startswith("downloader/exception_type_count/"):
            name = key.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
            label = EXCEPTION_LABELS.get(name, name)
            errors[label] = errors.get(label, 0) + value
        elif key.startswith("monitor/errors/"):
            label = key.rsplit("/", 1)[-1]
            errors[label] = errors.get(label, 0) + value
        elif key.startswith("spider_exceptions/"):
            errors[key.split("/", 1)[1]] = value
        elif key.startswith("downloader/response_status_count/") and key.rsplit("/", 1)[-1][0] in "45":
            errors["HTTP " + key.rsplit("/", 1)[-1]] = value
    if stats.get("monitor/no_preview"):
        errors["no_preview"] = 1
    if stats.get("finish_reason") not in (None, "finished"):
        errors["closed: " + str(stats["finish_reason"])[:80]] = 1
    for key in ("ingest_worker_died", "login_failed", "auth_required", "onion_without_proxy", "empty_timeline", "not_found", "bad_answer"):
        if stats.get(f"monitor/{key}"):
            errors[key] = stats[f"monitor/{key}"]
    return {"pages": stats.get("response_received_count", 0), "errors": errors, "stats": dict(stats)}
