"""Telegram public channel spider over the web preview `https://t.me/s/<channel>`.

Messages carry their id in `data-post="channel/123"`; older messages are
paged with `?before=<id>`. A channel without a preview is reported, not
taken for an empty success.
"""

from __future__ import annotations

import re

import scrapy

from .errors import ErrorCounterMixin
from .dates import iso_to_utc
from .evidence import with_evidence
from .forum import now_iso
from .items import Post
from .text import MAX_POST_CHARS, extract, safe_join

MAX_LINKS = 100
"""Addresses behind link text kept per message (a hostile message can hold thousands)."""

_BG_URL = re.compile(r"background-image:\s*url\(['\"]?([^'\")]+)")


def parse_views(raw: str) -> int | None:
    """'1.2K' -> 1200, '3M' -> 3000000, '845' -> 845."""
    m = re.fullmatch(r"\s*(\d+(?:[.,]\d+)?)\s*([KMkm]?)\s*", raw or "")
    if not m:  # '1.2.3K', '...': not a count
        return None
    digits = m.group(1)
    if not m.group(2) and re.fullmatch(r"\d{1,3}[.,]\d{3}", digits):  # '1,234' is a thousands separator, not 1.234
        digits = digits.replace(",", "").replace(".", "")
    number = float(digits.replace(",", "."))
    return int(round(number * {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]))


_TEXT = ("./descendant::div[contains(concat(' ', normalize-space(@class), ' '), ' tgme_widget_message_text ')"
         " and not(ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' tgme_widget_message_reply ')])]")
"""The message's own text: older previews put the replied-to message's snippet in a text div too."""

def _words(sel, css: str) -> str:
    return " ".join(" ".join(sel.css(css + " ::text").getall()).split())


_NOT_POSTED = ("ancestor-or-self::*[contains(@class, 'tgme_widget_message_user')"  # the channel's avatar
               " or contains(@class, 'tgme_widget_message_reply')"  # the replied-to message's thumbnail
               " or contains(@class, 'tgme_widget_message_location')]")  # a map tile of a shared location


def pictures(node, response) -> list[str]:
    """Photos, album items, video and round-video stills and link-preview images (CSS background-image URLs)."""
    urls = []
    for el in node.xpath(".//*[@style]"):
        if "emoji" in el.attrib.get("class", "").split():  # an emoji drawn as a picture is a character
            continue
        if el.xpath(_NOT_POSTED):
            continue
        m = _BG_URL.search(el.attrib["style"])
        if m:
            url = safe_join(response.url, m.group(1))
            if url.startswith(("http://", "https://")) and url not in urls:
                urls.append(url)
    return urls


def attachments_text(node) -> str:
    """What a message carries besides its text, as lines the rules can read: poll, documents, link
    preview, inline buttons, and the addresses behind link text (a contact is often only in an href)."""
    lines = []
    for poll in node.css("div.tgme_widget_message_poll"):
        question = _words(poll, ".tgme_widget_message_poll_question")
        options = [" ".join(" ".join(o.css("::text").getall()).split())
                   for o in poll.css(".tgme_widget_message_poll_option_text")]
        lines.append(f"[poll] {question}" + (": " + " / ".join(o for o in options if o) if options else ""))
    for doc in node.css(".tgme_widget_message_document"):
        title, extra = _words(doc, ".tgme_widget_message_document_title"), _words(doc, ".tgme_widget_message_document_extra")
        if title or extra:
            lines.append(f"[document] {title}" + (f" ({extra})" if extra else ""))
    for preview in node.css("a.tgme_widget_message_link_preview"):
        parts = [_words(preview, css) for css in (".link_preview_site_name", ".link_preview_title", ".link_preview_description")]
        href = preview.attrib.get("href", "")
        lines.append("[link] " + " — ".join(p for p in parts if p) + (f" <{href}>" if href else ""))
    for button in node.css("a.tgme_widget_message_inline_button, .tgme_widget_message_inline_button"):
        label = " ".join(" ".join(button.css("::text").getall()).split())
        href = button.attrib.get("href", "")
        if label or href:
            lines.append(f"[button] {label}" + (f" <{href}>" if href else ""))
    hrefs = []
    for href in node.xpath(_TEXT + "//a/@href").getall()[:MAX_LINKS]:
        href = href.strip()
        if href.startswith(("http://", "https://", "tg://", "mailto:")) and href not in hrefs:
            hrefs.append(href)
    if hrefs:
        lines.append("[links] " + " ".join(f"<{h}>" for h in hrefs))
    return "\n".join(lines)


def parse_channel_page(response, source: str) -> list[Post]:
    """Every message of one channel preview page, as `Post` items.

    The date is the message's date link's `<time>`: video, voice and round
    messages print their duration in a `<time>` that comes first.
    """
    posts = []
    fetched = now_iso()
    title = (response.css(".tgme_channel_info_header_title ::text").get() or "").strip()
    for node in response.css("div.tgme_widget_message[data-post]"):
        data_post = node.attrib["data-post"]
        channel, _, message_id = data_post.rpartition("/")
        body = extract(node.xpath(_TEXT).get() or "", response.url)
        extra = attachments_text(node)
        text = "\n\n".join(part for part in (body.text, extra) if part)[:MAX_POST_CHARS]
        reply = node.css("a.tgme_widget_message_reply")
        quoted = " ".join(" ".join(reply[0].css(".tgme_widget_message_metatext ::text, .tgme_widget_message_text ::text").getall()).split()) if reply else ""
        link = node.css("a.tgme_widget_message_date::attr(href)").get()
        date = node.css("a.tgme_widget_message_date time::attr(datetime)").get() or ""
        signature = _words(node, ".tgme_widget_message_from_author")
        owner = " ".join(node.css(".tgme_widget_message_owner_name ::text").getall()).strip()
        images = pictures(node, response)
        posts.append(
            Post(
                source=source,
                kind="telegram",
                post_id=data_post,
                url=(safe_join(response.url, link) if link else "") or response.url,
                page_url=response.url,
                thread_url=response.url.split("?")[0],
                thread_title=title or channel,
                board=channel,
                author=signature or owner or channel,  # a signed message names the admin who wrote it
                posted_at=iso_to_utc(date),
                posted_raw=date,
                text=text,
                quoted=quoted,
                images=images + [u for u in body.images if u not in images],
                views=parse_views(node.css(".tgme_widget_message_views::text").get() or ""),
                forwarded_from=" ".join(node.css(".tgme_widget_message_forwarded_from_name ::text").getall()).strip() or None,
                fetched_at=fetched,
            )
        )
    return posts


def has_preview(response) -> bool:
    """The page is a channel's message history (possibly empty), not the channel's plain info page."""
    return bool(response.css(".tgme_channel_history, div.tgme_widget_message[data-post]"))


def older_page(response) -> str | None:
    href = response.css("a.tme_messages_more::attr(href)").get() or response.css("link[rel=prev]::attr(href)").get()
    return (safe_join(response.url, href) or None) if href and "before=" in href else None


class TelegramSpider(ErrorCounterMixin, scrapy.Spider):
    """Crawl one public Telegram channel's web preview.

    Example: scrapy crawl telegram -a source=demo-tg -a channel=stokdata -a base_url=https://t.me/
    """

    name = "telegram"

    def __init__(self, source: str = "telegram", channel: str = "", base_url: str = "https://t.me/", max_pages: str = "5",
                 proxy: str = "", **kwargs):
        super().__init__(**kwargs)
        if not re.fullmatch(r"[A-Za-z][\w]{3,31}", channel or ""):
            raise ValueError("telegram spider needs -a channel=<public channel name>")
        self.source = source
        self.channel = channel
        self.base_url = base_url.rstrip("/") + "/"
        self.max_pages = int(max_pages or 5)
        self.pages = 0
        self.meta = {"proxy": proxy} if proxy else {}

    def source_urls(self) -> list[str]:
        """Where this source's requests may go: the base URL's scheme, host and port (see spiders.middlewares)."""
        return [self.base_url]

    async def start(self):
        for request in self.start_requests():
            yield request

    def start_requests(self):
        yield scrapy.Request(f"{self.base_url}s/{self.channel}", callback=self.parse, errback=self.request_failed, meta=self.meta)

    def parse(self, response):
        self.pages += 1
        if self.pages == 1 and not has_preview(response):
            # t.me answers a channel without a preview with its plain page (or a redirect to it).
            self.logger.error("channel %s has no public preview at %s", self.channel, response.url)
            self.crawler.stats.set_value("monitor/no_preview", 1)
            return
        yield from with_evidence(parse_channel_page(response, self.source), response)
        older = older_page(response)
        if older and self.pages < self.max_pages:
            yield scrapy.Request(older, callback=self.parse, errback=self.request_failed, meta=self.meta)
