"""Scrapy settings shared by every spider.

Storage is not configured here: `monitor crawl` adds its ingest pipeline on
the command line, so `scrapy crawl` from the repository root just prints items.
"""

BOT_NAME = "datasale_monitor"
SPIDER_MODULES = ["spiders.forum", "spiders.telegram", "spiders.mastodon", "spiders.discourse", "spiders.images"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
ROBOTSTXT_OBEY = False  # monitoring illegal offers; politeness comes from the limits below
TELNETCONSOLE_ENABLED = False  # never open a console port
REMOTE_CONTROL_ENABLED = False  # Scrapy >= 2.16 would otherwise serve a code-execution endpoint on localhost
COOKIES_ENABLED = True

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 5 * 1024 * 1024  # hostile sites: cap every response
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_TIMES = 2
DEPTH_LIMIT = 12
# Pages of one board or thread do not count as depth (spiders.depth).
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "spiders.depth.PagingDepthMiddleware": 900,
}
REDIRECT_MAX_TIMES = 5
CLOSESPIDER_PAGECOUNT = 0
MEMUSAGE_ENABLED = False

FEED_EXPORT_ENCODING = "utf-8"
# Plain `scrapy crawl ... -O file` runs export posts only; `monitor crawl` sets its own pipeline.
ITEM_PIPELINES = {"spiders.pipelines.DropStoreItems": 900}
LOG_LEVEL = "INFO"

# After HttpProxyMiddleware (750), so they see proxies set from the environment too; redirects
# (600) and meta refreshes (580) come back through them as new requests.
DOWNLOADER_MIDDLEWARES = {
    "spiders.middlewares.OnionGuardMiddleware": 760,
    "spiders.middlewares.SourceGuardMiddleware": 770,  # same scheme, host and port; no private addresses
}
# Scrapy's caching resolver, refusing private answers for clearnet sources at connect time (DNS rebinding).
TWISTED_DNS_RESOLVER = "spiders.middlewares.PublicAddressResolver"
