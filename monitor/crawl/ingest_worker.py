"""The ingest worker: a process beside the crawler that analyses and stores posts.

Rules and SQLite cost CPU per post; in the crawler's process that time is
taken from fetching and parsing. The crawl pipeline hands posts over a
bounded queue to this process instead (on a second core when there is
one). Posts are committed in batches at most COMMIT_EVERY seconds apart,
so a crawl that dies loses at most the last fraction of a second, which
the next run reads again. A batch's new and changed posts are analysed
before its write transaction, so other writers (a review decision) are
never kept waiting long. The worker owns the run's post counters in `crawl_runs`.
"""

from __future__ import annotations

import gc
import queue as queue_module
import time

from ..ingest import PreparedDetector, ingest_post, prepare_analyses
from ..learning.registry import build_detector
from ..store import Database
from ..store.keys import secret_key
from .processes import die_with_parent

COMMIT_EVERY = 0.5  # seconds between commits of stored posts
BATCH_ITEMS = 200  # items written in one transaction at most
BATCH_BYTES = 32 * 1024 * 1024  # captured pages held for one transaction at most
STOP = None  # sentinel: no more posts

OUTCOME_COLUMNS = {"new": "posts_new", "updated": "posts_updated", "unchanged": "posts_unchanged"}


def run_worker(db_path: str, run_id: int | None, posts) -> None:
    """Ingest posts from the `posts` queue until STOP; meant as a process target.

    Items are gathered for up to COMMIT_EVERY seconds (or BATCH_ITEMS items, or
    BATCH_BYTES of captured pages), the batch's new and changed posts analysed,
    then the batch is written in order in one short transaction, with
    the run's counters: the write lock is held only for the writing, so a
    review decision beside a fast crawl waits a fraction of a second.
    """
    die_with_parent()  # a crawler killed outright takes its worker with it
    db = Database(db_path)
    detector = PreparedDetector(build_detector(db_path, explain_all=False))  # the current model; rules alone, warned, if it is broken
    key = secret_key(db_path)
    # The rules and vocabularies live for the whole run: keep them out of the garbage
    # collector's sight so the collections that per-post allocations trigger stay cheap.
    gc.freeze()
    counts = {"posts_new": 0, "posts_updated": 0, "posts_unchanged": 0, "posts_missing": 0, "flags_new": 0}
    batch: list[tuple[str, dict]] = []
    batch_started, batch_bytes = time.monotonic(), 0

    def write() -> None:
        nonlocal batch_bytes
        prepare_analyses(db, detector, [item for kind, item in batch if kind == "Post"])  # before the write lock
        db.begin()
        for kind, item in batch:
            if kind == "Evidence":
                db.save_evidence(item)
            elif kind == "ThreadComplete":
                counts["posts_missing"] += db.complete_thread(item["source"], item["thread_url"], item.get("marker") or "", item["post_keys"])
            elif kind == "Post":
                result = ingest_post(db, detector, item, key)
                counts[OUTCOME_COLUMNS[result.outcome]] += 1
                counts["flags_new"] += result.flag == "new"
        if run_id:
            db.update_run(run_id, **counts)
        db.commit()
        batch.clear()
        batch_bytes = 0
        detector.clear()

    try:
        while True:
            try:
                item = posts.get(timeout=COMMIT_EVERY)
            except queue_module.Empty:
                item = ...  # nothing arrived: write what is pending
            if item is STOP:
                break
            if isinstance(item, dict):
                kind = item.pop("_type", "Post")
                if not batch:
                    batch_started = time.monotonic()
                batch.append((kind, item))
                batch_bytes += len(item.get("body") or b"")
            if batch and (len(batch) >= BATCH_ITEMS or batch_bytes >= BATCH_BYTES
                          or time.monotonic() - batch_started >= COMMIT_EVERY):
                write()
        if batch:
            write()
        if run_id:
            db.update_run(run_id, **counts)
    finally:
        db.commit()  # a crash in the middle of a batch keeps the items written before it
        db.close()

