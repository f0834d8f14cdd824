"""Forum spider driven by an engine preset: index -> boards -> threads (paged) -> posts.

Parsing lives in plain functions over a response so it can be tested on
saved pages; the spider only walks links. Only links on the base URL's host
are followed, and `max_pages` bounds a run.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import scrapy

from .items import Post
from .presets import load_preset
from .text import extract


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _first_text(sel, css: str | None) -> str:
    if not css:
        return ""
    node = sel.css(css)
    if not node:
        return ""
    return " ".join(t.strip() for t in node[0].css("::text").getall() if t.strip())


def links(response, css: str | None) -> list[str]:
    """Absolute URLs of the `a` elements (or their `a` children) matching `css`."""
    if not css:
        return []
    out = []
    for node in response.css(css):
        href = node.attrib.get("href") or node.css("a::attr(href)").get()
        if href:
            url = response.urljoin(href.strip())
            if url.startswith(("http://", "https://")) and url not in out:
                out.append(url)
    return out


def parse_date(raw: str, formats: list[str]) -> str | None:
    raw = " ".join(raw.split())
    for fmt in formats:
        try:
            return dt.datetime.strptime(raw, fmt).isoformat()
        except ValueError:
            continue
    try:
        return dt.datetime.fromisoformat(raw).isoformat()
    except ValueError:
        return None


def _post_date(node, t: dict) -> tuple[str, str | None]:
    """The post's date as printed, and as ISO 8601 when one of the preset's formats reads it.

    Tried in order: the preset's attribute (MyBB puts the real date in a
    title when it prints "Yesterday"), the element's own first text (an
    "edited" note may follow it), then all its text.
    """
    if not t.get("date"):
        return "", None
    found = node.css(t["date"])
    if not found:
        return "", None
    el = found[0]
    candidates = []
    if t.get("date_attr"):
        candidates += [v for v in el.css(f"[{t['date_attr']}]::attr({t['date_attr']})").getall()]
    candidates += [s.strip(" ,") for s in el.xpath("./text()").getall() if s.strip(" ,")][:1]
    candidates.append(" ".join(s.strip() for s in el.css("::text").getall() if s.strip()))
    for raw in candidates:
        parsed = parse_date(raw, t.get("date_formats", []))
        if parsed:
            return raw, parsed
    return candidates[-1], None


def parse_thread(response, preset: dict, source: str) -> list[Post]:
    """Every post on one thread page, as `Post` items."""
    t = preset["thread"]
    title = _first_text(response, t.get("title")) or (response.css("title::text").get() or "").strip()
    board = ""
    if t.get("board"):
        crumbs = response.css(t["board"])
        board = " ".join(crumbs[-1].css("::text").getall()).strip() if crumbs else ""
    thread_url = canonical_thread_url(response.url)
    fetched = now_iso()
    posts = []
    drop = tuple(t.get("drop", ()))
    for node in response.css(t["posts"]):
        post_id = None
        if t.get("post_id"):
            value = node.attrib.get(t["post_id"], "")
            m = re.search(t.get("post_id_pattern", r"(.+)"), value)
            post_id = m.group(1) if m else None
        body = extract(node.css(t["body"]).get() or "", response.url, drop=drop, quote=t.get("quote"))
        raw_date, posted_at = _post_date(node, t)
        url = f"{thread_url}#pid{post_id}" if post_id else None
        posts.append(
            Post(
                source=source,
                kind="forum",
                post_id=post_id,
                url=url or response.url,
                page_url=response.url,
                thread_url=thread_url,
                thread_title=title,
                board=board,
                author=_first_text(node, t.get("author")),
                posted_at=posted_at,
                posted_raw=raw_date,
                text=body.text,
                quoted=body.quoted,
                images=body.images,
                fetched_at=fetched,
            )
        )
    return posts


def canonical_thread_url(url: str) -> str:
    """The thread URL without its page number, so every page of a thread shares it."""
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("page="))
    return parts._replace(query=query, fragment="").geturl()


class ForumSpider(scrapy.Spider):
    """Crawl a forum of a known engine.

    Example: scrapy crawl forum -a source=demo -a base_url=http://127.0.0.1:8000/forum/ -a engine=mybb
    """

    name = "forum"

    def __init__(self, source: str = "forum", base_url: str = "", engine: str = "mybb", max_pages: str = "0", **kwargs):
        super().__init__(**kwargs)
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("forum spider needs -a base_url=http(s)://...")
        self.source = source
        self.base_url = base_url
        self.preset = load_preset(engine)
        self.max_pages = int(max_pages or 0)
        self.host = urlsplit(base_url).hostname
        self.pages_requested = 0

    async def start(self):
        for request in self.start_requests():
            yield request

    def start_requests(self):
        yield self._request(self.base_url, self.parse)

    def _request(self, url: str, callback, **meta):
        if urlsplit(url).hostname != self.host:
            return None
        if self.max_pages and self.pages_requested >= self.max_pages:
            return None
        self.pages_requested += 1
        return scrapy.Request(url, callback=callback, meta=meta)

    def _follow(self, urls, callback, **meta):
        for url in urls:
            request = self._request(url, callback, **meta)
            if request is not None:
                yield request

    def parse(self, response):
        """Index page: follow boards; a base URL that is a board is read as one."""
        boards = links(response, self.preset["index"].get("boards"))
        yield from self._follow(boards, self.parse_board)
        if not boards:
            yield from self.parse_board(response)

    def parse_board(self, response):
        yield from self._follow(links(response, self.preset["board"].get("threads")), self.parse_thread)
        yield from self._follow(links(response, self.preset["board"].get("next")), self.parse_board)

    def parse_thread(self, response):
        yield from parse_thread(response, self.preset, self.source)
        yield from self._follow(links(response, self.preset["thread"].get("next")), self.parse_thread)
