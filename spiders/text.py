"""Turning hostile post HTML into plain text.

BeautifulSoup with the lenient html.parser copes with broken markup; line
breaks and block elements become newlines so ads keep their layout; scripts,
styles and the parts a preset names (quotes, signatures) are removed first.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from bs4 import BeautifulSoup

MAX_POST_CHARS = 200_000
_BLOCKS = {"p", "div", "li", "tr", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html[: MAX_POST_CHARS * 4], "html.parser")


def html_to_text(html: str, drop: tuple[str, ...] = ()) -> str:
    """Visible text of an HTML fragment, with the elements matching `drop` (CSS) removed."""
    soup = _soup(html)
    for bad in soup.find_all(["script", "style", "noscript", "template"]):
        bad.decompose()
    for selector in drop:
        for el in soup.select(selector):
            el.decompose()
    return _text_of(soup)


def _text_of(soup) -> str:
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(_BLOCKS):
        block.insert_before("\n")
        block.insert_after("\n")
    text = soup.get_text()
    text = re.sub(r"[ \t\r\f\v\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text[:MAX_POST_CHARS]


def selected_text(html: str, selector: str) -> str:
    """Text of the elements of `html` matching `selector`, joined by blank lines."""
    soup = _soup(html)
    return "\n\n".join(_text_of(el) for el in soup.select(selector))


def image_urls(html: str, base_url: str, drop: tuple[str, ...] = ()) -> list[str]:
    """Absolute http(s) URLs of the images in an HTML fragment (not in dropped parts)."""
    soup = _soup(html)
    for selector in drop:
        for el in soup.select(selector):
            el.decompose()
    urls = []
    for img in soup.find_all("img"):
        src = (img.get("data-src") or img.get("src") or "").strip()
        if not src or src.startswith("data:"):
            continue
        url = urljoin(base_url, src)
        if url.startswith(("http://", "https://")) and url not in urls:
            urls.append(url)
    return urls[:50]
