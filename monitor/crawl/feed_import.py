"""`monitor ingest` of a crawl's feed file: what a Scrapyd node (or `scrapy crawl` with the FeedItems
pipeline) wrote, stored as the crawl would have stored it.

The transport for nodes the central machine cannot reach over HTTP: copy the job's items file
(`items/<project>/<spider>/<job>.jl`) and ingest it. Posts keep their kind and thread URL, pages
their evidence, threads read to the end their records (so `missing_since` and incremental crawls
work), images are read; the node's Scrapy stats become the run's. Every record goes through the
same pipelines as a live crawl, so importing the same feed twice adds nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..store import Database
from .feed import BadRecord, LineBuffer, decode_record

CHUNK = 1024 * 1024


@dataclass
class FeedImport:
    run: dict
    records: int = 0
    bad: list = field(default_factory=list)  # "FILE: record N: reason"
    finished: bool = False  # the feed ends with the crawl's stats (a crawl that was not cut short)


def is_feed(path: str | Path) -> bool:
    """Whether a JSONL file is a crawl's feed (its first record has `_type`) rather than collected posts."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    except OSError:
        return False
    return head.startswith(b"{") and b'"_type"' in head.split(b"\n", 1)[0]


def import_feed(path: str | Path, source: str, db_path: str | Path) -> FeedImport:
    """Store every record of the feed at `path` as posts of `source`; bad records are counted with their number."""
    from ..images.pipeline import ImagePipeline
    from .pipelines import IngestPipeline
    from .remote import FeedStats

    path = Path(path)
    with Database(db_path) as db:
        run_id = db.start_run(source, "feed")
    result = FeedImport(run={})
    stats, image_stats = FeedStats(), FeedStats()
    pages = IngestPipeline(str(db_path), run_id, stats)
    images = None
    pages.open_spider()
    kind, interrupted = None, True
    try:
        buffer = LineBuffer()
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                for line in buffer.add(chunk) + ([] if fh.peek(1) else _rest(buffer)):
                    result.records += 1
                    try:
                        record = decode_record(line)
                    except BadRecord as exc:
                        result.bad.append(f"{path.name}: record {result.records}: {exc}")
                        continue
                    if isinstance(record, dict):
                        own = {k: v for k, v in stats.values.items() if k.startswith("monitor/")}
                        stats.values = {**record["stats"], **own}
                        result.finished = True
                        continue
                    if "source" in record.fields:
                        record["source"] = source
                    if type(record).__name__ in ("ImageCapture", "ImageFailed"):
                        if images is None:
                            images = ImagePipeline(str(db_path), run_id, image_stats)
                            images.open_spider()
                        images.process_item(record)
                    else:
                        kind = kind or record.get("kind")
                        pages.process_item(record)
        if buffer.too_long:
            result.bad.append(f"{path.name}: {buffer.too_long} records too long to read")
        interrupted = False
    finally:
        pages.close_spider()
        if images is not None:
            images.close_spider()
        problems = [p + ": records after that point were not stored" for p, died in (
            ("the ingest worker died", stats.get_value("monitor/ingest_worker_died")),
            ("the image worker died", image_stats.get_value("monitor/image_worker_died"))) if died]
        with Database(db_path) as db:
            if kind:
                db.update_run(run_id, kind=kind)
            errors = db.run(run_id).get("errors") or {}
            lost = errors.get("posts_not_stored") or errors.get("pages_not_stored")
            if lost:
                why = next((k.removeprefix("not stored: ") for k in errors if k.startswith("not stored: ")), "see the log")
                problems.append(f"{errors.get('posts_not_stored') or 0} posts and {errors.get('pages_not_stored') or 0} "
                                f"captured pages could not be stored ({why})")
            if interrupted:
                status, reason = "interrupted", "the import stopped before the end of the feed"
            elif problems:
                status, reason = "failed", "; ".join(problems)
            elif result.bad:
                status, reason = "partial", f"{len(result.bad)} bad records"
            elif not result.finished:
                status, reason = "partial", "the feed has no stats record at its end: the crawl was cut short"
            else:
                status, reason = "ok", None
            result.run = db.finish_run(run_id, status, reason)
    return result


def _rest(buffer: LineBuffer) -> list[bytes]:
    """The last line of a file that does not end with a newline."""
    tail, buffer.pending = buffer.pending, b""
    return [tail] if tail.strip() else []
