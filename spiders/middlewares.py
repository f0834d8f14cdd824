"""Downloader middleware that keeps `.onion` traffic inside Tor.

A request for a `.onion` host without a proxy is dropped before it reaches
the downloader, so the name is never handed to a DNS resolver (which would
leak it to the local network and fail anyway). With a proxy (an HTTP proxy
such as privoxy forwarding to Tor's SOCKS port), the proxy resolves it.
"""

import logging
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest


logger = logging.getLogger(__name__)


class OnionGuardMiddleware:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_request(self, request, spider=None):
        host = (urlsplit(request.url).hostname or "").lower()
        if host.endswith(".onion") and not request.meta.get("proxy"):
            self.stats.inc_value("monitor/onion_without_proxy")
            logger.error("dropped %s: .onion needs a proxy (set proxy in the source's configuration)", request.url)
            raise IgnoreRequest(f"{request.url}: .onion request without a proxy")
        return None
