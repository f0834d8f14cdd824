"""Whether a post's words point at its pictures: "foto KTP", "sampel terlampir", "swafoto", "scan KK".

Fetching and reading images costs far more than reading text (about a second each), so a crawl reads
the pictures of posts that are flagged, or whose text speaks of photos, scans or samples; a channel
of memes costs little.
"""

from __future__ import annotations

import re

from ..normalize import normalize

_PHOTO_WORDS = re.compile(
    r"\b(?:foto|fotonya|poto|photos?|pics?|pict|pictures?|gambar|gbr|images?|img|scans?|scanan|sampel|samples?|"
    r"contoh|selfie|swafoto|screenshots?|ss|bukti|proof|testi|testimoni|lampiran|terlampir|attached|attachments?|"
    r"preview|spoiler)\b",
    re.IGNORECASE,
)


def mentions_images(*texts: str) -> bool:
    """True when any of `texts` (a post's text, its thread title) speaks of photos, scans or samples."""
    return any(_PHOTO_WORDS.search(normalize(text[:20_000]).text) for text in texts if isinstance(text, str) and text)
