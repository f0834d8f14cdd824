"""What a crawl of a source is given (its spider's arguments and Scrapy settings), and how its log is read.

Shared by the local `scrapy crawl` subprocess (runner) and the Scrapyd job (remote), which must get the same.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..config import Source
from ..escaping import terminal_safe

SPIDER_ARGS = {
    "forum": ("base_url", "engine", "max_pages", "proxy", "selectors", "login", "timezone", "recheck_days", "recheck_hours"),
    "telegram": ("channel", "base_url", "max_pages", "proxy"),
    "mastodon": ("base_url", "hashtag", "timeline", "max_pages", "proxy"),
    "discourse": ("base_url", "categories", "max_pages", "proxy", "recheck_days", "recheck_hours"),
}
"""Source options passed to the spider as `-a NAME=VALUE` (tables and lists as JSON)."""

INCREMENTAL_KINDS = ("forum", "discourse")
"""Kinds whose spiders read the threads already read to their end from the source's state folder."""

SETTING_OPTIONS = {
    "delay": ("DOWNLOAD_DELAY", lambda v: v),
    "timeout": ("DOWNLOAD_TIMEOUT", lambda v: v),
    "concurrency": ("CONCURRENT_REQUESTS_PER_DOMAIN", lambda v: v),
    "max_depth": ("DEPTH_LIMIT", lambda v: v),
    "retries": ("RETRY_TIMES", lambda v: v),
    "max_response_mb": ("DOWNLOAD_MAXSIZE", lambda v: int(v * 1024 * 1024)),
}
"""Source limits mapped to Scrapy settings."""


def spider_arguments(source: Source) -> dict:
    """The source's options a spider takes as `-a NAME=VALUE` (tables and lists as JSON)."""
    args = {"source": source.name}
    for key in SPIDER_ARGS[source.kind]:
        if key in source.options:
            value = source.options[key]
            args[key] = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return args


def source_settings(source: Source) -> dict:
    """The Scrapy settings (`-s NAME=VALUE`) the source's limits ask for."""
    settings = {"LOG_LEVEL": "INFO"}
    for key, (setting, convert) in SETTING_OPTIONS.items():
        if key in source.options:
            settings[setting] = str(convert(source.options[key]))
    if "max_response_mb" in source.options:
        settings["DOWNLOAD_WARNSIZE"] = settings["DOWNLOAD_MAXSIZE"]
    return settings


_ERROR_LINE = re.compile(r"\bERROR\b|\b\w*(?:Error|Exception)\b:")


def last_error_line(log_path: Path) -> str:
    """The log's last error line (else its last line), for a run's reason: control characters escaped, since
    a log line can carry what a site (or, for a node's job, the node) sent."""
    return terminal_safe(_last_error_line(log_path))


def _last_error_line(log_path: Path) -> str:
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "no log"
    for line in reversed(lines):
        if _ERROR_LINE.search(line):  # not Scrapy's list of middlewares ("HttpErrorMiddleware")
            return line.strip()[-300:]
    return (lines[-1].strip()[-300:] if lines else "no output")
