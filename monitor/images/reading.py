"""Reading one image's bytes into what the store keeps: the analysis, or why it was refused, and the copies to show.

Used by the image worker (images a crawl fetched) and by `monitor ingest` (image files beside imported
posts). The reading (OCR, about a second) happens outside any write transaction; `save_read_image`
then writes it, with the original bytes into the evidence store.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field

from rules.images.analysis import analyse_image
from rules.images.safe import ImageRefused

from ..store import Database
from ..store.keys import fingerprint
from .render import renders


@dataclass
class ReadImage:
    sha256: str
    status: str  # analysed, refused
    reason: str | None = None
    analysis: dict = field(default_factory=dict)
    renders: dict = field(default_factory=dict)


def read_image(data: bytes, key: bytes | None = None) -> ReadImage:
    """Analyse untrusted bytes and make the copies that may be shown; never raises on bad bytes."""
    sha = hashlib.sha256(data).hexdigest()
    try:
        analysis = analyse_image(data, functools.partial(fingerprint, key) if key else None)
        copies = renders(data, analysis.id_regions)
    except ImageRefused as exc:
        return ReadImage(sha, "refused", exc.reason)
    except MemoryError:
        return ReadImage(sha, "refused", "too_large")
    except Exception as exc:  # noqa: BLE001 - a decoder or OCR failure on hostile bytes is that image's error, not the run's
        return ReadImage(sha, "refused", f"unreadable: {type(exc).__name__}")
    return ReadImage(sha, "analysed", analysis=analysis.to_dict(), renders=copies)


def save_read_image(db: Database, read: ReadImage, data: bytes, url: str, headers: dict | None = None,
                    status: int | None = None, fetched_at: str | None = None) -> None:
    """Store the original bytes as evidence and what was read of them (call inside a write transaction)."""
    db.save_evidence({"sha256": read.sha256, "url": url, "status": status, "headers": headers or {}, "body": data,
                      "fetched_at": fetched_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    if not db.has_image(read.sha256):
        db.save_image(read.sha256, read.status, reason=read.reason, analysis=read.analysis, renders=read.renders)
