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

SELLER_ROW = SELLER_IDENTIFIER.replace("i.kind IN", "+i.kind IN", 1)
"""SELLER_IDENTIFIER for a join that reaches identifiers by post id: the `+` keeps SQLite from probing the
(post_id, kind, ...) index once per kind, six probes a post, and row look-ups it then does anyway."""

IN_LIST = "(SELECT value FROM json_each(?))"
"""A list of ids or fingerprints passed as one JSON parameter: no limit on its length, one statement to prepare."""

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

    def flag_day_counts(self, bounds: list[str], column: str) -> list[tuple[int, str, int]]:
        """(day, value of `column`, count) of active flags by day, day `i` being [bounds[i], bounds[i + 1]) (UTC ISO).

        One query a day: each day is a range of the covering index (migration 0012), and grouping
        a day's thousand entries at a time is about twice as fast as grouping 90 days' at once.
        """
        if column not in ("severity", "categories", "source", "status"):
            raise ValueError(column)
        sql = (f"SELECT {column}, count(*) FROM flags INDEXED BY idx_flags_dashboard "
               f"WHERE created_at >= ? AND created_at < ? AND active = 1 GROUP BY {column}")
        return [(i, value, count) for i, (start, end) in enumerate(zip(bounds, bounds[1:]))
                for value, count in self.db.execute(sql, [start, end]).fetchall()]

    @staticmethod
    def _periods(bounds: list[str]) -> tuple[str, list[str]]:
        """A CTE `periods(i, lo, hi)` of the local days or weeks [bounds[i], bounds[i + 1]) (UTC ISO) and its
        parameters: a zone's offset can change inside 90 days (summer time), so no one offset will do."""
        rows = ", ".join("(?, ?, ?)" for _ in bounds[1:])
        params = [v for i, (lo, hi) in enumerate(zip(bounds, bounds[1:])) for v in (i, lo, hi)]
        return f"WITH periods(i, lo, hi) AS (VALUES {rows})", params

    def run_groups(self, bounds: list[str]) -> list[tuple]:
        """(period, source, status, runs, posts new) of crawl runs, period `i` being [bounds[i], bounds[i + 1])."""
        cte, params = self._periods(bounds)
        return self.db.execute(
            f"{cte} SELECT p.i, r.source, r.status, count(*), coalesce(sum(r.posts_new), 0) "
            "FROM periods p JOIN crawl_runs r ON r.started_at >= p.lo AND r.started_at < p.hi GROUP BY p.i, r.source, r.status",
            params).fetchall()

    def decision_groups(self, bounds: list[str]) -> list[tuple]:
        """(period, decision, count) of confirm / escalate / dismiss decisions, period `i` being [bounds[i], bounds[i + 1]).

        Read from the review events, which keep when each decision was made; a flag's own
        `updated_at` moves on later edits, rescoring and takedowns.
        """
        cte, params = self._periods(bounds)
        return self.db.execute(
            f"{cte} SELECT p.i, e.after_status, count(*) FROM periods p JOIN review_events e ON e.at >= p.lo AND e.at < p.hi "
            "WHERE e.action IN ('confirm', 'escalate', 'dismiss') GROUP BY p.i, e.after_status", params).fetchall()

    def flags_reaching(self, statuses: tuple[str, ...]) -> int:
        """Active flags whose status is one of `statuses` (all time: the takedown funnel's first stage)."""
        marks = ",".join("?" * len(statuses))
        # The (status, created_at) index reads only those statuses; the planner, told by ANALYZE that nearly
        # every flag is "new", would rather scan the whole dashboard index.
        return self.db.execute(f"SELECT count(*) FROM flags INDEXED BY idx_flags_status_created_at "
                               f"WHERE active = 1 AND status IN ({marks})", list(statuses)).fetchone()[0]

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

    def actor_page(self, limit: int, offset: int) -> list[dict]:
        """One page of sellers from the last regrouping, most posts first: posts, sources, first and last
        sighting, their posts' statuses and their contacts and wallets (masked).

        Read from `actor_summaries`, one row a seller, and the statuses from an index of flags by post:
        a seller of 10,000 posts costs 10,000 index entries, not 10,000 posts read.
        """
        rows = self._dicts("SELECT actor_id AS id, posts, sources, first_seen, last_seen, identifiers FROM actor_summaries "
                           "ORDER BY posts DESC, actor_id LIMIT ? OFFSET ?", [limit, offset])
        if not rows:
            return rows
        statuses: dict = {}
        for actor, status, count in self.db.execute(
                f"SELECT am.actor_id, coalesce(f.status, 'unflagged'), count(*) FROM actor_members am "
                f"LEFT JOIN flags f INDEXED BY idx_flags_post_status ON f.post_id = am.post_id WHERE am.actor_id IN {IN_LIST} "
                f"GROUP BY am.actor_id, f.status", [json.dumps([r["id"] for r in rows])]).fetchall():
            statuses.setdefault(actor, {})[status] = count
        for row in rows:
            row.update(_sources_listed(row), statuses=statuses.get(row["id"], {}), identifiers=json.loads(row["identifiers"] or "[]"))
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
                f"WHERE am.actor_id = ? AND {SELLER_ROW} ORDER BY i.kind, i.masked, i.post_id", [actor_id]).fetchall():
            link = links.setdefault(fp, {"kind": kind, "masked": masked, "posts": []})
            if len(link["posts"]) < 50:
                link["posts"].append(post)
        return {**head, "post_ids": post_ids, "links": list(links.values())}

    def refresh_actor_summaries(self, actor_ids: set[str], gone: set[str]) -> None:
        """Rewrite the `actor_summaries` rows of `actor_ids` from their members, and drop those of `gone`."""
        if gone:
            self.db.execute(f"DELETE FROM actor_summaries WHERE actor_id IN {IN_LIST}", [json.dumps(sorted(gone))])
        if not actor_ids:
            return
        ids = json.dumps(sorted(actor_ids))
        self.db.execute("INSERT OR REPLACE INTO actor_summaries (actor_id, posts, sources, first_seen, last_seen) "
                        + ACTOR_SUMMARY.format(where=f"WHERE am.actor_id IN {IN_LIST}"), [ids])
        found: dict = {}
        for actor, kind, masked in self.db.execute(
                f"SELECT am.actor_id, i.kind, min(i.masked) FROM actor_members am JOIN identifiers i ON i.post_id = am.post_id "
                f"WHERE am.actor_id IN {IN_LIST} AND {SELLER_ROW} GROUP BY am.actor_id, i.fingerprint", [ids]).fetchall():
            found.setdefault(actor, []).append({"kind": kind, "masked": masked})
        self.db.conn.executemany("UPDATE actor_summaries SET identifiers = ? WHERE actor_id = ?", [
            (json.dumps(sorted(found.get(actor, []), key=lambda i: (i["kind"], i["masked"])), ensure_ascii=False), actor)
            for actor in actor_ids])

    def summarised_actors(self, actor_ids: set[str]) -> set[str]:
        """Those of `actor_ids` that have an `actor_summaries` row."""
        return {r[0] for r in self.db.execute(f"SELECT actor_id FROM actor_summaries WHERE actor_id IN {IN_LIST}",
                                              [json.dumps(sorted(actor_ids))]).fetchall()}

    def actor_summaries_exist(self) -> bool:
        return self.db.execute("SELECT 1 FROM actor_summaries LIMIT 1").fetchone() is not None

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

    # ------------------------------------------------------------ regrouping sellers (monitor.report.actors)
    def seller_changes(self) -> list[int]:
        """Posts whose identifiers changed since sellers were last regrouped (triggers of migration 0016)."""
        return [r[0] for r in self.db.execute("SELECT post_id FROM seller_changes").fetchall()]

    def clear_seller_changes(self) -> None:
        self.db.execute("DELETE FROM seller_changes")

    def actor_member_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM actor_members").fetchone()[0]

    def actor_exists(self, actor_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM actor_members WHERE actor_id = ? LIMIT 1", [actor_id]).fetchone() is not None

    def seller_links(self, posts: set[int] | None = None) -> list[tuple[int, str]]:
        """(post id, fingerprint) of every contact and wallet, or of those of `posts`: what links posts into sellers.

        Without the posts' own columns: `identifiers.post_id` is a foreign key, so every row has its post,
        and looking up 100,000 posts would cost more than the grouping.
        """
        if posts is None:
            return self.db.execute(f"SELECT i.post_id, i.fingerprint FROM identifiers i WHERE {SELLER_IDENTIFIER}").fetchall()
        return self.db.execute(f"SELECT i.post_id, i.fingerprint FROM identifiers i WHERE i.post_id IN {IN_LIST} "
                               f"AND {SELLER_ROW}", [json.dumps(sorted(posts))]).fetchall()

    def actor_members_of(self, posts: set[int] | None = None) -> dict[int, tuple[str, int]]:
        """post id -> (actor id, the actor's number of posts) recorded at the last regrouping, of every post or of `posts`."""
        if posts is None:
            rows = self.db.execute("SELECT post_id, actor_id, actor_posts FROM actor_members").fetchall()
        else:
            rows = self.db.execute(f"SELECT post_id, actor_id, actor_posts FROM actor_members WHERE post_id IN {IN_LIST}",
                                   [json.dumps(sorted(posts))]).fetchall()
        return {post: (actor, n) for post, actor, n in rows}

    def sellers_reaching(self, changed: list[int] | set[int]) -> set[int]:
        """The `changed` posts (their identifiers changed since the last regrouping), every post that shares a
        contact or wallet with one of them, and every post the last regrouping put with any of these: all the
        posts whose seller can change.

        One step is enough: a post whose identifiers did not change shares them only with posts that were in
        its seller at the last regrouping or that changed since, and both are here already. Three reads
        through the (post_id, ...), (fingerprint, post_id) and actor_id indexes.
        """
        fps = [r[0] for r in self.db.execute(f"SELECT DISTINCT i.fingerprint FROM identifiers i WHERE i.post_id IN {IN_LIST} "
                                             f"AND {SELLER_ROW}", [json.dumps(sorted(changed))]).fetchall()]
        found = set(changed)
        found.update(r[0] for r in self.db.execute(
            f"SELECT i.post_id FROM identifiers i WHERE i.fingerprint IN {IN_LIST} AND {SELLER_IDENTIFIER}", [json.dumps(fps)]).fetchall())
        found.update(r[0] for r in self.db.execute(
            f"SELECT post_id FROM actor_members WHERE actor_id IN (SELECT DISTINCT actor_id FROM actor_members WHERE post_id IN {IN_LIST})",
            [json.dumps(sorted(found))]).fetchall())
        return found

    def update_actor_members(self, before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]]) -> None:
        """Write the regrouping's changes: rows of `before` (post id -> (actor id, actor's posts)) that `after`
        drops or changes. Most rows stay as they were, and are not written again."""
        gone = [post for post in before if post not in after]
        if gone:
            self.db.execute(f"DELETE FROM actor_members WHERE post_id IN {IN_LIST}", [json.dumps(gone)])
        self.db.conn.executemany(
            "INSERT INTO actor_members (post_id, actor_id, actor_posts) VALUES (?, ?, ?) ON CONFLICT(post_id) "
            "DO UPDATE SET actor_id = excluded.actor_id, actor_posts = excluded.actor_posts",
            [(post, actor, n) for post, (actor, n) in after.items() if before.get(post) != (actor, n)])


def _sources_listed(row: dict) -> dict:
    """An ACTOR_SUMMARY row with its comma-joined sources as a sorted list."""
    return {**row, "sources": sorted(set((row["sources"] or "").split(",")) - {""})}
