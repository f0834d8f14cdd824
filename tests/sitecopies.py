"""A large forum made only of pages a real engine rendered: many copies of a saved MyBB board in one site.

A test of thousands of posts needs thousands of posts, and hand-written look-alikes of an
engine's markup prove nothing about the engine. `CopiedSite` serves `copies` copies of a saved
MyBB board (`tests/sites/mybb18-*`, saved byte for byte as MyBB 1.8 served them) through
`sitesrv.SiteServer`: copy n's forum, thread and post ids are the saved ones plus n * STEP, so
every copy's posts are posts of their own, and the index repeats MyBB's own category tables once
per copy (as MyBB renders a board with that many categories). Nothing else in a page changes.
"""

from __future__ import annotations

import json
import re

from sitesrv import SITES, SavedSite

STEP = 1000
"""Added to every forum, thread and post id per copy; above the saved board's largest id."""

IDS = re.compile(rb"(?<![A-Za-z_])(tid|fid|pid)([=_]?)(\d+)|(?<![A-Za-z_])(post_)(\d+)")
"""Ids in MyBB's markup and links: tid=7, tid_7, fid=2, pid=12, pid_12, #pid12, post_12."""

QUERY_IDS = re.compile(r"\b(tid|fid|pid)=(\d+)")
CATEGORIES = (b"<!-- start: forumbit_depth1_cat -->", b"<!-- end: forumbit_depth1_cat -->")
"""MyBB's template markers around the index's category tables."""


def renumber(body: bytes, copy: int) -> bytes:
    """`body` with its forum, thread and post ids moved to copy `copy`."""
    if not copy:
        return body

    def move(m: re.Match) -> bytes:
        if m.group(1):
            return m.group(1) + m.group(2) + str(int(m.group(3)) + copy * STEP).encode()
        return m.group(4) + str(int(m.group(5)) + copy * STEP).encode()

    return IDS.sub(move, body)


class CopiedSite:
    """`SiteServer(CopiedSite("mybb18-default", 75))`: one board holding 75 copies of the saved one."""

    def __init__(self, name: str, copies: int):
        self.saved = SavedSite(name)
        self.copies = copies
        self.content_type = self.saved.content_type
        record = json.loads((SITES / name / "expected.json").read_text(encoding="utf-8"))
        self.saved_posts = [str(p["pid"]) for p in record["posts"] if p.get("visible", 1) == 1]

    def post_keys(self) -> set[str]:
        """The post key of every visible post of every copy, as the forum spider reads them."""
        return {str(int(pid) + n * STEP) for n in range(self.copies) for pid in self.saved_posts}

    def page(self, path: str, query: str, served_at: str = "") -> bytes | None:
        ids = [int(v) for _, v in QUERY_IDS.findall(query)]
        copy = max(ids) // STEP if ids else 0
        if copy >= self.copies:
            return None
        saved_query = QUERY_IDS.sub(lambda m: f"{m.group(1)}={int(m.group(2)) % STEP}", query)
        body = self.saved.page(path, saved_query, served_at)
        if body is None:
            return None
        if not ids and CATEGORIES[0] in body:
            return self.index(body)
        return renumber(body, copy)

    def index(self, body: bytes) -> bytes:
        start = body.index(CATEGORIES[0])
        end = body.rindex(CATEGORIES[1]) + len(CATEGORIES[1])
        tables = body[start:end]
        return body[:start] + b"".join(renumber(tables, n) for n in range(self.copies)) + body[end:]
