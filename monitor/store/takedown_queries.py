"""SQL for takedown requests, re-checks and retention (mixed into Database)."""

from __future__ import annotations

import json

from .common import utcnow as _now


class TakedownQueries:
    db: object

    def confirmed_not_requested(self, since: str | None = None) -> list[dict]:
        """Confirmed, active flags with their posts that no takedown batch holds yet."""
        sql = """
            SELECT f.id AS flag_id, f.post_id, f.severity, f.categories, f.reasons, f.reason_parts, f.identifiers, f.created_at,
                   p.source, p.kind, p.url, p.post_id AS site_post_id, p.first_seen, p.last_seen, p.evidence_sha, p.text
            FROM flags f JOIN posts p ON p.id = f.post_id
            WHERE f.active = 1 AND f.status = 'confirmed'
              AND NOT EXISTS (SELECT 1 FROM takedown_items t WHERE t.flag_id = f.id)
        """
        params = []
        if since:
            sql += " AND f.created_at >= ?"
            params.append(since)
        return self._dicts(sql + " ORDER BY f.id", params)

    def flags_to_share(self, status: str = "confirmed", since: str | None = None) -> list[dict]:
        """Active flags of `status` (created since `since`) with their posts and identifiers, for CTI exports.

        Identifiers come as stored: kind, keyed fingerprint and masked form, never the full number.
        """
        sql = """
            SELECT f.id AS flag_id, f.status, f.severity, f.score, f.categories, f.created_at, f.updated_at,
                   p.id AS post_row, p.source, p.kind, p.url, p.page_url, p.author, p.thread_title, p.board,
                   p.posted_at, p.first_seen, p.last_seen, p.evidence_sha, p.text
            FROM flags f JOIN posts p ON p.id = f.post_id
            WHERE f.active = 1 AND f.status = ?
        """
        params: list = [status]
        if since:
            sql += " AND f.created_at >= ?"
            params.append(since)
        rows = self._dicts(sql + " ORDER BY f.id", params)
        for row in rows:
            row["categories"] = json.loads(row["categories"] or "[]")
            row["identifiers"] = self._dicts(
                "SELECT kind, fingerprint, masked FROM identifiers WHERE post_id = ? ORDER BY kind, masked", [row["post_row"]])
        return rows

    def flags_raised_in_run(self, source: str, started_at: str) -> list[dict]:
        """Active flags on posts of `source` created since `started_at` (a run's new flags: one run per source at a time)."""
        rows = self._dicts(
            "SELECT f.id AS flag_id, f.post_id, f.severity, f.categories, p.source, p.author, p.thread_title, p.text, am.actor_id "
            "FROM flags f JOIN posts p ON p.id = f.post_id LEFT JOIN actor_members am ON am.post_id = p.id "
            "WHERE p.source = ? AND f.active = 1 AND f.created_at >= ? ORDER BY f.id", [source, started_at])
        for row in rows:
            row["categories"] = json.loads(row["categories"] or "[]")
        return rows

    def create_batch(self, platform: str, user: str, fmt: str, out_dir: str, rows: list[dict]) -> int:
        now = _now()
        with self.db.atomic():
            batch_id = self._insert("takedown_batches", {"platform": platform, "created_at": now, "created_by": user,
                                                         "format": fmt, "out_dir": out_dir, "posts": len(rows)})
            for row in rows:
                self._insert("takedown_items", {"batch_id": batch_id, "flag_id": row["flag_id"], "post_id": row["post_id"],
                                                "url": row["url"], "platform": platform, "requested_at": now, "status": "requested"})
                self.db.execute("UPDATE flags SET status = 'requested', updated_at = ? WHERE id = ?", [now, row["flag_id"]])
        return batch_id

    def batch(self, batch_id: int) -> dict | None:
        rows = list(self.db["takedown_batches"].rows_where("id = ?", [batch_id]))
        return rows[0] if rows else None

    def items_to_recheck(self, batch_id: int | None = None, requested_before: str | None = None) -> list[dict]:
        sql = """SELECT t.*, p.source, p.kind, p.post_id AS site_post_id FROM takedown_items t JOIN posts p ON p.id = t.post_id
                 WHERE t.status IN ('requested', 'still_online', 'unreachable', 'escalated')"""
        params: list = []
        if batch_id is not None:
            sql += " AND t.batch_id = ?"
            params.append(batch_id)
        if requested_before:
            sql += " AND t.requested_at <= ?"
            params.append(requested_before)
        return self._dicts(sql + " ORDER BY t.id", params)

    def record_check(self, item_id: int, flag_id: int, status: str, detail: str) -> None:
        now = _now()
        removed_at = now if status == "removed" else None
        self.db.execute("UPDATE takedown_items SET status = ?, last_checked_at = ?, check_detail = ?, "
                        "removed_at = coalesce(removed_at, ?) WHERE id = ?", [status, now, detail, removed_at, item_id])
        if status in ("removed", "still_online", "escalated"):
            self.db.execute("UPDATE flags SET status = ?, updated_at = ? WHERE id = ?", [status, now, flag_id])

    def takedown_items(self) -> list[dict]:
        return list(self.db["takedown_items"].rows_where(order_by="id"))

    # ------------------------------------------------------------ retention
    def purge_candidates(self, cutoff: str) -> dict:
        """What retention removes: dismissed posts last seen before `cutoff`, and captures last fetched
        before it that no open case (confirmed, requested, still online, escalated) cites."""
        posts = [r[0] for r in self.db.execute(
            "SELECT p.id FROM posts p JOIN flags f ON f.post_id = p.id WHERE f.status = 'dismissed' AND p.last_seen < ?",
            [cutoff]).fetchall()]
        open_cases = "('confirmed', 'requested', 'still_online', 'escalated', 'unreachable')"
        evidence = [r[0] for r in self.db.execute(f"""
            SELECT e.sha256 FROM evidence e WHERE e.last_fetched_at < ?
              AND NOT EXISTS (SELECT 1 FROM posts p JOIN flags f ON f.post_id = p.id
                              WHERE f.status IN {open_cases} AND p.evidence_sha = e.sha256)
              AND NOT EXISTS (SELECT 1 FROM post_versions v JOIN flags f ON f.post_id = v.post_id
                              WHERE f.status IN {open_cases} AND v.evidence_sha = e.sha256)
              AND NOT EXISTS (SELECT 1 FROM post_images pi JOIN flags f ON f.post_id = pi.post_id
                              WHERE f.status IN {open_cases} AND pi.sha256 = e.sha256)""", [cutoff]).fetchall()]
        # Images only purged posts showed go with them, however recently they were fetched.
        listed = set(evidence)
        evidence += [sha for (sha,) in self.db.execute("""
            SELECT DISTINCT pi.sha256 FROM post_images pi WHERE pi.sha256 IS NOT NULL
              AND pi.post_id IN (SELECT value FROM json_each(?))
              AND NOT EXISTS (SELECT 1 FROM post_images o WHERE o.sha256 = pi.sha256
                              AND o.post_id NOT IN (SELECT value FROM json_each(?)))""",
            [json.dumps(posts), json.dumps(posts)]).fetchall() if sha not in listed]
        return {"posts": posts, "evidence": evidence}

    def purge(self, post_ids: list[int], evidence: list[str]) -> None:
        ids = json.dumps(post_ids)
        with self.db.atomic():
            for table, column in (("review_events", "flag_id IN (SELECT id FROM flags WHERE post_id IN (SELECT value FROM json_each(?)))"),
                                  ("flag_changes", "post_id IN (SELECT value FROM json_each(?))"),
                                  ("flags", "post_id IN (SELECT value FROM json_each(?))"),
                                  ("identifiers", "post_id IN (SELECT value FROM json_each(?))"),
                                  ("post_versions", "post_id IN (SELECT value FROM json_each(?))"),
                                  ("post_images", "post_id IN (SELECT value FROM json_each(?))"),
                                  ("posts", "id IN (SELECT value FROM json_each(?))")):
                self.db.execute(f"DELETE FROM {table} WHERE {column}", [ids])
            self.db.execute("DELETE FROM evidence WHERE sha256 IN (SELECT value FROM json_each(?))", [json.dumps(evidence)])
            # An image whose bytes are gone goes with what was read of it and its copies (they show the leak too).
            self.db.execute("DELETE FROM images WHERE sha256 IN (SELECT value FROM json_each(?))", [json.dumps(evidence)])
            self.db.execute("UPDATE post_images SET status = 'purged', updated_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now') "
                            "WHERE sha256 IN (SELECT value FROM json_each(?))", [json.dumps(evidence)])
