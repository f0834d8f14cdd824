"""The database: the only module that writes SQL.

SQLite through sqlite-utils, WAL mode with a busy timeout so the crawl
subprocess and the CLI can share a file (the run and lock writes retried beyond it,
`monitor.store.busy`), schema changes only through the
numbered migrations in `monitor.store.migrations`. A post is keyed by (source,
post id or canonical URL): a re-crawl updates `last_seen`, an edit keeps
the previous text in `post_versions`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import json
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from .common import (
    make_private,
    open_private,
    pid_alive,
    private_dir,
    utcnow,
    write_private,
)
from .busy import BUSY_TIMEOUT_MS, retried
from .image_queries import ImageQueries
from .migrations import migrations
from .report_queries import ReportQueries
from .review_queries import ReviewQueries
from .takedown_queries import TakedownQueries

DEFAULT_DB = "data/monitor.db"


class DatabaseError(Exception):
    """A database file that cannot be used; the message says why."""


def default_db_path() -> str:
    return os.environ.get("MONITOR_DB") or DEFAULT_DB


def post_key(item: dict) -> str:
    """What keys a post within its source: the site's post id, else its canonical URL."""
    return item.get("post_id") or item["url"]


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{title or ''}\n{text or ''}".encode("utf-8", "replace")).hexdigest()


@dataclass
class StoredPost:
    id: int
    outcome: str  # new, updated, unchanged


class Database(ReviewQueries, TakedownQueries, ReportQueries, ImageQueries):
    """An opened, migrated monitor database."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        check_file(self.path)
        existed = make_private_files(self.path)
        self.db = sqlite_utils.Database(self.path)
        try:  # SQLite reads the header: opening and closing the file here would drop this process's locks on it
            self.db.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError:
            self.db.close()
            raise DatabaseError(f"{self.path} is not a SQLite database; refusing to touch it") from None
        if existed:
            make_private(self.path)  # a database made before modes were enforced
        # Autocommit unless a transaction is opened explicitly (begin/transaction):
        # Python's implicit transactions would leave single writes uncommitted.
        self.db.conn.isolation_level = None
        self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        if migrations.pending(self.db):
            # Two processes opening a new or just-upgraded database at once (cron starting crawls together)
            # would both run a pending migration: the second fails ("table already exists"). One at a time;
            # `apply` reads what is pending again under the lock.
            with _migration_lock(self.path):
                migrations.apply(self.db)
        self.interrupt_orphaned_runs()

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ transactions
    def begin(self) -> None:
        """Open a write transaction unless one is open; writes until `commit` land together.

        BEGIN IMMEDIATE takes the write lock now, waiting for it under the busy
        timeout. A deferred BEGIN would read first and could then fail at once
        ("database is locked", no waiting) when another writer committed meanwhile.
        """
        if not self.db.conn.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.commit()

    def rollback(self) -> None:
        if self.db.conn.in_transaction:
            self.db.execute("ROLLBACK")

    @contextlib.contextmanager
    def transaction(self):
        """A block whose writes land together: a write transaction (see `begin`), or a savepoint inside an open one."""
        if self.db.conn.in_transaction:
            with self.db.atomic():
                yield self.db
            return
        self.begin()
        try:
            yield self.db
        except BaseException:
            self.rollback()
            raise
        try:
            self.db.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise

    # ------------------------------------------------------------ posts
    def upsert_post(self, item: dict) -> StoredPost:
        """Insert a new post, refresh a seen one, or store an edit as a new version."""
        now = utcnow()
        key = post_key(item)
        digest = content_hash(item.get("thread_title", ""), item.get("text", ""))
        row = self.db.execute(
            "SELECT id, content_hash, version, text, thread_title, last_seen, evidence_sha FROM posts WHERE source = ? AND post_key = ?",
            [item["source"], key],
        ).fetchone()
        fields = {
            "kind": item.get("kind"),
            "post_id": item.get("post_id"),
            "url": item["url"],
            "page_url": item.get("page_url"),
            "thread_url": item.get("thread_url"),
            "thread_title": item.get("thread_title") or "",
            "board": item.get("board") or "",
            "author": item.get("author") or "",
            "posted_at": item.get("posted_at"),
            "posted_raw": item.get("posted_raw") or "",
            "text": item.get("text") or "",
            "quoted": item.get("quoted") or "",
            "images": json.dumps(item.get("images") or []),
            "is_listing": 1 if item.get("is_listing") else 0,
            "opens_thread": 1 if item.get("opens_thread") else 0,
            "views": item.get("views"),
            "forwarded_from": item.get("forwarded_from"),
            "evidence_sha": item.get("evidence_sha"),
        }
        if row is None:
            pk = self._insert("posts", {
                "source": item["source"], "post_key": key, **fields, "content_hash": digest,
                "version": 1, "first_seen": now, "last_seen": now, "updated_at": now,
            })
            return StoredPost(pk, "new")
        pk, old_hash, version, old_text, old_title, old_seen, old_evidence = row
        if old_hash == digest:
            self.db.execute(
                "UPDATE posts SET last_seen = ?, missing_since = NULL, views = coalesce(?, views) WHERE id = ?",
                [now, item.get("views"), pk],
            )
            return StoredPost(pk, "unchanged")
        with self.db.atomic():  # the old version and the new text land together
            self._insert("post_versions", {"post_id": pk, "version": version, "content_hash": old_hash,
                                           "thread_title": old_title, "text": old_text, "seen_until": old_seen,
                                           "evidence_sha": old_evidence})
            self.db["posts"].update(pk, {**fields, "content_hash": digest, "version": version + 1,
                                         "last_seen": now, "updated_at": now, "missing_since": None})
        return StoredPost(pk, "updated")

    def content_hashes(self, source: str, post_keys: list[str]) -> dict[str, str]:
        """post key -> content hash of the stored posts of `source` among `post_keys` (a read: no write lock)."""
        return dict(self.db.execute(
            "SELECT post_key, content_hash FROM posts WHERE source = ? AND post_key IN (SELECT value FROM json_each(?))",
            [source, json.dumps(list(post_keys))]).fetchall())

    def _dicts(self, sql: str, params: list | tuple = ()) -> list[dict]:
        """Rows of a query as dicts keyed by column name."""
        cursor = self.db.execute(sql, params)
        cols = [c[0] for c in cursor.description]
        return [dict(zip(cols, r)) for r in cursor.fetchall()]

    def _insert(self, table: str, record: dict) -> int:
        """A plain INSERT; sqlite-utils' insert() inspects the table each call, too slow per post."""
        cols = list(record)
        cursor = self.db.execute(
            f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in cols)}) VALUES ({', '.join('?' * len(cols))})",
            [record[c] for c in cols],
        )
        return cursor.lastrowid

    def post(self, post_id: int) -> dict | None:
        rows = list(self.db["posts"].rows_where("id = ?", [post_id]))
        return rows[0] if rows else None

    def count(self, table: str) -> int:
        return self.db[table].count

    # ------------------------------------------------------------ flags
    def save_flag(self, post_id: int, analysis: dict | None) -> str | None:
        """Record a post's analysis: a sale creates or refreshes its flag, a non-sale retires it.

        Returns "new", "updated", "retired" or None (nothing changed).
        """
        now = utcnow()
        row = self.db.execute("SELECT id, active FROM flags WHERE post_id = ?", [post_id]).fetchone()
        if analysis is None or analysis["label"] != "sale":
            if row and row[1]:
                self.db["flags"].update(row[0], {"active": 0, "updated_at": now})
                return "retired"
            return None
        values = {
            "label": analysis["label"],
            "score": analysis["score"],
            "severity": analysis["severity"],
            "categories": json.dumps(analysis["categories"]),
            "reasons": json.dumps(analysis["reasons"], ensure_ascii=False),
            "reason_parts": json.dumps(analysis.get("reason_parts") or [], ensure_ascii=False),
            "matches": json.dumps(analysis["matches"], ensure_ascii=False),
            "context": json.dumps(analysis["context"], ensure_ascii=False),
            "identifiers": json.dumps(analysis["identifiers"], ensure_ascii=False),
            "lang": analysis["lang"],
            "model": analysis.get("model"),
            "model_terms": json.dumps(analysis.get("model_terms") or [], ensure_ascii=False),
            "rules_label": analysis.get("rules_label"),
            "rules_score": analysis.get("rules_score"),
            "warnings": json.dumps(analysis.get("warnings") or [], ensure_ascii=False),
            "active": 1,
            "updated_at": now,
        }
        if row:
            self.db["flags"].update(row[0], values)
            return "updated"
        self._insert("flags", {"post_id": post_id, "status": "new", "created_at": now, **values})
        return "new"

    def list_flags(self, since: str | None = None, status: str | None = None, limit: int | None = None,
                   sources: list[str] | None = None, sort: str | None = None, uncertain: bool = False) -> list[dict]:
        """Active flags with their post, most severe first (or `sort`, see `queue`); categories and reasons decoded."""
        rows = self.queue(since=since, status=status, limit=limit, sources=sources, sort=sort, uncertain=uncertain)
        for row in rows:
            row["categories"] = json.loads(row["categories"] or "[]")
            row["reasons"] = json.loads(row["reasons"] or "[]")
        return rows

    def flag_counts_by_category(self, sources: list[str] | None = None) -> dict[str, int]:
        """Active flags per category, optionally only for posts of `sources`."""
        sql = "SELECT f.categories FROM flags f JOIN posts p ON p.id = f.post_id WHERE f.active = 1"
        if sources:
            sql += f" AND p.source IN ({','.join('?' * len(sources))})"
        counts: dict[str, int] = {}
        for (cats,) in self.db.execute(sql, sources or []).fetchall():
            for c in json.loads(cats or "[]"):
                counts[c] = counts.get(c, 0) + 1
        return dict(sorted(counts.items()))

    # ------------------------------------------------------------ evidence
    @property
    def evidence_dir(self) -> Path:
        return self.path.parent / "evidence"

    def save_evidence(self, item: dict) -> bool:
        """Store a captured page (once per distinct content); returns True when it was new."""
        sha = item["sha256"]
        path = self.evidence_dir / sha[:2] / f"{sha}.gz"
        if not path.exists():
            private_dir(path.parent)
            write_private(path, gzip.compress(item["body"], compresslevel=3))
        cursor = self.db.execute(
            "INSERT INTO evidence (sha256, url, status, headers, size, first_fetched_at, last_fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(sha256) DO UPDATE SET last_fetched_at = excluded.last_fetched_at",
            [sha, item["url"], item.get("status"), json.dumps(item.get("headers") or {}), len(item["body"]),
             item["fetched_at"], item["fetched_at"]],
        )
        return cursor.rowcount == 1

    def evidence(self, sha: str | None) -> dict | None:
        if not sha:
            return None
        rows = list(self.db["evidence"].rows_where("sha256 = ?", [sha]))
        return rows[0] if rows else None

    def evidence_bytes(self, sha: str) -> bytes | None:
        path = self.evidence_dir / sha[:2] / f"{sha}.gz"
        try:
            return gzip.decompress(path.read_bytes())
        except (OSError, EOFError):
            return None

    # ------------------------------------------------------------ threads
    def known_threads(self, source: str) -> dict[str, dict]:
        """thread URL -> {marker, completed_at, last_post_at} of the threads of `source` read to their last page.

        The spider skips a thread whose board row still shows the marker, unless
        its last post is recent and it was read long enough ago to look for edits.
        """
        rows = self.db.execute(
            "SELECT t.thread_url, t.marker, t.completed_at, "
            "(SELECT max(p.posted_at) FROM posts p WHERE p.source = t.source AND p.thread_url = t.thread_url) "
            "FROM threads t WHERE t.source = ?",
            [source],
        ).fetchall()
        return {url: {"marker": marker, "completed_at": completed, "last_post_at": last} for url, marker, completed, last in rows}

    def complete_thread(self, source: str, thread_url: str, marker: str, post_keys: list[str]) -> int:
        """Record a thread read to its end; mark its stored posts that were not seen. Returns how many were marked."""
        now = utcnow()
        self.db.execute(
            "INSERT INTO threads (source, thread_url, marker, posts, completed_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(source, thread_url) DO UPDATE SET marker = excluded.marker, posts = excluded.posts, "
            "completed_at = excluded.completed_at",
            [source, thread_url, marker, len(post_keys), now],
        )
        keys = json.dumps(list(post_keys))
        cursor = self.db.execute(
            "UPDATE posts SET missing_since = ? WHERE source = ? AND thread_url = ? AND missing_since IS NULL "
            "AND post_key NOT IN (SELECT value FROM json_each(?))",
            [now, source, thread_url, keys],
        )
        return cursor.rowcount

    # ------------------------------------------------------------ locks
    @retried
    def acquire_lock(self, source: str) -> dict | None:
        """Take the source's lock for this process; returns None, or the holder's row if it is alive.

        A lock whose holder (and its crawler) are gone is taken over, and the
        runs it left 'running' are recorded as interrupted.
        """
        import socket

        host = socket.gethostname()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT source, pid, child_pid, host, run_id, acquired_at FROM locks WHERE source = ?", [source]).fetchone()
            if row:
                holder = dict(zip(("source", "pid", "child_pid", "host", "run_id", "acquired_at"), row))
                if holder["host"] != host or pid_alive(holder["pid"]) or pid_alive(holder["child_pid"]):
                    self.db.execute("ROLLBACK")
                    return holder
                self.db.execute(
                    "UPDATE crawl_runs SET status = 'interrupted', reason = ?, finished_at = ? "
                    "WHERE source = ? AND status = 'running' AND pid = ?",
                    [f"process {holder['pid']} ended without finishing the run (killed?)", utcnow(), source, holder["pid"]],
                )
            self.db.execute(
                "INSERT OR REPLACE INTO locks (source, pid, child_pid, host, run_id, acquired_at) VALUES (?, ?, NULL, ?, NULL, ?)",
                [source, os.getpid(), host, utcnow()],
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return None

    @retried
    def set_lock_child(self, source: str, child_pid: int, run_id: int) -> None:
        self.db.execute("UPDATE locks SET child_pid = ?, run_id = ? WHERE source = ? AND pid = ?", [child_pid, run_id, source, os.getpid()])

    @retried
    def set_lock_job(self, source: str, node: str, job_id: str, run_id: int) -> None:
        """The source's crawl runs as job `job_id` on Scrapyd node `node` (see monitor.crawl.remote)."""
        self.db.execute("UPDATE locks SET node = ?, job_id = ?, run_id = ? WHERE source = ? AND pid = ?",
                        [node, job_id, run_id, source, os.getpid()])
        # The run keeps its page crawl's job id (its image crawl is a second job on the same node).
        self.db.execute("UPDATE crawl_runs SET node = ?, job_id = coalesce(job_id, ?) WHERE id = ?", [node, job_id, run_id])

    def lock_of(self, source: str) -> dict | None:
        """The source's lock row as it stands (holder pid, node and job), or None."""
        row = self.db.execute("SELECT pid, host, node, job_id, run_id FROM locks WHERE source = ?", [source]).fetchone()
        return dict(zip(("pid", "host", "node", "job_id", "run_id"), row)) if row else None

    def node_jobs(self) -> list[dict]:
        """The locks held by crawls running on Scrapyd nodes: source, node, job_id, run_id, acquired_at."""
        rows = self.db.execute("SELECT source, node, job_id, run_id, acquired_at FROM locks WHERE node IS NOT NULL ORDER BY source")
        return [dict(zip(("source", "node", "job_id", "run_id", "acquired_at"), r)) for r in rows.fetchall()]

    @retried
    def release_lock(self, source: str) -> None:
        self.db.execute("DELETE FROM locks WHERE source = ? AND pid = ?", [source, os.getpid()])

    @retried
    def interrupt_orphaned_runs(self) -> int:
        """Runs left 'running' by processes that are gone (and hold no live lock) become 'interrupted'.

        Called whenever the database is opened, so a run whose process was
        killed (an import, a crawl, the daemon) does not stay 'running' for ever.
        A run's pid is the process that started it (`monitor crawl`, the daemon,
        `monitor ingest`); a crawl whose parent died but whose scrapy child still
        holds the source's lock is left alone until the child is gone too.
        WAL mode needs every connection on one host, so a pid is a local pid.
        """
        running = self.db.execute("SELECT id, source, pid FROM crawl_runs WHERE status = 'running'").fetchall()
        if not running:
            return 0
        locks = self.db.execute("SELECT source, pid, child_pid, run_id FROM locks").fetchall()
        count = 0
        for run_id, source, pid in running:
            if pid_alive(pid):
                continue
            if any((lock_run == run_id or (lock_source == source and lock_pid == pid))
                   and (pid_alive(lock_pid) or pid_alive(child)) for lock_source, lock_pid, child, lock_run in locks):
                continue
            cursor = self.db.execute(
                "UPDATE crawl_runs SET status = 'interrupted', reason = ?, finished_at = ? WHERE id = ? AND status = 'running'",
                [f"process {pid} ended without finishing the run (killed?)", utcnow(), run_id])
            count += cursor.rowcount
        return count

    def last_ok_start(self, source: str) -> str | None:
        row = self.db.execute("SELECT started_at FROM crawl_runs WHERE source = ? AND status IN ('ok', 'degraded') ORDER BY id DESC LIMIT 1", [source]).fetchone()
        return row[0] if row else None

    def sources_with_runs(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT source FROM crawl_runs ORDER BY source").fetchall()]

    # ------------------------------------------------------------ rescoring
    def posts_for_rescore(self, since: str | None = None):
        """(post id, text, kind, thread title, is_listing, opens_thread, images) of stored posts, optionally only those seen since `since`."""
        sql = "SELECT id, text, kind, thread_title, is_listing, opens_thread, images FROM posts"
        params: list = []
        if since:
            sql += " WHERE last_seen >= ?"
            params.append(since)
        return self.db.execute(sql + " ORDER BY id", params).fetchall()

    def count_posts_since(self, since: str | None = None) -> int:
        if since:
            return self.db.execute("SELECT count(*) FROM posts WHERE last_seen >= ?", [since]).fetchone()[0]
        return self.count("posts")

    def flag_state(self, post_id: int) -> dict | None:
        row = self.db.execute("SELECT id, active, score, categories FROM flags WHERE post_id = ?", [post_id]).fetchone()
        return dict(zip(("id", "active", "score", "categories"), row)) if row else None

    def start_rescore(self, since: str | None) -> int:
        return self._insert("rescore_runs", {"started_at": utcnow(), "since": since, "posts": 0, "appeared": 0, "disappeared": 0, "changed": 0})

    def record_flag_change(self, run_id: int, post_id: int, change: str, before: dict | None, after: dict | None) -> None:
        self._insert("flag_changes", {
            "rescore_run_id": run_id, "flag_id": (after or before or {}).get("id"), "post_id": post_id, "change": change,
            "old_score": before and before["score"], "new_score": after and after["score"],
            "old_categories": before and before["categories"], "new_categories": after and after["categories"], "at": utcnow(),
        })

    def finish_rescore(self, run_id: int, **counts) -> None:
        self.db["rescore_runs"].update(run_id, {"finished_at": utcnow(), **counts})

    # ------------------------------------------------------------ crawl runs
    @retried
    def start_run(self, source: str, kind: str) -> int:
        return self.db["crawl_runs"].insert(
            {"source": source, "kind": kind, "started_at": utcnow(), "status": "running", "pid": os.getpid(),
             "pages": 0, "posts_new": 0, "posts_updated": 0, "posts_unchanged": 0, "posts_missing": 0, "flags_new": 0,
             "errors": "{}"}
        ).last_pk

    @retried
    def update_run(self, run_id: int, **values) -> None:
        if "errors" in values and not isinstance(values["errors"], str):
            values["errors"] = json.dumps(values["errors"])
        if "stats" in values and not isinstance(values["stats"], str):
            values["stats"] = json.dumps(values["stats"], default=str)
        self.db["crawl_runs"].update(run_id, values)

    def add_run_counts(self, run_id: int, counts: dict[str, int], errors: dict[str, int] | None = None) -> None:
        """Add to a run's counters and errors (several workers write one run): call inside a write transaction."""
        row = self.db.execute(f"SELECT {', '.join(['errors', *counts])} FROM crawl_runs WHERE id = ?", [run_id]).fetchone()
        if row is None:
            return
        merged = json.loads(row[0] or "{}")
        for label, n in (errors or {}).items():
            merged[label] = merged.get(label, 0) + n
        values = {name: (old or 0) + n for (name, n), old in zip(counts.items(), row[1:])}
        self.update_run(run_id, errors=merged, **values)

    @retried
    def finish_run(self, run_id: int, status: str, reason: str | None = None) -> dict:
        run = self.run(run_id)
        started = dt.datetime.fromisoformat(run["started_at"])
        now = dt.datetime.now(dt.timezone.utc)
        self.update_run(run_id, status=status, reason=reason, finished_at=now.isoformat(timespec="seconds"),
                        duration_s=round((now - started).total_seconds(), 2))
        return self.run(run_id)

    def run(self, run_id: int) -> dict:
        row = self.db["crawl_runs"].get(run_id)
        row["errors"] = json.loads(row.get("errors") or "{}")
        return row

    def runs(self, source: str | None = None, limit: int = 50) -> list[dict]:
        where, params = ("source = ?", [source]) if source else (None, [])
        return list(self.db["crawl_runs"].rows_where(where, params, order_by="id desc", limit=limit))


@contextlib.contextmanager
def _migration_lock(path: Path):
    """An exclusive lock on a file beside the database while it is migrated (a flock on a file of its own:
    a second descriptor on the database file, closed, would drop SQLite's own locks of this process)."""
    import fcntl

    fd = open_private(path.with_name(f".{path.name}.migrating"), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


PRIVATE_NAMES = ("evidence", "logs", "state")
"""Folders beside the database that hold personal data or forum sessions."""


def make_private_files(path: Path) -> bool:
    """Create the database's folder (0700) and file (0600) if missing; returns whether the file existed.

    SQLite gives the -wal and -shm files the mode of the database file, so
    they follow; evidence/, logs/ and state/ are closed to others as folders,
    which covers the files made in them by earlier versions.
    """
    try:
        private_dir(path.parent)
        existed = path.exists()
        if not existed:
            _create_empty(path)
    except OSError as exc:
        raise DatabaseError(f"cannot create {path}: {exc.strerror}") from None
    for suffix in ("-wal", "-shm", "-journal"):
        make_private(f"{path}{suffix}")
    for name in PRIVATE_NAMES:
        make_private(path.parent / name)
    return existed


def _create_empty(path: Path) -> None:
    """Create an empty 0600 file at `path` unless one appears meanwhile.

    Made under a temporary name and linked into place after its descriptor is
    closed: closing a descriptor of the database file itself could drop the
    locks of a connection another thread has just opened on it (see check_file).
    """
    tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    os.close(open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    except OSError:  # no hard links on this file system
        try:
            os.close(open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


def check_file(path: Path) -> None:
    """Refuse a folder where the database file should be (a file that is not SQLite is refused on open).

    The header is not read here: in a process that already has the database
    open (the review page's threads, a crawl beside its progress reads), opening
    and closing the file releases that process's POSIX locks on it, and another
    process may then checkpoint and delete the WAL under a live connection
    ("database disk image is malformed").
    """
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a database file")
