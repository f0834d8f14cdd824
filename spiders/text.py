"""Turning hostile post HTML into plain text, quoted text and image URLs.

BeautifulSoup with the lenient html.parser copes with broken markup; line
breaks and block elements become newlines so ads keep their layout;
scripts, styles and the parts a preset names (quotes, signatures) are
removed from the author's text. Each fragment is parsed once.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from bs4 import BeautifulSoup, NavigableString

MAX_POST_CHARS = 200_000
MAX_IMAGES = 50
MAX_QUOTES = 50
"""Quotes kept per post; nested quotes are read inside the outermost one."""
_BLOCKS = ["p", "div", "li", "tr", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"]


@dataclass
class Fragment:
    text: str = ""
    quoted: str = ""
    images: list[str] = field(default_factory=list)


def extract(html: str, base_url: str = "", drop: tuple[str, ...] = (), quote: str | None = None,
            quote_drop: tuple[str, ...] = ()) -> Fragment:
    """The author's text of an HTML fragment (without `drop` parts), its quoted text (without `quote_drop`
    parts such as "X wrote:"), its images."""
    soup = BeautifulSoup(html[: MAX_POST_CHARS * 4], "html.parser")
    for bad in soup.find_all(["script", "style", "noscript", "template"]):
        bad.decompose()
    out = Fragment()
    if quote:
        quotes = [copy.copy(el) for el in outermost(soup.select(quote))[:MAX_QUOTES]]  # copies: chrome removed here stays
        for el in quotes:
            for selector in quote_drop:
                for part in el.select(selector):
                    part.decompose()
        out.quoted = "\n\n".join(_text_of(el) for el in quotes)
    for selector in drop:
        for el in soup.select(selector):
            el.decompose()
    for img in soup.find_all("img"):
        if is_smiley(img):  # engines draw smilies as images: they are the author's words, not pictures
            img.replace_with(img.get("alt") or "")
            continue
        src = (img.get("data-src") or img.get("src") or "").strip()
        url = safe_join(base_url, src) if src and not src.startswith("data:") else ""
        if url.startswith(("http://", "https://")) and url not in out.images and len(out.images) < MAX_IMAGES:
            out.images.append(url)
    out.text = _text_of(soup)
    return out


def safe_join(base: str, link: str) -> str:
    """`urljoin`, or '' for a link no URL parser reads (`http://[::1/x`): one bad tag must not lose a page."""
    try:
        return urljoin(base, link)
    except ValueError:
        return ""


def is_smiley(img) -> bool:
    """An <img> that an engine drew for a smiley or emoji (MyBB `smilie`, phpBB `smilies`, XenForo `smilie`)."""
    classes = " ".join(img.get("class") or []).lower()
    src = (img.get("src") or "").lower()
    return "smili" in classes or "smiley" in classes or "emoji" in classes or "/smilies/" in src or "/smileys/" in src


def outermost(elements: list) -> list:
    """The elements not inside another of them (nested quotes match a quote selector at every level)."""
    chosen = set(map(id, elements))
    return [el for el in elements if not any(id(parent) in chosen for parent in el.parents)]


def html_to_text(html: str, drop: tuple[str, ...] = ()) -> str:
    """Visible text of an HTML fragment, with the elements matching `drop` (CSS) removed."""
    return extract(html, drop=drop).text


def _text_of(node) -> str:
    """Text of a parsed node with line breaks kept; rewrites the node's breaks in place.

    As in a browser, line breaks in the HTML source are just spaces; only
    <br> and block elements start new lines.
    """
    for string in node.find_all(string=True):
        if type(string) is not NavigableString:  # comments, CDATA, doctypes stay what they are (invisible)
            continue
        if string.parent is not None and string.parent.name not in ("pre", "code", "textarea") and "\n" in string:
            string.replace_with(re.sub(r"\s+", " ", str(string)))
    for br in node.find_all("br"):
        br.replace_with("\n")
    for cell in node.find_all(["td", "th"]):
        if cell.find_previous_sibling(["td", "th"]) is not None:  # a price list's columns stay apart
            cell.insert_before(" | ")
    for block in node.find_all(_BLOCKS):
        block.insert_before("\n")
        block.insert_after("\n")
    text = node.get_text()
    text = re.sub(r"[ \t\r\f\v\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text[:MAX_POST_CHARS]
