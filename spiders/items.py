"""The item every spider yields: one post as seen on one page."""

import scrapy


class Post(scrapy.Item):
    source = scrapy.Field()  # configured source name
    kind = scrapy.Field()  # spider kind: forum, telegram
    post_id = scrapy.Field()  # the site's own id of the post, if it has one
    url = scrapy.Field()  # canonical URL of the post (thread URL + anchor, message link)
    page_url = scrapy.Field()  # URL of the page the post was read from
    thread_url = scrapy.Field()
    thread_title = scrapy.Field()
    board = scrapy.Field()
    author = scrapy.Field()
    posted_at = scrapy.Field()  # ISO 8601 when the site's date could be parsed
    posted_raw = scrapy.Field()  # the date as the site printed it
    text = scrapy.Field()
    quoted = scrapy.Field()  # text of quoted replies, kept apart from the author's words
    images = scrapy.Field()  # absolute image URLs
    views = scrapy.Field()
    forwarded_from = scrapy.Field()
    fetched_at = scrapy.Field()
