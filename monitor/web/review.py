"""Review decisions on flags, shared by `monitor review` and the review page; each one audited."""

from __future__ import annotations

from ..store import Database

ACTIONS = {"confirm": "confirmed", "dismiss": "dismissed", "escalate": "escalated", "note": None}
DISMISS_REASONS = ("news_report", "not_a_sale", "duplicate", "other")
CAN_DECIDE = ("admin", "reviewer")


class ReviewError(ValueError):
    pass


def decide(db: Database, flag_id: int, action: str, user: dict, reason: str | None = None, note: str | None = None) -> dict:
    """Apply one decision (or a note) to a flag; returns the flag as it is after."""
    if user["role"] not in CAN_DECIDE:
        raise ReviewError(f"{user['name']} is a {user['role']}: only reviewers and admins decide")
    if action not in ACTIONS:
        raise ReviewError(f"unknown action {action!r}")
    flag = db.flag(flag_id)
    if flag is None:
        raise ReviewError(f"no flag {flag_id}")
    if action == "dismiss" and reason not in DISMISS_REASONS:
        raise ReviewError(f"dismissing needs a reason: {', '.join(DISMISS_REASONS)}")
    if action == "note" and not (note or "").strip():
        raise ReviewError("a note needs text")
    note = (note or "").strip()[:2000] or None
    before = flag["status"]
    after = ACTIONS[action] or before
    with db.transaction():
        if after != before:
            db.set_flag_status(flag_id, after)
        db.add_review_event(flag_id, user["name"], action, reason, note, before, after)
        db.audit(user["name"], f"review.{action}", f"flag:{flag_id}", {"status": before},
                 {"status": after, **({"reason": reason} if reason else {}), **({"note": note} if note else {})})
    return db.flag(flag_id)
