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
Unknown columns are ignored. A bad row is reported with its line number;
the others are kept.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

COLUMNS = ("url", "text", "post_id", "author", "posted_at", "thread_title", "board", "images")
MAX_TEXT = 200_000


@dataclass
class BadRow:
    line: int
    reason: str


def read_rows(path: str | Path) -> Iterator[tuple[int, dict | None, str | None]]:
    """(line number, row, error) for each record of a .jsonl/.json or .csv file."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"url", "text"} - set(reader.fieldnames or [])
            if missing:
                yield 1, None, f"the header lacks required column(s) {', '.join(sorted(missing))}"
                return
            for row in reader:
                yield reader.line_num, row, None
        return
    with open(path, encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, None, f"not JSON ({exc.msg})"
                continue
            if not isinstance(row, dict):
                yield n, None, "not a JSON object"
                continue
            yield n, row, None


def to_item(row: dict, source: str) -> dict:
    """A post item from a row; raises ValueError naming the bad column."""
    url = str(row.get("url") or "").strip()
    if not url.startswith(("http://", "https://")):
        raise ValueError("url: missing or not an http(s) URL")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text: missing or empty")
    posted_at = row.get("posted_at") or None
    if posted_at:
        try:
            posted_at = dt.datetime.fromisoformat(str(posted_at).replace("Z", "+00:00")).isoformat()
        except ValueError:
            raise ValueError(f"posted_at: {posted_at!r} is not an ISO 8601 date") from None
    images = row.get("images") or []
    if isinstance(images, str):
        images = json.loads(images) if images.strip().startswith("[") else images.replace(";", " ").split()
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise ValueError("images: must be a list of URLs")
    return {
        "source": source,
        "kind": "import",
        "post_id": str(row["post_id"]) if row.get("post_id") not in (None, "") else None,
        "url": url,
        "page_url": url,
        "thread_url": url,
        "thread_title": str(row.get("thread_title") or ""),
        "board": str(row.get("board") or ""),
        "author": str(row.get("author") or ""),
        "posted_at": posted_at,
        "posted_raw": str(row.get("posted_at") or ""),
        "text": text[:MAX_TEXT],
        "images": [i for i in images if i.startswith(("http://", "https://"))],
    }
