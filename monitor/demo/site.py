"""The demo site: a MyBB-style forum and a Telegram channel preview, rendered from data.

Content comes from `site.toml` (or, for the crawl benchmark, from generated
data of the same shape). Pages mirror the engines' real markup closely
enough that the real spiders and presets read them. All content is escaped.
"""

from __future__ import annotations

import math
import tomllib
from html import escape
from pathlib import Path
from urllib.parse import parse_qs

SITE_FILE = Path(__file__).parent / "site.toml"
TINY_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def load_site_data(path: Path = SITE_FILE) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"id\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><link rel=\"stylesheet\" href=\"cache/themes/theme1/global.css\"></head>\n"
        f"<body><div id=\"container\"><div id=\"header\"><div class=\"logo\"><a href=\"index.php\">{escape(title)}</a></div></div>\n"
        f"<div id=\"content\"><div class=\"wrapper\">{body}</div></div>\n"
        "<div id=\"footer\"><span>Powered By MyBB, &copy; 2002-2026 MyBB Group.</span></div></div></body></html>\n"
    )


def _text_html(text: str) -> str:
    return escape(text.strip()).replace("\n", "<br />\n")


def _pagination(base: str, page: int, pages: int) -> str:
    if pages <= 1:
        return ""
    parts = [f'<div class="pagination"><span class="pages">Pages ({pages}):</span>']
    if page > 1:
        parts.append(f'<a href="{base}&amp;page={page - 1}" class="pagination_previous">&laquo; Previous</a>')
    for n in range(1, pages + 1):
        if n == page:
            parts.append(f'<span class="pagination_current">{n}</span>')
        else:
            parts.append(f'<a href="{base}&amp;page={n}" class="pagination_page">{n}</a>')
    if page < pages:
        parts.append(f'<a href="{base}&amp;page={page + 1}" class="pagination_next">Next &raquo;</a>')
    parts.append("</div>")
    return " ".join(parts)


class DemoSite:
    """Renders the pages of one site description; `render(path, query)` -> (status, type, bytes)."""

    def __init__(self, data: dict | None = None):
        self.data = data if data is not None else load_site_data()
        forum = self.data.get("forum", {})
        self.forum_name = forum.get("name", "Forum")
        self.posts_per_page = forum.get("posts_per_page", 10)
        self.threads_per_page = forum.get("threads_per_page", 20)
        self.boards = {b["fid"]: b for b in forum.get("boards", [])}
        self.threads = {t["tid"]: t for t in forum.get("threads", [])}
        self.telegram = self.data.get("telegram")

    # ------------------------------------------------------------ routing
    def render(self, path: str, query: str) -> tuple[int, str, bytes]:
        q = {k: v[0] for k, v in parse_qs(query).items()}
        html = None
        try:
            if path in ("/", "/index.html"):
                html = self.landing()
            elif path in ("/forum/", "/forum/index.php"):
                html = self.index()
            elif path == "/forum/forumdisplay.php":
                html = self.board(int(q.get("fid", 0)), int(q.get("page", 1)))
            elif path == "/forum/showthread.php":
                html = self.thread(int(q.get("tid", 0)), int(q.get("page", 1)))
            elif self.telegram and path == f"/tg/s/{self.telegram['channel']}":
                html = self.channel(int(q["before"]) if "before" in q else None)
            elif path.startswith("/forum/attachments/"):
                return 200, "image/gif", TINY_GIF
        except ValueError:
            html = None
        if html is None:
            return 404, "text/html; charset=utf-8", _page("Error", "<p>The page you requested does not exist.</p>").encode()
        return 200, "text/html; charset=utf-8", html.encode("utf-8")

    def landing(self) -> str:
        links = '<li><a href="/forum/">Forum</a></li>'
        if self.telegram:
            links += f'<li><a href="/tg/s/{escape(self.telegram["channel"])}">Telegram: {escape(self.telegram["channel"])}</a></li>'
        return _page("Demo", f"<h1>Demo site (synthetic posts)</h1><ul>{links}</ul>")

    # ------------------------------------------------------------ forum
    def index(self) -> str:
        rows = []
        for fid, board in self.boards.items():
            count = sum(1 for t in self.threads.values() if t["fid"] == fid)
            rows.append(
                f'<tr><td class="trow1" width="1"><div class="forum_status forum_on"></div></td>'
                f'<td class="trow1"><strong><a href="forumdisplay.php?fid={fid}">{escape(board["name"])}</a></strong>'
                f'<div class="smalltext">{escape(board.get("description", ""))}</div></td>'
                f'<td class="trow1" align="center">{count}</td></tr>'
            )
        body = (
            f'<table border="0" cellspacing="0" cellpadding="5" class="tborder"><thead><tr><td class="thead" colspan="3">'
            f'<strong>{escape(self.forum_name)}</strong></td></tr></thead><tbody>{"".join(rows)}</tbody></table>'
        )
        return _page(self.forum_name, body)

    def _navigation(self, *crumbs: tuple[str | None, str]) -> str:
        parts = ['<div class="navigation"><a href="index.php">' + escape(self.forum_name) + "</a>"]
        for href, label in crumbs:
            if href:
                parts.append(f' &rsaquo; <a href="{href}">{escape(label)}</a>')
            else:
                parts.append(f' &rsaquo; <span class="active">{escape(label)}</span>')
        return "".join(parts) + "</div>"

    def board(self, fid: int, page: int) -> str | None:
        board = self.boards.get(fid)
        if board is None:
            return None
        threads = [t for t in self.threads.values() if t["fid"] == fid]
        pages = max(1, math.ceil(len(threads) / self.threads_per_page))
        if not 1 <= page <= pages:
            return None
        rows = []
        for t in threads[(page - 1) * self.threads_per_page : page * self.threads_per_page]:
            first, last = t["posts"][0], t["posts"][-1]
            rows.append(
                f'<tr class="inline_row"><td class="trow1 forumdisplay_regular">'
                f'<span class=" subject_old" id="tid_{t["tid"]}"><a href="showthread.php?tid={t["tid"]}">{escape(t["title"])}</a></span>'
                f'<div class="author smalltext"><a href="member.php?action=profile&amp;username={escape(first["author"])}">{escape(first["author"])}</a></div></td>'
                f'<td class="trow1" align="center"><a href="javascript:MyBB.whoPosted({t["tid"]});">{len(t["posts"]) - 1}</a></td>'
                f'<td class="trow1" align="center">{37 * t["tid"] % 900}</td>'
                f'<td class="trow1" style="white-space: nowrap; text-align: right;"><span class="lastpost smalltext">{escape(last["date"])}<br />'
                f'<a href="showthread.php?tid={t["tid"]}&amp;action=lastpost">Last Post</a>: {escape(last["author"])}</span></td></tr>'
            )
        body = (
            self._navigation((None, board["name"]))
            + _pagination(f"forumdisplay.php?fid={fid}", page, pages)
            + f'<table border="0" cellspacing="0" cellpadding="5" class="tborder clear"><tr><td class="thead" colspan="4">'
            f'<strong>{escape(board["name"])}</strong></td></tr>{"".join(rows)}</table>'
            + _pagination(f"forumdisplay.php?fid={fid}", page, pages)
        )
        return _page(f"{board['name']} - {self.forum_name}", body)

    def thread(self, tid: int, page: int) -> str | None:
        t = self.threads.get(tid)
        if t is None:
            return None
        posts = t["posts"]
        pages = max(1, math.ceil(len(posts) / self.posts_per_page))
        if not 1 <= page <= pages:
            return None
        board = self.boards.get(t["fid"], {"name": "?"})
        rendered = [self._post(p) for p in posts[(page - 1) * self.posts_per_page : page * self.posts_per_page]]
        body = (
            self._navigation((f"forumdisplay.php?fid={t['fid']}", board["name"]), (None, t["title"]))
            + _pagination(f"showthread.php?tid={tid}", page, pages)
            + f'<table border="0" cellspacing="0" cellpadding="5" class="tborder tfixed clear"><tr><td class="thead">'
            f'<div><strong>{escape(t["title"])}</strong></div></td></tr></table>'
            + f'<div id="posts">{"".join(rendered)}</div>'
            + _pagination(f"showthread.php?tid={tid}", page, pages)
        )
        return _page(f"{t['title']} - {self.forum_name}", body)

    def _post(self, p: dict) -> str:
        quote = ""
        if p.get("quote"):
            quote = (
                f'<blockquote class="mycode_quote"><cite>{escape(p.get("quote_author", ""))} Wrote:</cite>'
                f"{_text_html(p['quote'])}</blockquote>"
            )
        images = "".join(f'<br /><img src="{escape(src)}" alt="[Image: {escape(src)}]" class="mycode_img" />' for src in p.get("images", []))
        signature = f'<div class="signature scaleimages">{_text_html(p["signature"])}</div>' if p.get("signature") else ""
        return (
            f'<div class="post " style="" id="post_{p["pid"]}">'
            f'<div class="post_author scaleimages"><div class="author_information">'
            f'<strong><span class="largetext"><a href="member.php?action=profile&amp;username={escape(p["author"])}">{escape(p["author"])}</a></span></strong><br />'
            f'<span class="smalltext">Member</span></div></div>'
            f'<div class="post_content"><div class="post_head">'
            f'<span class="post_date">{escape(p["date"])} <span class="post_edit" id="edited_by_{p["pid"]}"></span></span></div>'
            f'<div class="post_body scaleimages" id="pid_{p["pid"]}">{quote}{_text_html(p["body"])}{images}</div>'
            f"{signature}</div>"
            f'<div class="post_controls"><div class="postbit_buttons"><a href="newreply.php?tid=0&amp;replyto={p["pid"]}" class="postbit_quote"><span>Reply</span></a></div></div>'
            "</div>"
        )

    # ------------------------------------------------------------ telegram
    def channel(self, before: int | None) -> str:
        tg = self.telegram
        messages = sorted(tg["messages"], key=lambda m: m["id"])
        if before is not None:
            messages = [m for m in messages if m["id"] < before]
        shown = messages[-tg.get("per_page", 20) :]
        channel = escape(tg["channel"])
        more = ""
        if shown and shown[0]["id"] > min(m["id"] for m in tg["messages"]):
            more = f'<a href="/tg/s/{channel}?before={shown[0]["id"]}" class="tme_messages_more js-messages_more" data-before="{shown[0]["id"]}"></a>'
        items = "".join(self._message(m) for m in shown)
        return (
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{escape(tg['title'])} – Telegram</title></head><body class=\"widget_frame_base tgme_webpreview\">"
            f'<header class="tgme_header"><div class="tgme_channel_info_header"><div class="tgme_channel_info_header_title">'
            f"<span dir=\"auto\">{escape(tg['title'])}</span></div>"
            f'<div class="tgme_channel_info_header_username"><a href="https://t.me/{channel}">@{channel}</a></div></div></header>'
            f'<main class="tgme_main"><section class="tgme_channel_history js-message_history">{more}{items}</section></main>'
            "</body></html>\n"
        )

    def _message(self, m: dict) -> str:
        channel = escape(self.telegram["channel"])
        forwarded = ""
        if m.get("forwarded_from"):
            forwarded = (
                f'<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from '
                f'<a class="tgme_widget_message_forwarded_from_name" href="#"><span dir="auto">{escape(m["forwarded_from"])}</span></a></div>'
            )
        photo = ""
        if m.get("photo"):
            photo = (
                f'<a class="tgme_widget_message_photo_wrap" href="https://t.me/{channel}/{m["id"]}" '
                f"style=\"width:800px;background-image:url('/forum/attachments/tg-{m['id']}.jpg')\"></a>"
            )
        return (
            f'<div class="tgme_widget_message_wrap js-widget_message_wrap">'
            f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="{channel}/{m["id"]}" data-view="">'
            f'<div class="tgme_widget_message_bubble">'
            f'<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" href="https://t.me/{channel}">'
            f'<span dir="auto">{escape(self.telegram["title"])}</span></a></div>'
            f"{forwarded}{photo}"
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{_text_html(m["text"])}</div>'
            f'<div class="tgme_widget_message_footer compact js-message_footer"><div class="tgme_widget_message_info short js-message_footer_info">'
            f'<span class="tgme_widget_message_views">{escape(str(m.get("views", "")))}</span><span class="copyonly"> views</span>'
            f'<span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="https://t.me/{channel}/{m["id"]}">'
            f'<time datetime="{escape(m["date"])}" class="time">{escape(m["date"][11:16])}</time></a></span></div></div>'
            "</div></div></div>"
        )

    # ------------------------------------------------------------ expectations
    def expected(self) -> dict[str, str]:
        """post key -> expected label, for the tests and the demo's self-check."""
        out = {}
        for t in self.threads.values():
            for p in t["posts"]:
                out[str(p["pid"])] = p.get("expect", "not_sale")
        if self.telegram:
            for m in self.telegram["messages"]:
                out[f"{self.telegram['channel']}/{m['id']}"] = m.get("expect", "not_sale")
        return out
