"""No silent loss on one machine: crawls that write one SQLite file at once store every post, or say how many they did not.

The sites are many copies of a board a real MyBB 1.8 rendered (`sitecopies.CopiedSite`), served on
127.0.0.1 and crawled by real `scrapy crawl` subprocesses through `crawl_source`, as the scheduler
runs them (`max_parallel` at a time, one database). A third connection holding the write lock
stands for a long rescore or review transaction; a trigger stands for a post the database refuses.
"""

import contextlib
import re
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sitecopies import CopiedSite
from sitesrv import SiteServer

from monitor.config import SCHEDULER_DEFAULTS, Source
from monitor.crawl.runner import crawl_source
from monitor.store import Database
from monitor.store.busy import BUSY_TIMEOUT_MS, LOCK_WAIT_ENV


def source(name: str, srv: SiteServer) -> Source:
    return Source(name, "forum", {"base_url": f"{srv.url}/index.php", "engine": "mybb", "timezone": "+07:00", "images": False})


def stored_keys(db_path, name: str) -> set[str]:
    with contextlib.closing(sqlite3.connect(db_path)) as con:
        return {key for (key,) in con.execute("SELECT post_key FROM posts WHERE source = ?", [name])}


def wait_for(check, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@contextlib.contextmanager
def write_lock(db_path):
    """Another connection's write transaction (a long rescore, say) until the block ends."""
    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        con.execute("ROLLBACK")
        con.close()


def test_two_crawls_at_once_store_every_post_through_a_lock_held_longer_than_sqlite_waits(tmp_path, monkeypatch):
    monkeypatch.setenv("MONITOR_MODEL", "none")
    db_path = tmp_path / "monitor.db"
    Database(db_path).close()
    sites = {"default": CopiedSite("mybb18-default", 75), "classic": CopiedSite("mybb18-classic", 75)}
    held = {}

    def hold_lock():  # once both crawls store posts: longer than one statement waits inside SQLite
        wait_for(lambda: all(stored_keys(db_path, name) for name in sites))
        with write_lock(db_path):
            time.sleep(BUSY_TIMEOUT_MS / 1000 + 1)
        held.update({name: len(stored_keys(db_path, name)) for name in sites})

    with SiteServer(sites["default"]) as a, SiteServer(sites["classic"]) as b:
        holder = threading.Thread(target=hold_lock, daemon=True)
        holder.start()
        started = time.monotonic()
        with ThreadPoolExecutor(SCHEDULER_DEFAULTS["max_parallel"]) as pool:  # as the scheduler runs them
            jobs = {name: pool.submit(crawl_source, source(name, srv), db_path, time_limit=300)
                    for name, srv in (("default", a), ("classic", b))}
            runs = {name: job.result() for name, job in jobs.items()}
        seconds = time.monotonic() - started
        holder.join(5)
    assert len(sites["default"].post_keys()) == 75 * 54 >= 4000
    for name, site in sites.items():
        assert held[name] < len(site.post_keys())  # the crawl still had posts to store when the lock was released
        assert stored_keys(db_path, name) == site.post_keys()
        run = runs[name]
        assert (run["status"], run["reason"]) == ("ok", None), run
        assert run["posts_new"] == len(site.post_keys())
        assert not run["errors"].get("posts_not_stored")
        assert "database is locked" not in open(run["log"], encoding="utf-8", errors="replace").read()
    with Database(db_path) as db:
        assert not [r for r in db.runs() if r["status"] == "running"]
    print(f"2 x {len(sites['default'].post_keys())} posts crawled at once in {seconds:.1f} s")


def test_posts_that_stay_locked_out_past_the_lock_wait_fail_the_run_with_their_number(tmp_path, monkeypatch):
    monkeypatch.setenv("MONITOR_MODEL", "none")
    monkeypatch.setenv(LOCK_WAIT_ENV, "1")
    db_path = tmp_path / "monitor.db"
    Database(db_path).close()
    site = CopiedSite("mybb18-default", 15)
    log = tmp_path / "logs" / "run-1-busy.log"

    def hold_lock():  # from the first stored posts until the worker has given up on a batch
        wait_for(lambda: stored_keys(db_path, "busy"))
        with write_lock(db_path):
            wait_for(lambda: "not stored" in log.read_text(encoding="utf-8", errors="replace"))

    with SiteServer(site) as srv:
        holder = threading.Thread(target=hold_lock, daemon=True)
        holder.start()
        run = crawl_source(source("busy", srv), db_path, time_limit=300)
        holder.join(5)
    stored = stored_keys(db_path, "busy")
    missing = len(site.post_keys()) - len(stored)
    assert stored < site.post_keys() and missing > 0  # what could be stored is, and nothing else is claimed
    assert run["status"] == "failed"
    assert re.match(rf"{missing} posts (and \d+ captured pages )?could not be stored \(the database stayed locked for 1 s\)$",
                    run["reason"]), run["reason"]
    assert run["errors"]["posts_not_stored"] == missing
    assert run["posts_new"] == len(stored)  # the batches given up were not counted
    with Database(db_path) as db:
        assert not [r for r in db.runs() if r["status"] == "running"]


def test_a_post_the_database_refuses_is_counted_and_its_thread_read_again_next_time(tmp_path, monkeypatch):
    monkeypatch.setenv("MONITOR_MODEL", "none")
    db_path = tmp_path / "monitor.db"
    Database(db_path).close()
    site = CopiedSite("mybb18-default", 2)
    # Post 1027 (page 2 of thread 1007): its refusal ends the whole transaction; 1012 (thread 1005): only its own statement.
    with contextlib.closing(sqlite3.connect(db_path)) as con:
        con.execute("CREATE TRIGGER refuse_one BEFORE INSERT ON posts WHEN new.post_key = '1027' "
                    "BEGIN SELECT RAISE(ROLLBACK, 'refused by the test'); END")
        con.execute("CREATE TRIGGER refuse_two BEFORE INSERT ON posts WHEN new.post_key = '1012' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        con.commit()
    with SiteServer(site) as srv:
        run = crawl_source(source("refused", srv), db_path, time_limit=300)
        base = srv.url
    assert stored_keys(db_path, "refused") == site.post_keys() - {"1027", "1012"}
    assert run["status"] == "failed"
    assert run["reason"] == "2 posts could not be stored (IntegrityError: refused by the test)"
    assert run["posts_new"] == len(site.post_keys()) - 2
    with contextlib.closing(sqlite3.connect(db_path)) as con:
        threads = {url for (url,) in con.execute("SELECT thread_url FROM threads")}
    refused = {f"{base}/showthread.php?tid=1007", f"{base}/showthread.php?tid=1005"}
    assert not threads & refused  # not recorded as read to the end: the next run reads them again
    assert f"{base}/showthread.php?tid=1001" in threads and f"{base}/showthread.php?tid=7" in threads
