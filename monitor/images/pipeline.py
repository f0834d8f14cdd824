"""The Scrapy item pipeline of the image crawl (`scrapy crawl images`), inside its subprocess.

The runner adds it with `-s ITEM_PIPELINES=...`. It hands each fetched image (or failure) to the image
worker process (`monitor.images.worker`) over a small queue, so a slow read never holds more than a
few images in memory and the downloads wait for the worker rather than pile up.
"""

from __future__ import annotations

import multiprocessing

from scrapy.exceptions import CloseSpider

from ..store import Database
from .worker import STOP, run_image_worker

QUEUE_SIZE = 4  # images in flight (each up to 20 MB)
WORKER_JOIN_TIMEOUT = 600


class ImagePipeline:
    def __init__(self, db_path: str, run_id: int | None, stats):
        if not db_path:
            raise ValueError("ImagePipeline needs the MONITOR_DB setting")
        self.db_path = db_path
        self.run_id = run_id
        self.stats = stats
        self.items = None
        self.worker = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("MONITOR_DB"), crawler.settings.getint("MONITOR_RUN_ID") or None, crawler.stats)

    def open_spider(self, spider=None):
        Database(self.db_path).close()
        ctx = multiprocessing.get_context("spawn")  # the crawler runs threads: never fork it
        self.items = ctx.Queue(maxsize=QUEUE_SIZE)
        self.worker = ctx.Process(target=run_image_worker, args=(self.db_path, self.run_id, self.items), name="images", daemon=True)
        self.worker.start()

    def process_item(self, item, spider=None):
        if not self.worker.is_alive():
            self.stats.set_value("monitor/image_worker_died", 1)
            raise CloseSpider("image worker died")
        self.items.put({**dict(item), "_type": type(item).__name__})
        return item

    def close_spider(self, spider=None):
        if self.worker.is_alive():
            self.items.put(STOP)
        self.worker.join(WORKER_JOIN_TIMEOUT)
        if self.worker.is_alive():
            self.worker.kill()
            self.worker.join()
        if self.worker.exitcode != 0:
            self.stats.set_value("monitor/image_worker_died", 1)
            raise RuntimeError(f"the image worker exited with code {self.worker.exitcode}")
