"""What the review page shows of a post's images, and the short-lived grants to see them sharp.

A post's images are shown blurred, with the identity-number lines blacked out, to everyone who may
read the post. A sharp copy (numbers still black) needs a reviewer's or admin's audited unblur of
that one image; the numbers themselves need an admin's audited reveal. Either request leaves a
grant in the person's session (signed by Flask, so it cannot be made up) that lets the image
routes serve that copy of that image for GRANT_SECONDS; the routes check the role again on every
request, and a session ends at logout or a role change (accounts.session_epoch), taking its grants
with it. So a viewer who types /image/<sha>/redacted gets a 403, and every sharp copy served falls
under one audit entry that says who asked, for which post and image, and when. A grant is for the
image (its bytes), so the same photo on another post shows sharp too while it lasts. "Blur again"
changes this session's view; a copy of the cookie taken before keeps the grant to its expiry (at
most GRANT_SECONDS), as logout is what ends a session.

Both the post page (views.py) and the image routes (image_views.py) use this module; it imports
neither, so there is no circle.
"""

from __future__ import annotations

import re
import time

from flask import g, session

SHA = re.compile(r"[0-9a-f]{64}")
GRANT_SECONDS = 10 * 60
MAX_GRANTS = 20  # grants kept in a session (the cookie stays small); the oldest go first
LEVELS = {"blurred": 0, "thumb": 0, "redacted": 1, "revealed": 2}
"""How sharp each copy is: a grant for a level serves that copy and the ones below it."""
ROLES_FOR = {"redacted": ("admin", "reviewer"), "revealed": ("admin",)}
"""Who may ask for (and be served) a sharp copy."""
_SESSION_KEY = "image_grants"


def valid_sha(sha: str) -> bool:
    """A SHA-256 as the store names images: 64 lower-case hex digits, nothing else."""
    return bool(SHA.fullmatch(sha or ""))


def may_see(variant: str) -> bool:
    """Whether the signed-in user's role allows `variant` at all (the blurred copies: everyone signed in)."""
    roles = ROLES_FOR.get(variant)
    return g.get("user") is not None and (roles is None or g.user["role"] in roles)


def _grants(now: float) -> dict[str, list]:
    """The session's live grants: sha -> [level, expires at (epoch seconds)]."""
    raw = session.get(_SESSION_KEY)
    if not isinstance(raw, dict):
        return {}
    return {sha: value for sha, value in raw.items()
            if isinstance(value, list) and len(value) == 2 and isinstance(value[1], (int, float)) and value[1] > now}


def grant(sha: str, variant: str, now: float | None = None) -> None:
    """Let this session see `variant` (redacted or revealed) of image `sha` for GRANT_SECONDS (after an audited request)."""
    now = time.time() if now is None else now
    grants = _grants(now)
    current = grants.get(sha)
    if current and isinstance(current[0], int) and current[0] > LEVELS[variant]:
        return  # a live sharper grant keeps its own expiry: an unblur must not stretch what a reveal's audit entry covers
    grants.pop(sha, None)
    grants[sha] = [LEVELS[variant], int(now + GRANT_SECONDS)]
    newest = sorted(grants.items(), key=lambda item: item[1][1])  # by expiry: the cookie brings its keys back sorted
    session[_SESSION_KEY] = dict(newest[-MAX_GRANTS:])


def drop_grant(sha: str) -> None:
    """Blur `sha` again in this session."""
    grants = _grants(time.time())
    if grants.pop(sha, None) is not None or _SESSION_KEY in session:
        session[_SESSION_KEY] = grants


def granted_level(sha: str, now: float | None = None) -> int:
    value = _grants(time.time() if now is None else now).get(sha)
    return int(value[0]) if value and isinstance(value[0], int) else 0


def allowed(sha: str, variant: str) -> bool:
    """Whether this request may be served `variant` of `sha`: the role allows it and, for a sharp copy, a live grant does."""
    if variant not in LEVELS or not may_see(variant):
        return False
    return LEVELS[variant] == 0 or granted_level(sha) >= LEVELS[variant]


def shown_copy(sha: str) -> str:
    """Which copy the post page shows of an analysed image: revealed, redacted or (by default) blurred."""
    for variant in ("revealed", "redacted"):
        if allowed(sha, variant):
            return variant
    return "blurred"


def image_state(row: dict | None) -> str:
    """A post image's state as the page names it (image_<state> in i18n): not_queued, queued, skipped,
    failed, purged (by retention), stored (not analysed yet), refused, analysed, or unknown."""
    if row is None:
        return "not_queued"
    if row["status"] != "stored":
        return row["status"] if row["status"] in ("queued", "skipped", "failed", "purged") else "unknown"
    return {"analysed": "analysed", "refused": "refused"}.get(row.get("image_status"), "stored")


def post_image_cards(db, post_id: int, listed: list) -> list[dict]:
    """The post's images in its order, each with its state and, when analysed, what it shows and the copy
    this reader sees. `listed` is the post's own list of image URLs: one not (yet) in post_images (a post
    stored before images were fetched) is shown by its URL as not queued."""
    rows = db.post_images(post_id)
    known = {row["url"] for row in rows}
    cards = [_card(row) for row in rows]
    for url in dict.fromkeys(u for u in listed or [] if isinstance(u, str) and u not in known):
        cards.append({**_card(None), "url": url})
    return cards


def _card(row: dict | None) -> dict:
    state = image_state(row)
    card = {"url": (row or {}).get("url") or "", "state": state, "sha256": None, "reason": None}
    if row is None:
        return card
    if state == "failed":
        card["reason"] = row.get("reason") or "?"
    elif state == "refused":
        card["reason"] = row.get("image_reason") or "?"
    if state == "analysed" and valid_sha(row.get("sha256") or ""):
        analysis = row.get("analysis") or {}
        identifiers = analysis.get("identifiers") if isinstance(analysis.get("identifiers"), list) else []
        card.update(
            sha256=row["sha256"],
            document=row.get("document") or analysis.get("document") or "none",
            face=bool(row.get("face")),
            selfie_with_id=bool(row.get("selfie_with_id")),
            identifiers=[{"kind": str(i.get("kind") or "number"), "masked": str(i.get("masked") or ""), "valid": bool(i.get("valid"))}
                         for i in identifiers if isinstance(i, dict)],
            text_read=str(analysis.get("text_read") or ""),
            view=shown_copy(row["sha256"]),
        )
    elif state == "analysed":
        card["state"] = "stored"
    return card


def thumbnails(db, items: list[dict]) -> None:
    """Give each queue item the hashes of up to three of its post's analysed images (`thumbs`): one query a page."""
    found = db.thumbnails(sorted({item["post_id"] for item in items})) if items else {}
    for item in items:
        item["thumbs"] = [sha for sha in found.get(item["post_id"], []) if valid_sha(sha)]
