"""Crawling: running a source's `scrapy crawl` process, its pipeline and ingest worker, the scheduler and daemon, imports."""
