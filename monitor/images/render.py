"""The copies of a seller's photo that the review page may show.

A photo of a KTP is the leak itself. The page never sends the bytes as fetched (they may hold EXIF
with GPS, a payload, or be made to attack a browser's decoder): every copy is re-encoded from the
decoded pixels with no metadata. By default a reviewer sees it blurred with the identity-number
lines blacked out; unblurring (audited) shows it sharp with the numbers still blacked out; only an
admin's audited reveal shows the numbers, made on demand and never stored.
"""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFilter

from rules.images.safe import encode_clean, open_image

BLURRED_SIDE = 800
REDACTED_SIDE = 1600
THUMB_SIDE = 160
REVEAL_SIDE = 2400
PAD = 0.15
"""Black boxes grow by this share of their height on every side: OCR boxes hug the glyphs."""


def black_out(img: Image.Image, regions: list[list[int]], scale: float = 1.0) -> Image.Image:
    """`img` with each [x0, y0, x1, y1] region (in the original's pixels, times `scale`) painted black;
    a malformed region is skipped."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    for box in regions or []:
        try:
            x0, y0, x1, y1 = (float(v) * scale for v in box[:4])
        except (TypeError, ValueError):
            continue
        pad = max(2.0, (y1 - y0) * PAD)
        draw.rectangle([x0 - pad, y0 - pad, x1 + pad, y1 + pad], fill=(0, 0, 0))
    return out


def _fit(img: Image.Image, side: int) -> Image.Image:
    if max(img.size) <= side:
        return img
    scale = side / max(img.size)
    return img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.LANCZOS)


def renders(data: bytes, id_regions: list[list[int]]) -> dict[str, bytes]:
    """{blurred, redacted, thumb}: JPEG copies with the identity-number regions blacked out; the blurred
    one and its thumbnail too blurred to read a name or recognise a face. Raises ImageRefused."""
    original = open_image(data)
    img = black_out(original, id_regions)
    redacted = _fit(img, REDACTED_SIDE)
    small = _fit(img, BLURRED_SIDE)
    blurred = small.filter(ImageFilter.GaussianBlur(radius=max(6.0, max(small.size) / 40)))
    # Black again after blurring, so the number lines are solid black in the blurred copy too.
    blurred = black_out(blurred, id_regions, small.width / original.width)
    thumb = _fit(blurred, THUMB_SIDE).filter(ImageFilter.GaussianBlur(radius=2))
    return {"blurred": encode_clean(blurred, quality=80), "redacted": encode_clean(redacted, quality=85),
            "thumb": encode_clean(thumb, quality=75)}


def revealed(data: bytes) -> bytes:
    """The whole photo, numbers and all, re-encoded without metadata: for an admin's audited reveal."""
    return encode_clean(_fit(open_image(data), REVEAL_SIDE), quality=90)
