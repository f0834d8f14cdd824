"""What a run's image phase fetches and how: the `scrapy crawl images` command for one source.

After a source's pages are crawled and its posts flagged, the runner fetches the images of the posts
that want them (flagged, or their text speaks of photos), up to the source's `images_per_run`, in a
second subprocess with the source's own proxy, delay and limits; images beyond the budget wait for
the next run. The page crawl's speed is untouched: images never share its queue or its core.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..config import Source

IMAGE_PIPELINE = {"monitor.images.pipeline.ImagePipeline": 300}
DEFAULT_PER_RUN = 50
MAX_IMAGE_MB = 20
TELEGRAM_IMAGE_HOSTS = tuple(f"https://cdn{i}.{host}" for host in ("telesco.pe", "telegram-cdn.org", "cdn-telegram.org")
                             for i in range(1, 6))
"""Where Telegram's public previews keep their photos and video stills: telegram-cdn.org on the saved
2020-2023 pages in tests/sites/telegram-real, telesco.pe before them, cdn-telegram.org on pages since."""
DEFAULT_BASE = {"telegram": "https://t.me/"}
"""A source's base URL when its configuration need not give one."""
SETTINGS = {"delay": "DOWNLOAD_DELAY", "timeout": "DOWNLOAD_TIMEOUT", "concurrency": "CONCURRENT_REQUESTS_PER_DOMAIN",
            "retries": "RETRY_TIMES"}
MIN_SECONDS = 10
"""An image phase with less time left than this is not started: its images wait for the next run."""


def images_enabled(source: Source) -> bool:
    return bool(source.options.get("images", True)) and int(source.options.get("images_per_run", DEFAULT_PER_RUN)) > 0


def budget(source: Source) -> int:
    return int(source.options.get("images_per_run", DEFAULT_PER_RUN))


def image_hosts(source: Source) -> list[str]:
    """Origins besides the source's own that its images may come from (redirects included)."""
    hosts = list(source.options.get("image_hosts", []))
    if source.kind == "telegram":
        hosts += [h for h in TELEGRAM_IMAGE_HOSTS if h not in hosts]
    return hosts


def image_job(source: Source) -> tuple[dict, dict]:
    """(spider arguments, settings) of the source's image crawl, without the URLs and the store's settings."""
    args = {"source": source.name, "base_url": source.base_url or DEFAULT_BASE.get(source.kind, ""),
            "image_hosts": json.dumps(image_hosts(source)),
            "max_image_mb": f"{min(float(source.options.get('max_response_mb', MAX_IMAGE_MB)), MAX_IMAGE_MB):g}"}
    if source.options.get("proxy"):
        args["proxy"] = source.options["proxy"]
    settings = {"LOG_LEVEL": "INFO"}
    for key, setting in SETTINGS.items():
        if key in source.options:
            settings[setting] = str(source.options[key])
    return args, settings


def images_command(source: Source, db_path: Path, run_id: int, urls_file: Path, pipeline: dict = IMAGE_PIPELINE) -> list[str]:
    """The `scrapy crawl images` command line for one source's image phase."""
    args, settings = image_job(source)
    args["urls_file"] = str(urls_file)
    settings = {"ITEM_PIPELINES": json.dumps(pipeline), "MONITOR_DB": str(db_path), "MONITOR_RUN_ID": str(run_id), **settings}
    cmd = [sys.executable, "-m", "scrapy", "crawl", "images"]
    for name, value in args.items():
        cmd += ["-a", f"{name}={value}"]
    for name, value in settings.items():
        cmd += ["-s", f"{name}={value}"]
    return cmd
