"""Capturing the pages posts were read from, as evidence."""

from __future__ import annotations

import datetime as dt
import hashlib

from .items import Evidence

KEPT_HEADERS = ("content-type", "date", "last-modified", "server", "etag", "content-language")


def kept_headers(response, names=KEPT_HEADERS) -> dict[str, str]:
    """The response headers worth keeping with a capture, as text."""
    headers = {}
    for name in names:
        value = response.headers.get(name)
        if value is not None:
            headers[name] = value.decode("latin-1", errors="replace")
    return headers


def capture(response) -> Evidence:
    body = bytes(response.body)
    headers = kept_headers(response)
    return Evidence(url=response.url, status=response.status, headers=headers, body=body,
                    sha256=hashlib.sha256(body).hexdigest(),
                    fetched_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def with_evidence(posts: list, response) -> list:
    """The page's Evidence item followed by its posts, each citing the capture's hash."""
    if not posts:
        return []
    evidence = capture(response)
    for post in posts:
        post["evidence_sha"] = evidence["sha256"]
    return [evidence, *posts]
