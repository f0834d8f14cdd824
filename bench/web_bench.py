"""Review-page benchmark: the queue and a full-text search over a large database.

Generates (once, or reuses with --db) a database of 1,000,000 posts and 100,000 flags
spread over 100 days, logs in through the real Flask app and times, in process (server
time: routing, SQL, rendering), the default queue page, a filtered queue, and a
full-text search. Targets: <= 100 ms each; the dashboard and one of its charts <= 200 ms.

It also makes --shared (10,000) of the most recently flagged posts share one phone-number
fingerprint, as one seller repeating a WhatsApp number does, and times the queue whose items
all link to each other that way (linked posts are capped and counted, not listed in full).

    .venv/bin/python bench/web_bench.py [--posts 1000000] [--flags 100000] [--shared 10000] [--db /tmp/web-bench.db]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from monitor.web.accounts import add_user  # noqa: E402
from monitor.store import Database  # noqa: E402
from monitor.web import create_app  # noqa: E402
from rules import Detector  # noqa: E402
from rules_bench import base_texts  # noqa: E402

PASSWORD = "benchmark password"


def generate(db_path: Path, n_posts: int, n_flags: int) -> None:
    rng = random.Random(5)
    texts = base_texts()
    detector = Detector()
    analyses = [detector.analyze(t).to_dict() for t in texts]
    now = dt.datetime.now(dt.timezone.utc)
    with Database(db_path) as db:
        add_user(db, "bench", "reviewer", PASSWORD)
        flag_every = max(1, n_posts // n_flags)
        started = time.perf_counter()
        db.begin()
        for i in range(n_posts):
            k = rng.randrange(len(texts))
            seen = (now - dt.timedelta(days=rng.random() * 100)).isoformat(timespec="seconds")
            cursor = db.db.execute(
                "INSERT INTO posts (source, post_key, kind, post_id, url, thread_title, author, text, content_hash, version, "
                "first_seen, last_seen, updated_at, images) VALUES (?, ?, 'forum', ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, '[]')",
                [f"forum-{i % 20}", str(i), str(i), f"http://forum-{i % 20}.example/t/{i // 10}#p{i}", f"thread {i // 10}",
                 f"user{rng.randrange(50000)}", f"{texts[k]} #{i}", f"h{i}", seen, seen, seen])
            if i % flag_every == 0 and analyses[k]["label"] == "sale" or (i % flag_every == 0 and rng.random() < 0.5):
                a = analyses[k]
                db.db.execute(
                    "INSERT INTO flags (post_id, label, score, severity, categories, reasons, matches, context, identifiers, lang, "
                    "status, active, created_at, updated_at) VALUES (?, 'sale', ?, ?, ?, ?, ?, '[]', '[]', ?, 'new', 1, ?, ?)",
                    [cursor.lastrowid, a["score"], a["severity"] if a["label"] == "sale" else "medium",
                     json.dumps(a["categories"] or ["other_pii"]), json.dumps(a["reasons"]), json.dumps(a["matches"]),
                     a["lang"], seen, seen])
            if i % 100_000 == 99_999:
                db.commit()
                db.begin()
                print(f"  {i + 1:,} posts ({time.perf_counter() - started:.0f}s)", flush=True)
        db.commit()
        db.db.execute("ANALYZE")


SHARED_FINGERPRINT = "bench-one-seller-phone-fingerprint"


def share_one_fingerprint(db_path: Path, n: int) -> tuple[int, str]:
    """Give the `n` most recently flagged posts (then the newest others) one phone fingerprint; idempotent.

    Returns (posts sharing it, the day their flags start), for a queue whose items all share it.
    """
    with Database(db_path) as db:
        have = db.db.execute("SELECT count(*) FROM identifiers WHERE fingerprint = ?", [SHARED_FINGERPRINT]).fetchone()[0]
        if have < n:
            db.begin()
            db.db.execute(
                "INSERT OR IGNORE INTO identifiers (post_id, kind, fingerprint, masked) "
                "SELECT post_id, 'phone', ?, '0812******90' FROM flags ORDER BY created_at DESC LIMIT ?", [SHARED_FINGERPRINT, n])
            db.db.execute(
                "INSERT OR IGNORE INTO identifiers (post_id, kind, fingerprint, masked) "
                "SELECT id, 'phone', ?, '0812******90' FROM posts WHERE id NOT IN "
                "(SELECT post_id FROM identifiers WHERE fingerprint = ?) ORDER BY id DESC LIMIT ?",
                [SHARED_FINGERPRINT, SHARED_FINGERPRINT, max(0, n - db.db.execute(
                    "SELECT count(*) FROM identifiers WHERE fingerprint = ?", [SHARED_FINGERPRINT]).fetchone()[0])])
            db.commit()
        shared = db.db.execute("SELECT count(*) FROM identifiers WHERE fingerprint = ?", [SHARED_FINGERPRINT]).fetchone()[0]
        row = db.db.execute(
            "SELECT min(created_at) FROM (SELECT f.created_at FROM flags f JOIN identifiers i ON i.post_id = f.post_id "
            "WHERE i.fingerprint = ? ORDER BY f.created_at DESC LIMIT 200)", [SHARED_FINGERPRINT]).fetchone()
    start = dt.datetime.fromisoformat(row[0]).date().isoformat() if row and row[0] else dt.date.today().isoformat()
    return shared, start


def timed(client, path: str, rounds: int = 7, before=None) -> tuple[float, int, int]:
    times = []
    for _ in range(rounds):
        if before:
            before()
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    items = len(re.findall(rb'class="item sev-', response.data))
    return statistics.median(times), items, len(response.data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--flags", type=int, default=100_000)
    parser.add_argument("--shared", type=int, default=10_000, help="posts that share one phone number")
    parser.add_argument("--db", default="/tmp/web-bench.db")
    args = parser.parse_args()
    db_path = Path(args.db)
    if not db_path.exists():
        print(f"generating {args.posts:,} posts and about {args.flags:,} flags in {db_path} ...")
        generate(db_path, args.posts, args.flags)
    shared, shared_from = share_one_fingerprint(db_path, args.shared)
    with Database(db_path) as db:
        print(f"database: {db.count('posts'):,} posts, {db.count('flags'):,} flags")
    app = create_app(str(db_path))
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        token = session["login_csrf"]
    assert client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}).status_code == 302
    today = dt.date.today()
    week = (today - dt.timedelta(days=7)).isoformat()
    results = {}
    for name, path in (
        ("queue (default: since yesterday)", "/queue?from=" + (today - dt.timedelta(days=1)).isoformat()),
        ("queue, critical, last 7 days", f"/queue?from={week}&severity=critical"),
        ("full-text search 'selfie', last 7 days", f"/queue?from={week}&q=selfie"),
        ("full-text search 'combolist', all time", "/queue?from=2000-01-01&q=combolist"),
        (f"queue, {shared:,} posts share one phone", f"/queue?from={shared_from}"),
    ):
        ms, items, size = timed(client, path)
        results[name] = round(ms, 1)
        print(f"{name:<44} {ms:7.1f} ms  ({items} items, {size // 1024} KB)  target <= 100 ms")
    from monitor.web import dashboard_views

    for name, path in (("dashboard page (numbers not cached)", "/dashboard"),
                       ("dashboard chart (SVG, numbers not cached)", "/dashboard/chart/flags_90d_by_source.svg")):
        ms, _, size = timed(client, path, before=dashboard_views._cache.clear)
        results[name] = round(ms, 1)
        print(f"{name:<44} {ms:7.1f} ms  ({size // 1024} KB)  target <= 200 ms")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
