"""Reading a crawl's feed: the records a Scrapyd node's job writes (spiders.pipelines.FeedItems).

Each line is one JSON record with its item type in `_type`: Post, Evidence and ImageCapture (bytes
in `body_base64`, checked against their SHA-256), ThreadComplete, ImageFailed, and a last RunStats
with Scrapy's counters. Records come back as the spiders' own items, so the central store takes
them through the same pipelines as a local crawl. A record that does not decode is counted, never
guessed at: a node running another version of the project must not store half-posts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from spiders.items import Evidence, ImageCapture, ImageFailed, Post, ThreadComplete

ITEM_TYPES = {cls.__name__: cls for cls in (Post, Evidence, ThreadComplete, ImageCapture, ImageFailed)}
MAX_RECORD = 64 * 1024 * 1024  # one line at most (a 20 MB image in base64 is ~27 MB)


class BadRecord(ValueError):
    """A feed line that is not a record this version understands."""


def decode_record(line: bytes | str):
    """A feed line as an item (or `{"_type": "RunStats", "stats": {...}}`); BadRecord when it is not one."""
    if len(line) > MAX_RECORD:
        raise BadRecord(f"record of {len(line)} bytes (at most {MAX_RECORD})")
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise BadRecord(f"not JSON: {str(exc)[:100]}") from None
    except RecursionError:
        raise BadRecord("not JSON we read (nested too deeply)") from None
    if not isinstance(record, dict):
        raise BadRecord("not a JSON object")
    kind = record.pop("_type", None)
    if kind == "RunStats":
        if not isinstance(record.get("stats"), dict):
            raise BadRecord("RunStats without stats")
        return {"_type": "RunStats", "stats": record["stats"]}
    cls = ITEM_TYPES.get(kind)
    if cls is None:
        raise BadRecord(f"unknown record type {str(kind)[:40]!r}")
    if "body_base64" in record:
        try:
            record["body"] = base64.b64decode(record.pop("body_base64"), validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise BadRecord(f"{kind}: body is not base64") from None
        if record.get("sha256") != hashlib.sha256(record["body"]).hexdigest():
            raise BadRecord(f"{kind}: body does not match its sha256")
    elif cls in (Evidence, ImageCapture):
        raise BadRecord(f"{kind} without its bytes")
    try:
        return cls(**record)
    except (KeyError, TypeError) as exc:  # a field this version does not know
        raise BadRecord(f"{kind}: {exc}") from None


class LineBuffer:
    """Bytes read from a growing file, handed out as whole lines (a feed is read while it is written).

    A line longer than MAX_RECORD is dropped as it streams in and counted in `too_long`.
    """

    def __init__(self):
        self.pending = b""
        self.offset = 0  # bytes of the file read so far
        self.too_long = 0
        self.skipping = False

    def add(self, data: bytes) -> list[bytes]:
        self.offset += len(data)
        if self.skipping:
            end = data.find(b"\n")
            if end < 0:
                return []
            self.skipping, data = False, data[end + 1:]
        self.pending += data
        *lines, self.pending = self.pending.split(b"\n")
        if len(self.pending) > MAX_RECORD:
            self.too_long += 1
            self.pending, self.skipping = b"", True
        return [line for line in lines if line.strip()]
