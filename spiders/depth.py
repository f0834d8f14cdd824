"""Scrapy's depth limit, counting hops between index, boards and threads but not pages of one board or thread.

A board of 15 pages is one level deep, not 15: with Scrapy's own
DepthMiddleware every "next page" added a level, so `max_depth` cut long
boards and threads short. Requests carrying `meta["monitor_paging"]` keep the
depth of the page that linked them.
"""

from __future__ import annotations

from scrapy.spidermiddlewares.depth import DepthMiddleware


class PagingDepthMiddleware(DepthMiddleware):
    def get_processed_request(self, request, response):
        if response is not None and request.meta.get("monitor_paging"):
            depth = response.meta.get("depth", 0)
            request.meta["depth"] = depth
            if self.prio:
                request.priority -= depth * self.prio
            return request
        return super().get_processed_request(request, response)
