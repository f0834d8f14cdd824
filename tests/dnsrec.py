"""A Scrapy DNS resolver that writes every name it is asked for to $DNS_RECORD_FILE (tests only)."""

import os

from scrapy.resolver import CachingThreadedResolver


class RecordingResolver(CachingThreadedResolver):
    def getHostByName(self, name, timeout=None):
        with open(os.environ["DNS_RECORD_FILE"], "a", encoding="utf-8") as fh:
            fh.write(name + "\n")
        return super().getHostByName(name, timeout)
