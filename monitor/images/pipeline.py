"""The Scrapy item pipeline of the image crawl (`scrapy crawl images`), inside its subprocess.

The runner adds it with `-s ITEM_PIPELINES=...`. It hands each fetched image (or failure) to the image
worker process (`monitor.images.worker`) over a small queue, so a slow read never holds more than a
few images in memory and the downloads wait for the worker rather than pile up. A worker that dies
is recorded on the run (`image_worker_died`, which the runner reports) and stops the image crawl;
its images stay queued for the next run.
"""

from __future__ import annotations

from scrapy.exceptions import DropItem

from ..crawl.handover import WorkerPipeline
from ..store import Database
from ..store.busy import retried_transaction
from .worker import run_image_worker

QUEUE_SIZE = 4  # images in flight (each up to 20 MB)
WORKER_JOIN_TIMEOUT = 600


class ImagePipeline(WorkerPipeline):
    worker_name = "images"
    died_reason = "image_worker_died"
    queue_size = QUEUE_SIZE
    worker_target = staticmethod(run_image_worker)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("MONITOR_DB"), crawler.settings.getint("MONITOR_RUN_ID") or None, crawler.stats, crawler)

    def process_item(self, item, spider=None):
        if self.hand_over({**dict(item), "_type": type(item).__name__}):
            return item
        item.pop("body", None)  # the bytes never go to the log with the dropped item
        raise DropItem("the image worker died")

    def record_death(self) -> None:
        """On the run, which the runner reports: the image phase is judged apart from the crawl's stats."""
        if self.run_id:
            with Database(self.db_path) as db:
                retried_transaction(db, lambda: db.add_run_counts(self.run_id, {}, {"image_worker_died": 1}))

    def close_spider(self, spider=None):
        self.stop_worker(WORKER_JOIN_TIMEOUT)
