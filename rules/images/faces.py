"""Faces in a photo, with the Haar cascades that ship inside opencv-python-headless 4.x.

One cascade alone is not enough: in the research lab (issue 15) `frontalface_default` found
"faces" in desk textures and text on 18 of 40 KTP photos. A face counts here only when
`frontalface_alt2` confirms it and an eye is found in its upper part; that found every selfie
and no face on 240 documents, products, cards and screenshots. OpenCV 5 wheels have no
cascades, hence the pin below 5.
"""

from __future__ import annotations

import os
import threading

import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]  # x0, y0, x1, y1
ANALYSED_SIDE = 800  # faces are looked for on a copy this size: enough for a selfie, 4x cheaper

_cascades = None
_lock = threading.Lock()  # CascadeClassifier objects are not safe to share between threads


def _load():
    global _cascades
    if _cascades is None:
        import cv2

        base = getattr(getattr(cv2, "data", None), "haarcascades", "")
        names = ("haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml", "haarcascade_eye.xml")
        paths = [os.path.join(base, name) for name in names]
        if not hasattr(cv2, "CascadeClassifier") or not all(os.path.exists(p) for p in paths):
            raise RuntimeError("this OpenCV has no Haar cascades (OpenCV 5?): install opencv-python-headless<5")
        _cascades = [cv2.CascadeClassifier(p) for p in paths]
    return _cascades


def find_faces(img: Image.Image) -> list[Box]:
    """Faces in an RGB image as boxes in its own pixels."""
    import cv2

    gray = np.asarray(img.convert("L"))
    height, width = gray.shape
    scale = min(1.0, ANALYSED_SIDE / max(height, width))
    if scale < 1:
        gray = cv2.resize(gray, (max(1, int(width * scale)), max(1, int(height * scale))), interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    smallest = int(0.08 * min(gray.shape))
    faces = []
    with _lock:
        main, confirm, eyes = _load()
        for x, y, w, h in main.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest)):
            pad = w // 4
            around = gray[max(0, y - pad) : y + h + pad, max(0, x - pad) : x + w + pad]
            if len(confirm.detectMultiScale(around, 1.1, 3, minSize=(w // 2, w // 2))) == 0:
                continue
            upper = gray[y : y + h * 6 // 10, x : x + w]
            if len(eyes.detectMultiScale(upper, 1.1, 3, minSize=(w // 10, w // 10))) == 0:
                continue
            faces.append((int(x / scale), int(y / scale), int((x + w) / scale), int((y + h) / scale)))
    return faces


def holder_faces(faces: list[Box], card: Box | None) -> list[Box]:
    """The faces whose centre is outside the card's text area: a KTP carries a printed photo of
    its owner, which is a face but not a selfie."""
    if card is None:
        return list(faces)
    out = []
    for face in faces:
        cx, cy = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2
        if not (card[0] <= cx <= card[2] and card[1] <= cy <= card[3]):
            out.append(face)
    return out
