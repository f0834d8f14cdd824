"""What a post's photos add to its analysis: identity documents, selfies with ID, valid numbers read.

The image analysis (`rules.images.analyse_image`) says what each photo shows; the detector reads the
post's text as before and asks this module what the photos add. The text decides whether anything is
offered: a photo of a KTP beside a sale word, a sample or a price for named data is a sale; beside a
question, a report or a bare contact it is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .detector import Match

PHOTO_NUMBERS = ("nik", "kk", "npwp")
"""Numbers read from a photo that count as valid identity numbers (as in text)."""

SAMPLE_WORDS = frozenset({"sample", "samples", "sampel", "sampel gratis", "free sample", "sample gratis"})
"""A sample offered: beside a photo of an identity document, the photo is the seller's proof. ("bukti",
proof, is not among them: "ini bukti + KTP saya untuk COD" is a buyer's.)"""


@dataclass
class Photos:
    """What a post's photos add to its evidence: identity documents, selfies with ID, valid numbers read."""

    documents: int = 0
    selfies: int = 0
    valid_numbers: int = 0
    parts: list[dict] = field(default_factory=list)

    def offered(self, ev: dict, live: list[Match]) -> bool:
        """A photo of an identity document with a caption that offers it: a sale word, a sample, or a
        price for data the text names; in a post that is not a report, a warning, a question or lawful
        commerce. A contact alone is not an offer ("whoever lost this KTP, DM me"), nor a price alone
        ("ID card printing 10rb/pcs")."""
        if not self.documents or ev["reported"] or ev["question"] or ev["benign"]:
            return False
        return (any(m.label == "SALE_INTENT" for m in live)
                or any(m.rule_id == "terms.sample" and " ".join(m.text.lower().split()) in SAMPLE_WORDS for m in live)
                or (any(m.label == "PRICE" for m in live) and ev["data"] > 0))

    def add_to(self, ev: dict) -> None:
        """The photos' documents as data on offer and their valid numbers as valid ids, in a sale's evidence."""
        data = ev["data_by_category"]
        if self.selfies:
            data["ektp_selfie"] = data.get("ektp_selfie", 0.0) + self.selfies
        if self.documents > self.selfies:
            data["id_documents"] = data.get("id_documents", 0.0) + self.documents - self.selfies
        ev["valid_ids"] += self.valid_numbers


def photos_of(images) -> Photos | None:
    """The photos' evidence from their analyses (dicts; anything malformed is skipped), or None without any."""
    if not images:
        return None
    photos, numbers = Photos(), set()
    for image in images[:100]:
        if not isinstance(image, dict):
            continue
        document = str(image.get("document") or "none")
        idents = image.get("identifiers")
        found = [(str(i.get("kind")), str(i.get("masked")), bool(i.get("valid"))) for i in (idents if isinstance(idents, list) else [])
                 if isinstance(i, dict) and i.get("kind") in PHOTO_NUMBERS]
        numbers.update((kind, masked) for kind, masked, valid in found if valid)
        if document == "none" and not any(valid for _, _, valid in found):
            continue
        if document != "none":
            photos.documents += 1
            photos.selfies += bool(image.get("selfie_with_id"))
        photos.parts.append({"kind": "photo", "document": document, "face": bool(image.get("face")),
                             "selfie": bool(image.get("selfie_with_id")),
                             "numbers": [[kind, valid] for kind, valid in dict.fromkeys((k, v) for k, _, v in found)]})
    photos.valid_numbers = len(numbers)
    return photos
