"""The image worker: a process beside the image crawl that reads each fetched image and re-flags its posts.

Reading an image (OCR, faces) takes about a second; fetching one a fraction of that. The image crawl
(`scrapy crawl images`) hands what it fetched over a small queue to this process, which reads each
new image outside any write transaction, then stores the bytes as evidence, the analysis, the copies
that may be shown, and analyses again every post that showed the image, with its photos, in one short
transaction per image: a crawl killed in the middle keeps every image finished before it. A transaction
that meets a busy database is rolled back and tried again (`monitor.store.busy`); one that still cannot
be written ends the worker, which the run reports, and the image stays queued for the next run.
"""

from __future__ import annotations

import gc
import queue as queue_module

from ..crawl.handover import STOP
from ..crawl.processes import die_with_parent
from ..ingest import reanalyse_post
from ..learning.registry import build_detector
from ..store import Database
from ..store.busy import is_busy, retried_transaction
from ..store.keys import secret_key
from .reading import ReadImage, read_image, save_read_image

IDLE_POLL = 1.0


def run_image_worker(db_path: str, run_id: int | None, items) -> None:
    """Store and read images from the `items` queue until STOP; meant as a process target."""
    die_with_parent()
    db = Database(db_path)
    key = secret_key(db_path)
    detector = build_detector(db_path, explain_all=False)
    gc.freeze()
    try:
        while True:
            try:
                item = items.get(timeout=IDLE_POLL)
            except queue_module.Empty:
                continue
            if item is STOP:
                break
            kind = item.pop("_type", "")
            try:
                if kind == "ImageFailed":
                    handle_failure(db, run_id, item)
                elif kind == "ImageCapture":
                    handle_capture(db, detector, key, run_id, item)
            except Exception as exc:  # noqa: BLE001 - one image's trouble (a damaged row) is that image's error, not the run's
                db.rollback()
                if is_busy(exc):  # still locked after the lock wait: not this image's fault; it stays queued
                    raise
                handle_failure(db, run_id, {"source": item.get("source"), "url": item.get("url"),
                                            "reason": f"failed: {type(exc).__name__}"})
    finally:
        db.close()


def handle_failure(db: Database, run_id: int | None, item: dict) -> None:
    reason = str(item.get("reason") or "failed")[:80]

    def store():
        db.record_image_fetch(item["source"], item["url"], reason=reason)
        if run_id:
            db.add_run_counts(run_id, {"images_failed": 1}, {f"image: {reason}": 1})

    retried_transaction(db, store)


def handle_capture(db: Database, detector, key: bytes, run_id: int | None, item: dict) -> ReadImage:
    """Read (unless already known by its hash), store, and re-flag the posts that showed it."""
    data = item.get("body") or b""
    known = db.image(item["sha256"]) if item.get("sha256") else None
    read = ReadImage(known["sha256"], known["status"], known["reason"]) if known else read_image(data, key)

    def store():
        save_read_image(db, read, data, url=item.get("final_url") or item["url"], headers=item.get("headers"),
                        status=item.get("status"), fetched_at=item.get("fetched_at"))
        posts = db.record_image_fetch(item["source"], item["url"], sha256=read.sha256)
        flags_new = sum(reanalyse_post(db, detector, post_id, key) == "new" for post_id in posts)
        if run_id:
            counts = {"images_fetched": 1, "images_analysed": int(not known and read.status == "analysed"), "flags_new": flags_new}
            errors = {f"image: {read.reason}": 1} if read.status == "refused" and not known else {}
            db.add_run_counts(run_id, counts, errors)

    retried_transaction(db, store)
    return read
