"""One image in, what it shows out: `analyse_image(data) -> ImageAnalysis`.

Sellers prove their stock with photos: e-KTP selfies (the owner holding the card), KTP, KK and
NPWP scans. The analysis says which document a photo shows, whether someone holds it, and the
numbers on it, masked like numbers in post text. Nothing in the result is a full identity
number, so it can be stored, logged and shown; `id_regions` says where to black them out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from .documents import read_document
from .faces import Box, find_faces, holder_faces
from .ocr import read_lines
from .safe import ImageRefused, open_image

__all__ = ["ImageAnalysis", "ImageRefused", "analyse_image"]

NAMES = {"ktp": "KTP", "kk": "KK (Kartu Keluarga)", "npwp": "NPWP card", "passport": "passport", "sim": "SIM (driving licence)"}
SHOWN_KINDS = ("nik", "kk", "npwp")  # the numbers a reason names


@dataclass
class ImageAnalysis:
    """What one image shows. `text_read` and `identifiers` are masked."""

    document: str  # ktp, kk, npwp, passport, sim or none
    face: bool
    selfie_with_id: bool
    identifiers: list[dict] = field(default_factory=list)  # {kind, masked, valid}
    text_read: str = ""
    reasons: list[str] = field(default_factory=list)
    sha256: str = ""
    width: int = 0
    height: int = 0
    id_regions: list[list[int]] = field(default_factory=list)  # [x0, y0, x1, y1] of lines to black out (numbers; on documents any digit)

    def to_dict(self) -> dict:
        return asdict(self)


def analyse_image(data: bytes, fingerprint: Callable[[str, str], str] | None = None) -> ImageAnalysis:
    """Analyse untrusted image bytes; raises ImageRefused (with a reason code) for anything unsafe.

    With `fingerprint(kind, digits)` (the store's keyed hash), each valid NIK, KK or NPWP read also
    carries its fingerprint, so a number seen in a photo links posts like one in text."""
    img = open_image(data)
    lines = read_lines(img)
    reading = read_document([line.text for line in lines])
    faces = find_faces(img)
    card = _bounding_box([lines[i].box for i in reading.document_lines])
    holders = holder_faces(faces, card) if reading.document != "none" else []
    selfie = bool(holders)
    identifiers = []
    for ident, digits in zip(reading.identifiers, reading.digits or [""] * len(reading.identifiers)):
        found = {"kind": ident.kind, "masked": ident.masked, "valid": ident.valid}
        if fingerprint is not None and ident.valid and ident.kind in SHOWN_KINDS and digits:
            found["fingerprint"] = fingerprint(ident.kind, digits)
        identifiers.append(found)
    return ImageAnalysis(
        document=reading.document,
        face=bool(faces),
        selfie_with_id=selfie,
        identifiers=identifiers,
        text_read=reading.masked_text,
        reasons=_reasons(reading.document, reading.labels, identifiers, bool(faces), selfie),
        sha256=hashlib.sha256(data).hexdigest(),
        width=img.width,
        height=img.height,
        id_regions=[list(lines[i].box) for i in reading.number_lines],
    )


def _bounding_box(boxes: list[Box]) -> Box | None:
    boxes = [b for b in boxes if b[2] > b[0] and b[3] > b[1]]
    if not boxes:
        return None
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


def _reasons(document: str, labels: list[str], identifiers: list[dict], face: bool, selfie: bool) -> list[str]:
    """Short sentences a reviewer reads, e.g. "photo: KTP, NIK valid, face"."""
    reasons = []
    if document != "none":
        numbers = [f"{i['kind'].upper()} {'valid' if i['valid'] else 'not valid'}" for i in identifiers
                   if i["kind"] in SHOWN_KINDS]
        parts = [NAMES[document], *dict.fromkeys(numbers)]
        if selfie:
            parts.append("held by a person (selfie with ID)")
        elif face:
            parts.append("face")
        reasons.append("photo: " + ", ".join(parts))
        if labels:
            reasons.append(f"field labels of a {NAMES[document]}: " + ", ".join(labels))
        for i in identifiers:
            if i["kind"] in SHOWN_KINDS:
                reasons.append(f"{i['kind'].upper()} {i['masked']} read, {'valid' if i['valid'] else 'not valid'}")
    else:
        reasons.append("no identity document" + (" (a face, but no card)" if face else ""))
        valid = [i for i in identifiers if i["kind"] in SHOWN_KINDS and i["valid"]]
        if valid:
            reasons.append("a valid " + "/".join(sorted({i["kind"].upper() for i in valid})) + " in the image's text")
    return reasons
