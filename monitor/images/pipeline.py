"""The Scrapy item pipeline of the image crawl (`scrapy crawl images`), inside its subprocess.

The runner adds it with `-s ITEM_PIPELINES=...`. It hands each fetched image (or failure) to the image
worker process (`monitor.images.worker`) over a small queue, so a slow read never holds more than a
few images in memory and the downloads wait for the worker rather than pile up. A worker that dies
is recorded on the run (`image_worker_died`, which the runner reports) and stops the image crawl;
its images stay queued for the next run.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module

from scrapy.exceptions import DropItem

from ..store import Database
from ..store.busy import retried_transaction
from .worker import STOP, run_image_worker

QUEUE_SIZE = 4  # images in flight (each up to 20 MB)
WORKER_JOIN_TIMEOUT = 600
PUT_TIMEOUT = 2.0  # seconds between checks that the worker still reads the queue


class ImagePipeline:
    def __init__(self, db_path: str, run_id: int | None, stats, crawler=None):
        if not db_path:
            raise ValueError("ImagePipeline needs the MONITOR_DB setting")
        self.db_path = db_path
        self.run_id = run_id
        self.stats = stats
        self.crawler = crawler
        self.items = None
        self.worker = None
        self.dead = False

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("MONITOR_DB"), crawler.settings.getint("MONITOR_RUN_ID") or None, crawler.stats, crawler)

    def open_spider(self, spider=None):
        Database(self.db_path).close()
        ctx = multiprocessing.get_context("spawn")  # the crawler runs threads: never fork it
        self.items = ctx.Queue(maxsize=QUEUE_SIZE)
        self.worker = ctx.Process(target=run_image_worker, args=(self.db_path, self.run_id, self.items), name="images", daemon=True)
        self.worker.start()

    def process_item(self, item, spider=None):
        handed = {**dict(item), "_type": type(item).__name__}
        while not self.dead:
            try:
                self.items.put(handed, timeout=PUT_TIMEOUT)
                return item
            except queue_module.Full:
                if not self.worker.is_alive():
                    self.worker_died()
        item.pop("body", None)  # the bytes never go to the log with the dropped item
        raise DropItem("the image worker died")

    def worker_died(self) -> None:
        """Record it on the run and stop the image crawl: what is fetched now would go nowhere."""
        if self.dead:
            return
        self.dead = True
        self.items.cancel_join_thread()  # a queue nobody reads must not hold the process at exit
        self.stats.set_value("monitor/image_worker_died", 1)
        if self.run_id:
            with Database(self.db_path) as db:
                retried_transaction(db, lambda: db.add_run_counts(self.run_id, {}, {"image_worker_died": 1}))
        if self.crawler is not None and self.crawler.engine is not None:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(self.crawler.engine.close_spider_async(reason="image_worker_died"))

    def close_spider(self, spider=None):
        while self.worker.is_alive() and not self.dead:  # a worker that dies now must not leave us waiting on a full queue
            try:
                self.items.put(STOP, timeout=PUT_TIMEOUT)
                break
            except queue_module.Full:
                continue
        self.worker.join(WORKER_JOIN_TIMEOUT)
        if self.worker.is_alive():
            self.worker.kill()
            self.worker.join()
        if self.worker.exitcode != 0:
            self.worker_died()
