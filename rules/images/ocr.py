"""Reading the text in an image with RapidOCR (PP-OCRv4 models inside the rapidocr-onnxruntime wheel).

The research lab (issue 15) measured it against tesseract on seller-style photos: it read 92% of
NIKs on blurred, rotated KTP photos where tesseract read 62%, at about 1 s per image on 2 cores.
The engine is built on first use, once per process (loading the models takes a second), and
never downloads anything.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image

MAX_SIDE = 1600  # larger photos are scaled down first: the cost grows with the pixels, not the text
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in the image's pixels

_engine = None
_engine_lock = threading.Lock()


@dataclass(frozen=True)
class Line:
    """One line (text box) that the OCR read."""

    text: str
    box: Box
    confidence: float


def threads() -> int:
    """Intra-op threads for onnxruntime: 2 by default (1.7x faster than 1 in the lab), env MONITOR_OCR_THREADS."""
    try:
        return max(1, int(os.environ.get("MONITOR_OCR_THREADS", "2")))
    except ValueError:
        return 2


def engine():
    """The process's RapidOCR engine, created on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            n = threads()
            _engine = RapidOCR(intra_op_num_threads=n, inter_op_num_threads=1, print_verbose=False)
        return _engine


def read_lines(img: Image.Image) -> list[Line]:
    """The text lines of an RGB image, roughly top to bottom, boxes in the image's own pixels."""
    scale = 1.0
    if max(img.size) > MAX_SIDE:
        scale = max(img.size) / MAX_SIDE
        img = img.resize((max(1, round(img.width / scale)), max(1, round(img.height / scale))), Image.LANCZOS)
    found, _ = engine()(np.asarray(img.convert("RGB"))[:, :, ::-1])  # it expects BGR, as cv2 reads files
    lines = []
    for quad, text, confidence in found or []:
        xs, ys = [p[0] for p in quad], [p[1] for p in quad]
        box = (int(min(xs) * scale), int(min(ys) * scale), int(max(xs) * scale), int(max(ys) * scale))
        lines.append(Line(str(text), box, float(confidence)))
    return lines
