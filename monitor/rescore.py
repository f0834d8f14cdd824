"""Re-analysing stored posts after a rule or model change, recording what the change did to the flags."""

from __future__ import annotations

from rules import Detector

from .ingest import analyse
from .store import Database
from .store.image_queries import listed_urls

BATCH = 500  # posts per transaction


def rescore_posts(db: Database, detector: Detector, since: str | None = None, progress=None) -> dict:
    """Analyse every stored post (seen since `since`) again; returns the counts of the run.

    Each appeared / disappeared / changed flag is written to `flag_changes`
    under one `rescore_runs` row, so a rule change can be judged by what it did.
    """
    run_id = db.start_rescore(since)
    total = db.count_posts_since(since)
    counts = {"posts": 0, "appeared": 0, "disappeared": 0, "changed": 0}
    with_photos = db.posts_with_photos()
    db.begin()
    for post_id, text, kind, title, is_listing, opens_thread, images in db.posts_for_rescore(since):
        before = db.flag_state(post_id)
        was_active = bool(before and before["active"])
        analysis, _ = analyse(detector, {"text": text, "kind": kind, "thread_title": title, "is_listing": is_listing,
                                      "opens_thread": opens_thread},
                              db.image_findings(post_id) if post_id in with_photos else None)
        db.save_flag(post_id, analysis.to_dict())
        if analysis.label == "sale" and images:  # a post that became a sale: its images are wanted now
            db.queue_post_images(post_id, listed_urls(images), True)
        after = db.flag_state(post_id)
        is_active = bool(after and after["active"])
        change = None
        if is_active and not was_active:
            change = "appeared"
        elif was_active and not is_active:
            change = "disappeared"
        elif is_active and (before["score"], before["categories"]) != (after["score"], after["categories"]):
            change = "changed"
        if change:
            counts[change] += 1
            db.record_flag_change(run_id, post_id, change, before if was_active else None, after if is_active else None)
        counts["posts"] += 1
        if counts["posts"] % BATCH == 0:
            db.commit()
            db.begin()
            if progress:
                progress(counts["posts"], total)
    db.commit()
    db.finish_rescore(run_id, **counts)
    return {"run_id": run_id, **counts}
