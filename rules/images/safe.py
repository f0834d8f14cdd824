"""Opening image bytes that a seller, a forum or an attacker chose.

Nothing about a downloaded file is trusted: not its name, not its Content-Type, not its header.
The real type comes from the first bytes and must agree with what Pillow reads; the pixel count
is checked from the header before anything is decoded (a 50 kB PNG can declare 20,000 x 20,000
pixels); truncated files are refused rather than half-read. Anything shown to people goes
through `clean_copy`, which keeps the pixels and drops the rest (EXIF with GPS, comments,
payloads appended after the image).
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib

from PIL import Image, ImageFile, ImageOps

MAX_BYTES = 20_000_000
MAX_PIXELS = 40_000_000  # about 7300 x 5500: more than any phone photo a forum serves
MIN_SIDE = 24
MAX_ASPECT = 12
"""Narrower or longer images (dividers, spacers, banners) hold no document, and OCR scales their short
side up: a 1 x 2000 PNG of 92 bytes became a 736 x 1,000,000 detector input and 23 GB."""
PILLOW_FORMATS = {"jpeg": {"JPEG", "MPO"}, "png": {"PNG"}, "gif": {"GIF"}, "webp": {"WEBP"}}
"""The types read, and the Pillow formats each may open as (MPO is a phone camera's JPEG)."""


class ImageRefused(ValueError):
    """The bytes were not decoded. `reason` is a short code: too_large, empty, not_an_image,
    unsupported_type, type_mismatch, too_many_pixels, bad_shape, decompression_bomb, truncated, corrupt."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def sniff_type(data: bytes) -> str | None:
    """The type the first bytes say, whatever the file is called: jpeg, png, gif, webp, or the name
    of something that is not read (bmp, tiff, heif, pdf, zip, svg, html), or None."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM":
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        return "heif"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    text = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text:
        return "svg"
    if text.startswith((b"<!doctype", b"<html", b"<script", b"<?xml", b"<head", b"<body")):
        return "html"
    return None


def open_image(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode untrusted bytes into an RGB image (first frame, EXIF orientation applied), or raise
    ImageRefused. Pillow's own bomb warning is an error here too, in case `max_pixels` is raised."""
    if len(data) > max_bytes:
        raise ImageRefused("too_large", f"{len(data)} bytes")
    if not data:
        raise ImageRefused("empty")
    kind = sniff_type(data)
    if kind is None or kind in ("pdf", "zip", "svg", "html"):
        raise ImageRefused("not_an_image", kind or "unknown bytes")
    if kind not in PILLOW_FORMATS:
        raise ImageRefused("unsupported_type", kind)
    if kind == "jpeg" and data.find(b"\xff\xd9", data.rfind(b"\xff\xda")) == -1:
        # libjpeg fills a cut-off JPEG with grey and Pillow keeps it (a 333-byte file declaring 7000 x 5000
        # pixels decoded to a grey picture): a whole JPEG has its end-of-image marker after its last scan.
        raise ImageRefused("truncated", "no end-of-image marker after the last scan")
    # A process-wide Pillow switch: if anything turned it on, truncated files would decode half grey.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pillow's notes on corrupt EXIF: the pixels are what count
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            probe = Image.open(io.BytesIO(data))  # reads the header only
            _check_header(probe, kind, max_pixels)
            probe.verify()  # walks the chunks (PNG CRCs) without decoding pixels
            img = Image.open(io.BytesIO(data))  # verify() leaves the image unusable: open again
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)
            img.load()
            img = ImageOps.exif_transpose(img)
        except ImageRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRefused("too_many_pixels", str(exc)[:120]) from None
        except Image.UnidentifiedImageError:
            raise ImageRefused("corrupt", f"Pillow cannot read this {kind}") from None
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, zlib.error) as exc:
            raise ImageRefused(_failure_reason(exc), f"{type(exc).__name__}: {exc}"[:160]) from None
    return _to_rgb(img)


def _check_header(img: Image.Image, kind: str, max_pixels: int) -> None:
    if img.format not in PILLOW_FORMATS[kind]:
        raise ImageRefused("type_mismatch", f"the bytes say {kind}, Pillow reads {img.format}")
    width, height = img.size
    if width <= 0 or height <= 0:
        raise ImageRefused("corrupt", f"{width}x{height}")
    if width * height > max_pixels:
        raise ImageRefused("too_many_pixels", f"{width}x{height}")
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageRefused("bad_shape", f"{width}x{height}")


def _failure_reason(exc: Exception) -> str:
    message = str(exc).lower()
    if "decompressed data too large" in message or "too much memory" in message:
        return "decompression_bomb"  # e.g. a PNG text chunk that inflates to gigabytes
    if isinstance(exc, EOFError) or "truncat" in message or "premature end" in message:
        return "truncated"
    return "corrupt"


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB on white: transparent pixels would otherwise come out black and hide text from OCR."""
    if img.mode == "RGB":
        return img
    if img.mode.startswith("I") or img.mode == "F":  # 16-bit or 32-bit grey: convert("RGB") would clip it to white
        import numpy as np

        values = np.asarray(img, dtype=np.float64)
        top = float(values.max()) or 1.0
        return Image.fromarray((values * (255.0 / top)).clip(0, 255).astype(np.uint8), "L").convert("RGB")
    if img.mode in ("RGBA", "LA", "P", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        out = Image.new("RGB", rgba.size, (255, 255, 255))
        out.paste(rgba, mask=rgba.getchannel("A"))
        return out
    return img.convert("RGB")


def encode_clean(img: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    """The pixels of `img` in a new file with no metadata at all (no EXIF, ICC, comments, text)."""
    clean = Image.new("RGB", img.size)
    clean.paste(img.convert("RGB"))
    buf = io.BytesIO()
    if fmt == "PNG":
        clean.save(buf, "PNG", optimize=True)
    else:
        clean.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def clean_copy(data: bytes) -> bytes:
    """A re-encoded copy of untrusted image bytes that is safe to show: JPEG for photos, PNG for
    the rest (screenshots keep their sharp text). Raises ImageRefused like `open_image`."""
    fmt = "JPEG" if sniff_type(data) == "jpeg" else "PNG"
    return encode_clean(open_image(data), fmt)
