"""SQL for the images posts showed: which to fetch, what was fetched, what each shows (mixed into Database).

The bytes themselves live in the evidence store (`save_evidence`, by SHA-256); these tables say which
post showed which image and what the analysis found, with the copies that may be shown.
"""

from __future__ import annotations

import json

from .common import utcnow as _now

MAX_ATTEMPTS = 3
"""Runs that try a failed image again before it is left failed."""

MAX_PER_POST = 50
"""Image URLs of one post that are noted (as the spiders keep at most 50): one post cannot take a run's budget."""

RENDERS = ("blurred", "redacted", "thumb")
"""The stored copies of an image that may be shown (see migration 0017)."""

_IMAGE_COLUMNS = "i.sha256, i.status AS image_status, i.reason AS image_reason, i.width, i.height, i.document, i.face, i.selfie_with_id, i.analysis"


def _analysis(raw) -> dict:
    """A stored analysis; a damaged one (not JSON, not an object) reads as nothing found, never an error."""
    try:
        value = json.loads(raw or "{}")
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def listed_urls(raw) -> list[str]:
    """A post's own `images` column (a JSON list of URLs) as a list; anything else reads as none."""
    try:
        urls = json.loads(raw or "[]")
    except (ValueError, RecursionError):
        return []
    return [u for u in urls if isinstance(u, str)] if isinstance(urls, list) else []


class ImageQueries:
    db: object

    def queue_post_images(self, post_id: int, urls: list[str], wanted: bool) -> None:
        """Note a post's image URLs: queued when `wanted` (flagged, or its text speaks of photos), else
        skipped; a skipped image of a post that is now wanted is queued. Rows that stay as they are are
        not written (an unchanged post is noted again on every crawl)."""
        now = _now()
        for position, url in enumerate(list(dict.fromkeys(urls or []))[:MAX_PER_POST]):
            self.db.execute(
                "INSERT INTO post_images (post_id, url, position, status, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(post_id, url) DO UPDATE SET position = excluded.position, "
                "status = CASE WHEN post_images.status = 'skipped' AND excluded.status = 'queued' THEN 'queued' ELSE post_images.status END "
                "WHERE post_images.position != excluded.position OR (post_images.status = 'skipped' AND excluded.status = 'queued')",
                [post_id, url, position, "queued" if wanted else "skipped", now])

    def images_to_fetch(self, source: str, limit: int) -> list[str]:
        """Up to `limit` distinct image URLs of `source` to fetch: queued ones, and failed ones tried fewer
        than MAX_ATTEMPTS times; images of posts flagged as sales first, new ones before retries, then the
        newest posts' and each post's in its order."""
        rows = self.db.execute(
            """SELECT pi.url, max(coalesce(f.label = 'sale', 0)) AS sale, min(pi.status = 'failed') AS retry,
                      max(pi.post_id) AS newest, min(pi.position) AS first
               FROM post_images pi JOIN posts p ON p.id = pi.post_id
               LEFT JOIN flags f ON f.post_id = pi.post_id AND f.active = 1
               WHERE p.source = ? AND (pi.status = 'queued' OR (pi.status = 'failed' AND pi.attempts < ?))
               GROUP BY pi.url ORDER BY sale DESC, retry, newest DESC, first LIMIT ?""",
            [source, MAX_ATTEMPTS, limit]).fetchall()
        return [row[0] for row in rows]

    def skip_queued_images(self, source: str) -> int:
        """Mark the queued images of `source` skipped (its images are turned off); returns how many."""
        return self.db.execute(
            "UPDATE post_images SET status = 'skipped', updated_at = ? WHERE status = 'queued' "
            "AND post_id IN (SELECT id FROM posts WHERE source = ?)", [_now(), source]).rowcount

    def images_waiting(self, source: str) -> int:
        """Distinct image URLs of `source` still to fetch (beyond this run's budget, or failed and to be tried again)."""
        return self.db.execute(
            "SELECT count(DISTINCT pi.url) FROM post_images pi JOIN posts p ON p.id = pi.post_id "
            "WHERE p.source = ? AND (pi.status = 'queued' OR (pi.status = 'failed' AND pi.attempts < ?))",
            [source, MAX_ATTEMPTS]).fetchone()[0]

    def record_image_fetch(self, source: str, url: str, sha256: str | None = None, reason: str | None = None) -> list[int]:
        """The outcome of fetching `url` for every post of `source` that showed it; returns those posts' ids."""
        posts = [pid for (pid,) in self.db.execute(
            "SELECT pi.post_id FROM post_images pi JOIN posts p ON p.id = pi.post_id WHERE p.source = ? AND pi.url = ?",
            [source, url]).fetchall()]
        for pid in posts:
            if sha256:
                self.db.execute("UPDATE post_images SET status = 'stored', sha256 = ?, reason = NULL, updated_at = ? "
                                "WHERE post_id = ? AND url = ?", [sha256, _now(), pid, url])
            else:
                self.db.execute("UPDATE post_images SET status = 'failed', reason = ?, attempts = attempts + 1, updated_at = ? "
                                "WHERE post_id = ? AND url = ? AND status != 'stored'", [reason, _now(), pid, url])
        return posts

    def store_local_image(self, post_id: int, name: str, position: int, sha256: str) -> None:
        """An image file given with an imported post: stored at once (`name` stands where a URL would)."""
        self.db.execute(
            "INSERT INTO post_images (post_id, url, position, status, sha256, updated_at) VALUES (?, ?, ?, 'stored', ?, ?) "
            "ON CONFLICT(post_id, url) DO UPDATE SET status = 'stored', sha256 = excluded.sha256, updated_at = excluded.updated_at",
            [post_id, name, position, sha256, _now()])

    def has_image(self, sha256: str) -> bool:
        return self.db.execute("SELECT 1 FROM images WHERE sha256 = ?", [sha256]).fetchone() is not None

    def save_image(self, sha256: str, status: str, *, reason: str | None = None, analysis: dict | None = None,
                   renders: dict | None = None) -> None:
        """What an image shows (`status` analysed) or why it was refused (`status` refused, `reason`)."""
        analysis = analysis or {}
        renders = renders or {}
        self.db.execute(
            "INSERT OR REPLACE INTO images (sha256, status, reason, width, height, document, face, selfie_with_id, analysis, "
            "analysed_at, blurred, redacted, thumb) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [sha256, status, reason, analysis.get("width"), analysis.get("height"), analysis.get("document"),
             int(bool(analysis.get("face"))) if analysis else None,
             int(bool(analysis.get("selfie_with_id"))) if analysis else None,
             json.dumps(analysis) if analysis else None, _now(), *(renders.get(name) for name in RENDERS)])

    def image(self, sha256: str) -> dict | None:
        """An image's row without its copies."""
        rows = self._dicts("SELECT sha256, status, reason, width, height, document, face, selfie_with_id, analysis, analysed_at "
                           "FROM images WHERE sha256 = ?", [sha256])
        if not rows:
            return None
        rows[0]["analysis"] = _analysis(rows[0]["analysis"])
        return rows[0]

    def image_render(self, sha256: str, variant: str) -> bytes | None:
        """One stored copy of an image (blurred, redacted or thumb), re-encoded, safe to send."""
        if variant not in RENDERS:
            raise ValueError(f"unknown image copy {variant!r}")
        row = self.db.execute(f"SELECT {variant} FROM images WHERE sha256 = ?", [sha256]).fetchone()
        return row[0] if row else None

    def post_images(self, post_id: int) -> list[dict]:
        """A post's images in its order: URL, fetch status and reason, and what each shows (no copies)."""
        rows = self._dicts(
            f"SELECT pi.url, pi.position, pi.status, pi.reason, pi.attempts, pi.updated_at, {_IMAGE_COLUMNS} "
            "FROM post_images pi LEFT JOIN images i ON i.sha256 = pi.sha256 WHERE pi.post_id = ? ORDER BY pi.position, pi.url",
            [post_id])
        for row in rows:
            row["analysis"] = _analysis(row["analysis"])
        return rows

    def image_findings(self, post_id: int) -> list[dict]:
        """The analyses of a post's images that were read (for the detector), in the post's order."""
        return [row["analysis"] for row in self.post_images(post_id) if row["image_status"] == "analysed" and row["analysis"]]

    def posts_with_photos(self) -> set[int]:
        """Ids of the posts that have at least one image read (for re-analysing only those with their photos)."""
        return {pid for (pid,) in self.db.execute(
            "SELECT DISTINCT pi.post_id FROM post_images pi JOIN images i ON i.sha256 = pi.sha256 WHERE i.status = 'analysed'")}

    def thumbnails(self, post_ids: list[int], per_post: int = 3) -> dict[int, list[str]]:
        """post id -> hashes of up to `per_post` of its analysed images, for the queue's small blurred copies."""
        out: dict[int, list[str]] = {}
        for start in range(0, len(post_ids), 500):
            chunk = post_ids[start:start + 500]
            for pid, sha in self.db.execute(
                    f"SELECT pi.post_id, pi.sha256 FROM post_images pi JOIN images i ON i.sha256 = pi.sha256 "
                    f"WHERE pi.post_id IN ({','.join('?' * len(chunk))}) AND i.status = 'analysed' ORDER BY pi.post_id, pi.position",
                    chunk).fetchall():
                shas = out.setdefault(pid, [])
                if len(shas) < per_post and sha not in shas:
                    shas.append(sha)
        return out

    def image_hashes(self, post_ids: list[int]) -> dict[int, list[dict]]:
        """post id -> [{url, sha256, document, selfie_with_id}] of its stored images, for takedown lists and exports."""
        out: dict[int, list[dict]] = {}
        for start in range(0, len(post_ids), 500):
            chunk = post_ids[start:start + 500]
            for row in self._dicts(
                    f"SELECT pi.post_id, pi.url, pi.sha256, i.document, i.selfie_with_id FROM post_images pi "
                    f"LEFT JOIN images i ON i.sha256 = pi.sha256 WHERE pi.post_id IN ({','.join('?' * len(chunk))}) "
                    f"AND pi.status = 'stored' ORDER BY pi.post_id, pi.position", chunk):
                out.setdefault(row.pop("post_id"), []).append(row)
        return out
