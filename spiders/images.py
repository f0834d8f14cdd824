"""Image spider: fetches the images that a source's posts showed, each URL once, as bytes.

A seller's photos often hold more proof than the words do: a row of e-KTP cards, a spreadsheet, a
payment receipt. Those URLs are what a hostile page chose to write, so this spider does not trust
them. Only the source's own origin and the image hosts configured for it are fetched. The source
guard holds redirects to the same origins and refuses private addresses, so a post cannot use
`http://127.0.0.1:8080/admin` as an "image" to read a local service. A `.onion` URL is never sent
without a proxy. Every body is capped in size, and nothing in it is parsed, followed or decoded:
`monitor` checks the bytes itself, where a decoder bomb costs one image and not the crawl. Every
URL ends as one item: an `ImageCapture` with the bytes, or an `ImageFailed` with a short reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx_error
from twisted.web.client import ResponseNeverReceived

from .evidence import kept_headers
from .items import ImageCapture, ImageFailed
from .middlewares import PrivateAddressError, RequestRefused, origin, show_origin

MAX_IMAGE_MB = 20
"""Largest image fetched unless the source asks for less (MiB, like the sources' `max_response_mb`)."""
MAX_URL_CHARS = 8192
KEPT_HEADERS = ("content-type", "content-length", "last-modified", "etag", "date", "server")
MAX_DETAIL = 200


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def _causes(exc: BaseException | None, depth: int = 0) -> list[BaseException]:
    """The exception, the ones it was raised from (Scrapy wraps Twisted's errors in its own) and the
    reasons Twisted gives inside a `ResponseFailed` (a connection lost, a timeout)."""
    if exc is None or depth > 8:
        return []
    found = [exc]
    for reason in getattr(exc, "reasons", None) or []:
        found += _causes(getattr(reason, "value", reason), depth + 1)
    return found + _causes(exc.__cause__, depth + 1)


_EXCEPTIONS = [  # checked in order on the exception and its causes; the most specific first
    ((PrivateAddressError,), "private_address_refused"),
    ((DownloadTimeoutError, tx_error.TimeoutError, tx_error.TCPTimedOutError), "timeout"),
    ((DownloadCancelledError,), "too_large"),  # HTTP/1.1 downloads are cancelled only past the size cap
    ((DownloadConnectionRefusedError, tx_error.ConnectionRefusedError, tx_error.ConnectError), "connection_refused"),
    ((CannotResolveHostError, tx_error.DNSLookupError), "dns_lookup_failed"),
    ((ResponseDataLossError,), "data_loss"),
    ((ResponseNeverReceived,), "no_response"),
    ((tx_error.ConnectionLost, tx_error.ConnectionDone), "connection_lost"),
]


def failure_reason(failure, request) -> tuple[str, str]:
    """(short code, human detail) for a failed image request (`request`: the one that failed, maybe a redirect)."""
    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        return f"http_{status}", f"the server answered HTTP {status}"
    redirected = request.url != request.meta.get("image_url", request.url)
    if isinstance(exc, RequestRefused):  # the source guard: another origin, or a private address
        if exc.kind == "offsite_refused":
            return exc.kind, _short(f"redirected to {request.url}, another origin" if redirected else str(exc))
        return exc.kind, _short(str(exc))
    causes = _causes(exc)
    for classes, code in _EXCEPTIONS:
        if any(isinstance(cause, classes) for cause in causes):
            if code == "too_large" and not str(exc):  # cut while reading: the server sent no (or a false) length
                return code, f"the body passed the {request.meta.get('download_maxsize')}-byte cap while downloading"
            return code, _short(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if any(type(cause).__name__ == "TunnelError" for cause in causes):  # the proxy refused or failed the CONNECT
        return "proxy_failed", _short(str(exc))
    if isinstance(exc, IgnoreRequest):
        message = str(exc)
        lower = message.lower()
        if "max size" in lower or "maxsize" in lower or "larger than" in lower:
            return "too_large", _short(message)
        if "redirect" in lower:
            return "too_many_redirects", _short(message)
        if ".onion" in lower:
            return "onion_without_proxy", _short(message)
        return "ignored", _short(message)
    if isinstance(exc, DownloadFailedError):
        return "download_failed", _short(str(exc) or "the download failed")
    return "download_failed", _short(f"{type(exc).__name__}: {exc}")


def load_urls(path: str) -> list:
    """The JSON list of URLs in `path`; a missing or malformed file stops the crawl before it starts."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"images spider: cannot read urls_file {path!r}: {exc}") from exc
    return parse_urls(text, f"urls_file {path!r}")


def parse_urls(text: str, where: str) -> list:
    """A JSON list of URLs (a Scrapyd job gets them as an argument: a node has no file of ours)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"images spider: cannot read {where}: {exc}") from exc
    if not isinstance(data, list):
        raise ValueError(f"images spider: {where} must hold a JSON list of URLs")
    return data


class ImageSpider(scrapy.Spider):
    """Fetch a list of image URLs for one source.

    Example: scrapy crawl images -a source=tg -a base_url=https://t.me/ -a urls_file=urls.json -a image_hosts='["https://cdn4.telesco.pe"]'
    """

    name = "images"
    custom_settings = {
        "REDIRECT_MAX_TIMES": 3,
        "METAREFRESH_ENABLED": False,  # a body is never read: an HTML page's refresh is not followed
        # The page crawl caps responses at 5 MB; photos are larger. `max_image_mb` is the cap, and a
        # DOWNLOAD_MAXSIZE given on the command line (`-s`) still wins when it is smaller.
        "DOWNLOAD_MAXSIZE": MAX_IMAGE_MB * 1024 * 1024,
    }

    def __init__(self, source: str = "images", base_url: str = "", urls_file: str = "", proxy: str = "",
                 image_hosts: str = "", max_image_mb: str = "", urls: str = "", **kwargs):
        super().__init__(**kwargs)
        if origin(base_url) is None:
            raise ValueError("images spider needs -a base_url=http(s)://...")
        if not urls_file and not urls:
            raise ValueError("images spider needs -a urls_file=<file with a JSON list of image URLs> (or -a urls=<JSON list>)")
        hosts = json.loads(image_hosts) if image_hosts else []
        if not isinstance(hosts, list) or any(not isinstance(h, str) or origin(h) is None for h in hosts):
            raise ValueError("images spider: image_hosts must be a JSON list of http(s) origins")
        self.source = source
        self.base_url = base_url
        self.image_hosts = hosts
        self.allowed = {origin(u) for u in self.source_urls()}
        self.proxy = proxy or None
        self.max_image_mb = float(max_image_mb) if max_image_mb else float(MAX_IMAGE_MB)
        if not 0 < self.max_image_mb <= 10_000:  # also refuses nan and inf
            raise ValueError("images spider: max_image_mb must be a number of MiB above 0")
        self.urls = load_urls(urls_file) if urls_file else parse_urls(urls, "urls")

    def source_urls(self) -> list[str]:
        """Where this source's image requests may go: its base URL's origin and its image hosts (see spiders.middlewares)."""
        return [self.base_url, *self.image_hosts]

    def max_bytes(self) -> int:
        cap = int(self.max_image_mb * 1024 * 1024)
        setting = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
        return min(cap, setting) if setting else cap

    async def start(self):
        for item_or_request in self.image_requests():
            yield item_or_request

    def image_requests(self):
        """A request per distinct URL, or at once an ImageFailed for a URL that must not be fetched."""
        cap = self.max_bytes()
        seen = set()
        for url in self.urls:
            key = url if isinstance(url, str) else json.dumps(url)
            if key in seen:
                continue
            seen.add(key)
            why = self.refusal(url)
            if why:
                yield self.failed(key, *why)
                continue
            meta = {"image_url": url, "download_maxsize": cap, "download_warnsize": cap}
            if self.proxy:
                meta["proxy"] = self.proxy
            try:
                # dont_filter: two URLs redirected to one image must each get their answer, not be dropped as duplicates
                yield scrapy.Request(url, callback=self.parse, errback=self.image_failed, meta=meta, dont_filter=True)
            except ValueError as exc:
                yield self.failed(url, "bad_url", _short(str(exc)))

    def refusal(self, url) -> tuple[str, str] | None:
        """(reason, detail) when `url` is not to be requested at all."""
        if not isinstance(url, str) or len(url) > MAX_URL_CHARS:
            return "bad_url", "not a URL string" if not isinstance(url, str) else f"longer than {MAX_URL_CHARS} characters"
        target = origin(url)
        if target is None:
            return "bad_url", _short(f"not an http(s) URL: {url}")
        if target not in self.allowed:
            return "offsite_refused", _short(f"{show_origin(target)} is neither the source's origin nor one of its image hosts")
        if target[1].endswith(".onion") and not self.proxy:
            return "onion_without_proxy", ".onion needs a proxy (set proxy in the source's configuration)"
        return None

    def failed(self, url: str, reason: str, detail: str) -> ImageFailed:
        self.crawler.stats.inc_value(f"monitor/image_errors/{reason}")
        self.logger.info("image %s not fetched: %s (%s)", url[:300], reason, detail)
        return ImageFailed(source=self.source, url=url, reason=reason, detail=detail)

    def image_failed(self, failure):
        request = getattr(failure, "request", None) or failure.value.response.request
        url = request.meta.get("image_url", request.url)
        yield self.failed(url, *failure_reason(failure, request))

    def parse(self, response):
        body = bytes(response.body)
        headers = kept_headers(response, KEPT_HEADERS)
        self.crawler.stats.inc_value("monitor/images_fetched")
        yield ImageCapture(source=self.source, url=response.meta.get("image_url", response.url), final_url=response.url,
                           status=response.status, headers=headers, body=body, sha256=hashlib.sha256(body).hexdigest(),
                           fetched_at=now_iso())
