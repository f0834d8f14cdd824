"""Reading posts collected elsewhere (Facebook, X, manual collection) from JSONL or CSV.

Columns (JSONL keys or CSV header):
  url          required: where the post was seen (http/https)
  text         required: the post's text
  post_id      the platform's id of the post (else the URL identifies it)
  author       who posted it
  posted_at    when, ISO 8601 (2026-11-20 or 2026-11-20T09:14:00+07:00)
  thread_title title of the thread, group or page
  board        group, page or channel name
  images       image URLs: a JSON list, or URLs separated by spaces or ';'
  image_files  image files collected with the post: a JSON list, or names separated by ';',
               relative to the imported file's folder (and inside it); each is stored as
               evidence and read (document, face, numbers) with the post
Unknown columns are ignored. A bad row is reported with its line number;
the others are kept.

An import commits every BATCH_ROWS rows or BATCH_SECONDS seconds, like the
crawl's ingest worker, and runs the rules on a batch before taking the write
lock, so a long import holds the lock only in short bursts: a review decision,
`monitor review` or a crawl beside it waits a fraction of a second. Its run always ends: ok, partial (bad rows),
failed (with the reason) or interrupted.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from spiders.dates import in_utc

COLUMNS = ("url", "text", "post_id", "author", "posted_at", "thread_title", "board", "images", "image_files")
MAX_TEXT = 200_000
"""Characters of a post's text that are kept (the rest is cut off)."""
MAX_FIELD = 1_000_000
"""Longest CSV field read, in characters: above MAX_TEXT, so a long post is cut, not refused."""
MAX_LINE = 8 * 1024 * 1024
"""Longest JSONL line read, in bytes; a longer one is a bad row (and is skipped without being held in memory)."""

csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD))

_SURROGATE = re.compile(r"[\ud800-\udfff]")

BATCH_ROWS = 200
"""Rows analysed together (no lock held), then written in one short transaction."""
BATCH_SECONDS = 0.5
"""Longest a write transaction of an import stays open before it commits."""
BATCH_IMAGE_BYTES = 64 * 1024 * 1024
"""Image files read for one batch at most (they are held until the batch is written)."""
MAX_IMAGE_FILES = 20
"""Image files one row may give."""


@dataclass
class BadRow:
    line: int
    reason: str


@dataclass
class ImportResult:
    run: dict
    counts: dict = field(default_factory=lambda: {"new": 0, "updated": 0, "unchanged": 0})
    flagged: int = 0
    bad: list = field(default_factory=list)  # "FILE:LINE: reason"


class ImportFailed(Exception):
    """An import that stopped on an error that is not a bad row (the run is recorded as failed)."""

    def __init__(self, message: str, result: ImportResult):
        super().__init__(message)
        self.result = result


def import_file(db, path: str | Path, source: str, detector, key: bytes | None) -> ImportResult:
    """Import every good row of `path` into `db` as posts of `source`, in short write transactions.

    Rows are stored BATCH_ROWS at a time: the batch is analysed first (reads
    only), then written in a transaction committed at least every BATCH_SECONDS.
    Bad rows are collected as "FILE:LINE: reason". An error that is not about
    one row (the disk is full, the database fails) keeps the rows stored so
    far, records the run as failed with the reason and raises ImportFailed;
    Ctrl-C or SystemExit record it as interrupted and propagate.
    """
    from ..ingest import PreparedDetector, ingest_post, prepare_analyses

    result = ImportResult(run={})
    run_id = db.start_run(source, "import")
    prepared = PreparedDetector(detector)

    def counters() -> dict:
        c = result.counts
        return {"posts_new": c["new"], "posts_updated": c["updated"], "posts_unchanged": c["unchanged"],
                "flags_new": result.flagged, "errors": {"bad_rows": len(result.bad)} if result.bad else {}}

    def store(batch: list[dict]) -> None:
        if not batch:
            return
        prepare_analyses(db, prepared, batch)  # before taking the write lock
        photos = read_photos(db, batch, key)  # OCR too: about a second an image, no lock held
        db.begin()
        started = time.monotonic()
        for n, item in enumerate(batch):
            stored = ingest_post(db, prepared, item, key)
            result.counts[stored.outcome] += 1
            result.flagged += stored.flag == "new"
            if photos.get(n):
                flag = store_photos(db, detector, key, stored.post_id, photos[n])
                result.flagged += flag == "new" and stored.flag != "new"
            if time.monotonic() - started >= BATCH_SECONDS:
                db.update_run(run_id, **counters())
                db.commit()
                db.begin()
                started = time.monotonic()
        db.update_run(run_id, **counters())
        db.commit()
        prepared.clear()

    batch: list[dict] = []
    image_bytes = 0
    folder = Path(path).resolve().parent
    try:
        for line, row, error in read_rows(path):
            if error is None:
                try:
                    batch.append(to_item(row, source, folder))
                    image_bytes += sum(size for _, _, size in batch[-1]["image_files"])
                except ValueError as exc:
                    error = str(exc)
            if error is not None:
                result.bad.append(f"{path}:{line}: {error}")
            if len(batch) >= BATCH_ROWS or image_bytes >= BATCH_IMAGE_BYTES:
                store(batch)
                batch, image_bytes = [], 0
        store(batch)
    except BaseException as exc:
        try:
            db.commit()  # the rows before the error are good; the failing row's savepoint is already undone
        except Exception:
            db.rollback()
        interrupted = isinstance(exc, (KeyboardInterrupt, SystemExit))
        reason = ("interrupted by the user" if isinstance(exc, KeyboardInterrupt)
                  else _stopped(exc) if isinstance(exc, SystemExit)
                  else f"{type(exc).__name__}: {_short(str(exc), 300)}")
        try:
            db.update_run(run_id, **counters())
            result.run = db.finish_run(run_id, "interrupted" if interrupted else "failed", reason)
        except Exception:
            pass  # the database itself fails: the next open records the run as interrupted
        if interrupted or not isinstance(exc, Exception):
            raise
        raise ImportFailed(f"import stopped after {sum(result.counts.values())} stored posts: {reason}", result) from exc
    bad = len(result.bad)
    result.run = db.finish_run(run_id, "partial" if bad else "ok", f"{bad} bad row(s) skipped" if bad else None)
    return result


def read_rows(path: str | Path) -> Iterator[tuple[int, dict | None, str | None]]:
    """(line number, row, error) for each record of a .jsonl/.json or .csv file.

    Files come from elsewhere and may be hostile: whatever a line holds (bytes
    that are not UTF-8, JSON nested 100,000 deep, a 5,000-digit number, a huge
    field), it becomes an error for that line and the next line is read.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        yield from _csv_rows(path)
    else:
        yield from _jsonl_rows(path)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict | None, str | None]]:
    with open(path, "rb") as fh:
        for n, raw in enumerate(_lines(fh), 1):
            if raw is None:
                yield n, None, f"line longer than {MAX_LINE:,} bytes"
                continue
            if n == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield n, None, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line)"
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, None, f"not JSON ({exc.msg})"
                continue
            except RecursionError:
                yield n, None, "not JSON we read (nested too deeply)"
                continue
            except ValueError as exc:  # a number over Python's int-from-text limit
                yield n, None, f"not JSON we read ({str(exc).split(';')[0]})"
                continue
            if not isinstance(row, dict):
                yield n, None, "not a JSON object"
                continue
            yield n, row, None


def _lines(fh) -> Iterator[bytes | None]:
    """The lines of a binary file; None for a line over MAX_LINE bytes, whose rest is skipped."""
    while True:
        line = fh.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while True:  # skip to the end of the line, a bounded chunk at a time
                rest = fh.readline(MAX_LINE)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield line


def _csv_rows(path: Path) -> Iterator[tuple[int, dict | None, str | None]]:
    # surrogateescape: bytes that are not UTF-8 become lone surrogates, reported per row below.
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.DictReader(fh)
        try:
            fieldnames = reader.fieldnames or []
        except csv.Error as exc:
            yield 1, None, f"the header cannot be read as CSV ({exc})"
            return
        if any(_SURROGATE.search(name) for name in fieldnames):
            yield 1, None, "the header is not UTF-8"
            return
        missing = {"url", "text"} - set(fieldnames)
        if missing:
            yield 1, None, f"the header lacks required column(s) {', '.join(sorted(missing))}"
            return
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a field over MAX_FIELD; the reader goes on at the next line
                yield reader.reader.line_num, None, f"not CSV we read ({exc})"  # DictReader's own is not updated
                continue
            bad = next((name for name, value in row.items() if _has_surrogate(value)), ...)
            if bad is not ...:
                yield reader.line_num, None, f"{bad or 'an extra field'}: not UTF-8"
                continue
            yield reader.line_num, row, None


def _has_surrogate(value) -> bool:
    if isinstance(value, list):  # the fields beyond the header
        return any(_SURROGATE.search(v) for v in value)
    return isinstance(value, str) and _SURROGATE.search(value) is not None


def read_photos(db, batch: list[dict], key: bytes | None) -> dict[int, list]:
    """Index in `batch` -> [(name, bytes, what was read)] of the rows' image files, read before the write
    lock; an image already read (by its hash) is not read again."""
    from ..images.reading import ReadImage, read_image

    out: dict[int, list] = {}
    for n, item in enumerate(batch):
        for name, file, _ in item.get("image_files") or []:
            with open(file, "rb") as fh:  # bounded: the file may have grown since its size was checked
                data = fh.read(MAX_IMAGE_BYTES + 1)
            known = db.image(hashlib.sha256(data).hexdigest())
            read = ReadImage(known["sha256"], known["status"], known["reason"]) if known else read_image(data, key)
            out.setdefault(n, []).append((name, data, read))
    return out


def store_photos(db, detector, key: bytes | None, post_id: int, photos: list) -> str | None:
    """Store a post's image files as evidence with what was read, and analyse the post again with them."""
    from ..images.reading import save_read_image
    from ..ingest import reanalyse_post

    for position, (name, data, read) in enumerate(photos):
        save_read_image(db, read, data, url=name)
        db.store_local_image(post_id, name, 1000 + position, read.sha256)  # after the post's image URLs
    return reanalyse_post(db, detector, post_id, key)


MAX_IMAGE_BYTES = 20_000_000
"""Largest image file read (as for fetched images); a larger one is a bad row."""


def image_files(row: dict, folder: Path | None) -> list[tuple[str, Path, int]]:
    """(shown name, path, size) of a row's `image_files`: files inside `folder` (the imported file's), each
    a regular file of at most MAX_IMAGE_BYTES; raises ValueError naming the bad one."""
    value = row.get("image_files") or []
    if isinstance(value, str):
        text = _field(row, "image_files")
        if text.strip().startswith("["):
            try:
                value = json.loads(text)
            except (ValueError, RecursionError):
                raise ValueError("image_files: not a JSON list of file names") from None
        else:
            value = [v.strip() for v in text.split(";") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError("image_files: must be a list of file names")
    if len(value) > MAX_IMAGE_FILES:
        raise ValueError(f"image_files: {len(value)} files; at most {MAX_IMAGE_FILES} per row")
    if value and folder is None:
        raise ValueError("image_files: only read from a file (the names are relative to its folder)")
    out = []
    for name in value:
        if _SURROGATE.search(name) or "\x00" in name:
            raise ValueError("image_files: a name that is not text")
        try:
            path = (folder / name).resolve()
            if not path.is_relative_to(folder):
                raise ValueError(f"image_files: {_short(name)!r} is outside the imported file's folder")
            if not path.is_file():
                raise ValueError(f"image_files: {_short(name)!r}: no such file beside the imported file")
            size = path.stat().st_size
        except (OSError, RuntimeError) as exc:  # a name too long, a loop of links: that row's problem
            raise ValueError(f"image_files: {_short(name)!r}: cannot be read ({type(exc).__name__})") from None
        if size > MAX_IMAGE_BYTES:
            raise ValueError(f"image_files: {_short(name)!r} is {size:,} bytes; at most {MAX_IMAGE_BYTES:,}")
        out.append(("file:" + path.relative_to(folder).as_posix(), path, size))
    return out


def to_item(row: dict, source: str, folder: Path | None = None) -> dict:
    """A post item from a row; raises ValueError naming the bad column. `folder`: where `image_files` are."""
    url = _field(row, "url").strip()
    if not url.startswith(("http://", "https://")):
        raise ValueError("url: missing or not an http(s) URL")
    text = row.get("text")
    if (not isinstance(text, str) or not text.strip()) and not (is_listing_row(row) and _field(row, "thread_title").strip()):
        raise ValueError("text: missing or empty (a listing may have only a thread_title)")
    text = _field(row, "text") if isinstance(text, str) else ""
    posted_raw = _field(row, "posted_at")
    posted_at = None
    if posted_raw:
        try:
            parsed = dt.datetime.fromisoformat(posted_raw.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"posted_at: {_short(posted_raw)!r} is not an ISO 8601 date") from None
        # With an offset: stored in UTC like crawled dates. A bare date or a time without an offset is kept as given.
        posted_at = in_utc(parsed) if parsed.tzinfo is not None else parsed.isoformat()
        if posted_at is None:
            raise ValueError(f"posted_at: {_short(posted_raw)!r} is out of range")
    images = row.get("images") or []
    if isinstance(images, str):
        images = _field(row, "images")
        if images.strip().startswith("["):
            try:
                images = json.loads(images)
            except (ValueError, RecursionError):
                raise ValueError("images: not a JSON list of URLs") from None
        else:
            images = images.replace(";", " ").split()
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise ValueError("images: must be a list of URLs")
    if any(_SURROGATE.search(i) for i in images):
        raise ValueError("images: holds a lone surrogate (\\udXXX), which is not text")
    post_id = _field(row, "post_id")
    return {
        "source": source,
        "kind": "import",
        "post_id": post_id or None,
        "url": url,
        "page_url": url,
        "thread_url": url,
        "thread_title": _field(row, "thread_title"),
        "board": _field(row, "board"),
        "author": _field(row, "author"),
        "posted_at": posted_at,
        "posted_raw": posted_raw,
        "text": text[:MAX_TEXT],
        "images": [i for i in images if i.startswith(("http://", "https://"))],
        "is_listing": is_listing_row(row),
        "opens_thread": is_listing_row(row),  # an imported listing is one post: its title is its own
        "image_files": image_files(row, folder),
    }


def is_listing_row(row: dict) -> bool:
    """A row is a listing title when it says so: `is_listing` true (true/1/yes) or `kind` "listing"."""
    value = row.get("is_listing")
    flag = value is True or (isinstance(value, (int, float)) and not isinstance(value, bool) and value == 1) \
        or (isinstance(value, str) and value.strip().lower() in ("1", "true", "yes"))
    return flag or (isinstance(row.get("kind"), str) and row["kind"].strip().lower() == "listing")


def _field(row: dict, column: str) -> str:
    """A column as text: "" when missing or empty; a number as written; a list, object or a string
    that is not text (a lone surrogate, written as a \\ud800 escape in JSON) is refused."""
    value = row.get(column)
    if value is None or value == "":
        return ""
    if isinstance(value, (list, dict)):
        raise ValueError(f"{column}: must be text, not a JSON {'list' if isinstance(value, list) else 'object'}")
    value = value if isinstance(value, str) else str(value)
    if _SURROGATE.search(value):
        raise ValueError(f"{column}: holds a lone surrogate (\\udXXX), which is not text")
    return value


def _stopped(exc: SystemExit) -> str:
    code = exc.code
    return f"stopped by signal {code - 128}" if isinstance(code, int) and code > 128 else f"stopped (exit code {code})"


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[:limit] + "..."
