"""One path for every post, crawled or imported: store it, analyse it, flag it.

A post whose text has not changed since it was last seen is not analysed
again; a new or edited post is, and its flag follows the new analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules import Detector

from .db import Database


@dataclass
class IngestResult:
    post_id: int
    outcome: str  # new, updated, unchanged
    flag: str | None  # new, updated, retired or None


def ingest_post(db: Database, detector: Detector, item: dict) -> IngestResult:
    """Store `item`, analyse it if it is new or changed, and record the flag; all or nothing."""
    with db.transaction():
        stored = db.upsert_post(item)
        if stored.outcome == "unchanged":
            return IngestResult(stored.id, stored.outcome, None)
        analysis = detector.analyze(item.get("text") or "", source_kind=item.get("kind"))
        flag = db.save_flag(stored.id, analysis.to_dict())
    return IngestResult(stored.id, stored.outcome, flag)
