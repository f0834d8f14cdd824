"""Re-checking requested posts: is each one still online, removed, or unreachable?

A URL is fetched again (through its source's proxy; a .onion without one is
never looked up). 404 and 410 mean removed, and so does a page carrying one
of the registry's removal markers (forum engines answer 200 with "thread
does not exist") or a thread page that no longer holds the post's id.
"""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from ..store import Database
from .registry import Registry

MAX_BYTES = 5 * 1024 * 1024
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def check_url(url: str, proxy: str | None, markers: list[str], post_id: str | None = None, timeout: float = 20) -> tuple[str, str]:
    """('online' | 'removed' | 'unreachable', what was seen)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "unreachable", f"not an http(s) URL: {parts.scheme or '?'}"
    if (parts.hostname or "").endswith(".onion") and not proxy:
        return "unreachable", ".onion needs the source's proxy; not looked up"
    handlers = [urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy else {})]
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(parts._replace(fragment="").geturl(), headers={"User-Agent": USER_AGENT})
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read(MAX_BYTES).decode("utf-8", errors="replace")
            code = response.status
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            return "removed", f"HTTP {exc.code}"
        return "unreachable", f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return "unreachable", f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    for marker in markers:
        if marker in body:
            return "removed", f"HTTP {code}, page says {marker!r}"
    if post_id and parts.fragment and post_id not in body:
        return "removed", f"HTTP {code}, the thread no longer holds post {post_id}"
    return "online", f"HTTP {code}"


def recheck(db: Database, registry: Registry, proxies: dict[str, str], batch_id: int | None = None,
            older_than_days: float | None = None, escalate_after_days: float = 7, timeout: float = 20) -> list[dict]:
    """Check every open request (of a batch, or requested more than N days ago); record and return the results."""
    now = dt.datetime.now(dt.timezone.utc)
    before = (now - dt.timedelta(days=older_than_days)).isoformat(timespec="seconds") if older_than_days else None
    results = []
    for item in db.items_to_recheck(batch_id, before):
        state, detail = check_url(item["url"], proxies.get(item["source"]), registry.removed_markers,
                                  item["site_post_id"], timeout)
        if state == "online":
            age = now - dt.datetime.fromisoformat(item["requested_at"])
            state = "escalated" if age >= dt.timedelta(days=escalate_after_days) else "still_online"
        db.record_check(item["id"], item["flag_id"], state, detail)
        results.append({"item": item["id"], "batch": item["batch_id"], "platform": item["platform"], "url": item["url"],
                        "status": state, "detail": detail})
    return results
