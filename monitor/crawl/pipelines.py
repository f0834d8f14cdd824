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

from scrapy.exceptions import CloseSpider

from ..store import Database
from ..store.busy import lock_wait_seconds, retried_transaction
from .handover import WorkerPipeline
from .ingest_worker import run_worker

QUEUE_SIZE = 2000  # posts in flight; a full queue slows the crawler down to the worker's pace
WORKER_JOIN_TIMEOUT = 600  # seconds the worker gets to store what is queued, beyond the lock wait of its last batch


class IngestPipeline(WorkerPipeline):
    worker_name = "ingest"
    died_reason = "ingest_worker_died"  # the runner's `judge` fails the run on it
    queue_size = QUEUE_SIZE
    worker_target = staticmethod(run_worker)

    def __init__(self, db_path: str, run_id: int | None, stats, listing=None, crawler=None):
        super().__init__(db_path, run_id, stats, crawler)
        self.listing = listing  # True: every post is in a listing section; a list: the boards that are

    @classmethod
    def from_crawler(cls, crawler):
        run_id = crawler.settings.getint("MONITOR_RUN_ID") or None
        listing = crawler.settings.get("MONITOR_LISTING")
        return cls(crawler.settings.get("MONITOR_DB"), run_id, crawler.stats, json.loads(listing) if listing else None, crawler)

    def process_item(self, item, spider=None):
        post = {**dict(item), "_type": type(item).__name__}
        if post["_type"] == "Post" and self.listing:
            board = (post.get("board") or "").strip().casefold()
            post["is_listing"] = self.listing is True or any(board == b.strip().casefold() for b in self.listing)
        if not self.hand_over(post):
            raise CloseSpider("ingest worker died")
        self.stats.inc_value("monitor/items_handed_over")
        return item

    def close_spider(self, spider=None):
        self.stop_worker(WORKER_JOIN_TIMEOUT + lock_wait_seconds())
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
