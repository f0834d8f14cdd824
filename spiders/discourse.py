"""Discourse spider over the forum's own JSON API.

Discourse renders its pages with JavaScript; the same data is public as
JSON: `/categories.json` (names), `/latest.json` or `/c/{slug}/{id}.json`
(topic lists, older topics through `more_topics_url`), `/t/{id}.json` (a
topic with its first posts and the ids of all of them) and
`/t/{id}.json?page=N` (the next posts, `chunk_size` at a time). Topics are
read incrementally like forum threads: the list's `posts_count` and
`last_posted_at` are the marker (`spiders.incremental`).
"""

from __future__ import annotations

import json
import math
import re
from urllib.parse import urlsplit

import scrapy

from .dates import iso_to_utc
from .errors import ErrorCounterMixin
from .evidence import with_evidence
from .forum import now_iso
from .incremental import thread_state, unpack_known
from .items import Post, ThreadComplete
from .middlewares import origin
from .session import StateDir
from .text import extract

MAX_TOPIC_PAGES = 500  # 10,000 posts at Discourse's 20 a page: a bound for hostile post counts
QUOTE = "aside.quote blockquote"
SYSTEM_POST_TYPES = (2, 3)  # moderator actions and small actions ("closed", "pinned", "split")
DROP = ("aside.quote",)


def _json(response) -> dict | None:
    try:
        data = json.loads(response.text)
    except (ValueError, AttributeError, RecursionError):  # RecursionError: a nesting bomb
        return None
    return data if isinstance(data, dict) else None


def topic_rows(data: dict) -> list[dict]:
    """The topics of a topic list answer, each a dict with at least an integer `id`."""
    topics = ((data.get("topic_list") or {}).get("topics")) if isinstance(data.get("topic_list"), dict) else None
    return [t for t in topics if isinstance(t, dict) and _is_int(t.get("id"))] if isinstance(topics, list) else []


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def topic_marker(topic: dict) -> str:
    """What changes when a topic gets a post: its post count and last post time (never its views)."""
    return f"{topic.get('posts_count', '')}|{topic.get('last_posted_at') or topic.get('bumped_at') or ''}"


def json_url(base_url: str, path: str) -> str:
    """`/latest?page=1` -> BASE/latest.json?page=1 (Discourse gives list pages without the .json)."""
    parts = urlsplit(path)
    route = parts.path if parts.path.endswith(".json") else parts.path.rstrip("/") + ".json"
    return base_url + route.lstrip("/") + (f"?{parts.query}" if parts.query else "")


def topic_url(base_url: str, slug, topic_id: int) -> str:
    """The topic's address as Discourse writes it, `BASE/t/{slug}/{id}`; the slug cleaned of anything but word characters."""
    clean = re.sub(r"[^\w-]", "", str(slug or "")) or "topic"
    return f"{base_url}t/{clean}/{topic_id}"


def parse_topic_posts(data: dict, base_url: str, source: str, categories: dict[int, str]) -> list[Post]:
    """The posts of a `/t/{id}.json` answer (first or later page), as `Post` items."""
    title = str(data.get("title") or data.get("fancy_title") or "")
    thread_url = topic_url(base_url, data.get("slug"), data.get("id"))
    category = data.get("category_id")
    board = categories.get(category, "") if isinstance(category, int) else ""
    stream = data.get("post_stream") if isinstance(data.get("post_stream"), dict) else {}
    listed = stream.get("posts") if isinstance(stream.get("posts"), list) else []
    fetched = now_iso()
    posts = []
    for post in listed:
        if not isinstance(post, dict) or not _is_int(post.get("id")) or post.get("deleted_at"):
            continue
        if post.get("post_type") in SYSTEM_POST_TYPES:  # "This topic is now pinned": the forum talking, not a member
            continue
        number = post.get("post_number")
        url = f"{thread_url}/{number}" if isinstance(number, int) else thread_url
        body = extract(post["cooked"] if isinstance(post.get("cooked"), str) else "", url, drop=DROP, quote=QUOTE)
        created = post["created_at"] if isinstance(post.get("created_at"), str) else ""
        posts.append(Post(
            source=source,
            kind="discourse",
            post_id=str(post["id"]),
            url=url,
            page_url=url,
            thread_url=thread_url,
            thread_title=title,
            board=board,
            author=next((v for v in (post.get("username"), post.get("name")) if isinstance(v, str) and v), ""),
            posted_at=iso_to_utc(created),
            posted_raw=created,
            text=body.text,
            quoted=body.quoted,
            images=body.images,
            views=post.get("reads") if isinstance(post.get("reads"), int) else None,
            fetched_at=fetched,
            opens_thread=number == 1,
        ))
    return posts


class DiscourseSpider(ErrorCounterMixin, scrapy.Spider):
    """Crawl a Discourse forum's latest topics, or the categories given.

    Example: scrapy crawl discourse -a base_url=https://forum.example/ -a categories=marketplace/5 -O posts.jsonl
    """

    name = "discourse"
    handle_httpstatus_list = [403, 404]

    def __init__(self, source: str = "discourse", base_url: str = "", categories: str = "", max_pages: str = "0",
                 proxy: str = "", state_dir: str = "", recheck_days: str = "7", recheck_hours: str = "24", known_threads: str = "", **kwargs):
        super().__init__(**kwargs)
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("discourse spider needs -a base_url=http(s)://...")
        self.source = source
        self.base_url = base_url.rstrip("/") + "/"
        self.categories_wanted = [c.strip().strip("/") for c in (json.loads(categories) if categories.startswith("[") else categories.split(","))
                                  if c.strip()]
        self.max_pages = int(max_pages or 0)
        self.meta = {"proxy": proxy} if proxy else {}
        self.origin = origin(self.base_url)
        self.requested: set[str] = set()
        self.state = StateDir(state_dir) if state_dir else None
        # On a Scrapyd node the threads already read come with the job; locally, from the state folder.
        self.known = unpack_known(known_threads) if known_threads else (self.state.read_json("known_threads.json", {}) if self.state else {})
        self.recheck_days = float(recheck_days or 0)
        self.recheck_hours = float(recheck_hours or 0)
        self.category_names: dict[int, str] = {}

    def source_urls(self) -> list[str]:
        return [self.base_url]

    def _request(self, url: str, callback, **meta):
        if origin(url) != self.origin:
            self.crawler.stats.inc_value("monitor/offsite_links_skipped")
            return None
        if url in self.requested:
            return None
        if self.max_pages and len(self.requested) >= self.max_pages:
            self.crawler.stats.inc_value("monitor/max_pages_reached")
            return None
        self.requested.add(url)
        return scrapy.Request(url, callback=callback, errback=self.request_failed, meta={**meta, **self.meta})

    async def start(self):
        request = self._request(f"{self.base_url}categories.json", self.parse_categories)
        if request is not None:
            yield request

    def _answer(self, response) -> dict | None:
        """The JSON object of an answer; None (and the run told why) for a refusal or anything else."""
        if response.status == 403:
            self.logger.error("%s answered 403: this forum requires a login", response.url)
            self.crawler.stats.set_value("monitor/auth_required", 403)
            return None
        if response.status == 404:
            self.logger.error("%s answered 404", response.url)
            self.crawler.stats.inc_value("monitor/not_found")
            return None
        data = _json(response)
        if data is None:
            self.logger.error("%s did not answer a JSON object: not a Discourse API (wrong base_url?)", response.url)
            self.crawler.stats.set_value("monitor/bad_answer", 1)
        return data

    def parse_categories(self, response):
        data = self._answer(response)
        if data is not None:
            for category in ((data.get("category_list") or {}).get("categories") or []):
                if isinstance(category, dict) and isinstance(category.get("id"), int):
                    self.category_names[category["id"]] = str(category.get("name") or "")
        lists = [f"c/{c}.json" for c in self.categories_wanted] or ["latest.json"]
        for path in lists:
            request = self._request(self.base_url + path, self.parse_list)
            if request is not None:
                yield request

    def parse_list(self, response):
        data = self._answer(response)
        if data is None:
            return
        changed = 0
        for topic in topic_rows(data):
            thread_url = topic_url(self.base_url, topic.get("slug"), topic["id"])
            state = thread_state(self.known.get(thread_url), topic_marker(topic), self.recheck_days, self.recheck_hours)
            if state == "unchanged":
                self.crawler.stats.inc_value("monitor/threads_unchanged")
                continue
            if state == "recheck":
                self.crawler.stats.inc_value("monitor/threads_rechecked")
            else:
                changed += 1
            request = self._request(f"{self.base_url}t/{topic['id']}.json", self.parse_topic,
                                    marker=topic_marker(topic), post_keys=[], topic_page=1)
            if request is not None:
                yield request
        more = (data.get("topic_list") or {}).get("more_topics_url")
        if topic_rows(data) and not changed:
            self.logger.info("nothing new on %s: not paging further", response.url)
        elif isinstance(more, str) and more:
            request = self._request(json_url(self.base_url, more), self.parse_list, monitor_paging=True)
            if request is not None:
                yield request

    def parse_topic(self, response):
        data = self._answer(response)
        if data is None or not _is_int(data.get("id")):
            return
        posts = parse_topic_posts(data, self.base_url, self.source, self.category_names)
        yield from with_evidence(posts, response)
        keys = response.meta.get("post_keys", []) + [p["post_id"] for p in posts]
        page = response.meta.get("topic_page", 1)
        stream = data["post_stream"].get("stream") if isinstance(data.get("post_stream"), dict) else None
        chunk = data.get("chunk_size") if isinstance(data.get("chunk_size"), int) and data["chunk_size"] > 0 else 20
        if isinstance(stream, list):  # the first page lists every post id: that says how many pages there are
            response.meta["topic_pages"] = min(math.ceil(len(stream) / chunk), MAX_TOPIC_PAGES)
        pages = response.meta.get("topic_pages", 1)
        if page < pages and posts:
            request = self._request(f"{self.base_url}t/{data['id']}.json?page={page + 1}", self.parse_topic,
                                    marker=response.meta.get("marker", ""), post_keys=keys, topic_page=page + 1,
                                    topic_pages=pages, monitor_paging=True)
            if request is not None:
                yield request
        elif posts or keys:
            yield ThreadComplete(source=self.source, thread_url=topic_url(self.base_url, data.get("slug"), data["id"]),
                                 marker=response.meta.get("marker", ""), post_keys=keys)
