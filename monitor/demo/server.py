"""A local HTTP server for a DemoSite, on 127.0.0.1 and a free port, in a background thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .site import DemoSite


def _handler_for(site: DemoSite):
    class Handler(BaseHTTPRequestHandler):
        server_version = "DemoSite/1"

        def do_GET(self):
            parts = urlsplit(self.path)
            status, ctype, body = site.render(parts.path, parts.query)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_HEAD = do_GET

        def log_message(self, *args):  # quiet: the crawl log records requests
            pass

    return Handler


class DemoServer:
    """`with DemoServer() as server: server.url` serves the site until the block ends."""

    def __init__(self, site: DemoSite | None = None, host: str = "127.0.0.1", port: int = 0):
        self.site = site or DemoSite()
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self.site))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="demo-site", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "DemoServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
