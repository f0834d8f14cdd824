"""The items spiders yield: posts, and the news that a thread was read to its last page."""

import scrapy


class Post(scrapy.Item):
    source = scrapy.Field()  # configured source name
    kind = scrapy.Field()  # spider kind: forum, telegram, mastodon
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
    evidence_sha = scrapy.Field()  # SHA-256 of the captured page the post was read from
    opens_thread = scrapy.Field()  # the thread's first post (on a listing board, the title is its offer)


class Evidence(scrapy.Item):
    """A captured page: what was seen, where and when, so a takedown request can cite it."""

    url = scrapy.Field()
    status = scrapy.Field()
    headers = scrapy.Field()  # the response headers, as {name: value}
    body = scrapy.Field()  # the raw bytes as received (after transfer decoding)
    sha256 = scrapy.Field()
    fetched_at = scrapy.Field()


class ThreadComplete(scrapy.Item):
    """Every page of a thread was read: posts not among `post_keys` are gone from the site."""

    source = scrapy.Field()
    thread_url = scrapy.Field()
    marker = scrapy.Field()  # what the board listing showed for the thread (replies, last post)
    post_keys = scrapy.Field()  # post id, else URL, of every post read


class ImageCapture(scrapy.Item):
    """The bytes of one image a post showed, as fetched (never decoded here: `monitor` checks them)."""

    source = scrapy.Field()
    url = scrapy.Field()  # the URL the post gave
    final_url = scrapy.Field()  # where the bytes came from after redirects on the same host
    status = scrapy.Field()
    headers = scrapy.Field()  # kept response headers; the Content-Type is a claim, not the type
    body = scrapy.Field()
    sha256 = scrapy.Field()
    fetched_at = scrapy.Field()

    def __repr__(self) -> str:
        """Without the bytes: an item in a log line (an error, a dropped item) must not carry a photo of a KTP."""
        shown = {k: v for k, v in dict(self).items() if k != "body"}
        return f"ImageCapture({shown!r}, body={len(self.get('body') or b'')} bytes)"


class ImageFailed(scrapy.Item):
    """An image that could not be fetched, and why (a short code: http_404, too_large, offsite_refused, timeout, ...)."""

    source = scrapy.Field()
    url = scrapy.Field()
    reason = scrapy.Field()
    detail = scrapy.Field()
