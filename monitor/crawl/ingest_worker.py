"""The ingest worker: a process beside the crawler that analyses and stores posts.

Rules and SQLite cost CPU per post; in the crawler's process that time is
taken from fetching and parsing. The crawl pipeline hands posts over a
bounded queue to this process instead (on a second core when there is
one). Posts are committed in batches at most COMMIT_EVERY seconds apart,
so a crawl that dies loses at most the last fraction of a second, which
the next run reads again. The worker owns the run's post counters in
`crawl_runs`.
"""

from __future__ import annotations

import gc
import queue as queue_module
import time

from rules import Detector

from ..ingest import ingest_post
from ..store import Database
from ..store.keys import secret_key
from .processes import die_with_parent

COMMIT_EVERY = 0.5  # seconds between commits of stored posts
PROGRESS_EVERY = 2.0  # seconds between writes of the run's counters
STOP = None  # sentinel: no more posts

OUTCOME_COLUMNS = {"new": "posts_new", "updated": "posts_updated", "unchanged": "posts_unchanged"}


def run_worker(db_path: str, run_id: int | None, posts) -> None:
    """Ingest posts from the `posts` queue until STOP; meant as a process target."""
    die_with_parent()  # a crawler killed outright takes its worker with it
    db = Database(db_path)
    detector = Detector()
    key = secret_key(db_path)
    # The rules and vocabularies live for the whole run: keep them out of the garbage
    # collector's sight so the collections that per-post allocations trigger stay cheap.
    gc.freeze()
    counts = {"posts_new": 0, "posts_updated": 0, "posts_unchanged": 0, "posts_missing": 0, "flags_new": 0}
    last_commit = last_progress = time.monotonic()
    try:
        while True:
            try:
                item = posts.get(timeout=COMMIT_EVERY)
            except queue_module.Empty:
                item = ...  # nothing arrived: commit what is pending
            if item is STOP:
                break
            kind = item.pop("_type", "Post") if isinstance(item, dict) else None
            if kind == "Evidence":
                db.begin()
                db.save_evidence(item)
            elif kind == "ThreadComplete":
                db.begin()
                counts["posts_missing"] += db.complete_thread(item["source"], item["thread_url"], item.get("marker") or "", item["post_keys"])
            elif kind == "Post":
                db.begin()
                result = ingest_post(db, detector, item, key)
                counts[OUTCOME_COLUMNS[result.outcome]] += 1
                counts["flags_new"] += result.flag == "new"
            now = time.monotonic()
            if now - last_commit >= COMMIT_EVERY:
                db.commit()
                last_commit = now
            if run_id and now - last_progress >= PROGRESS_EVERY:
                db.update_run(run_id, **counts)
                last_progress = now
        db.commit()
        if run_id:
            db.update_run(run_id, **counts)
    finally:
        db.commit()
        db.close()
