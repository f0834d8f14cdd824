"""Mastodon spider: a hashtag or the public timeline of an instance, through its public API.

`GET /api/v1/timelines/tag/<tag>` or `/api/v1/timelines/public`, 40 statuses
a page, older pages with `max_id`. Instances that require a login for
public timelines answer 401; that is reported, not taken for an empty
success, and so is a timeline with no posts.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode

import scrapy

from .errors import ErrorCounterMixin
from .dates import iso_to_utc
from .evidence import with_evidence
from .forum import now_iso
from .items import Post
from .text import extract

PAGE_SIZE = 40


def attachment_urls(attachments) -> list[str]:
    """The files of a status's attachments: images and GIFs by URL, video thumbnails, and the remote file
    of an `unknown` one (media the instance did not copy has no `url`, only `remote_url`)."""
    urls = []
    for media in attachments if isinstance(attachments, list) else []:
        if not isinstance(media, dict):
            continue
        kind = media.get("type")
        if kind in ("image", "gifv"):
            url = media.get("url") or media.get("remote_url")
        elif kind == "unknown":
            url = media.get("remote_url") or media.get("url")
        else:  # video, audio: the still the instance made of it
            url = media.get("preview_url") or media.get("preview_remote_url")
        if isinstance(url, str) and url.startswith(("http://", "https://")) and url not in urls:
            urls.append(url)
    return urls


def _str(value) -> str:
    """A field that should be text; anything else a hostile instance sends is read as empty."""
    return value if isinstance(value, str) else ""


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def parse_statuses(statuses: list, source: str) -> list[Post]:
    """Posts from a list of Mastodon status objects (reblogs are read as the original status)."""
    posts = []
    fetched = now_iso()
    for status in statuses:
        if not isinstance(status, dict):
            continue
        original = status["reblog"] if isinstance(status.get("reblog"), dict) else status
        account = _dict(original.get("account"))
        url = _str(original.get("url"))
        body = extract(_str(original.get("content")), url)
        text = body.text
        if _str(original.get("spoiler_text")):
            text = f"{original['spoiler_text']}\n{text}"
        images = attachment_urls(original.get("media_attachments"))
        tags = [t for t in original.get("tags") or [] if isinstance(t, dict)] if isinstance(original.get("tags"), list) else []
        posts.append(
            Post(
                source=source,
                kind="mastodon",
                post_id=str(original.get("id")),
                url=url or _str(original.get("uri")),
                page_url=url,
                thread_url=url,
                thread_title="",
                board=", ".join("#" + _str(t.get("name")) for t in tags),
                author=_str(account.get("acct")) or _str(account.get("username")),
                posted_at=iso_to_utc(original.get("created_at")),
                posted_raw=_str(original.get("created_at")),
                text=text,
                quoted="",
                images=images + [u for u in body.images if u not in images],
                forwarded_from=_str(_dict(status.get("account")).get("acct")) or None if original is not status else None,
                fetched_at=fetched,
            )
        )
    return posts


class MastodonSpider(ErrorCounterMixin, scrapy.Spider):
    """Crawl a hashtag (or the public timeline) of one Mastodon instance.

    Example: scrapy crawl mastodon -a base_url=https://mastodon.social/ -a hashtag=datapribadi
    """

    name = "mastodon"
    handle_httpstatus_list = [401, 403, 404]

    def __init__(self, source: str = "mastodon", base_url: str = "", hashtag: str = "", timeline: str = "",
                 max_pages: str = "5", proxy: str = "", **kwargs):
        super().__init__(**kwargs)
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("mastodon spider needs -a base_url=https://<instance>/")
        if bool(hashtag) == bool(timeline):
            raise ValueError("mastodon spider needs exactly one of -a hashtag=TAG or -a timeline=public|local")
        self.source = source
        self.base_url = base_url.rstrip("/") + "/"
        self.hashtag = hashtag.lstrip("#")
        self.timeline = timeline
        self.max_pages = int(max_pages or 5)
        self.pages = 0
        self.meta = {"proxy": proxy} if proxy else {}

    def source_urls(self) -> list[str]:
        """Where this source's requests may go: the base URL's scheme, host and port (see spiders.middlewares)."""
        return [self.base_url]

    def _url(self, max_id: str | None = None) -> str:
        params = {"limit": PAGE_SIZE}
        if self.timeline == "local":
            params["local"] = "true"
        if max_id:
            params["max_id"] = max_id
        path = f"api/v1/timelines/tag/{quote(self.hashtag)}" if self.hashtag else "api/v1/timelines/public"
        return f"{self.base_url}{path}?{urlencode(params)}"

    async def start(self):
        for request in self.start_requests():
            yield request

    def start_requests(self):
        yield scrapy.Request(self._url(), callback=self.parse, errback=self.request_failed, meta=self.meta)

    def parse(self, response):
        self.pages += 1
        if response.status in (401, 403):
            self.logger.error("%s answered %s: this instance requires a login for its public timelines", response.url, response.status)
            self.crawler.stats.set_value("monitor/auth_required", response.status)
            return
        if response.status == 404:
            self.logger.error("%s answered 404: not a Mastodon API (wrong base_url?)", response.url)
            self.crawler.stats.set_value("monitor/not_found", 1)
            return
        try:
            statuses = json.loads(response.text)
        except (ValueError, AttributeError, RecursionError):  # RecursionError: a nesting bomb
            self.logger.error("%s did not answer JSON", response.url)
            self.crawler.stats.set_value("monitor/bad_answer", 1)
            return
        if not isinstance(statuses, list):
            self.crawler.stats.set_value("monitor/bad_answer", 1)
            return
        if not statuses:
            if self.pages == 1:
                self.logger.warning("%s: the timeline is empty", response.url)
                self.crawler.stats.set_value("monitor/empty_timeline", 1)
            return
        yield from with_evidence(parse_statuses(statuses, self.source), response)
        oldest = min((s.get("id") for s in statuses if isinstance(s, dict) and s.get("id")), key=_id_key, default=None)
        if oldest and self.pages < self.max_pages:
            yield scrapy.Request(self._url(oldest), callback=self.parse, errback=self.request_failed, meta=self.meta)


def _id_key(value) -> tuple[int, str]:
    text = str(value)
    return (len(text), text) if re.fullmatch(r"\d+", text) else (0, text)
