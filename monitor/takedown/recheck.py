"""Re-checking requested posts: is each one still online, removed, or unreachable?

A URL is fetched again (through its source's proxy; a .onion without one is
never looked up). 404 and 410 mean removed. A page that answers 200 counts
as removed only when the platform's own "does not exist" element says so
(a selector per platform in the registry, comments and scripts ignored) and
the post is gone from the page (no element carries its id, its text is not
shown): a seller writing "Post not found" into a live ad, or hiding it in a
comment, does not get the ad recorded as removed. A thread page that no
longer shows the post (by id or text) also counts as removed.

The fetch is held where the post is: redirects are followed only on the
URL's own scheme, host and port (a redirect elsewhere is recorded as
unreachable, not followed: a hostile site could otherwise send the checker
to another service of this machine), and without a proxy a name that
resolves to a loopback, private or link-local address is refused unless
the URL's host is itself such an address (a forum on the LAN, the tests).
The address is checked where the connection is made, so a name cannot
answer differently to the check and to the connection.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.client
import re
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from bs4 import BeautifulSoup
from bs4.element import PreformattedString

from spiders.middlewares import address_kind, is_local_host, origin, show_origin

from ..store import Database
from .registry import Registry, RemovedPage

MAX_BYTES = 5 * 1024 * 1024
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
INVISIBLE = ("script", "style", "template", "noscript", "textarea", "head")
ID_ATTRS = ("id", "name")
MIN_LINE = 16  # a line of the post this long found on the page means the post is still shown


class AddressRefused(OSError):
    """The URL's name resolves to an address a re-check must not reach."""


class OffsiteRedirect(Exception):
    def __init__(self, code: int, target):
        super().__init__(f"HTTP {code} redirect to {show_origin(target)}")
        self.code, self.target = code, target


# ------------------------------------------------------------------ fetching

def _guarded_connect(allow_local: bool, address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, *args, **kw):
    """`socket.create_connection`, refusing non-public addresses unless allowed, and connecting to the address checked."""
    host, port = address
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    if not allow_local:
        for *_, sockaddr in infos:
            kind = address_kind(sockaddr[0])
            if kind:
                raise AddressRefused(f"{host} resolves to {sockaddr[0]}, a {kind} address: refused")
    error: OSError | None = None
    for *_, sockaddr in infos:
        try:
            return socket.create_connection((sockaddr[0], sockaddr[1]), timeout, source_address)
        except OSError as exc:
            error = exc
    raise error or OSError(f"{host}: no address")


def _connection(cls, allow_local: bool, host, **kwargs):
    conn = cls(host, **kwargs)
    conn._create_connection = functools.partial(_guarded_connect, allow_local)
    return conn


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, allow_local: bool):
        super().__init__()
        self.allow_local = allow_local

    def http_open(self, req):
        return self.do_open(functools.partial(_connection, http.client.HTTPConnection, self.allow_local), req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, allow_local: bool):
        super().__init__()
        self.allow_local = allow_local

    def https_open(self, req):
        return self.do_open(functools.partial(_connection, http.client.HTTPSConnection, self.allow_local), req,
                            context=self._context)


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, allowed):
        self.allowed = allowed

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        target = origin(newurl)
        if target != self.allowed:
            fp.close()
            raise OffsiteRedirect(code, target)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(url_origin, proxy: str | None):
    redirects = _SameOriginRedirects(url_origin)
    if proxy:  # the proxy resolves and connects; nothing is looked up here
        return urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy, "https": proxy}), redirects)
    allow_local = is_local_host(url_origin[1])
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _GuardedHTTPHandler(allow_local),
                                       _GuardedHTTPSHandler(allow_local), redirects)


# ------------------------------------------------------------------ reading the page

def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def visible_page(body: str) -> BeautifulSoup:
    """The page without comments, scripts, styles and other text a reader is not shown."""
    soup = BeautifulSoup(body, "html.parser")
    for node in soup.find_all(string=lambda s: isinstance(s, PreformattedString)):
        node.extract()
    for el in soup.find_all(INVISIBLE):
        el.decompose()
    return soup


def removal_message(soup: BeautifulSoup, pages: list[RemovedPage]) -> tuple[RemovedPage, str] | None:
    """The first platform removal message found inside its own element, or None."""
    for page in pages:
        for el in soup.select(page.selector):
            shown = _norm(el.get_text(" "))
            for text in page.texts:
                if _norm(text) in shown:
                    return page, text
    return None


def post_shown(soup: BeautifulSoup, post_id: str | None, text: str | None) -> str | None:
    """How the page still shows the post (an element carrying its id, a line of its text), or None."""
    if post_id:
        wanted = re.compile(r"[A-Za-z_\-]*" + re.escape(post_id))
        for el in soup.find_all(True):
            for attr, value in el.attrs.items():
                if (attr in ID_ATTRS or attr.startswith("data-")) and isinstance(value, str) and wanted.fullmatch(value):
                    return f"an element with {attr}={value!r}"
    lines = [_norm(line) for line in (text or "").splitlines()]
    lines = [line for line in lines if len(line) >= MIN_LINE] or ([_norm(text)] if len(_norm(text or "")) >= 8 else [])
    if lines:
        page = _norm(soup.get_text(" "))
        for line in lines:
            if line in page:
                return "the post's text"
    return None


def check_url(url: str, proxy: str | None, removed_pages: list[RemovedPage], post_id: str | None = None,
              timeout: float = 20, text: str | None = None) -> tuple[str, str]:
    """('online' | 'removed' | 'unreachable', what was seen). `text` is the post's stored text, to see whether it is still shown."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "unreachable", f"not an http(s) URL: {parts.scheme or '?'}"
    url_origin = origin(url)
    if url_origin is None:
        return "unreachable", "not a valid http(s) URL"
    if url_origin[1].endswith(".onion") and not proxy:
        return "unreachable", ".onion needs the source's proxy; not looked up"
    request = urllib.request.Request(parts._replace(fragment="").geturl(), headers={"User-Agent": USER_AGENT})
    try:
        with _opener(url_origin, proxy).open(request, timeout=timeout) as response:
            body = response.read(MAX_BYTES).decode("utf-8", errors="replace")
            code = response.status
    except OffsiteRedirect as exc:
        return "unreachable", f"{exc}: another site, not followed"
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            return "removed", f"HTTP {exc.code}"
        return "unreachable", f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, AddressRefused):
            return "unreachable", str(exc.reason)
        return "unreachable", f"URLError: {exc.reason}"
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        return "unreachable", f"{type(exc).__name__}: {exc}"
    soup = visible_page(body)
    shown = post_shown(soup, post_id, text)
    found = removal_message(soup, removed_pages)
    if found:
        page, message = found
        if not shown:
            return "removed", f"HTTP {code}, {page.name} page says {message!r}"
        return "online", f"HTTP {code}; the page says {message!r} but still shows the post ({shown})"
    if post_id and parts.fragment and not shown:
        return "removed", f"HTTP {code}, the thread no longer shows post {post_id}"
    return "online", f"HTTP {code}"


def recheck(db: Database, registry: Registry, proxies: dict[str, str], batch_id: int | None = None,
            older_than_days: float | None = None, escalate_after_days: float = 7, timeout: float = 20) -> list[dict]:
    """Check every open request (of a batch, or requested more than N days ago); record and return the results."""
    now = dt.datetime.now(dt.timezone.utc)
    before = (now - dt.timedelta(days=older_than_days)).isoformat(timespec="seconds") if older_than_days else None
    results = []
    for item in db.items_to_recheck(batch_id, before):
        post = db.post(item["post_id"]) or {}
        state, detail = check_url(item["url"], proxies.get(item["source"]), registry.removal_pages(item["platform"]),
                                  item["site_post_id"], timeout, post.get("text"))
        if state == "online":
            age = now - dt.datetime.fromisoformat(item["requested_at"])
            state = "escalated" if age >= dt.timedelta(days=escalate_after_days) else "still_online"
        db.record_check(item["id"], item["flag_id"], state, detail)
        results.append({"item": item["id"], "batch": item["batch_id"], "platform": item["platform"], "url": item["url"],
                        "status": state, "detail": detail})
    return results
