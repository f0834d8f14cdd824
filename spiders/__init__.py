"""The Scrapy project: one spider per kind of source. It fetches and parses only.

Spiders take the site's base URL as an argument so tests can point them at
127.0.0.1; they yield `Post` items and know nothing of rules or storage.
"""
