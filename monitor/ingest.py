"""One path for every post, crawled or imported: store it, analyse it, flag it.

A post whose text has not changed since it was last seen is not analysed
again; a new or edited post is, and its flag follows the new analysis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rules import Detector
from rules.images.mentions import mentions_images

from .store import Database, content_hash, post_key
from .store.keys import fingerprint


@dataclass
class IngestResult:
    post_id: int
    outcome: str  # new, updated, unchanged
    flag: str | None  # new, updated, retired or None


LINKABLE = {"nik", "kk", "npwp", "card", "phone", "whatsapp", "email", "telegram", "btc", "eth", "tron"}
"""Identifier kinds that link posts: the same number, contact or wallet seen elsewhere."""


CONTACT_CUE = re.compile(r"(?:\b(?:wa|whatsapp|hubungi|kontak|contact|telp|telepon|tlp|call|sms|dm|japri|pm|order|cp|"
                         r"admin|line|signal|email|e-mail|mail)\b|wa\.me/)[^\n;]{0,25}$", re.I)
"""Words that, just before a phone number or e-mail address, offer it as the poster's contact ("WA 0812...")."""


def is_contact(text: str, ident) -> bool:
    """A handle or wallet always is the poster's; a phone or e-mail only when offered as a contact, not in a sample."""
    if ident.kind not in ("phone", "whatsapp", "email"):
        return True
    return ident.kind == "whatsapp" or bool(CONTACT_CUE.search(text[max(0, ident.start - 40):ident.start] + text[ident.start:ident.end][:6]))


def identifier_fingerprints(text: str, identifiers, key: bytes) -> list[tuple[str, str, str, bool]]:
    """(kind, keyed fingerprint, masked, offered as a contact) of the valid, linkable identifiers of `text`."""
    out = []
    for ident in identifiers:
        if ident.kind not in LINKABLE or not ident.valid:
            continue
        raw = text[ident.start : ident.end]
        if ident.kind in ("nik", "kk", "npwp", "card", "phone", "whatsapp"):
            value = re.sub(r"\D", "", raw)
            if ident.kind in ("phone", "whatsapp"):  # 0812..., 62812..., +62 812... are one number
                value = "62" + value[1:] if value.startswith("0") else value
            kind = "phone" if ident.kind == "whatsapp" else ident.kind
        elif ident.kind in ("btc", "tron"):
            value, kind = raw, ident.kind
        else:
            value, kind = raw.lower().removeprefix("t.me/").removeprefix("telegram.me/").lstrip("@"), ident.kind
        out.append((kind, fingerprint(key, kind, value), ident.masked, is_contact(text, ident)))
    return out


MAX_TITLE = 500
"""Characters of a thread title read before its opening post: a hostile title must not push the
post's body past the detector's length cut."""


def analysis_input(item: dict) -> tuple[str, dict, int]:
    """(text, options, offset) that a post is analysed with: a listing (on a marketplace or trading
    board, or a row that says so) is read as one; the post that opens a listing thread is read with
    the thread's title before it (the title is the offer), and `offset` is the title's length, for
    `Analysis.after`; a listing with no body is read by its title."""
    text = item.get("text") or ""
    is_listing = bool(item.get("is_listing"))
    options = {"source_kind": item.get("kind"), "is_listing": is_listing}
    title = " ".join((item.get("thread_title") or "").split())[:MAX_TITLE]
    if is_listing and title:
        if not text.strip():
            return title, options, 0
        if item.get("opens_thread"):
            return f"{title}\n{text}", options, len(title) + 1
    return text, options, 0


def analyse(detector, item: dict, images: list[dict] | None = None):
    """(analysis, the text its spans index) of a stored or incoming post: the post's own text, or
    the title when a listing with no body was read by its title; `images`: its photos' analyses."""
    text, options, offset = analysis_input(item)
    analysis = detector.analyze(text, **options, images=images) if images else detector.analyze(text, **options)
    if offset:
        return analysis.after(offset), item.get("text") or ""
    return analysis, text


def ingest_post(db: Database, detector: Detector, item: dict, key: bytes | None = None) -> IngestResult:
    """Store `item`, analyse it if it is new or changed, and record the flag; all or nothing.

    With `key`, the post's identifiers are stored as keyed fingerprints for linking posts.
    """
    with db.transaction():
        stored = db.upsert_post(item)
        if stored.outcome == "unchanged":
            if item.get("images"):  # a photo added to a post whose words did not change
                state = db.flag_state(stored.id)
                db.queue_post_images(stored.id, item["images"], bool(state and state["active"]) or mentions_images(
                    item.get("text") or "", item.get("thread_title") or ""))
            return IngestResult(stored.id, stored.outcome, None)
        images = db.image_findings(stored.id) if stored.outcome == "updated" else []
        analysis, flag = flag_post(db, detector, stored.id, item, images, key)
        if item.get("images"):
            db.queue_post_images(stored.id, item["images"], wants_images(analysis, item))
    return IngestResult(stored.id, stored.outcome, flag)


def wants_images(analysis, item: dict) -> bool:
    """Whether a post's images are worth fetching and reading: it is a sale, its words speak of photos,
    scans or samples, or they offer something (a sale word, a price, a sample) that a photo may show."""
    if analysis.label == "sale" or mentions_images(item.get("text") or "", item.get("thread_title") or ""):
        return True
    return any(m.neutralised_by is None and (m.label in ("SALE_INTENT", "PRICE") or m.rule_id == "terms.sample")
               for m in analysis.matches)


def photo_fingerprints(images: list[dict]) -> list[tuple[str, str, str, bool]]:
    """(kind, fingerprint, masked, False) of the valid numbers read from a post's photos: they link
    posts like numbers in text, and are never the poster's contact."""
    out = []
    for image in images or []:
        idents = image.get("identifiers") if isinstance(image, dict) else None
        for ident in idents if isinstance(idents, list) else []:
            if isinstance(ident, dict) and ident.get("fingerprint") and ident.get("valid"):
                out.append((str(ident["kind"]), str(ident["fingerprint"]), str(ident.get("masked") or ""), False))
    return out


def reanalyse_post(db: Database, detector: Detector, post_id: int, key: bytes | None = None) -> str | None:
    """Analyse a stored post again with its photos' findings (after its images were read); returns the
    flag's change (new, updated, retired or None). Call inside a write transaction."""
    item = db.post(post_id)
    if item is None:
        return None
    return flag_post(db, detector, post_id, item, db.image_findings(post_id), key)[1]


def flag_post(db: Database, detector: Detector, post_id: int, item: dict, images: list[dict], key: bytes | None):
    """Analyse a post (with its photos' findings), record the flag and, with `key`, the fingerprints of the
    numbers in its text and photos; returns (analysis, the flag's change)."""
    analysis, spans_text = analyse(detector, item, images)
    flag = db.save_flag(post_id, analysis.to_dict())
    if key is not None:
        db.save_identifiers(post_id, identifier_fingerprints(spans_text, analysis.identifiers, key) + photo_fingerprints(images))
    return analysis, flag


class PreparedDetector:
    """A detector whose analyses were made before the write transaction, for `ingest_post` to use in it.

    Running the rules is about half the cost of storing a post. Done inside the
    transaction, it would hold the write lock nearly all the time, and another
    writer polling for the lock (SQLite's busy handler sleeps up to 100 ms between
    tries) would rarely hit the instant between two commits. An analysis that was
    not prepared (the stored post changed meanwhile) is made on the spot.
    """

    def __init__(self, detector):
        self.detector = detector
        self.ready: dict = {}

    def prepare(self, text: str, **options) -> None:
        self.ready[(text, tuple(sorted(options.items())))] = self.detector.analyze(text, **options)

    def analyze(self, text: str, **options):
        if options.get("images"):  # a post whose photos were read: rare (an edited post), made on the spot
            return self.detector.analyze(text, **options)
        analysis = self.ready.get((text, tuple(sorted(options.items()))))
        return analysis if analysis is not None else self.detector.analyze(text, **options)

    def clear(self) -> None:
        self.ready.clear()

    def __getattr__(self, name):  # anything else a caller asks of a detector
        if name == "detector":
            raise AttributeError(name)
        return getattr(self.detector, name)


def prepare_analyses(db: Database, detector: PreparedDetector, items: list[dict]) -> None:
    """Analyse now, outside any write transaction, the posts among `items` that `ingest_post` will
    analyse (new or changed ones): one read of the stored content hashes per source."""
    by_source: dict[str, list[dict]] = {}
    for item in items:
        by_source.setdefault(item["source"], []).append(item)
    for source, group in by_source.items():
        known = db.content_hashes(source, [post_key(item) for item in group])
        for item in group:
            if known.get(post_key(item)) != content_hash(item.get("thread_title", ""), item.get("text", "")):
                text, options, _ = analysis_input(item)
                detector.prepare(text, **options)  # as ingest_post will ask
