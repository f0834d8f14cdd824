"""Counting failed requests by kind, so a crawl run can say what went wrong.

Scrapy counts download exceptions itself; what it only logs are responses
dropped by its middlewares (too large once decompressed, redirected in a
loop). Spiders attach `request_failed` as the errback of their requests.
Requests refused by the source guard (another site, a private address) are
counted by the guard itself, whether or not the request has this errback.
"""

from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError

from .middlewares import RequestRefused


class ErrorCounterMixin:
    def request_failed(self, failure):
        if failure.check(HttpError, RequestRefused):
            return  # counted from the response status, or by the source guard
        if failure.check(IgnoreRequest):
            message = str(failure.value).lower()
            if "maxsize" in message or "max size" in message or "larger than" in message:
                kind = "too_large"
            elif "redirect" in message:
                kind = "redirect_loop"
            elif ".onion" in message:
                kind = None  # counted by the onion guard
            else:
                kind = "ignored"
            if kind:
                self.crawler.stats.inc_value(f"monitor/errors/{kind}")
