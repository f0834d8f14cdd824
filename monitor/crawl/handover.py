"""The part both crawl pipelines share: items handed to a worker process over a bounded queue.

A crawl subprocess must not write to SQLite from Scrapy's reactor thread (a busy database would
stall every download), so the ingest pipeline and the image pipeline each start a worker process
and queue items to it. A full queue slows the crawler to the worker's pace; a worker that dies
must neither leave the crawl waiting on a queue nobody reads nor let it fetch what nobody would
store, so the crawl is closed with the worker's reason and the run is failed by whoever judges it.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module

from ..store import Database

STOP = None  # sentinel: no more items (both workers stop on it)
PUT_TIMEOUT = 2.0  # seconds between checks that the worker still reads the queue


class WorkerPipeline:
    """Subclasses name their worker (`worker_name`, `died_reason`), its target and queue size."""

    worker_name = ""
    died_reason = ""  # the spider's close reason and the stat `monitor/<died_reason>`
    queue_size = 1
    worker_target = None  # staticmethod(f): f(db_path, run_id, queue) runs in the worker process until STOP

    def __init__(self, db_path: str, run_id: int | None, stats, crawler=None):
        if not db_path:
            raise ValueError(f"{type(self).__name__} needs the MONITOR_DB setting")
        self.db_path = db_path
        self.run_id = run_id
        self.stats = stats
        self.crawler = crawler
        self.items = None
        self.worker = None
        self.dead = False

    def open_spider(self, spider=None):
        Database(self.db_path).close()  # fail early, in this process, on an unusable database
        # spawn, not fork: the crawler already runs threads (Twisted's pool), which fork would copy half-way.
        ctx = multiprocessing.get_context("spawn")
        self.items = ctx.Queue(maxsize=self.queue_size)
        self.worker = ctx.Process(target=self.worker_target, args=(self.db_path, self.run_id, self.items),
                                  name=self.worker_name, daemon=True)
        self.worker.start()

    def hand_over(self, handed: dict) -> bool:
        """Queue one item; False when the worker is dead (a full queue waits for it, not for ever on a dead one)."""
        if not self.worker.is_alive():
            self.worker_died()
        while not self.dead:
            try:
                self.items.put(handed, timeout=PUT_TIMEOUT)
                return True
            except queue_module.Full:
                if not self.worker.is_alive():
                    self.worker_died()
        return False

    def worker_died(self) -> None:
        """Stop the crawl: what it fetches now would be stored by nobody."""
        if self.dead:
            return
        self.dead = True
        self.items.cancel_join_thread()  # a queue nobody reads must not hold the process at exit
        self.stats.set_value(f"monitor/{self.died_reason}", 1)
        self.record_death()
        if self.crawler is not None and self.crawler.engine is not None:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(self.crawler.engine.close_spider_async(reason=self.died_reason))

    def record_death(self) -> None:
        """Where the death is kept beyond the stats, if anywhere."""

    def stop_worker(self, join_timeout: float) -> None:
        """Let the worker store what is queued, then end it; a worker that failed counts as dead."""
        while self.worker.is_alive() and not self.dead:  # a worker that dies now must not leave us waiting on a full queue
            try:
                self.items.put(STOP, timeout=PUT_TIMEOUT)
                break
            except queue_module.Full:
                continue
        self.worker.join(join_timeout)
        if self.worker.is_alive():
            self.worker.kill()
            self.worker.join()
        if self.worker.exitcode != 0:
            self.worker_died()
