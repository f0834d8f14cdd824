"""The ingest worker: a process beside the crawler that analyses and stores posts.

Rules and SQLite cost CPU per post; in the crawler's process that time is
taken from fetching and parsing. The crawl pipeline hands posts over a
bounded queue to this process instead (on a second core when there is
one). Posts are committed in batches at most COMMIT_EVERY seconds apart,
so a crawl that dies loses at most the last fraction of a second, which
the next run reads again. A batch's new and changed posts are analysed
before its write transaction, so other writers (a review decision) are
never kept waiting long. The worker owns the run's post counters in `crawl_runs`.

Nothing is lost without a word. A batch whose transaction meets a busy
database (another crawl, a rescore) is rolled back and written again whole
(`monitor.store.busy`); an item whose storing fails is left out of its
batch; either way the items not stored are counted in the run's errors
(`posts_not_stored`, and `not stored: <why>`), which fail the run
(`runner.judge`). A thread with a post not stored is not recorded as read to
its end, so the next run reads it again.
"""

from __future__ import annotations

import gc
import queue as queue_module
import sys
import time

from ..ingest import PreparedDetector, ingest_post, prepare_analyses
from ..learning.registry import build_detector
from ..store import Database
from ..store.busy import is_busy, lock_wait_seconds, retried_transaction, retrying
from ..store.keys import secret_key
from .handover import STOP
from .processes import die_with_parent

COMMIT_EVERY = 0.5  # seconds between commits of stored posts
BATCH_ITEMS = 200  # items written in one transaction at most
BATCH_BYTES = 32 * 1024 * 1024  # captured pages held for one transaction at most

OUTCOME_COLUMNS = {"new": "posts_new", "updated": "posts_updated", "unchanged": "posts_unchanged"}
NOT_STORED = {"Post": "posts_not_stored", "Evidence": "pages_not_stored", "ThreadComplete": "threads_not_recorded"}
"""The run's errors entries that count, per kind of item, what could not be stored."""
REASON = "not stored: "
"""Prefix of the errors entries that count the items not stored per reason, the first reason first."""
MAX_REASONS = 5
"""Reasons named one by one; the items of any further reason are counted under 'not stored: other errors'."""


class Redo(Exception):
    """An item's failure ended the whole transaction (SQLite rolled it back): write the batch again without it."""


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
    writer = BatchWriter(db, detector, secret_key(db_path), run_id)
    # The rules and vocabularies live for the whole run: keep them out of the garbage
    # collector's sight so the collections that per-post allocations trigger stay cheap.
    gc.freeze()
    batch: list[tuple[str, dict]] = []
    batch_started, batch_bytes = time.monotonic(), 0
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
                writer.write(batch)
                batch, batch_bytes = [], 0
        if batch:
            writer.write(batch)
        writer.finish()  # raises if even the counters cannot be written: the run fails (ingest worker died)
    finally:
        db.close()  # an unfinished transaction is rolled back whole: its items were not counted either


class BatchWriter:
    """Writes batches of crawled items, each in one transaction with the run's counters; counts what it cannot store."""

    def __init__(self, db: Database, detector: PreparedDetector, key: bytes, run_id: int | None):
        self.db = db
        self.detector = detector
        self.key = key
        self.run_id = run_id
        self.counts = {"posts_new": 0, "posts_updated": 0, "posts_unchanged": 0, "posts_missing": 0, "flags_new": 0}
        self.errors: dict[str, int] = {}  # NOT_STORED and REASON entries of the run
        self.unread_threads: set[tuple] = set()  # (source, thread URL) of the threads with a post not stored

    def write(self, batch: list[tuple[str, dict]]) -> None:
        """Store `batch` in one transaction, retried whole while the database is busy (up to the lock
        wait); an item whose storing fails is left out; what is not stored is counted."""
        try:
            prepare_analyses(self.db, self.detector, [item for kind, item in batch if kind == "Post"])  # before the write lock
        except Exception:  # noqa: BLE001 - an item the rules choke on fails (and is counted) when it is stored
            self.detector.clear()
        failed: dict[int, str] = {}  # position in the batch -> why it was not stored
        try:
            while True:
                try:
                    self.counts, self.errors, self.unread_threads = retrying(self.db.db.conn, lambda: self._transaction(batch, failed))
                    break
                except Redo:
                    continue
        except Exception as exc:  # noqa: BLE001 - still busy after the lock wait, or the database fails (disk full): the batch is lost
            why = f"the database stayed locked for {lock_wait_seconds():g} s" if is_busy(exc) else describe(exc)
            for n in range(len(batch)):
                failed.setdefault(n, why)
            self.errors = self._errors_with(batch, failed)
            self.unread_threads |= {thread_of(item) for kind, item in batch if kind == "Post"}
        finally:
            self.detector.clear()
        if failed:
            posts = sum(batch[n][0] == "Post" for n in failed)
            print(f"ingest: {posts} posts and {len(failed) - posts} other items not stored: {next(iter(failed.values()))}",
                  file=sys.stderr, flush=True)

    def _transaction(self, batch: list[tuple[str, dict]], failed: dict[int, str]) -> tuple[dict, dict, set]:
        """One try at the batch's transaction; returns the run's counters, errors and unread threads after it."""
        tally = dict.fromkeys(self.counts, 0)
        unread = set(self.unread_threads)
        self.db.begin()
        try:
            for n, (kind, item) in enumerate(batch):
                if n not in failed:
                    if kind == "ThreadComplete" and thread_of(item) in unread:
                        continue  # a post of it was not stored: left unrecorded, the next run reads the thread again
                    try:
                        with self.db.transaction():  # a savepoint: a failing item is undone alone
                            self._store(kind, item, tally)
                    except Exception as exc:  # noqa: BLE001 - this item's trouble, unless the database is busy
                        if is_busy(exc):
                            raise
                        failed[n] = describe(exc)
                        if not self.db.db.conn.in_transaction:
                            raise Redo() from exc
                if n in failed and kind == "Post":
                    unread.add(thread_of(item))
            counts = {name: self.counts[name] + tally[name] for name in self.counts}
            errors = self._errors_with(batch, failed)
            if self.run_id:
                self._record(counts, errors)
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        return counts, errors, unread

    def _store(self, kind: str, item: dict, tally: dict) -> None:
        if kind == "Evidence":
            self.db.save_evidence(item)
        elif kind == "ThreadComplete":
            tally["posts_missing"] += self.db.complete_thread(item["source"], item["thread_url"], item.get("marker") or "",
                                                              item["post_keys"])
        elif kind == "Post":
            result = ingest_post(self.db, self.detector, item, self.key)
            tally[OUTCOME_COLUMNS[result.outcome]] += 1
            tally["flags_new"] += result.flag == "new"

    def _errors_with(self, batch: list[tuple[str, dict]], failed: dict[int, str]) -> dict[str, int]:
        """The run's not-stored entries with the batch's failures added."""
        errors = dict(self.errors)
        for n, why in failed.items():
            label = NOT_STORED.get(batch[n][0], "items_not_stored")
            errors[label] = errors.get(label, 0) + 1
            reason = REASON + why
            if reason not in errors and sum(k.startswith(REASON) for k in errors) >= MAX_REASONS:
                reason = REASON + "other errors"
            errors[reason] = errors.get(reason, 0) + 1
        return errors

    def _record(self, counts: dict, errors: dict) -> None:
        """Write the run's counters and, when there are any, its not-stored entries (beside what others wrote)."""
        if errors:
            merged = self.db.run(self.run_id)["errors"]
            merged.update(errors)
            self.db.update_run(self.run_id, **counts, errors=merged)
        else:
            self.db.update_run(self.run_id, **counts)

    def finish(self) -> None:
        """Write the run's final counters and not-stored entries, retried while the database is busy."""
        if self.run_id:
            retried_transaction(self.db, lambda: self._record(self.counts, self.errors))


def thread_of(item: dict) -> tuple:
    return item.get("source"), item.get("thread_url")


def describe(exc: BaseException) -> str:
    """An error in a few words, for the run's errors and its reason."""
    return f"{type(exc).__name__}: {exc}"[:160]
