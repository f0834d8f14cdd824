"""The Scrapy item pipeline that runs inside the crawl subprocess.

`monitor crawl` adds it with `-s ITEM_PIPELINES=...` and passes the database
path and run id as settings. The pipeline hands each post to an ingest
worker process (`monitor.crawl.ingest_worker`) and, when the spider closes, waits
for the worker and writes the run's pages, errors and Scrapy stats to
`crawl_runs`, retried while the database is busy so that a run never stays
'running' for a lock. A worker that dies stops the crawl and fails the run.
"""

from __future__ import annotations

import json
import multiprocessing
import queue as queue_module

from scrapy.exceptions import CloseSpider

from ..store import Database
from ..store.busy import lock_wait_seconds, retried_transaction
from .ingest_worker import STOP, run_worker

QUEUE_SIZE = 2000  # posts in flight; a full queue slows the crawler down to the worker's pace
WORKER_JOIN_TIMEOUT = 600  # seconds the worker gets to store what is queued, beyond the lock wait of its last batch
PUT_TIMEOUT = 2.0  # seconds between checks that the worker still reads the queue


class IngestPipeline:
    def __init__(self, db_path: str, run_id: int | None, stats, listing=None, crawler=None):
        if not db_path:
            raise ValueError("IngestPipeline needs the MONITOR_DB setting")
        self.db_path = db_path
        self.run_id = run_id
        self.stats = stats
        self.listing = listing  # True: every post is in a listing section; a list: the boards that are
        self.crawler = crawler
        self.posts = None
        self.worker = None
        self.dead = False

    @classmethod
    def from_crawler(cls, crawler):
        run_id = crawler.settings.getint("MONITOR_RUN_ID") or None
        listing = crawler.settings.get("MONITOR_LISTING")
        return cls(crawler.settings.get("MONITOR_DB"), run_id, crawler.stats, json.loads(listing) if listing else None, crawler)

    def open_spider(self, spider=None):
        Database(self.db_path).close()  # fail early, in this process, on an unusable database
        # spawn, not fork: the crawler already runs threads (Twisted's pool), which fork would copy half-way.
        ctx = multiprocessing.get_context("spawn")
        self.posts = ctx.Queue(maxsize=QUEUE_SIZE)
        self.worker = ctx.Process(target=run_worker, args=(self.db_path, self.run_id, self.posts), name="ingest", daemon=True)
        self.worker.start()

    def process_item(self, item, spider=None):
        if not self.worker.is_alive():
            self.worker_died()
        post = {**dict(item), "_type": type(item).__name__}
        if post["_type"] == "Post" and self.listing:
            board = (post.get("board") or "").strip().casefold()
            post["is_listing"] = self.listing is True or any(board == b.strip().casefold() for b in self.listing)
        while not self.dead:
            try:
                self.posts.put(post, timeout=PUT_TIMEOUT)  # a full queue waits for the worker, not for ever on a dead one
                self.stats.inc_value("monitor/items_handed_over")
                return item
            except queue_module.Full:
                if not self.worker.is_alive():
                    self.worker_died()
        raise CloseSpider("ingest worker died")

    def worker_died(self) -> None:
        """Stop the crawl: what it fetches now would be stored by nobody (the run fails, see `runner.judge`)."""
        if self.dead:
            return
        self.dead = True
        self.posts.cancel_join_thread()  # a queue nobody reads must not hold the process at exit
        self.stats.set_value("monitor/ingest_worker_died", 1)
        if self.crawler is not None and self.crawler.engine is not None:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(self.crawler.engine.close_spider_async(reason="ingest_worker_died"))

    def close_spider(self, spider=None):
        while self.worker.is_alive() and not self.dead:
            try:
                self.posts.put(STOP, timeout=PUT_TIMEOUT)
                break
            except queue_module.Full:
                continue
        self.worker.join(WORKER_JOIN_TIMEOUT + lock_wait_seconds())
        if self.worker.is_alive():
            self.worker.kill()
            self.worker.join()
        if self.worker.exitcode != 0:
            self.worker_died()
        if self.run_id:
            self.write_counters()

    def write_counters(self) -> None:
        """The run's pages, errors and Scrapy stats, beside the errors the workers recorded (posts not stored)."""
        counters = run_counters(self.stats.get_stats())
        errors = counters.pop("errors")

        def write():
            db.add_run_counts(self.run_id, {}, errors)
            db.update_run(self.run_id, **counters)

        with Database(self.db_path) as db:
            retried_transaction(db, write)


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
