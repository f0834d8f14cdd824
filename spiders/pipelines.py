"""Item pipelines for runs without the local store: plain Scrapy runs and Scrapyd nodes.

`monitor crawl` replaces ITEM_PIPELINES with its ingest pipeline, which stores a page's
Evidence (its raw bytes) beside the posts read from it and uses ThreadComplete to mark posts
gone from a thread; its image phase replaces them with the image pipeline, which reads each
ImageCapture's bytes. A plain Scrapy run has no store: its feed exporters cannot write bytes
(a TypeError per page or image), and the markers mean nothing in a file; both are dropped here,
quietly, and the posts keep the `evidence_sha` of the page they came from. An image crawl's
ImageFailed items are plain text and stay in the feed, so a plain run still says what failed.
A crawl dispatched to a Scrapyd node keeps everything instead (FeedItems): the central
`monitor` reads the job's feed and stores it as a local crawl would.
"""

from __future__ import annotations

import base64

from scrapy import signals
from scrapy.exceptions import DropItem

from .items import Evidence, ImageCapture, ThreadComplete


class DropStoreItems:
    def process_item(self, item, spider=None):
        if isinstance(item, (Evidence, ThreadComplete, ImageCapture)):
            raise DropItem("captured pages, images and thread markers are for `monitor crawl`'s store", log_level="DEBUG")
        return item


class FeedItems:
    """On a Scrapyd node: every item as a plain JSON record for the job's feed, which `monitor` reads.

    Scrapyd writes each item a job yields to its items feed (`items_dir`); the central `monitor`
    reads that feed while the job runs and stores the records as a local crawl would. Records carry
    their item type in `_type`; bytes (captured pages, images) travel as base64 in `body_base64`;
    when the spider closes, a last `RunStats` record carries Scrapy's counters, which the central
    side needs to judge the run (a feed without it is a crawl that did not finish).
    """

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item, spider=None):
        return feed_record(item)

    def close_spider(self, spider=None):
        stats = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in self.crawler.stats.get_stats().items()}
        self.crawler.signals.send_catch_log(signal=signals.item_scraped, item={"_type": "RunStats", "stats": stats},
                                            response=None, spider=self.crawler.spider)


def feed_record(item) -> dict:
    """One item as a JSON-safe record: its fields, `_type`, and any bytes body as base64."""
    record = {"_type": type(item).__name__, **dict(item)}
    body = record.pop("body", None)
    if isinstance(body, (bytes, bytearray)):
        record["body_base64"] = base64.b64encode(body).decode("ascii")
    return record
