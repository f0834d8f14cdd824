"""Downloader middlewares that keep a crawl where its source is, and the address rules they share.

- `OnionGuardMiddleware`: a request for a `.onion` host without a proxy is
  dropped before it reaches the downloader, so the name is never handed to a
  DNS resolver (which would leak it to the local network and fail anyway).
  With a proxy (an HTTP proxy such as privoxy forwarding to Tor's SOCKS
  port), the proxy resolves it.
- `SourceGuardMiddleware`: every request of a source stays on the source's
  scheme, host and port. A hostile site can otherwise point the crawler at
  another service of the same machine (a 302, a meta refresh or a "next
  page" link to `127.0.0.1:OTHERPORT`, `localhost`, `[::1]`) and have its
  answer stored as a post with evidence. Redirected requests pass through
  `process_request` again, so checking there covers redirects and meta
  refreshes as well as links. A clearnet source (one whose `base_url` host
  is a public name or address) may also not reach loopback, private (RFC
  1918, CGNAT, ULA), link-local or unspecified addresses after name
  resolution; a source that is itself on such an address (the demo, the
  tests, a forum on the LAN given by its address) keeps working.
- `PublicAddressResolver`: Scrapy's caching resolver, refusing private
  answers for the names the source guard marked as clearnet, so a name that
  answers a public address to the guard and a loopback one to the connection
  (DNS rebinding) is still refused where the connection is made.

Proxied requests are resolved by the proxy, never locally (no DNS leak of a
source crawled through Tor); only the scheme, host and port rule applies to them.
Refusals are counted as `monitor/errors/offsite_refused` and
`monitor/errors/private_address_refused`, which `monitor runs` shows.
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


# ------------------------------------------------------------------ address rules (also used by `monitor recheck`)

def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, the default port filled in; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def show_origin(o: tuple[str, str, int] | None) -> str:
    if o is None:
        return "(not an http(s) URL)"
    scheme, host, port = o
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def ip_literal(host: str):
    """The address if `host` is a literal IPv4/IPv6 address (an IPv6 zone is ignored), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def address_kind(address) -> str | None:
    """What makes an address non-public ('loopback', 'private', ...), or None for a public one."""
    ip = address if isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)) else ip_literal(str(address))
    if ip is None:
        return "unparsable"
    if ip.version == 6:  # addresses that carry an IPv4 address reach that address
        if ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        elif ip.sixtofour:
            ip = ip.sixtofour
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.version == 4 and ip in _CGNAT:
        return "shared (CGNAT)"
    if ip.is_private:
        return "private"
    if ip.is_multicast or ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


def is_public(address) -> bool:
    return address_kind(address) is None


def is_local_host(host: str) -> bool:
    """A literal non-public address, or a `localhost` name (RFC 6761: always loopback)."""
    host = host.lower().rstrip(".")
    ip = ip_literal(host)
    if ip is not None:
        return not is_public(ip)
    return host == "localhost" or host.endswith(".localhost")


def address_refusal(host: str, base_host: str, resolve) -> str | None:
    """Why a request to `host` must not be made for a source whose base_url host is `base_host`, or None.

    `resolve(host)` returns the addresses a name resolves to; it is only
    called for a name of a clearnet source (never for `.onion`, never for a
    literal address). A source whose own host is a non-public address or
    `localhost` may reach non-public addresses; any other may not.
    """
    host = host.lower().rstrip(".")
    if is_local_host(base_host) or host.endswith(".onion"):
        return None
    ip = ip_literal(host)
    if ip is not None:
        kind = address_kind(ip)
        return f"{host} is a {kind} address" if kind else None
    if is_local_host(host):
        return f"{host} is a loopback name"
    for address in resolve(host):
        kind = address_kind(address)
        if kind:
            return f"{host} resolves to {address}, a {kind} address"
    return None


# ------------------------------------------------------------------ middlewares

class RequestRefused(IgnoreRequest):
    """A request the guards refused; already counted, so the spiders' errback does not count it again.
    `kind` says why: offsite_refused or private_address_refused."""

    def __init__(self, message: str = "", kind: str = "offsite_refused"):
        super().__init__(message)
        self.kind = kind


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


_PUBLIC_ONLY: set[str] = set()
"""Names of clearnet sources crawled without a proxy: `PublicAddressResolver` refuses private answers for them."""


class PrivateAddressError(DNSLookupError):
    pass


class PublicAddressResolver(CachingThreadedResolver):
    """Scrapy's default resolver, checking the answer for the names in `_PUBLIC_ONLY` (see the module's docstring)."""

    def getHostByName(self, name, timeout=()):
        d = super().getHostByName(name, timeout)
        key = str(name).lower().rstrip(".")
        if key in _PUBLIC_ONLY:
            d.addCallback(self._check, key)
        return d

    @staticmethod
    def _check(address, name):
        kind = address_kind(address)
        if kind:
            raise PrivateAddressError(f"{name} resolves to {address}, a {kind} address")
        return address


class SourceGuardMiddleware:
    """Refuse requests off the source's scheme/host/port, and clearnet requests that resolve to private addresses."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _source_urls(self) -> list[str]:
        spider = self.crawler.spider
        if hasattr(spider, "source_urls"):
            return [u for u in spider.source_urls() if u]
        return [spider.base_url] if getattr(spider, "base_url", "") else []

    def _refuse(self, request, kind: str, why: str):
        self.stats.inc_value(f"monitor/errors/{kind}")
        logger.warning("refused %s: %s", request.url, why)
        raise RequestRefused(f"{request.url}: {why}", kind)

    async def process_request(self, request):
        urls = self._source_urls()
        if not urls:
            return None  # a spider without a source (not one of ours): nothing to hold it to
        allowed = {origin(u) for u in urls}
        target = origin(request.url)
        if target is None or target not in allowed:
            self._refuse(request, "offsite_refused",
                         f"{show_origin(target)} is not the source's {' or '.join(sorted(show_origin(o) for o in allowed if o))}")
        host = target[1]
        base = origin(urls[0])
        if host.endswith(".onion") or request.meta.get("proxy") or base is None or is_local_host(base[1]):
            return None
        why = address_refusal(host, base[1], lambda name: [])  # literals and localhost names, no lookup yet
        if why is None and ip_literal(host) is None:
            why = await self._resolve_and_check(host)
        if why:
            self._refuse(request, "private_address_refused", why)
        return None

    async def _resolve_and_check(self, host: str) -> str | None:
        """Resolve through the reactor's resolver (its cache is what the download then connects to)."""
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet import reactor

        _PUBLIC_ONLY.add(host)
        try:
            address = await maybe_deferred_to_future(reactor.resolve(host))
        except PrivateAddressError as exc:
            return exc.args[0] if exc.args else str(exc)
        except Exception:  # noqa: BLE001 - a failed lookup is reported by the download itself
            return None
        kind = address_kind(address)
        return f"{host} resolves to {address}, a {kind} address" if kind else None
