"""SQL for review: users, decisions, the audit log and identifier fingerprints (mixed into Database)."""

from __future__ import annotations

import json

from .common import utcnow as _now


QUEUE_ORDERS = {  # fixed SQL by name, never built from what a user typed; the first is the default
    "severity": "CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, f.score DESC, f.id",
    "uncertain": "f.score IS NULL, abs(f.score - 0.5), f.id",
    "newest": "f.created_at DESC, f.id DESC",
}
QUEUE_SORTS = tuple(QUEUE_ORDERS)
FLAG_STATUSES = ("new", "confirmed", "dismissed", "escalated", "requested", "removed", "still_online")
"""Every status a flag can have: review decisions, then takedown outcomes."""
UNCERTAIN_BAND = (0.25, 0.75)
"""Scores the "uncertain only" filter keeps: either side of the 0.5 decision threshold."""


class ReviewQueries:
    db: object  # sqlite_utils.Database, set by Database

    # ------------------------------------------------------------ users
    def user(self, name: str) -> dict | None:
        rows = list(self.db["users"].rows_where("name = ?", [name]))
        return rows[0] if rows else None

    def users(self) -> list[dict]:
        return list(self.db["users"].rows_where(order_by="name"))

    def add_user(self, name: str, role: str, password_hash: str) -> int:
        return self._insert("users", {"name": name, "role": role, "password_hash": password_hash, "disabled": 0,
                                      "failed_logins": 0, "lang": "id", "created_at": _now()})

    def update_user(self, name: str, **values) -> None:
        self.db.execute(f"UPDATE users SET {', '.join(f'[{k}] = ?' for k in values)} WHERE name = ?", [*values.values(), name])

    def count_login_attempt(self, name: str, now: str) -> dict | None:
        """Count a login attempt for `name` BEFORE its password is checked; the user as it is after, or None.

        One statement, so parallel attempts each get their own number (read-check-write let 40
        parallel guesses through where 5 were allowed). A lockout that has run out (`locked_until`
        <= `now`, both UTC ISO strings) is cleared and the count starts again at 1.
        """
        cursor = self.db.execute(
            """UPDATE users SET
                   failed_logins = CASE WHEN locked_until IS NOT NULL AND locked_until <= :now THEN 1
                                        ELSE coalesce(failed_logins, 0) + 1 END,
                   locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= :now THEN NULL ELSE locked_until END
               WHERE name = :name RETURNING *""",
            {"now": now, "name": name},
        )
        cols = [c[0] for c in cursor.description]
        rows = cursor.fetchall()
        return dict(zip(cols, rows[0])) if rows else None

    def bump_session_epoch(self, name: str) -> None:
        """End every session of `name`: sessions carry the epoch they were made under."""
        self.db.execute("UPDATE users SET session_epoch = coalesce(session_epoch, 0) + 1 WHERE name = ?", [name])

    # ------------------------------------------------------------ audit
    def audit(self, user: str | None, action: str, target: str = "", before=None, after=None) -> None:
        dump = lambda v: v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)  # noqa: E731
        self._insert("audit", {"at": _now(), "user": user or "", "action": action, "target": target,
                               "before": dump(before), "after": dump(after)})

    def audit_log(self, limit: int | None = 500) -> list[dict]:
        sql = "SELECT id, at, user, action, target, before, after FROM audit ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return self._dicts(sql)

    # ------------------------------------------------------------ decisions
    def flag(self, flag_id: int) -> dict | None:
        rows = list(self.db["flags"].rows_where("id = ?", [flag_id]))
        return rows[0] if rows else None

    def set_flag_status(self, flag_id: int, status: str) -> None:
        self.db.execute("UPDATE flags SET status = ?, updated_at = ? WHERE id = ?", [status, _now(), flag_id])

    def add_review_event(self, flag_id: int, user: str, action: str, reason: str | None, note: str | None,
                         before: str, after: str) -> None:
        self._insert("review_events", {"flag_id": flag_id, "user": user, "action": action, "reason": reason, "note": note,
                                       "before_status": before, "after_status": after, "at": _now()})

    def review_events(self, flag_id: int) -> list[dict]:
        return list(self.db["review_events"].rows_where("flag_id = ?", [flag_id], order_by="id"))

    def reviewed_posts(self) -> list[dict]:
        """Posts the team decided, for learning: {post_id, source, text, thread_title, lang, status, categories,
        reason (the last dismissal's), is_listing, opens_thread}; flags still new are left out."""
        sql = """
            SELECT p.id AS post_id, p.source, p.text, p.thread_title, p.is_listing, p.opens_thread, f.lang, f.status, f.categories,
                   (SELECT e.reason FROM review_events e WHERE e.flag_id = f.id AND e.action = 'dismiss'
                    ORDER BY e.id DESC LIMIT 1) AS reason
            FROM flags f JOIN posts p ON p.id = f.post_id
            WHERE f.status != 'new'
            ORDER BY p.id
        """
        return self._dicts(sql)

    def rule_stats(self, since: str) -> list[dict]:
        """Per rule: the posts (flags) it fired on that were decided since `since`, by outcome.

        A rule that matched several words of one post counts that post once. Escalated flags
        are neither confirmed nor dismissed: they have their own column, and precision is
        confirmed / (confirmed + dismissed).
        """
        sql = """
            SELECT rule_id,
                   sum(status IN ('confirmed', 'requested', 'removed', 'still_online')) AS confirmed,
                   sum(status = 'dismissed') AS dismissed,
                   sum(status = 'escalated') AS escalated
            FROM (SELECT DISTINCT f.id, f.status, json_extract(m.value, '$.rule_id') AS rule_id
                  FROM flags f, json_each(f.matches) m
                  WHERE f.id IN (SELECT flag_id FROM review_events WHERE at >= ? AND action IN ('confirm', 'dismiss', 'escalate'))
                    AND json_extract(m.value, '$.neutralised_by') IS NULL)
            GROUP BY rule_id
        """
        rows = []
        for rule_id, confirmed, dismissed, escalated in self.db.execute(sql, [since]).fetchall():
            decided = confirmed + dismissed + escalated
            if decided:
                judged = confirmed + dismissed
                rows.append({"rule_id": rule_id, "decided": decided, "confirmed": confirmed, "dismissed": dismissed,
                             "escalated": escalated, "precision": round(confirmed / judged, 3) if judged else None})
        rows.sort(key=lambda r: (-r["decided"], r["rule_id"] or ""))
        return rows

    # ------------------------------------------------------------ the queue
    def queue(self, since: str | None = None, until: str | None = None, source: str | None = None,
              category: str | None = None, severity: str | None = None, status: str | None = None, q: str | None = None,
              limit: int | None = 100, offset: int = 0, sources: list[str] | None = None, *,
              sort: str | None = None, uncertain: bool = False) -> list[dict]:
        """Active flags raised in [since, until) with their posts; `q` is full-text (`fts_query`).

        `sort`: None or "severity" (most severe first, then highest score), "uncertain" (scores
        nearest the 0.5 threshold first, flags without a score last) or "newest" (latest raised
        first); anything else is a ValueError. `uncertain` keeps only scores in [0.25, 0.75].
        """
        order = QUEUE_ORDERS.get(sort or "severity")
        if order is None:
            raise ValueError(f"unknown sort {sort!r}: one of {', '.join(QUEUE_ORDERS)}")
        where: list[str] = ["f.active = 1"]
        params: list = []
        if uncertain:
            where.append("f.score BETWEEN ? AND ?")  # near the 0.5 threshold: these teach the model the most
            params.extend(UNCERTAIN_BAND)
        for clause, value in (("f.created_at >= ?", since), ("f.created_at < ?", until), ("p.source = ?", source),
                              ("EXISTS (SELECT 1 FROM json_each(f.categories) c WHERE c.value = ?)", category),
                              ("f.severity = ?", severity), ("f.status = ?", status)):
            if value:
                where.append(clause)
                params.append(value)
        if sources:
            where.append(f"p.source IN ({','.join('?' * len(sources))})")
            params.extend(sources)
        if q and q.strip():
            expression = fts_query(q)
            if expression is None:
                return []  # nothing searchable (only quotes, stars, punctuation): nothing matches
            where.append("p.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
            params.append(expression)
        sql = f"""
            SELECT f.id, f.post_id, f.status, f.severity, f.score, f.categories, f.reasons, f.reason_parts, f.matches, f.lang, f.created_at,
                   f.model, f.model_terms, f.rules_score, f.warnings,
                   p.source, p.kind, p.url, p.author, p.thread_title, p.posted_at, p.text, p.images, p.first_seen, p.last_seen,
                   am.actor_id, am.actor_posts
            FROM flags f JOIN posts p ON p.id = f.post_id LEFT JOIN actor_members am ON am.post_id = p.id
            WHERE {' AND '.join(where)}
            ORDER BY {order}
        """
        if limit:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        return self._dicts(sql, params)

    def queue_choices(self) -> dict:
        return {"sources": [r[0] for r in self.db.execute("SELECT DISTINCT source FROM posts ORDER BY source").fetchall()]}

    def post_versions(self, post_id: int) -> list[dict]:
        return list(self.db["post_versions"].rows_where("post_id = ?", [post_id], order_by="version"))

    def flag_of_post(self, post_id: int) -> dict | None:
        rows = list(self.db["flags"].rows_where("post_id = ?", [post_id]))
        return rows[0] if rows else None

    # ------------------------------------------------------------ identifiers
    def save_identifiers(self, post_id: int, fingerprints: list[tuple]) -> None:
        """(kind, fingerprint, masked[, offered as a contact]) of a post's identifiers; replaces the previous set."""
        self.db.execute("DELETE FROM identifiers WHERE post_id = ?", [post_id])
        for kind, fp, masked, *contact in fingerprints:
            self.db.execute("INSERT OR IGNORE INTO identifiers (post_id, kind, fingerprint, masked, is_contact) VALUES (?, ?, ?, ?, ?)",
                            [post_id, kind, fp, masked, (1 if contact[0] else 0) if contact else None])

    def linked(self, post_id: int, limit: int = 20) -> dict:
        """Posts that share a contact, wallet or identity-number fingerprint with `post_id`, capped.

        {"identifiers": [{kind, masked, others}] (others: how many other posts carry it, from
        `fingerprint_posts`), "posts": the `limit` most recent of those posts}. Each fingerprint
        is read through the (fingerprint, post_id) index with a LIMIT, so a number repeated in
        10,000 posts costs as little as one seen twice.
        """
        shared = [{"kind": kind, "fingerprint": fp, "masked": masked, "others": posts - 1}
                  for kind, fp, masked, posts in self.db.execute(LINKED_FINGERPRINTS, [post_id]).fetchall() if posts > 1]
        found: dict[int, dict] = {}
        for ident in shared:
            for (other,) in self.db.execute(LINKED_RECENT, [ident["fingerprint"], post_id, limit]).fetchall():
                found.setdefault(other, {"post_id": other, "kind": ident["kind"], "masked": ident["masked"]})
        chosen = sorted(found, reverse=True)[:limit]
        posts = []
        if chosen:
            details = {row["post_id"]: row for row in self._dicts(
                "SELECT p.id AS post_id, p.source, p.url, p.author, f.id AS flag_id FROM posts p "
                "LEFT JOIN flags f ON f.post_id = p.id WHERE p.id IN (SELECT value FROM json_each(?))", [json.dumps(chosen)])}
            posts = [{**found[i], **details[i]} for i in chosen if i in details]
        return {"identifiers": [{k: v for k, v in i.items() if k != "fingerprint"} for i in shared], "posts": posts}

    def linked_posts(self, post_id: int, limit: int = 20) -> list[dict]:
        """The `limit` most recent posts that share a fingerprint with `post_id` (see `linked`)."""
        return self.linked(post_id, limit)["posts"]


LINKED_FINGERPRINTS = """
    SELECT i.kind, i.fingerprint, i.masked, coalesce(c.posts, 1) FROM identifiers i
    LEFT JOIN fingerprint_posts c ON c.fingerprint = i.fingerprint WHERE i.post_id = ?
"""
LINKED_RECENT = "SELECT post_id FROM identifiers WHERE fingerprint = ? AND post_id != ? ORDER BY post_id DESC LIMIT ?"


def fts_query(q: str) -> str | None:
    """A search box's text as an FTS5 query of plain words, or None when nothing searchable is left.

    Each term is quoted by us (a `"` inside doubled), so `"`, `*`, `AND`, `NEAR(` or unbalanced
    parentheses are words, not syntax; NULs are dropped, and terms without a letter or digit
    (which FTS5 would turn into an empty phrase) are left out. At most 20 terms of 200 characters.
    """
    terms = [t for t in q[:200].replace("\x00", " ").split() if any(c.isalnum() for c in t)][:20]
    if not terms:
        return None
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms)
