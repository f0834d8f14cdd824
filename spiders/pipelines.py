"""Item pipelines for plain Scrapy runs (`scrapy crawl forum -O posts.jsonl`).

`monitor crawl` replaces ITEM_PIPELINES with its ingest pipeline, which stores a page's
Evidence (its raw bytes) beside the posts read from it and uses ThreadComplete to mark posts
gone from a thread. A plain Scrapy run has no store: its feed exporters cannot write bytes
(a TypeError per page), and the markers mean nothing in a file; both are dropped here,
quietly, and the posts keep the `evidence_sha` of the page they came from.
"""

from __future__ import annotations

from scrapy.exceptions import DropItem

from .items import Evidence, ThreadComplete


class DropStoreItems:
    def process_item(self, item, spider=None):
        if isinstance(item, (Evidence, ThreadComplete)):
            raise DropItem("captured pages and thread markers are for `monitor crawl`'s store", log_level="DEBUG")
        return item
