"""SQL for review: users, decisions, the audit log and identifier fingerprints (mixed into Database)."""

from __future__ import annotations

import json

from .common import utcnow as _now


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

    def rule_stats(self, since: str) -> list[dict]:
        """Per rule: flags it fired on that were confirmed or dismissed since `since`."""
        sql = """
            SELECT json_extract(m.value, '$.rule_id') AS rule_id,
                   sum(f.status IN ('confirmed', 'requested', 'removed', 'still_online', 'escalated')) AS confirmed,
                   sum(f.status = 'dismissed') AS dismissed,
                   count(*) AS decided
            FROM flags f, json_each(f.matches) m
            WHERE f.id IN (SELECT flag_id FROM review_events WHERE at >= ? AND action IN ('confirm', 'dismiss', 'escalate'))
              AND json_extract(m.value, '$.neutralised_by') IS NULL
            GROUP BY rule_id ORDER BY decided DESC, rule_id
        """
        rows = [dict(zip(("rule_id", "confirmed", "dismissed", "decided"), r)) for r in self.db.execute(sql, [since]).fetchall()]
        for row in rows:
            row["precision"] = round(row["confirmed"] / row["decided"], 3) if row["decided"] else None
        return rows

    # ------------------------------------------------------------ the queue
    def queue(self, since: str | None = None, until: str | None = None, source: str | None = None,
              category: str | None = None, severity: str | None = None, status: str | None = None, q: str | None = None,
              limit: int | None = 100, offset: int = 0, sources: list[str] | None = None) -> list[dict]:
        """Active flags raised in [since, until) with their posts, most severe first; `q` is full-text, quoted."""
        where: list[str] = ["f.active = 1"]
        params: list = []
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
            where.append("p.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
            params.append(self.db.quote_fts(q.strip()[:200]))
        sql = f"""
            SELECT f.id, f.post_id, f.status, f.severity, f.score, f.categories, f.reasons, f.matches, f.lang, f.created_at,
                   p.source, p.kind, p.url, p.author, p.thread_title, p.posted_at, p.text, p.images, p.first_seen, p.last_seen
            FROM flags f JOIN posts p ON p.id = f.post_id
            WHERE {' AND '.join(where)}
            ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
                     f.score DESC, f.id
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
    def save_identifiers(self, post_id: int, fingerprints: list[tuple[str, str, str]]) -> None:
        """(kind, fingerprint, masked) of a post's identifiers; replaces the previous set."""
        self.db.execute("DELETE FROM identifiers WHERE post_id = ?", [post_id])
        for kind, fp, masked in fingerprints:
            self.db.execute("INSERT OR IGNORE INTO identifiers (post_id, kind, fingerprint, masked) VALUES (?, ?, ?, ?)",
                            [post_id, kind, fp, masked])

    def linked_posts(self, post_id: int, limit: int = 20) -> list[dict]:
        """Other posts that share a contact, wallet or identity-number fingerprint with `post_id`."""
        sql = """
            SELECT DISTINCT o.post_id, o.kind, o.masked, p.source, p.url, p.author, f.id AS flag_id
            FROM identifiers i JOIN identifiers o ON o.fingerprint = i.fingerprint AND o.post_id != i.post_id
            JOIN posts p ON p.id = o.post_id LEFT JOIN flags f ON f.post_id = p.id
            WHERE i.post_id = ? ORDER BY o.post_id DESC LIMIT ?
        """
        return self._dicts(sql, [post_id, limit])
