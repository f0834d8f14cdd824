"""Issue 11, storage under hostile files and concurrent writers: items 3 (file modes), 17 (one bad row must
not abort an import), 18 (an import must not lock everyone out; orphaned runs) and 19 (the secret key).

Everything is real: `python -m monitor` subprocesses, SQLite files in tmp_path, the demo site on 127.0.0.1.
"""

import csv
import json
import multiprocessing
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_monitor

from monitor.demo import DemoServer
from monitor.store import Database

SALE = "Jual data KTP dan KK lengkap, fresh, minat WA 081234567890. Harga nego."
GOOD = [{"url": "https://x.com/a/status/1", "post_id": "g1", "text": SALE},
        {"url": "https://x.com/a/status/3", "post_id": "g3", "text": "Data 6 juta NPWP diduga bocor, kata pakar."}]
KEY_ENV = "MONITOR_SECRET_KEY"


@pytest.fixture(autouse=True)
def no_key_in_env(monkeypatch):
    """The key comes from secret.key beside the database unless a test sets the variable."""
    monkeypatch.delenv(KEY_ENV, raising=False)


def spawn_monitor(*args, umask=None, env=None):
    full_env = {k: v for k, v in os.environ.items() if k not in ("MONITOR_DB", KEY_ENV)}
    full_env.update(env or {})
    return subprocess.Popen([sys.executable, "-m", "monitor", *args], env=full_env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def rows(db_path, sql, *params):
    con = sqlite3.connect(db_path, timeout=30)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def wait_for(predicate, timeout=60.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except sqlite3.OperationalError:  # the database is being created
            value = None
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not reached in time")


def exposed(folder: Path) -> list[str]:
    """Files and folders under `folder` (itself included) that group or others may read, write or enter."""
    out = []
    for path in [folder, *folder.rglob("*")]:
        mode = path.lstat().st_mode
        if mode & 0o077:
            out.append(f"{stat.filemode(mode)} {path.relative_to(folder.parent)}")
    return out


# ---------------------------------------------------------------- item 3: file modes

def test_item03_demo_data_folder_is_owner_only_under_umask_022(tmp_path):
    data = tmp_path / "data"
    proc = spawn_monitor("demo", "--db", str(data / "monitor.db"), umask=0o022)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    names = {p.name for p in data.rglob("*")}
    assert {"monitor.db", "secret.key", "evidence", "logs", "state", "known_threads.json"} <= names, names
    assert any(p.suffix == ".gz" for p in data.rglob("*")) and any(p.suffix == ".log" for p in data.rglob("*"))
    assert exposed(data) == []


def test_item03_library_writers_are_owner_only_whatever_the_umask(tmp_path):
    from monitor.store.keys import secret_key
    from spiders.session import StateDir

    data = tmp_path / "deep" / "data"
    old = os.umask(0o022)
    try:
        with Database(data / "monitor.db") as db:
            db.save_evidence({"sha256": "ab" * 32, "url": "https://x/", "body": b"<html>3171014508920007</html>",
                              "fetched_at": "2026-01-01T00:00:00+00:00"})
            db.audit("t", "test", "x")  # a write: the WAL and its index exist now
            assert (data / "monitor.db-wal").exists() and (data / "monitor.db-shm").exists()
        StateDir(str(data / "state" / "forum")).write_json("cookies.json", [{"name": "sid", "value": "secret"}])
        secret_key(data / "monitor.db")
        # a database made by an earlier version under umask 022 is closed when next opened
        legacy = tmp_path / "legacy"
        legacy.mkdir()
        sqlite3.connect(legacy / "monitor.db").execute("CREATE TABLE t (x)").connection.close()
        (legacy / "evidence").mkdir(mode=0o755)
        os.chmod(legacy / "monitor.db", 0o644)
        Database(legacy / "monitor.db").close()
    finally:
        os.umask(old)
    assert exposed(tmp_path / "deep") == []
    assert stat.S_IMODE((legacy / "monitor.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((legacy / "evidence").stat().st_mode) == 0o700


# ---------------------------------------------------------------- item 17: hostile rows

def jsonl_case(kind: str) -> bytes:
    good1, good3 = (json.dumps(r).encode() for r in GOOD)
    hostile = {
        "lone_surrogate": b'{"url": "https://x.com/a/status/2", "post_id": "h2", "text": "jual \\ud800 data KTP"}',
        "invalid_utf8": b'{"url": "https://x.com/a/status/2", "post_id": "h2", "text": "jual \xff\xfe data KTP"}',
        "deep_nesting": b"[" * 100_000,
        "huge_integer": b'{"url": "https://x.com/a/status/2", "post_id": ' + b"7" * 5000 + b', "text": "jual KTP"}',
    }[kind]
    return b"\n".join([good1, hostile, good3]) + b"\n"


@pytest.mark.parametrize("kind", ["lone_surrogate", "invalid_utf8", "deep_nesting", "huge_integer"])
def test_item17_hostile_jsonl_line_is_a_bad_row_and_good_rows_are_kept(tmp_path, kind):
    path = tmp_path / f"{kind}.jsonl"
    path.write_bytes(jsonl_case(kind))
    db_path = tmp_path / "m.db"
    result = run_monitor("ingest", str(path), "--source", "collected", "--db", str(db_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert f"{path}:2: " in result.stderr, result.stderr
    assert "2 new, 0 updated, 0 unchanged posts" in result.stdout and "1 bad rows" in result.stdout
    assert sorted(r[0] for r in rows(db_path, "SELECT post_key FROM posts")) == ["g1", "g3"]
    assert rows(db_path, "SELECT status, reason FROM crawl_runs") == [("partial", "1 bad row(s) skipped")]


def test_item17_csv_fields_over_128k_are_read_and_a_huge_one_is_a_bad_row(tmp_path):
    from monitor.crawl.importer import MAX_TEXT

    path = tmp_path / "long.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["url", "post_id", "text"])
        writer.writerow([GOOD[0]["url"], "g1", GOOD[0]["text"]])  # line 2
        writer.writerow(["https://x.com/a/status/2", "long", "jual data KTP " + "x" * 140_000])  # line 3: over 128 KiB
        writer.writerow(["https://x.com/a/status/9", "huge", "y" * 2_000_000])  # line 4: over the field limit
        writer.writerow([GOOD[1]["url"], "g3", GOOD[1]["text"]])  # line 5
    db_path = tmp_path / "m.db"
    result = run_monitor("ingest", str(path), "--source", "collected", "--db", str(db_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert f"{path}:4: " in result.stderr and "field larger than field limit" in result.stderr, result.stderr
    stored = dict(rows(db_path, "SELECT post_key, length(text) FROM posts"))
    assert stored == {"g1": len(GOOD[0]["text"]), "long": min(MAX_TEXT, 14 + 140_000), "g3": len(GOOD[1]["text"])}
    assert rows(db_path, "SELECT status FROM crawl_runs") == [("partial",)]


def test_item17_an_unexpected_error_fails_the_run_keeps_the_good_rows_and_says_why(tmp_path):
    db_path = tmp_path / "m.db"
    Database(db_path).close()
    con = sqlite3.connect(db_path)  # a real failure inside SQLite on the third row, as a full disk would give
    con.execute("CREATE TRIGGER refuse BEFORE INSERT ON posts WHEN NEW.post_key = 'boom' "
                "BEGIN SELECT RAISE(ABORT, 'the disk refused this row'); END")
    con.commit()
    con.close()
    path = tmp_path / "posts.jsonl"
    lines = [GOOD[0], {**GOOD[1], "post_id": "g2", "url": "https://x.com/a/status/2"},
             {"url": "https://x.com/a/status/4", "post_id": "boom", "text": SALE}, GOOD[1]]
    path.write_text("\n".join(map(json.dumps, lines)) + "\n", encoding="utf-8")
    result = run_monitor("ingest", str(path), "--source", "collected", "--db", str(db_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "the disk refused this row" in result.stderr, result.stderr
    assert sorted(r[0] for r in rows(db_path, "SELECT post_key FROM posts")) == ["g1", "g2"]
    [(status, reason, posts_new)] = rows(db_path, "SELECT status, reason, posts_new FROM crawl_runs")
    assert status == "failed" and "the disk refused this row" in reason and posts_new == 2


# ---------------------------------------------------------------- item 18: concurrent writers, orphaned runs

def big_file(tmp_path, n=30_000) -> Path:
    path = tmp_path / "big.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            text = (SALE if i % 3 == 0 else "Data 6 juta NPWP diduga bocor dan dijual di forum, kata pakar siber.") + f" #{i}"
            fh.write(json.dumps({"url": f"https://x.com/u/status/{i}", "post_id": f"p{i}", "author": f"user{i % 97}",
                                 "text": text}) + "\n")
    return path


def seeded_flag(tmp_path, db_path) -> int:
    seed = tmp_path / "seed.jsonl"
    seed.write_text(json.dumps({**GOOD[0], "post_id": "seed"}) + "\n", encoding="utf-8")
    assert run_monitor("ingest", str(seed), "--source", "seed", "--db", str(db_path)).returncode == 0
    return rows(db_path, "SELECT id FROM flags")[0][0]


def test_item18_a_long_import_lets_a_review_decision_in_within_a_second_or_so(tmp_path):
    from monitor.web.review import decide

    db_path = tmp_path / "m.db"
    flag_id = seeded_flag(tmp_path, db_path)
    path = big_file(tmp_path)
    reviewer = {"name": "rev", "role": "reviewer"}
    db = Database(db_path)
    db.db.execute("PRAGMA busy_timeout = 10000")  # long enough to measure the wait, short of the usual 30 s
    waits = []
    try:
        importer = spawn_monitor("ingest", str(path), "--source", "big", "--db", str(db_path))
        wait_for(lambda: rows(db_path, "SELECT 1 FROM crawl_runs WHERE source = 'big' AND status = 'running'"))
        while importer.poll() is None and len(waits) < 6:
            started = time.monotonic()
            decide(db, flag_id, "note", reviewer, note=f"checked while importing {len(waits)}")
            waits.append(time.monotonic() - started)
            time.sleep(0.3)
        out, err = importer.communicate(timeout=600)
    finally:
        db.close()
    assert importer.returncode == 0, err
    assert len(waits) >= 3, f"the import ended before the decisions could overlap it ({waits})"
    assert max(waits) < 5.0, f"a decision waited {max(waits):.1f}s for the import's write lock ({waits})"
    assert "30000 new" in out
    again = run_monitor("ingest", str(path), "--source", "big", "--db", str(db_path), timeout=600)
    assert "0 new, 0 updated, 30000 unchanged posts" in again.stdout, again.stdout + again.stderr
    assert rows(db_path, "SELECT count(*) FROM posts") == [(30_001,)]


def signalled_import(tmp_path, sig: int):
    """A real `monitor ingest` of a big file, sent `sig` half a second into its run; (db path, process)."""
    db_path = tmp_path / "m.db"
    path = big_file(tmp_path)
    importer = spawn_monitor("ingest", str(path), "--source", "big", "--db", str(db_path))
    wait_for(lambda: rows(db_path, "SELECT 1 FROM crawl_runs WHERE status = 'running'"))
    time.sleep(0.5)
    importer.send_signal(sig)
    importer.communicate(timeout=60)
    return db_path, importer


def test_item18_killed_import_is_marked_interrupted_when_the_database_is_next_opened(tmp_path):
    db_path, importer = signalled_import(tmp_path, signal.SIGKILL)
    assert rows(db_path, "SELECT status FROM crawl_runs") == [("running",)], "SIGKILL leaves no chance to record it"
    Database(db_path).close()  # any command opening the database
    [(status, reason, finished)] = rows(db_path, "SELECT status, reason, finished_at FROM crawl_runs")
    assert status == "interrupted" and f"process {importer.pid} ended without finishing" in reason and finished


def test_item18_sigterm_to_an_import_records_it_as_interrupted(tmp_path):
    db_path, _ = signalled_import(tmp_path, signal.SIGTERM)
    [(status, reason, posts_new)] = rows(db_path, "SELECT status, reason, posts_new FROM crawl_runs")
    assert (status, reason) == ("interrupted", "stopped by signal 15")
    assert rows(db_path, "SELECT count(*) FROM posts") == [(posts_new,)], "the rows counted are the rows stored"


def test_item18_a_second_open_in_one_process_loses_no_write_of_another_process(tmp_path):
    """The review page opens the database per request in 8 threads, next to a crawl writing from
    other processes. Reading the file's header with open()/close() dropped this process's SQLite
    locks, so the other process's last close checkpointed and deleted the WAL under the live
    connection: its rows vanished, then "database disk image is malformed"."""
    path = tmp_path / "m.db"
    writer = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
              "[c.execute(\"INSERT INTO audit (at, user, action, target) VALUES ('now', 'crawl', 'w', 'x')\") for _ in range(20)]; "
              "c.close()")
    with Database(path) as db:
        for i in range(10):
            db.audit("web", "seed", str(i))
        for rnd in range(5):
            Database(path).close()  # another request of the review page
            subprocess.run([sys.executable, "-c", writer, str(path)], check=True, timeout=60)
            db.audit("web", "decide", str(rnd))
            assert db.db.execute("SELECT count(*) FROM audit WHERE user = 'crawl'").fetchone()[0] == 20 * (rnd + 1)
    assert rows(path, "SELECT count(*) FROM audit") == [(10 + 5 + 100,)]
    assert rows(path, "PRAGMA integrity_check") == [("ok",)]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_item18_runs_of_live_processes_and_of_live_locks_are_left_running(tmp_path):
    db_path = tmp_path / "m.db"
    gone = dead_pid()
    with Database(db_path) as db:
        mine = db.start_run("alive", "import")  # this process: alive
        held = db.start_run("crawling", "forum")
        db.update_run(held, pid=gone)
        # the run's starter died, but its crawler still holds the source's lock (the crawler is this process)
        db.db.execute("INSERT INTO locks (source, pid, child_pid, host, run_id, acquired_at) VALUES (?, ?, ?, ?, ?, ?)",
                      ["crawling", gone, os.getpid(), os.uname().nodename, held, "2026-01-01T00:00:00+00:00"])
        orphan = db.start_run("orphan", "import")
        db.update_run(orphan, pid=gone)
    Database(db_path).close()
    status = dict(rows(db_path, "SELECT id, status FROM crawl_runs"))
    assert status == {mine: "running", held: "running", orphan: "interrupted"}


def test_item18_a_live_crawl_is_untouched_by_other_commands_opening_the_database(tmp_path):
    db_path = str(tmp_path / "m.db")
    with DemoServer() as server:
        config = tmp_path / "sources.toml"
        config.write_text(f'[sources.slow]\nkind = "forum"\nengine = "mybb"\nbase_url = "{server.url}/forum/"\n'
                          "delay = 0.5\nconcurrency = 1\n", encoding="utf-8")
        crawl = spawn_monitor("crawl", "slow", "--config", str(config), "--db", db_path)
        wait_for(lambda: rows(db_path, "SELECT 1 FROM crawl_runs WHERE status = 'running'"))
        for _ in range(3):
            assert run_monitor("runs", "--db", db_path).returncode == 0
            assert rows(db_path, "SELECT status FROM crawl_runs") == [("running",)] or crawl.poll() is not None
        _, err = crawl.communicate(timeout=300)
    assert crawl.returncode == 0, err
    assert rows(db_path, "SELECT status FROM crawl_runs") == [("ok",)]


# ---------------------------------------------------------------- item 19: the secret key

def _race_key(db_path, start, results):
    from monitor.store.keys import secret_key

    start.wait()
    try:
        results.put(("ok", secret_key(db_path).decode()))
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_item19_parallel_first_starts_all_get_the_same_full_key(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for attempt in range(3):
        db_path = str(tmp_path / f"fresh{attempt}" / "monitor.db")
        start, results = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_race_key, args=(db_path, start, results)) for _ in range(16)]
        for p in procs:
            p.start()
        time.sleep(0.3)
        start.set()
        got = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(60)
        assert all(kind == "ok" for kind, _ in got), got
        keys = {key for _, key in got}
        assert len(keys) == 1 and len(keys.pop()) >= 32, got


def key_file(tmp_path, content: bytes, mode: int) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    path = folder / "secret.key"
    path.write_bytes(content)
    os.chmod(path, mode)
    return folder / "monitor.db"


def ingest_one(tmp_path, db_path, env=None):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(GOOD[0]) + "\n", encoding="utf-8")
    return run_monitor("ingest", str(path), "--source", "one", "--db", str(db_path), env=env)


def test_item19_an_empty_key_file_is_refused_with_what_to_do(tmp_path):
    from monitor.store.keys import secret_key

    db_path = key_file(tmp_path, b"", 0o600)
    with pytest.raises(Exception, match="is empty"):
        secret_key(db_path)
    result = ingest_one(tmp_path, db_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "Error: the secret key" in result.stderr and f"Delete {db_path.parent / 'secret.key'}" in result.stderr
    assert rows(db_path, "SELECT count(*) FROM posts") == [(0,)]


def test_item19_a_key_file_others_can_read_is_refused(tmp_path):
    from monitor.store.keys import secret_key

    db_path = key_file(tmp_path, b"f" * 64 + b"\n", 0o644)
    with pytest.raises(Exception, match="chmod 600"):
        secret_key(db_path)
    result = ingest_one(tmp_path, db_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"chmod 600 {db_path.parent / 'secret.key'}" in result.stderr
    os.chmod(db_path.parent / "secret.key", 0o600)
    assert secret_key(db_path) == b"f" * 64  # once closed, the same key works


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_item19_a_key_file_of_another_user_is_refused(tmp_path):
    from monitor.store.keys import secret_key

    db_path = key_file(tmp_path, b"f" * 64 + b"\n", 0o600)
    os.chown(db_path.parent / "secret.key", 65534, 65534)
    with pytest.raises(Exception, match="belongs to another user"):
        secret_key(db_path)


def test_item19_a_short_key_in_the_environment_is_refused_also_by_serve(tmp_path, monkeypatch):
    from monitor.store.keys import secret_key

    monkeypatch.setenv(KEY_ENV, "0123456789")
    with pytest.raises(Exception, match="at least 32"):
        secret_key(tmp_path / "m.db")
    env = {KEY_ENV: "0123456789"}
    result = ingest_one(tmp_path, tmp_path / "m.db", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "MONITOR_SECRET_KEY is 10 bytes long; a key needs at least 32" in result.stderr
    try:
        serve = run_monitor("serve", "--db", str(tmp_path / "m.db"), "--port", "0", env=env, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("monitor serve started with a 10-byte key")
    assert serve.returncode == 1 and "Traceback" not in serve.stderr and "at least 32" in serve.stderr, serve.stderr
    monkeypatch.setenv(KEY_ENV, "k" * 32)
    assert secret_key(tmp_path / "m.db") == b"k" * 32
