"""Review-page benchmark: the queue, full-text search, the dashboard and the sellers over a large database.

Generates (once, or reuses with --db) a database of 1,000,000 posts and 100,000 flags
spread over 100 days, logs in through the real Flask app and times, in process (server
time: routing, SQL, rendering), the default queue page, a filtered queue, and a
full-text search. Targets: <= 100 ms each; the dashboard and each of its charts <= 200 ms.

Flags are made the way the product makes them: every post's text is one of the benchmark
texts (`rules_bench.base_texts`, each analysed once by the detector the ingest worker runs)
with the post's number appended, and `Database.save_flag` records that analysis, which flags
the post exactly when it says "sale"; to get --flags flags, that many posts (chosen at random)
get a text the detector calls a sale and the others one it does not. Only the flag's date is
then moved back, to spread the flags over 100 days. (A database made before this, with about
59,000 flags, is not remade: delete it.)

It also makes --shared (10,000) of the most recently flagged posts share one phone-number
fingerprint, as one seller repeating a WhatsApp number does, and times the queue whose items
all link to each other that way (linked posts are capped and counted, not listed in full).
Then --contacts (100,000) other posts get contacts and wallets of about a quarter as many
sellers (a few share a wallet, which chains their groups), and it times the sellers' page
(`/actors`, with the 10,000-post seller on it), regrouping all posts into sellers, and
regrouping after a crawl of 1,000 new posts with contacts (what every crawl and import runs).

Dashboard figures: "cold" computes the numbers afresh (their cache cleared before every
request), "warm" reads them from the cache, as the chart images do right after the page;
"first chart after start" is the first chart a new app process draws.

    .venv/bin/python bench/web_bench.py [--posts 1000000] [--flags 100000] [--shared 10000]
        [--contacts 100000] [--db /tmp/web-bench.db]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from monitor.learning.registry import build_detector  # noqa: E402
from monitor.store import Database  # noqa: E402
from monitor.store.keys import fingerprint  # noqa: E402
from monitor.web.accounts import add_user  # noqa: E402
from rules_bench import base_texts  # noqa: E402

PASSWORD = "benchmark password"
KEY = b"web-bench fingerprint key"


def generate(db_path: Path, n_posts: int, n_flags: int) -> None:
    rng = random.Random(5)
    texts = base_texts()
    detector = build_detector(db_path, explain_all=False)  # what the ingest worker runs
    analyses = [detector.analyze(t).to_dict() for t in texts]
    sales = [k for k, a in enumerate(analyses) if a["label"] == "sale"]
    others = [k for k, a in enumerate(analyses) if a["label"] != "sale"]
    flagged = set(rng.sample(range(n_posts), min(n_flags, n_posts)))
    now = dt.datetime.now(dt.timezone.utc)
    with Database(db_path) as db:
        add_user(db, "bench", "reviewer", PASSWORD)
        started = time.perf_counter()
        db.begin()
        for i in range(n_posts):
            k = rng.choice(sales if i in flagged else others)
            seen = (now - dt.timedelta(days=rng.random() * 100)).isoformat(timespec="seconds")
            cursor = db.db.execute(
                "INSERT INTO posts (source, post_key, kind, post_id, url, thread_title, author, text, content_hash, version, "
                "first_seen, last_seen, updated_at, images) VALUES (?, ?, 'forum', ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, '[]')",
                [f"forum-{i % 20}", str(i), str(i), f"http://forum-{i % 20}.example/t/{i // 10}#p{i}", f"thread {i // 10}",
                 f"user{rng.randrange(50000)}", f"{texts[k]} #{i}", f"h{i}", seen, seen, seen])
            if db.save_flag(cursor.lastrowid, analyses[k]) == "new":  # the product's own write; a non-sale writes nothing
                db.db.execute("UPDATE flags SET created_at = ?, updated_at = ? WHERE post_id = ?", [seen, seen, cursor.lastrowid])
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


def seller_contacts(rng: random.Random, sellers: int, seller: int | None = None) -> list[tuple]:
    """(kind, fingerprint, masked, offered as a contact) of one post by a seller: its phone, often its
    Telegram handle, now and then a wallet it shares with another seller. A few sellers post most."""
    s = seller if seller is not None else min(int(sellers * rng.random() ** 2), sellers - 1)
    out = [("phone", fingerprint(KEY, "phone", f"seller{s}"), f"0812******{s % 100:02d}", True)]
    if rng.random() < 0.5:
        out.append(("telegram", fingerprint(KEY, "telegram", f"seller{s}"), f"@s***{s % 100:02d}", True))
    if rng.random() < 0.03:
        partner = rng.randrange(sellers)
        out.append(("btc", fingerprint(KEY, "btc", f"wallet{min(s, partner)}-{max(s, partner)}"), "1Boa…yT", True))
    return out


def add_contacts(db_path: Path, n: int) -> int:
    """Give `n` posts other than the one seller's (the oldest flagged ones, then unflagged ones) the
    contacts of n/4 sellers; idempotent. Returns how many sellers."""
    sellers = max(1, n // 4)
    with Database(db_path) as db:
        if db.db.execute("SELECT count(*) FROM identifiers WHERE kind = 'phone' AND fingerprint != ?",
                         [SHARED_FINGERPRINT]).fetchone()[0] >= n:
            return sellers
        rng = random.Random(7)
        posts = [r[0] for r in db.db.execute(
            "SELECT post_id FROM flags WHERE post_id NOT IN (SELECT post_id FROM identifiers WHERE fingerprint = ?) "
            "ORDER BY created_at LIMIT ?", [SHARED_FINGERPRINT, n])]
        posts += [r[0] for r in db.db.execute(
            "SELECT id FROM posts WHERE id NOT IN (SELECT post_id FROM flags) ORDER BY id LIMIT ?", [n - len(posts)])]
        db.begin()
        db.db.conn.executemany(
            "INSERT OR IGNORE INTO identifiers (post_id, kind, fingerprint, masked, is_contact) VALUES (?, ?, ?, ?, ?)",
            [(post, kind, fp, masked, 1) for post in posts for kind, fp, masked, _ in seller_contacts(rng, sellers)])
        db.commit()
    return sellers


def crawl_posts(db, sellers: int, n: int, run: str) -> list[int]:
    """`n` posts as a crawl stores them (`upsert_post`, `save_identifiers`): most by known sellers,
    some by new ones, a few with the one seller's phone. The same keys every time, new text."""
    rng = random.Random(run)
    ids = []
    with db.transaction():
        for j in range(n):
            stored = db.upsert_post({"source": "bench-crawl", "kind": "forum", "post_id": str(j), "url": f"http://crawl.example/{j}",
                                     "text": f"Jual data KTP, WA di profil ({run} #{j})"})
            r = rng.random()
            contacts = seller_contacts(rng, sellers, sellers + j if r < 0.1 else None)
            if r > 0.99:
                contacts.append(("phone", SHARED_FINGERPRINT, "0812******90", True))
            db.save_identifiers(stored.id, contacts)
            ids.append(stored.id)
    return ids


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
    parser.add_argument("--contacts", type=int, default=100_000, help="other posts with sellers' contacts")
    parser.add_argument("--db", default="/tmp/web-bench.db")
    args = parser.parse_args()
    db_path = Path(args.db)
    if not db_path.exists():
        print(f"generating {args.posts:,} posts and {args.flags:,} flags in {db_path} ...")
        generate(db_path, args.posts, args.flags)
    shared, shared_from = share_one_fingerprint(db_path, args.shared)
    sellers = add_contacts(db_path, args.contacts)
    from monitor.report import actors

    results = {}

    def report(name: str, ms: float, note: str) -> None:
        results[name] = round(ms, 1)
        print(f"{name:<52} {ms:8.1f} ms  {note}")

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    with Database(db_path) as db:
        if db.count("flags") < 0.9 * args.flags:
            print(f"warning: {db_path} has fewer flags than --flags; delete it to generate it again")
        print(f"database: {db.count('posts'):,} posts, {db.count('flags'):,} flags, "
              f"{db.db.execute('SELECT count(DISTINCT post_id) FROM identifiers').fetchone()[0]:,} posts with contacts")
        start = time.perf_counter()
        full = actors.rebuild_members(db, full=True)
        report("regroup sellers: all posts", (time.perf_counter() - start) * 1000, f"({full:,})")
    start = time.perf_counter()
    from monitor.report.charts import warm_up
    from monitor.web import create_app

    app = create_app(str(db_path))
    warm_up()  # as `monitor serve` does before it listens
    report("app start (import, create_app, chart warm-up as monitor serve does)", (time.perf_counter() - start) * 1000, "")
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        token = session["login_csrf"]
    assert client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}).status_code == 302
    from monitor.report.dashboard import CHARTS
    from monitor.web import dashboard_views

    start = time.perf_counter()
    assert client.get("/dashboard/chart/flags_90d_by_source.svg").status_code == 200
    report("first chart after start (numbers not cached)", (time.perf_counter() - start) * 1000, "target <= 200 ms")
    today = dt.date.today()
    week = (today - dt.timedelta(days=7)).isoformat()
    for name, path in (
        ("queue (default: since yesterday)", "/queue?from=" + (today - dt.timedelta(days=1)).isoformat()),
        ("queue, critical, last 7 days", f"/queue?from={week}&severity=critical"),
        ("full-text search 'selfie', last 7 days", f"/queue?from={week}&q=selfie"),
        ("full-text search 'combolist', all time", "/queue?from=2000-01-01&q=combolist"),
        (f"queue, {shared:,} posts share one phone", f"/queue?from={shared_from}"),
    ):
        ms, items, size = timed(client, path)
        report(name, ms, f"({items} items, {size // 1024} KB)  target <= 100 ms")
    for name, path in [("dashboard page", "/dashboard")] + [(f"chart {c}", f"/dashboard/chart/{c}.svg") for c in CHARTS]:
        cold, _, size = timed(client, path, before=dashboard_views._cache.clear)
        client.get("/dashboard")  # the page caches the numbers its images then use
        warm, _, _ = timed(client, path)
        report(f"{name}, cold", cold, f"({size // 1024} KB)  target <= 200 ms")
        report(f"{name}, warm", warm, "")
    ms, _, size = timed(client, "/actors")
    report(f"sellers page (a {shared:,}-post seller on it)", ms, f"({size // 1024} KB)  target <= 200 ms")
    with Database(db_path) as db:
        top = db.db.execute("SELECT actor_id FROM actor_members ORDER BY actor_posts DESC LIMIT 1").fetchone()[0]
        ms, _, size = timed(client, f"/actors/{top}")
        report(f"one seller's page ({top}, newest 1,000 posts)", ms, f"({size // 1024} KB)")
        crawled = crawl_posts(db, sellers, 1000, f"run {time.time()}")
        start = time.perf_counter()
        actors.rebuild_members(db)
        report("regroup sellers after a crawl of 1,000 posts", (time.perf_counter() - start) * 1000, "")
        with db.transaction():  # back as it was: those posts keep no contacts
            for post in crawled:
                db.save_identifiers(post, [])
        actors.rebuild_members(db)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
