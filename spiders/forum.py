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

from bs4 import BeautifulSoup

from .dates import UTC, parse_printed, zone_of
from .errors import ErrorCounterMixin
from .evidence import with_evidence
from .incremental import thread_state, unpack_known
from .items import Post, ThreadComplete
from .middlewares import origin
from .presets import load_preset
from .session import LoginMixin, StateDir
from .text import extract, safe_join


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


def clean_url(url: str, drop_params: list[str] | tuple = ()) -> str:
    """`url` without the fragment and the query parameters a preset drops (session ids, sort orders)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in drop_params]
    return parts._replace(query=urlencode(query), fragment="").geturl()


def _clean_link(response, href: str, preset: dict | None) -> str | None:
    """An absolute http(s) link without the preset's dropped parameters, or None if it is to be skipped."""
    urls = preset.get("urls", {}) if preset else {}
    try:
        url = clean_url(response.urljoin(href.strip()), urls.get("drop_params", ()))
    except ValueError:  # a link no URL parser reads (http://[::1/x): skipped, the page is still read
        return None
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


def _alternatives(css: str) -> list[str]:
    """A selector group split at its top-level commas: tried in order, not in document order."""
    parts, depth, current = [], 0, ""
    for ch in css:
        depth += ch in "(["
        depth -= ch in ")]"
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    return [p for p in parts + [current.strip()] if p]


def first_text(sel, css: str | None) -> str:
    """Text of the first element matched by the first alternative of `css` that matches anything.

    A quick-login box's header can come before the breadcrumb in the page;
    naming the breadcrumb first makes it win wherever it is.
    """
    for alternative in _alternatives(css or ""):
        node = sel.css(alternative)
        if node:
            text = _text(node[0])
            if text:
                return text
    return ""


def stable_text(el) -> str:
    """An element's text with dates read from their `datetime`/`title` attributes, not their printed form.

    MyBB prints "15 minutes ago" or "Today" with the absolute date in a
    title; a marker built from the printed form would change every crawl.
    """
    def walk(node) -> list[str]:
        if not isinstance(node.tag, str):  # comments, processing instructions
            return []
        for attr in ("datetime", "data-time", "title"):
            if node.get(attr):
                return [node.get(attr)]
        parts = [node.text or ""]
        for child in node:
            parts += walk(child)
            parts.append(child.tail or "")
        return parts

    return " ".join("".join(walk(el.root)).split())


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
            marker = " | ".join(stable_text(el) for el in row.css(b["marker"]))
        out.append((canonical_thread_url(url), marker))
    return out


MAX_POSTS_PER_PAGE = 500
"""Posts read from one page; engines show 10 to 50."""
MAX_NESTED_POSTS = 60
"""Posts inside posts read from one page (broken markup nests them; no engine shows more than 60 a page)."""

MAX_DATE_HTML = 20_000
"""Characters of a post's date element parsed: a date is short, a hostile page's element need not be."""


def post_date(node, t: dict, zone: dt.tzinfo = UTC, now: dt.datetime | None = None) -> tuple[str, str | None]:
    """The post's date as printed, and in UTC when it can be read.

    Only the post's own date counts: the parts the preset names in
    `date_drop` (an "edited" note with its own dated title) are removed
    first. Tried in order: the element's `date_attr` (phpBB 3.3 and XenForo
    give ISO with an offset), the first inner element's `date_attr` followed by
    the text after it (MyBB: `<span title="12-06-2026">Today</span>, 10:15 AM`),
    then the element's text (phpBB 3.2 prints "by admin » Mon Jan 02, 2017 3:04 pm").
    """
    if not t.get("date"):
        return "", None
    found = node.css(t["date"])
    if not found:
        return "", None
    root = BeautifulSoup(found[0].get()[:MAX_DATE_HTML], "html.parser").find()
    if root is None:
        return "", None
    for css in t.get("date_drop", ()):
        for el in root.select(css):
            el.decompose()
    attr = t.get("date_attr")
    candidates = []
    if attr and root.get(attr):
        candidates.append(root[attr])
    inner = root.find(attrs={attr: True}) if attr else None
    if inner is not None:
        after = "".join(s for s in inner.next_siblings if isinstance(s, str)) if inner.parent is root else ""
        candidates += [inner[attr] + after.rstrip(), inner[attr]]
    printed = " ".join(root.get_text(" ").split())
    candidates.append(printed)
    for raw in candidates:
        parsed = parse_printed(raw, t.get("date_formats", []), zone, now)
        if parsed:
            return " ".join(raw.split()), parsed
    return printed, None


def permalink(node, response, t: dict, thread_url: str, post_id: str | None, drop_params=()) -> str:
    """The post's own link as the engine writes it (opens the right page), else the preset's `post_url`, else the page."""
    if t.get("permalink"):
        for alternative in _alternatives(t["permalink"]):
            href = node.css(alternative).xpath("@href").get()
            if href:
                try:
                    url = response.urljoin(href.strip())
                    parts = urlsplit(url)
                except ValueError:
                    continue
                if url.startswith(("http://", "https://")) and parts.hostname:
                    fragment = parts.fragment  # the anchor opens the post: kept, unlike in page links
                    url = clean_url(url, drop_params)
                    return f"{url}#{fragment}" if fragment else url
    if post_id and t.get("post_url"):
        m = re.search(t.get("thread_id_pattern", r"$^"), thread_url)
        if m or "{thread}" not in t["post_url"]:
            url = safe_join(response.url, t["post_url"].format(post=post_id, thread=m.group(1) if m else ""))
            if url:
                return url
    return f"{thread_url}#post-{post_id}" if post_id else response.url


def parse_thread(response, preset: dict, source: str, zone: dt.tzinfo = UTC) -> list[Post]:
    """Every post on one thread page, as `Post` items."""
    t = preset["thread"]
    title = first_text(response, t.get("title")) or (response.css("title::text").get() or "").strip()
    board = ""
    if t.get("board"):
        crumbs = [text for text in (_text(el) for el in response.css(t["board"])) if text]
        board = crumbs[-1] if crumbs else ""
    thread_url = canonical_thread_url(clean_url(response.url, preset["urls"].get("drop_params", ())))
    fetched = now_iso()
    now = dt.datetime.now(UTC)
    posts = []
    drop = tuple(t.get("drop", ()))
    nodes = response.css(t["posts"])
    inside = {id(el.root) for el in nodes}
    for node in nodes[:MAX_POSTS_PER_PAGE]:
        # Broken markup (unclosed tags) nests each post in the one before, and each is still a post; a page
        # nesting them deeper than any real page has posts is hostile, and would cost a parse per level.
        if sum(1 for parent in node.root.iterancestors() if id(parent) in inside) > MAX_NESTED_POSTS:
            continue
        if t.get("not_posts") and node.css(t["not_posts"]):
            continue
        post_id = None
        if t.get("post_id"):
            value = node.attrib.get(t["post_id"], "")
            m = re.search(t.get("post_id_pattern", r"(.+)"), value)
            post_id = m.group(1) if m else None
        body = extract(node.css(t["body"]).get() or "", response.url, drop=drop, quote=t.get("quote"),
                       quote_drop=tuple(t.get("quote_drop", ())))
        drop_params = preset["urls"].get("drop_params", ())
        images = list(dict.fromkeys(clean_url(url, drop_params) for url in body.images))  # no session id in what is fetched later
        if t.get("attachments"):
            for url in extract(node.css(t["attachments"]).get() or "", response.url).images:
                url = clean_url(url, drop_params)
                if url not in images:
                    images.append(url)
        raw_date, posted_at = post_date(node, t, zone, now)
        posts.append(
            Post(
                source=source,
                kind="forum",
                post_id=post_id,
                url=permalink(node, response, t, thread_url, post_id, preset["urls"].get("drop_params", ())),
                page_url=response.url,
                thread_url=thread_url,
                thread_title=title,
                board=board,
                author=first_text(node, t.get("author")),
                posted_at=posted_at,
                posted_raw=raw_date,
                text=body.text,
                quoted=body.quoted,
                images=images,
                fetched_at=fetched,
            )
        )
    return posts


_PAGE_SUFFIX = re.compile(r"/page-\d+/?$|-page-\d+(?=\.html$)")


def canonical_thread_url(url: str) -> str:
    """The thread URL without its page number, so every page of a thread shares it.

    Query forms (`page=`, `start=`), XenForo's `/threads/x.10/page-2` and
    MyBB's SEO-friendly `thread-10-page-2.html` all lose the page.
    """
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith(("page=", "start=")))
    query = _PAGE_SUFFIX.sub(lambda m: "/" if m.group(0).startswith("/") else "", query)  # index.php?threads/x.1/page-2
    path = _PAGE_SUFFIX.sub(lambda m: "/" if m.group(0).startswith("/") else "", parts.path)
    return parts._replace(path=path, query=query, fragment="").geturl()


class ForumSpider(ErrorCounterMixin, LoginMixin, scrapy.Spider):
    """Crawl a forum of a known engine.

    Example: scrapy crawl forum -a base_url=http://127.0.0.1:8000/forum/ -a engine=mybb -O posts.jsonl

    Threads are skipped or read again as `spiders.incremental` decides.
    """

    name = "forum"

    def __init__(self, source: str = "forum", base_url: str = "", engine: str = "mybb", max_pages: str = "0",
                 selectors: str = "", proxy: str = "", state_dir: str = "", login: str = "", timezone: str = "",
                 recheck_days: str = "7", recheck_hours: str = "24", known_threads: str = "", **kwargs):
        super().__init__(**kwargs)
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("forum spider needs -a base_url=http(s)://...")
        self.source = source
        self.base_url = base_url
        self.preset = load_preset(engine, json.loads(selectors) if selectors else None)
        self.zone = zone_of(timezone or self.preset["thread"].get("timezone", "UTC"))
        self.max_pages = int(max_pages or 0)
        self.proxy = proxy or None
        self.origin = origin(base_url)
        self.pages_requested = 0
        self.requested: set[str] = set()
        self.state = StateDir(state_dir) if state_dir else None
        # On a Scrapyd node the threads already read come with the job; locally, from the state folder.
        self.known = unpack_known(known_threads) if known_threads else (self.state.read_json("known_threads.json", {}) if self.state else {})
        self.recheck_days = float(recheck_days or 0)
        self.recheck_hours = float(recheck_hours or 0)
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
        if url in self.requested:  # sub-forum lists and page links repeat on every page
            return None
        if self.max_pages and self.pages_requested >= self.max_pages:
            self.crawler.stats.inc_value("monitor/max_pages_reached")
            return None
        self.requested.add(url)
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
        """A board page: its sub-forums, its changed threads, and its next page while it has changed threads."""
        response = fix_encoding(response)
        if self.logged_out(response):
            yield from self.relogin(response)
            return
        yield from self._follow(links(response, self.preset["index"].get("boards"), self.preset), self.parse_board)
        rows = board_rows(response, self.preset)
        changed = 0
        for url, marker in rows:
            state = thread_state(self.known.get(url), marker, self.recheck_days, self.recheck_hours)
            if state == "unchanged":
                self.crawler.stats.inc_value("monitor/threads_unchanged")
                continue
            if state == "recheck":
                self.crawler.stats.inc_value("monitor/threads_rechecked")
            else:
                changed += 1
            yield from self._follow([url], self.parse_thread, marker=marker, post_keys=[])
        if rows and not changed:
            self.logger.info("nothing new on %s: not paging further", response.url)
            return
        yield from self._follow(links(response, self.preset["board"].get("next"), self.preset), self.parse_board,
                                monitor_paging=True)

    def parse_thread(self, response):
        response = fix_encoding(response)
        if self.logged_out(response):
            yield from self.relogin(response)
            return
        posts = parse_thread(response, self.preset, self.source, self.zone)
        if not posts:  # a thread page without a post: the theme no longer matches the preset (the run says so)
            self.crawler.stats.inc_value("monitor/thread_pages_empty")
        if posts and not response.meta.get("post_keys"):  # the thread's first page: its first post opens it
            posts[0]["opens_thread"] = True
        yield from with_evidence(posts, response)
        keys = response.meta.get("post_keys", []) + [p["post_id"] or p["url"] for p in posts]
        next_pages = links(response, self.preset["thread"].get("next"), self.preset)
        if next_pages:
            yield from self._follow(next_pages[:1], self.parse_thread, marker=response.meta.get("marker", ""), post_keys=keys,
                                    monitor_paging=True)
        elif posts:
            yield ThreadComplete(source=self.source, thread_url=posts[0]["thread_url"],
                                 marker=response.meta.get("marker", ""), post_keys=keys)

    def closed(self, reason):
        self.save_cookies()

