"""Serving saved sites and misbehaving pages on 127.0.0.1 for crawl tests.

A saved site is a folder with `routes.toml` ("/path?query" = "file.html", and
an `[expect]` table of post keys and labels) and the page files; `origin`
names where the pages were rendered (links written absolute to it are served
pointing at the test server), `content_type` what they are when not HTML,
`[rewrite]` regular expressions that undo a mirroring tool's renaming of links. Extra
handlers can be added per path for faults: slow answers, 500s, redirect
loops, huge or gzip-bomb bodies, a wrong declared charset, logins.
"""

from __future__ import annotations

import gzip
import re
import threading
import time
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

SITES = Path(__file__).parent / "sites"


def route_key(path: str, query: str) -> str:
    """Routes are matched on the path and the sorted query, so parameter order does not matter."""
    q = urlencode(sorted(parse_qsl(query, keep_blank_values=True)))
    return f"{path}?{q}" if q else path


class SavedSite:
    def __init__(self, name: str):
        self.folder = SITES / name
        data = tomllib.loads((self.folder / "routes.toml").read_text(encoding="utf-8"))
        self.routes = {}
        for key, file in data["routes"].items():
            parts = urlsplit(key)
            self.routes[route_key(parts.path, parts.query)] = file
        self.expect = data.get("expect", {})
        self.charset = data.get("charset", "utf-8")
        self.content_type = data.get("content_type", f"text/html; charset={self.charset}")
        self.origin = data.get("origin", "")  # where the pages were rendered; rewritten to the test server's
        # regex -> replacement, applied in order: undoes what a mirroring tool did to a real page's links
        self.rewrite = [(re.compile(k.encode()), v.encode()) for k, v in data.get("rewrite", {}).items()]

    def page(self, path: str, query: str, served_at: str = "") -> bytes | None:
        file = self.routes.get(route_key(path, query))
        if not file:
            return None
        body = (self.folder / file).read_bytes()
        for pattern, replacement in self.rewrite:
            body = pattern.sub(replacement, body)
        if self.origin and served_at:
            body = body.replace(self.origin.encode(), served_at.encode())
            body = body.replace(self.origin.replace("/", "\\/").encode(), served_at.replace("/", "\\/").encode())  # JSON-escaped
        return body


class SiteServer:
    """`with SiteServer(SavedSite("phpbb")) as srv: srv.url`.

    `srv.handlers["/path?q=1"]` answers that exact request before the saved site;
    `srv.handlers["/path"]` answers requests of that path the saved site does not have.
    """

    def __init__(self, site: SavedSite | None = None):
        self.site = site
        self.handlers: dict[str, callable] = {}
        self.fallback = None  # fn(handler) for every request nothing else answers
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                server.requests.append(self.path)
                parts = urlsplit(self.path)
                custom = server.handlers.get(route_key(parts.path, parts.query))
                if custom is not None:
                    return custom(self)
                body = server.site.page(parts.path, parts.query, server.url) if server.site else None
                if body is None and parts.path in server.handlers:
                    return server.handlers[parts.path](self)
                if body is None and server.fallback is not None:
                    return server.fallback(self)
                if body is None:
                    return send(self, 404, b"<html><body><h1>Not found</h1></body></html>")
                send(self, 200, body, server.site.content_type)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def send(handler, status: int, body: bytes, ctype: str = "text/html; charset=utf-8", headers: dict | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(body)


# ------------------------------------------------------------------ faults

def slow(seconds: float):
    def handle(h):
        time.sleep(seconds)
        send(h, 200, b"<html><body>late</body></html>")
    return handle


def status(code: int):
    return lambda h: send(h, code, b"<html><body>error</body></html>")


def redirect_loop(h):
    """Redirects forever, each time to a new URL (a plain self-redirect is absorbed by the duplicate filter)."""
    parts = urlsplit(h.path)
    hop = int(dict(parse_qsl(parts.query)).get("hop", 0)) + 1
    send(h, 302, b"", headers={"Location": f"{parts.path}?{urlencode({**dict(parse_qsl(parts.query)), 'hop': hop})}"})


def huge(megabytes: int):
    body = b"<html><body><div class='post'>" + b"x" * (megabytes * 1024 * 1024) + b"</div></body></html>"
    return lambda h: send(h, 200, body)


def gzip_bomb(megabytes: int):
    body = gzip.compress(b"<html><body>" + b"\0" * (megabytes * 1024 * 1024), compresslevel=9)
    return lambda h: send(h, 200, body, headers={"Content-Encoding": "gzip"})
