"""The monitor application: configuration, storage, crawling, CLI.

It composes `spiders/` (fetch and parse) and `rules/` (text in, explanation
out); imports point from here to those two, never back.
"""

__version__ = "0.1.0"
