"""`scrapy crawl images` against real servers on 127.0.0.1: every URL ends as one capture or one failure.

Each run is a real `scrapy crawl images` subprocess; `RecordItems` (below, loaded by that
subprocess with `-s ITEM_PIPELINES`) writes every item to a JSONL file (bytes as base64) and
the run's stats beside it. The servers record what they were asked, so a refused request is
shown to have never arrived.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import ROOT, free_port
from sitesrv import SiteServer, send

ONION = "http://exampleonionaddressforthetests2vx7q6hzbxk7ba4i6cbwvc7yf6bq3zvid.onion"


class RecordItems:
    """Test pipeline run inside the crawl: items to $TEST_ITEMS_FILE as JSON lines, the stats to <file>.stats.json."""

    def __init__(self, path: str, stats):
        self.path = Path(path)
        self.stats = stats
        self.fh = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("TEST_ITEMS_FILE"), crawler.stats)

    def open_spider(self, spider=None):
        self.fh = self.path.open("w", encoding="utf-8")

    def process_item(self, item, spider=None):
        row = {"type": type(item).__name__, **dict(item)}
        if "body" in row:
            row["body"] = base64.b64encode(row["body"]).decode("ascii")
        self.fh.write(json.dumps(row) + "\n")
        return item

    def close_spider(self, spider=None):
        self.fh.close()
        stats = {k: v for k, v in self.stats.get_stats().items() if k.startswith("monitor/")}
        Path(f"{self.path}.stats.json").write_text(json.dumps(stats), encoding="utf-8")


def jpeg(color: tuple[int, int, int], size=(64, 48)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, color)
    ImageDraw.Draw(image).rectangle((8, 8, 40, 30), fill=(255 - color[0], 200, 30))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


PHOTO = jpeg((20, 60, 140))
MOVED = jpeg((150, 30, 40))
CHAINED = jpeg((10, 120, 60))
BIG = os.urandom(200 * 1024)  # over the 0.1 MiB cap of the main run


def crawl(tmp_path: Path, name: str, base_url: str, urls: list, *args: str, settings: dict | None = None,
          env: dict | None = None) -> tuple[list[dict], dict, subprocess.CompletedProcess]:
    """Run `scrapy crawl images`; return its items, its monitor/ stats and the process."""
    urls_file = tmp_path / f"{name}-urls.json"
    urls_file.write_text(json.dumps(urls), encoding="utf-8")
    items_file = tmp_path / f"{name}-items.jsonl"
    cmd = [sys.executable, "-m", "scrapy", "crawl", "images", "-a", f"source={name}", "-a", f"base_url={base_url}",
           "-a", f"urls_file={urls_file}"]
    for arg in args:
        cmd += ["-a", arg]
    all_settings = {"ITEM_PIPELINES": json.dumps({"test_image_spider.RecordItems": 100}), "TEST_ITEMS_FILE": str(items_file),
                    **(settings or {})}
    for key, value in all_settings.items():
        cmd += ["-s", f"{key}={value}"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "tests"), **(env or {})})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    items = [json.loads(line) for line in items_file.read_text(encoding="utf-8").splitlines()]
    stats = json.loads(Path(f"{items_file}.stats.json").read_text(encoding="utf-8"))
    return items, stats, result


def by_url(items: list[dict]) -> dict[str, dict]:
    found = {}
    for item in items:
        assert item["url"] not in found, f"two items for {item['url']}"
        found[item["url"]] = item
    return found


def body_of(item: dict) -> bytes:
    return base64.b64decode(item["body"])


# ------------------------------------------------------------------ the main run: one source on 127.0.0.1

@pytest.fixture(scope="module")
def main_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("images")
    release = threading.Event()

    def hang(h):  # accepts the connection and never answers
        release.wait(20)

    def chain(h):  # /chain?n=3 -> n=2 -> n=1 -> n=0, the image
        n = int(dict(parse_qsl(urlsplit(h.path).query)).get("n", 0))
        if n:
            return send(h, 302, b"", headers={"Location": f"/chain?n={n - 1}"})
        send(h, 200, CHAINED, "image/jpeg")

    def stream_big(h):  # no Content-Length: the cap is only seen while reading
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        h.send_header("Connection", "close")
        h.end_headers()
        for i in range(0, len(BIG), 16384):
            h.wfile.write(BIG[i:i + 16384])
        h.close_connection = True

    def hang_up(h):  # reads the request, closes without a word
        h.close_connection = True

    def truncated(h):  # promises the whole photo, sends half of it
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        h.send_header("Content-Length", str(len(PHOTO)))
        h.end_headers()
        h.wfile.write(PHOTO[: len(PHOTO) // 2])
        h.close_connection = True

    dns_file = tmp_path / "dns.txt"
    dns_file.touch()
    with SiteServer() as src, SiteServer() as other:
        src.httpd.handle_error = lambda request, address: None  # the crawler hangs up on bodies over the cap
        other.fallback = lambda h: send(h, 200, b"internal admin page: must never be fetched")
        src.handlers.update({
            "/photo.jpg": lambda h: send(h, 200, PHOTO, "image/jpeg",
                                         {"ETag": '"v1-photo"', "Last-Modified": "Sat, 21 Nov 2026 10:00:00 GMT"}),
            "/moved.jpg": lambda h: send(h, 302, b"", headers={"Location": "/files/real.jpg"}),
            "/files/real.jpg": lambda h: send(h, 200, MOVED, "image/jpeg"),
            "/escape.jpg": lambda h: send(h, 302, b"", headers={"Location": f"{other.url}/admin"}),
            "/chain": chain,
            "/big.jpg": lambda h: send(h, 200, BIG, "image/jpeg"),
            "/big-stream.jpg": stream_big,
            "/hang.jpg": hang,
            "/hang-up.jpg": hang_up,
            "/truncated.jpg": truncated,
        })
        closed = f"http://127.0.0.1:{free_port()}"
        s = src.url
        urls = [
            f"{s}/photo.jpg", f"{s}/photo.jpg",  # the same image shown twice: fetched once
            f"{s}/moved.jpg", f"{s}/escape.jpg", f"{other.url}/admin.png", f"{s}/missing.jpg",
            f"{s}/chain?n=3", f"{s}/chain?n=4", f"{s}/big.jpg", f"{s}/big-stream.jpg", f"{s}/hang.jpg",
            f"{s}/hang-up.jpg", f"{s}/truncated.jpg",
            f"{ONION}/stok/ktp.jpg", f"{closed}/x.jpg",
            "ftp://127.0.0.1/x.jpg", "javascript:alert(1)", "http://[::1/x.png",
        ]
        started = time.monotonic()
        items, stats, result = crawl(
            tmp_path, "main", f"{s}/forum/", urls,
            "max_image_mb=0.1", f"image_hosts={json.dumps([ONION, closed])}",
            settings={"DOWNLOAD_TIMEOUT": "1", "RETRY_TIMES": "0", "DNS_RESOLVER": "dnsrec.RecordingResolver",
                      "TWISTED_DNS_RESOLVER": "dnsrec.RecordingResolver"},
            env={"DNS_RECORD_FILE": str(dns_file)})
        elapsed = time.monotonic() - started
        release.set()
        yield {"items": items, "stats": stats, "result": result, "src": src, "other": other, "urls": urls,
               "s": s, "closed": closed, "dns": dns_file.read_text(), "elapsed": elapsed}


def test_every_distinct_url_ends_as_exactly_one_item(main_run):
    items = main_run["items"]
    assert sorted(i["url"] for i in items) == sorted(set(main_run["urls"]))
    assert all(i["source"] == "main" for i in items)
    assert main_run["src"].requests.count("/photo.jpg") == 1, "a URL listed twice is fetched once"


def test_a_real_jpeg_is_captured_byte_for_byte(main_run):
    item = by_url(main_run["items"])[f"{main_run['s']}/photo.jpg"]
    assert item["type"] == "ImageCapture"
    assert body_of(item) == PHOTO and body_of(item)[:3] == b"\xff\xd8\xff"
    assert item["sha256"] == hashlib.sha256(PHOTO).hexdigest()
    assert item["final_url"] == item["url"] and item["status"] == 200
    headers = item["headers"]
    assert headers["content-type"] == "image/jpeg" and headers["content-length"] == str(len(PHOTO))
    assert headers["etag"] == '"v1-photo"' and headers["last-modified"] == "Sat, 21 Nov 2026 10:00:00 GMT"
    assert headers["server"].startswith("BaseHTTP") and headers["date"]
    assert set(headers) <= {"content-type", "content-length", "last-modified", "etag", "date", "server"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", item["fetched_at"])


def test_a_redirect_on_the_same_origin_is_followed_and_keeps_the_posted_url(main_run):
    s, found = main_run["s"], by_url(main_run["items"])
    moved = found[f"{s}/moved.jpg"]
    assert moved["type"] == "ImageCapture" and body_of(moved) == MOVED
    assert moved["final_url"] == f"{s}/files/real.jpg"
    chained = found[f"{s}/chain?n=3"]  # three redirects: the most allowed
    assert chained["type"] == "ImageCapture" and body_of(chained) == CHAINED and chained["final_url"] == f"{s}/chain?n=0"
    too_many = found[f"{s}/chain?n=4"]
    assert (too_many["type"], too_many["reason"]) == ("ImageFailed", "too_many_redirects")
    assert main_run["stats"]["monitor/images_fetched"] == 3


def test_other_origins_are_refused_and_never_reached(main_run):
    s, other, found = main_run["s"], main_run["other"], by_url(main_run["items"])
    escape = found[f"{s}/escape.jpg"]  # 302 to another port of the same machine
    assert (escape["type"], escape["reason"]) == ("ImageFailed", "offsite_refused")
    assert escape["detail"] == f"redirected to {other.url}/admin, another origin"
    listed = found[f"{other.url}/admin.png"]  # another origin in the list itself: refused without a request
    assert (listed["type"], listed["reason"]) == ("ImageFailed", "offsite_refused")
    assert other.requests == [], "the other port's server was never asked anything"
    assert "/escape.jpg" in main_run["src"].requests
    assert main_run["stats"]["monitor/image_errors/offsite_refused"] == 2


def test_http_errors_size_cap_and_timeouts_have_short_reasons(main_run):
    s, found = main_run["s"], by_url(main_run["items"])
    reasons = {url: (i["type"], i.get("reason")) for url, i in found.items()}
    assert reasons[f"{s}/missing.jpg"] == ("ImageFailed", "http_404")
    assert reasons[f"{s}/big.jpg"] == ("ImageFailed", "too_large")  # Content-Length over the cap
    assert reasons[f"{s}/big-stream.jpg"] == ("ImageFailed", "too_large")  # no length: cut while reading
    assert found[f"{s}/big-stream.jpg"]["detail"] == "the body passed the 104857-byte cap while downloading"
    assert reasons[f"{s}/hang.jpg"] == ("ImageFailed", "timeout")
    assert reasons[f"{main_run['closed']}/x.jpg"] == ("ImageFailed", "connection_refused")
    assert reasons[f"{s}/hang-up.jpg"] == ("ImageFailed", "no_response")
    assert reasons[f"{s}/truncated.jpg"] == ("ImageFailed", "data_loss")  # half an image is not captured
    assert all(0 < len(i["detail"]) <= 200 for i in found.values() if i["type"] == "ImageFailed")
    stats = main_run["stats"]
    for code in ("http_404", "timeout", "connection_refused", "too_many_redirects", "no_response", "data_loss"):
        assert stats[f"monitor/image_errors/{code}"] == 1, code
    assert stats["monitor/image_errors/too_large"] == 2
    assert main_run["elapsed"] < 30, "a server that never answers costs DOWNLOAD_TIMEOUT, not the crawl"


def test_bad_urls_and_onion_without_proxy_are_never_requested(main_run):
    found = by_url(main_run["items"])
    for url in ("ftp://127.0.0.1/x.jpg", "javascript:alert(1)", "http://[::1/x.png"):
        assert (found[url]["type"], found[url]["reason"]) == ("ImageFailed", "bad_url"), url
    onion = found[f"{ONION}/stok/ktp.jpg"]
    assert (onion["type"], onion["reason"]) == ("ImageFailed", "onion_without_proxy")
    assert ".onion" not in main_run["dns"], "the .onion name never reached a resolver"
    stats = main_run["stats"]
    assert stats["monitor/image_errors/bad_url"] == 3 and stats["monitor/image_errors/onion_without_proxy"] == 1


# ------------------------------------------------------------------ a clearnet source: no private addresses

def test_a_clearnet_source_never_fetches_a_private_address(tmp_path):
    """A post on a public forum gives `http://127.0.0.1:PORT/admin` as an image: refused without a request,
    and so is an image host that was configured with a private address."""
    with SiteServer() as internal:
        internal.fallback = lambda h: send(h, 200, b"internal")
        port = internal.url.rsplit(":", 1)[1]
        posted = [f"http://127.0.0.1:{free_port()}/admin", f"http://localhost:{port}/admin", f"http://127.0.0.1:{port}/img.png"]
        items, stats, _ = crawl(tmp_path, "public", "https://forum.example/", posted,
                                f"image_hosts={json.dumps([f'http://127.0.0.1:{port}'])}", settings={"RETRY_TIMES": "0"})
        asked = list(internal.requests)
    reasons = {url: item["reason"] for url, item in by_url(items).items()}
    assert reasons == {posted[0]: "offsite_refused", posted[1]: "offsite_refused",
                       posted[2]: "private_address_refused"}  # its origin is allowed; its address is not
    assert asked == []
    assert stats["monitor/image_errors/private_address_refused"] == 1 and "monitor/images_fetched" not in stats


def test_download_maxsize_on_the_command_line_wins_when_smaller(tmp_path):
    with SiteServer() as src:
        src.handlers["/photo.jpg"] = lambda h: send(h, 200, PHOTO, "image/jpeg")
        src.handlers["/big.jpg"] = lambda h: send(h, 200, BIG, "image/jpeg")
        items, stats, _ = crawl(tmp_path, "capped", f"{src.url}/", [f"{src.url}/photo.jpg", f"{src.url}/big.jpg"],
                                settings={"DOWNLOAD_MAXSIZE": str(100 * 1024)})  # max_image_mb stays 20
    found = by_url(items)
    assert found[f"{src.url}/photo.jpg"]["type"] == "ImageCapture"
    assert found[f"{src.url}/big.jpg"]["reason"] == "too_large"


# ------------------------------------------------------------------ through a proxy

def test_images_go_through_the_configured_proxy(tmp_path, tinyproxy):
    proxy, log = tinyproxy
    dns_file = tmp_path / "dns.txt"
    dns_file.touch()
    with SiteServer() as src:
        src.handlers["/via-proxy.jpg"] = lambda h: send(h, 200, PHOTO, "image/jpeg")
        items, stats, _ = crawl(tmp_path, "proxied", f"{src.url}/", [f"{src.url}/via-proxy.jpg", f"{ONION}/a.jpg"],
                                f"proxy={proxy}", f"image_hosts={json.dumps([ONION])}",
                                settings={"RETRY_TIMES": "0", "DNS_RESOLVER": "dnsrec.RecordingResolver",
                                          "TWISTED_DNS_RESOLVER": "dnsrec.RecordingResolver"},
                                env={"DNS_RECORD_FILE": str(dns_file)})
        served = list(src.requests)
    found = by_url(items)
    image = found[f"{src.url}/via-proxy.jpg"]
    assert image["type"] == "ImageCapture" and body_of(image) == PHOTO
    assert served == ["/via-proxy.jpg"]
    proxied = log.read_text(errors="replace")
    assert f"{src.url}/via-proxy.jpg" in proxied, proxied[-2000:]
    # A .onion image with a proxy goes to the proxy (which cannot reach Tor here), never to a local resolver.
    assert f"{ONION}/a.jpg" in proxied and ".onion" not in dns_file.read_text()
    onion = found[f"{ONION}/a.jpg"]
    assert onion["type"] == "ImageFailed" and onion["reason"] != "onion_without_proxy"


# ------------------------------------------------------------------ reasons that a local server cannot provoke

def test_a_private_answer_at_connect_time_is_named_as_such():
    """DNS rebinding: the guard saw a public address, the resolver (spiders.middlewares.PublicAddressResolver)
    then answered a private one; Scrapy wraps that as a failed lookup, the image's reason still says why."""
    from scrapy import Request
    from scrapy.exceptions import CannotResolveHostError
    from twisted.python.failure import Failure

    from spiders.images import failure_reason
    from spiders.middlewares import PrivateAddressError

    url = "http://img.example/a.jpg"
    try:
        try:
            raise PrivateAddressError("img.example resolves to 10.0.0.5, a private address")
        except PrivateAddressError as exc:
            raise CannotResolveHostError(str(exc)) from exc
    except CannotResolveHostError:
        failure = Failure()
    reason, detail = failure_reason(failure, Request(url, meta={"image_url": url}))
    assert reason == "private_address_refused" and "10.0.0.5" in detail


def test_a_plain_scrapy_export_keeps_the_failures_and_drops_the_bytes(tmp_path):
    """`scrapy crawl images -O out.jsonl` has no store: captures (bytes) are dropped by DropStoreItems, not a TypeError."""
    urls_file = tmp_path / "urls.json"
    out = tmp_path / "out.jsonl"
    with SiteServer() as src:
        src.handlers["/photo.jpg"] = lambda h: send(h, 200, PHOTO, "image/jpeg")
        urls_file.write_text(json.dumps([f"{src.url}/photo.jpg", f"{src.url}/gone.jpg"]), encoding="utf-8")
        result = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "images", "-a", f"base_url={src.url}/",
                                 "-a", f"urls_file={urls_file}", "-O", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
        served = list(src.requests)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "TypeError" not in result.stderr and "Error processing" not in result.stderr, result.stderr[-2000:]
    assert sorted(served) == ["/gone.jpg", "/photo.jpg"]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [{"source": "images", "url": f"{src.url}/gone.jpg", "reason": "http_404", "detail": "the server answered HTTP 404"}]
