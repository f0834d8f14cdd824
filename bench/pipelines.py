"""A pipeline that drops every item: the baseline the crawl benchmark compares against."""

import json

from scrapy.exceptions import DropItem


class DropPipeline:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item, spider=None):
        raise DropItem("benchmark baseline")

    def close_spider(self, spider=None):
        path = self.crawler.settings.get("BENCH_STATS_FILE")
        if path:
            with open(path, "w") as fh:
                json.dump({"pages": self.crawler.stats.get_value("response_received_count", 0)}, fh)
