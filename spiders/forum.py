"""Forum spider driven by an engine preset: index -> boards -> threads (paged) -> posts.

Parsing lives in plain functions over a response so it can be tested on
saved pages; the spider walks links. Only links on the base URL's scheme,
host and port that the preset's selectors point at are followed (redirects
and meta refreshes are held to the same by `middlewares.SourceGuardMiddleware`),
cleaned of session and sort parameters, so calendars and sort orders cannot
multiply a crawl; and `max_pages` bounds a run. Incremental: a thread whose
board row shows the same marker (replies, last post) as when it was last
read to the end is not fetched again, and a board page with nothing new ends
paging of that board.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

import scrapy

from .errors import ErrorCounterMixin
from .evidence import with_evidence
from .items import Post, ThreadComplete
from .middlewares import origin
from .presets import load_preset
from .session import LoginMixin, StateDir
from .text import extract


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def fix_encoding(response):
    """A page that declares a legacy charset but is valid UTF-8 is read as UTF-8."""
    if not hasattr(response, "text") or response.encoding.lower().replace("-", "") in ("utf8", "ascii"):
        return response
    try:
        response.body.decode("utf-8")
    except UnicodeDecodeError:
        return response
    if response.body.isascii():
        return response
    return response.replace(encoding="utf-8")


def _first_text(sel, css: str | None) -> str:
    if not css:
        return ""
    node = sel.css(css)
    if not node:
        return ""
    return " ".join(t.strip() for t in node[0].css("::text").getall() if t.strip())


def clean_url(url: str, drop_params: list[str] | tuple = ()) -> str:
    """`url` without the fragment and the query parameters a preset drops (session ids, sort orders)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in drop_params]
    return parts._replace(query=urlencode(query), fragment="").geturl()


def _clean_link(response, href: str, preset: dict | None) -> str | None:
    """An absolute http(s) link without the preset's dropped parameters, or None if it is to be skipped."""
    urls = preset.get("urls", {}) if preset else {}
    url = clean_url(response.urljoin(href.strip()), urls.get("drop_params", ()))
    if not url.startswith(("http://", "https://")) or any(s in url for s in urls.get("skip", ())):
        return None
    return url


def _text(el) -> str:
    return " ".join(" ".join(el.css("::text").getall()).split())


def links(response, css: str | None, preset: dict | None = None) -> list[str]:
    """Absolute, cleaned URLs of the `a` elements (or their `a` children) matching `css`."""
    if not css:
        return []
    out = []
    for node in response.css(css):
        href = node.attrib.get("href") or node.css("a::attr(href)").get()
        url = _clean_link(response, href, preset) if href else None
        if url and url not in out:
            out.append(url)
    return out


def board_rows(response, preset: dict) -> list[tuple[str, str]]:
    """(thread URL, marker) of every thread row on a board page; marker '' without row selectors."""
    b = preset["board"]
    if not b.get("rows"):
        return [(canonical_thread_url(url), "") for url in links(response, b["threads"], preset)]
    out = []
    for row in response.css(b["rows"]):
        hrefs = row.css(b["threads"]).xpath("@href").getall()
        url = _clean_link(response, hrefs[0], preset) if hrefs else None
        if not url:
            continue
        marker = ""
        if b.get("marker"):
            marker = " | ".join(_text(el) or el.attrib.get("datetime", "") for el in row.css(b["marker"]))
        out.append((canonical_thread_url(url), marker))
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
    title when it prints "Yesterday"; phpBB and XenForo an ISO datetime), the
    element's own first text (an "edited" note may follow it), then all its text.
    """
    if not t.get("date"):
        return "", None
    found = node.css(t["date"])
    if not found:
        return "", None
    el = found[0]
    candidates = []
    if t.get("date_attr"):
        candidates += [el.attrib[t["date_attr"]]] if t["date_attr"] in el.attrib else []
        candidates += el.css(f"[{t['date_attr']}]::attr({t['date_attr']})").getall()
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
        board = " ".join(" ".join(crumbs[-1].css("::text").getall()).split()) if crumbs else ""
    thread_url = canonical_thread_url(clean_url(response.url, preset["urls"].get("drop_params", ())))
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
        images = list(body.images)
        if t.get("attachments"):
            for url in extract(node.css(t["attachments"]).get() or "", response.url).images:
                if url not in images:
                    images.append(url)
        raw_date, posted_at = _post_date(node, t)
        posts.append(
            Post(
                source=source,
                kind="forum",
                post_id=post_id,
                url=f"{thread_url}#pid{post_id}" if post_id else response.url,
                page_url=response.url,
                thread_url=thread_url,
                thread_title=title,
                board=board,
                author=_first_text(node, t.get("author")),
                posted_at=posted_at,
                posted_raw=raw_date,
                text=body.text,
                quoted=body.quoted,
                images=images,
                fetched_at=fetched,
            )
        )
    return posts


def canonical_thread_url(url: str) -> str:
    """The thread URL without its page number, so every page of a thread shares it."""
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith(("page=", "start=")))
    path = re.sub(r"/page-\d+/?$", "/", parts.path)  # XenForo: /threads/x.10/page-2
    return parts._replace(path=path, query=query, fragment="").geturl()


class ForumSpider(ErrorCounterMixin, LoginMixin, scrapy.Spider):
    """Crawl a forum of a known engine.

    Example: scrapy crawl forum -a base_url=http://127.0.0.1:8000/forum/ -a engine=mybb -O posts.jsonl
    """

    name = "forum"

    def __init__(self, source: str = "forum", base_url: str = "", engine: str = "mybb", max_pages: str = "0",
                 selectors: str = "", proxy: str = "", state_dir: str = "", login: str = "", **kwargs):
        super().__init__(**kwargs)
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("forum spider needs -a base_url=http(s)://...")
        self.source = source
        self.base_url = base_url
        self.preset = load_preset(engine, json.loads(selectors) if selectors else None)
        self.max_pages = int(max_pages or 0)
        self.proxy = proxy or None
        self.origin = origin(base_url)
        self.pages_requested = 0
        self.state = StateDir(state_dir) if state_dir else None
        self.known = self.state.read_json("known_threads.json", {}) if self.state else {}
        self.login = json.loads(login) if login else None

    def request_meta(self) -> dict:
        return {**super().request_meta(), **({"proxy": self.proxy} if self.proxy else {})}

    def source_urls(self) -> list[str]:
        """Where this source's requests may go: the base URL's origin, and the configured login page's."""
        return [self.base_url, *([self.login["url"]] if self.login and self.login.get("url") else [])]

    async def start(self):
        for request in self.start_requests():
            yield request

    def start_requests(self):
        request = self._request(self.base_url, self.parse)
        if request is not None:
            cookies = self.saved_cookies()
            yield request.replace(cookies=cookies) if cookies else request

    def _request(self, url: str, callback, **meta):
        if origin(url) != self.origin:
            self.crawler.stats.inc_value("monitor/offsite_links_skipped")
            return None
        if self.max_pages and self.pages_requested >= self.max_pages:
            return None
        self.pages_requested += 1
        return scrapy.Request(url, callback=callback, errback=self.request_failed, meta={**meta, **self.request_meta()})

    def _follow(self, urls, callback, **meta):
        for url in urls:
            request = self._request(url, callback, **meta)
            if request is not None:
                yield request

    def parse(self, response):
        """Index page: follow boards; a base URL that is a board is read as one."""
        response = fix_encoding(response)
        if self.logged_out(response):
            yield from self.relogin(response)
            return
        boards = links(response, self.preset["index"].get("boards"), self.preset)
        yield from self._follow(boards, self.parse_board)
        if not boards:
            yield from self.parse_board(response)

    def parse_board(self, response):
        response = fix_encoding(response)
        if self.logged_out(response):
            yield from self.relogin(response)
            return
        rows = board_rows(response, self.preset)
        changed = 0
        for url, marker in rows:
            if marker and self.known.get(url) == marker:
                self.crawler.stats.inc_value("monitor/threads_unchanged")
                continue
            changed += 1
            yield from self._follow([url], self.parse_thread, marker=marker, post_keys=[])
        if rows and not changed:
            self.logger.info("nothing new on %s: not paging further", response.url)
            return
        yield from self._follow(links(response, self.preset["board"].get("next"), self.preset), self.parse_board)

    def parse_thread(self, response):
        response = fix_encoding(response)
        if self.logged_out(response):
            yield from self.relogin(response)
            return
        posts = parse_thread(response, self.preset, self.source)
        if posts and not response.meta.get("post_keys"):  # the thread's first page: its first post opens it
            posts[0]["opens_thread"] = True
        yield from with_evidence(posts, response)
        keys = response.meta.get("post_keys", []) + [p["post_id"] or p["url"] for p in posts]
        next_pages = links(response, self.preset["thread"].get("next"), self.preset)
        if next_pages:
            yield from self._follow(next_pages[:1], self.parse_thread, marker=response.meta.get("marker", ""), post_keys=keys)
        elif posts:
            yield ThreadComplete(source=self.source, thread_url=posts[0]["thread_url"],
                                 marker=response.meta.get("marker", ""), post_keys=keys)

    def closed(self, reason):
        self.save_cookies()
