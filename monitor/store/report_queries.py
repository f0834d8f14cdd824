"""SQL for the digest and charts: flags, runs and takedowns in a time window, and the identifiers that link sellers."""

from __future__ import annotations

import json

from .common import utcnow as _now

SELLER_KINDS = ("phone", "email", "telegram", "btc", "eth", "tron")
"""Identifier kinds that point at whoever posts (contacts, wallets); identity numbers point at victims.
Phones and e-mails count only when offered as a contact (`identifiers.is_contact`), not in a sample."""

SELLER_IDENTIFIER = ("i.kind IN (" + ", ".join(f"'{k}'" for k in SELLER_KINDS) + ") "
                     "AND (i.kind NOT IN ('phone', 'email') OR coalesce(i.is_contact, 1) = 1)")
"""The SQL condition on `identifiers i` that picks what links posts into one seller (SELLER_KINDS, constants)."""

ACTOR_SUMMARY = ("SELECT am.actor_id AS id, count(*) AS posts, group_concat(DISTINCT p.source) AS sources, "
                 "min(p.first_seen) AS first_seen, max(coalesce(p.last_seen, p.first_seen)) AS last_seen "
                 "FROM actor_members am JOIN posts p ON p.id = am.post_id {where} GROUP BY am.actor_id")
"""Sellers as the last regrouping left them: how many posts, where, first and last seen."""


class ReportQueries:
    db: object

    def flags_created(self, start: str, end: str) -> list[dict]:
        """Active flags raised in [start, end) with their posts (UTC ISO bounds)."""
        rows = self._dicts(
            "SELECT f.id AS flag_id, f.post_id, f.severity, f.score, f.categories, f.status, f.created_at, "
            "p.source, p.kind, p.url, p.author, p.thread_title, p.text "
            "FROM flags f JOIN posts p ON p.id = f.post_id "
            "WHERE f.active = 1 AND f.created_at >= ? AND f.created_at < ? ORDER BY f.id", [start, end])
        for row in rows:
            row["categories"] = json.loads(row["categories"] or "[]")
        return rows

    def runs_between(self, start: str, end: str) -> list[dict]:
        """Crawl and import runs started in [start, end)."""
        rows = self._dicts("SELECT id, source, kind, status, reason, started_at, pages, posts_new, errors FROM crawl_runs "
                           "WHERE started_at >= ? AND started_at < ? ORDER BY id", [start, end])
        for row in rows:
            row["errors"] = json.loads(row["errors"] or "{}")
        return rows

    def takedown_changes(self, start: str, end: str) -> dict:
        """How many takedown requests were made, removed, escalated in [start, end)."""
        one = lambda sql: self.db.execute(sql, [start, end]).fetchone()[0]  # noqa: E731
        return {
            "requested": one("SELECT count(*) FROM takedown_items WHERE requested_at >= ? AND requested_at < ?"),
            "removed": one("SELECT count(*) FROM takedown_items WHERE removed_at >= ? AND removed_at < ?"),
            "escalated": one("SELECT count(*) FROM takedown_items WHERE status = 'escalated' AND last_checked_at >= ? AND last_checked_at < ?"),
            "still_online": one("SELECT count(*) FROM takedown_items WHERE status = 'still_online' AND last_checked_at >= ? AND last_checked_at < ?"),
        }

    def flag_days(self, start: str, end: str) -> list[tuple[str, str]]:
        """(created_at, categories JSON) of the active flags raised in [start, end): the charts count them by day."""
        return self.db.execute("SELECT created_at, categories FROM flags WHERE active = 1 AND created_at >= ? AND created_at < ?",
                               [start, end]).fetchall()

    def flag_groups(self, start: str, end: str, offset_minutes: int) -> list[tuple]:
        """(local day, severity, categories JSON, source, status, count) of active flags raised in [start, end).

        The day is the flag's time moved by `offset_minutes` (the team's zone; Indonesia's zones have no
        daylight saving). One grouped scan of a covering index (migration 0012), no look-up per flag.
        """
        return self.db.execute(
            "SELECT date(created_at, ? || ' minutes') AS day, severity, categories, source, status, count(*) "
            "FROM flags INDEXED BY idx_flags_dashboard WHERE created_at >= ? AND created_at < ? AND active = 1 "
            "GROUP BY day, severity, categories, source, status", [f"{offset_minutes:+d}", start, end]).fetchall()

    def run_groups(self, start: str, end: str, offset_minutes: int) -> list[tuple]:
        """(local day, source, status, runs, posts new) of crawl runs started in [start, end)."""
        return self.db.execute(
            "SELECT date(started_at, ? || ' minutes') AS day, source, status, count(*), coalesce(sum(posts_new), 0) "
            "FROM crawl_runs WHERE started_at >= ? AND started_at < ? GROUP BY day, source, status",
            [f"{offset_minutes:+d}", start, end]).fetchall()

    def decision_weeks(self, start: str, end: str, offset_minutes: int) -> list[tuple]:
        """(local week's Monday, decision, count) of confirm / escalate / dismiss decisions made in [start, end).

        Read from the review events, which keep when each decision was made; a flag's own
        `updated_at` moves on later edits, rescoring and takedowns.
        """
        return self.db.execute(
            "SELECT date(at, ? || ' minutes', '-6 days', 'weekday 1') AS week, after_status, count(*) FROM review_events "
            "WHERE action IN ('confirm', 'escalate', 'dismiss') AND at >= ? AND at < ? GROUP BY week, after_status",
            [f"{offset_minutes:+d}", start, end]).fetchall()

    def flags_reaching(self, statuses: tuple[str, ...]) -> int:
        """Active flags whose status is one of `statuses` (all time: the takedown funnel's first stage)."""
        marks = ",".join("?" * len(statuses))
        return self.db.execute(f"SELECT count(*) FROM flags WHERE active = 1 AND status IN ({marks})", list(statuses)).fetchone()[0]

    def actor_names(self) -> dict[str, dict]:
        """actor id -> {name, note, updated_by, updated_at} of the actors a reviewer named."""
        return {r["actor_id"]: r for r in self._dicts("SELECT actor_id, name, note, updated_by, updated_at FROM actor_names")}

    def name_actor(self, actor_id: str, name: str, note: str, user: str) -> None:
        """Name and note an actor; the change goes to the audit log with what it replaced."""
        before = self.actor_names().get(actor_id)
        after = {"name": name, "note": note}
        with self.db.atomic():
            self.db.execute("INSERT INTO actor_names (actor_id, name, note, updated_by, updated_at) VALUES (?, ?, ?, ?, ?) "
                            "ON CONFLICT(actor_id) DO UPDATE SET name = excluded.name, note = excluded.note, "
                            "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                            [actor_id, name, note, user, _now()])
            self.audit(user, "actor.name", actor_id, {"name": before["name"], "note": before["note"]} if before else None, after)

    def posts_of(self, post_ids: list[int]) -> list[dict]:
        """Posts with their flag's status, categories and severity, newest first."""
        return self._dicts(
            "SELECT p.id, p.source, p.url, p.author, p.thread_title, p.posted_at, p.first_seen, f.status, f.severity, f.categories "
            "FROM posts p LEFT JOIN flags f ON f.post_id = p.id WHERE p.id IN (SELECT value FROM json_each(?)) "
            "ORDER BY p.first_seen DESC", [json.dumps(list(post_ids))])

    def replace_actor_members(self, members: list[tuple[int, str, int]]) -> None:
        """(post id, actor id, the actor's number of posts) of every post with a contact or wallet, replacing the last set."""
        with self.db.atomic():
            self.db.execute("DELETE FROM actor_members")
            self.db.conn.executemany("INSERT INTO actor_members (post_id, actor_id, actor_posts) VALUES (?, ?, ?)", members)

    def actor_page(self, limit: int, offset: int) -> list[dict]:
        """One page of sellers from the last regrouping, most posts first: posts, sources, first and last
        sighting, their posts' statuses and their contacts and wallets (masked)."""
        rows = [_sources_listed(r) for r in self._dicts(
            ACTOR_SUMMARY.format(where="") + " ORDER BY posts DESC, am.actor_id LIMIT ? OFFSET ?", [limit, offset])]
        if not rows:
            return rows
        ids = json.dumps([r["id"] for r in rows])
        statuses: dict = {}
        for actor, status, count in self.db.execute(
                "SELECT am.actor_id, coalesce(f.status, 'unflagged'), count(*) FROM actor_members am "
                "LEFT JOIN flags f ON f.post_id = am.post_id WHERE am.actor_id IN (SELECT value FROM json_each(?)) "
                "GROUP BY am.actor_id, f.status", [ids]).fetchall():
            statuses.setdefault(actor, {})[status] = count
        found: dict = {}
        for actor, kind, masked in self.db.execute(
                f"SELECT am.actor_id, i.kind, min(i.masked) FROM actor_members am JOIN identifiers i ON i.post_id = am.post_id "
                f"WHERE am.actor_id IN (SELECT value FROM json_each(?)) AND {SELLER_IDENTIFIER} "
                f"GROUP BY am.actor_id, i.fingerprint", [ids]).fetchall():
            found.setdefault(actor, []).append({"kind": kind, "masked": masked})
        for row in rows:
            row["statuses"] = statuses.get(row["id"], {})
            row["identifiers"] = sorted(found.get(row["id"], []), key=lambda i: (i["kind"], i["masked"]))
        return rows

    def actor_detail(self, actor_id: str, max_posts: int = 1000) -> dict | None:
        """One seller from the last regrouping: its summary, its posts (newest `max_posts`) and which contact or
        wallet links which of them."""
        heads = self._dicts(ACTOR_SUMMARY.format(where="WHERE am.actor_id = ?"), [actor_id])
        if not heads:
            return None
        head = _sources_listed(heads[0])
        post_ids = [r[0] for r in self.db.execute(
            "SELECT am.post_id FROM actor_members am JOIN posts p ON p.id = am.post_id WHERE am.actor_id = ? "
            "ORDER BY p.first_seen DESC LIMIT ?", [actor_id, max_posts]).fetchall()]
        links: dict = {}
        for kind, masked, fp, post in self.db.execute(
                f"SELECT i.kind, i.masked, i.fingerprint, i.post_id FROM actor_members am JOIN identifiers i ON i.post_id = am.post_id "
                f"WHERE am.actor_id = ? AND {SELLER_IDENTIFIER} ORDER BY i.kind, i.masked, i.post_id", [actor_id]).fetchall():
            link = links.setdefault(fp, {"kind": kind, "masked": masked, "posts": []})
            if len(link["posts"]) < 50:
                link["posts"].append(post)
        return {**head, "post_ids": post_ids, "links": list(links.values())}

    def actor_membership_exists(self) -> bool:
        return self.db.execute("SELECT 1 FROM actor_members LIMIT 1").fetchone() is not None

    def has_seller_identifiers(self) -> bool:
        return self.db.execute(f"SELECT 1 FROM identifiers i WHERE {SELLER_IDENTIFIER} LIMIT 1").fetchone() is not None

    def actor_membership(self) -> dict[int, str]:
        """post id -> the actor id recorded at the last regrouping."""
        return dict(self.db.execute("SELECT post_id, actor_id FROM actor_members").fetchall())

    def seller_identifiers(self) -> list[dict]:
        """Every contact and wallet fingerprint with its post, the post's source and first sighting."""
        return self._dicts(
            f"SELECT i.post_id, i.kind, i.fingerprint, i.masked, p.source, p.first_seen, p.last_seen "
            f"FROM identifiers i JOIN posts p ON p.id = i.post_id WHERE {SELLER_IDENTIFIER}")


def _sources_listed(row: dict) -> dict:
    """An ACTOR_SUMMARY row with its comma-joined sources as a sorted list."""
    return {**row, "sources": sorted(set((row["sources"] or "").split(",")) - {""})}
