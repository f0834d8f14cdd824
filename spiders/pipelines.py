"""Item pipelines for plain Scrapy runs (`scrapy crawl forum -O posts.jsonl`).

`monitor crawl` replaces ITEM_PIPELINES with its ingest pipeline, which stores a page's
Evidence (its raw bytes) beside the posts read from it and uses ThreadComplete to mark posts
gone from a thread; its image phase replaces them with the image pipeline, which reads each
ImageCapture's bytes. A plain Scrapy run has no store: its feed exporters cannot write bytes
(a TypeError per page or image), and the markers mean nothing in a file; both are dropped here,
quietly, and the posts keep the `evidence_sha` of the page they came from. An image crawl's
ImageFailed items are plain text and stay in the feed, so a plain run still says what failed.
"""

from __future__ import annotations

from scrapy.exceptions import DropItem

from .items import Evidence, ImageCapture, ThreadComplete


class DropStoreItems:
    def process_item(self, item, spider=None):
        if isinstance(item, (Evidence, ThreadComplete, ImageCapture)):
            raise DropItem("captured pages, images and thread markers are for `monitor crawl`'s store", log_level="DEBUG")
        return item
