"""Crawls dispatched to real Scrapyd nodes and stored here, compared with the same crawls run locally.

The nodes are real `scrapyd` daemons on 127.0.0.1 (tests/scrapyd_nodes.py) running the project's egg
as `scrapyd-deploy --build-egg` builds it; node b asks for basic auth, as a node reachable by others
should. The sites are pages real engines rendered (two MyBB 1.8 boards) and the demo forum with its
photos. A crawl on a node must leave the central database exactly as a local crawl leaves it: the
same posts, versions, captured pages, threads, flags, images and run counters; and every way a node
can fail a run (it dies, refuses, lacks credentials or a feed) must end the run with a reason that
names the node, and leave no lock and no run `running` behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from conftest import run_monitor
from scrapyd_nodes import ScrapydNode, build_egg
from sitesrv import SavedSite, SiteServer

from monitor.config import parse_config
from monitor.crawl import remote
from monitor.crawl.runner import crawl_source
from monitor.demo import DemoServer
from monitor.store import Database

CREDENTIALS = {"b": ("NODE_B_USER", "NODE_B_PASSWORD")}  # node b's [scrapyd.nodes.b] username_env, password_env
ENV = {"MONITOR_MODEL": "none",
       "MONITOR_SECRET_KEY": "0123456789abcdef" * 4,  # one key for both databases: identifier fingerprints compare
       "NODE_B_USER": "central", "NODE_B_PASSWORD": "b-secret"}
CLOCK = re.compile(r"time|memusage")  # Scrapy stats that differ from one crawl to the next wherever it runs
SLOW = 0.5  # seconds between requests: a crawl of the 31 pages that lasts long enough (~15 s) to be cut short


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def egg(tmp_path_factory) -> Path:
    """The project's egg, built once as `scrapyd-deploy --build-egg` builds it."""
    return build_egg(tmp_path_factory.mktemp("egg"))


@pytest.fixture(scope="module")
def nodes(egg, tmp_path_factory):
    """Nodes a and b running the deployed egg, for the whole module; b only for user `central`."""
    folder = tmp_path_factory.mktemp("nodes")
    with ScrapydNode("a", folder / "a", egg=egg) as a, \
            ScrapydNode("b", folder / "b", egg=egg, username=ENV["NODE_B_USER"], password=ENV["NODE_B_PASSWORD"]) as b:
        yield {"a": a, "b": b}


@pytest.fixture(scope="module")
def sites():
    """Two MyBB 1.8 boards (plain and search-engine-friendly URLs), served once for the module: central and
    local crawls fetch the same URLs, so their captured pages are the same bytes."""
    with SiteServer(SavedSite("mybb18-default")) as plain, SiteServer(SavedSite("mybb18-seo")) as seo:
        yield plain, seo


def board(name: str, srv, **options) -> str:
    """A MyBB source's table; its images are hosted elsewhere, so they are left to the image test below."""
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in {"images": False, **options}.items())
    return f'[sources.{name}]\nkind = "forum"\nengine = "mybb"\nbase_url = "{srv.url}/index.php"\ntimezone = "+07:00"\n{extra}'


def cluster_toml(*nodes, lost_after: float = 60, project: str | None = None) -> str:
    head = f"[scrapyd]\npoll_seconds = 0.3\nlost_after_seconds = {lost_after}\n" + (f'project = "{project}"\n' if project else "")
    return head + "".join(node.config_toml(*CREDENTIALS.get(node.name, ())) for node in nodes)


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def load(text: str):
    return parse_config(tomllib.loads(text), "test.toml")


def rows(db_path: Path, sql: str, params=()) -> list[tuple]:
    con = sqlite3.connect(db_path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def stored(db_path: Path) -> dict:
    """What crawls leave in the database, without ids, clock times and run ids: all that must not depend
    on where the pages were crawled."""
    post = "(SELECT source || ' ' || post_key FROM posts p WHERE p.id = {}.post_id)"
    return {
        "posts": sorted(rows(db_path, """SELECT source, post_key, kind, post_id, url, page_url, thread_url, thread_title,
            board, author, posted_at, posted_raw, text, quoted, images, views, forwarded_from, content_hash, version,
            missing_since IS NULL, evidence_sha, is_listing, opens_thread FROM posts""")),
        "post_versions": sorted(rows(db_path, f"""SELECT {post.format('v')}, version, content_hash, thread_title, text,
            evidence_sha FROM post_versions v""")),
        "evidence": sorted(rows(db_path, "SELECT sha256, status, size FROM evidence")),
        "threads": sorted(rows(db_path, "SELECT source, thread_url, marker, posts FROM threads")),
        "flags": sorted(rows(db_path, f"""SELECT {post.format('f')}, source, label, score, severity, categories, reasons,
            matches, context, identifiers, lang, status, active, model, model_terms, rules_label, rules_score, warnings,
            reason_parts FROM flags f""")),
        "images": sorted(rows(db_path, """SELECT sha256, status, reason, width, height, document, face, selfie_with_id,
            analysis, blurred, redacted, thumb FROM images""")),
        "post_images": sorted(rows(db_path, f"""SELECT {post.format('i')}, url, position, status, sha256, reason, attempts
            FROM post_images i""")),
        "runs": rows(db_path, """SELECT source, kind, status, reason, pages, posts_new, posts_updated, posts_unchanged,
            posts_missing, flags_new, errors, images_fetched, images_analysed, images_failed FROM crawl_runs ORDER BY id"""),
        "stats": [{k: v for k, v in json.loads(stats or "{}").items() if not CLOCK.search(k)}  # Scrapy's counters
                  for (stats,) in rows(db_path, "SELECT stats FROM crawl_runs ORDER BY id")],
    }


def assert_same_store(central: Path, local: Path) -> None:
    """Table by table (a difference names its table), then the bytes of every captured page and image."""
    got, want = stored(central), stored(local)
    for table in want:
        assert got[table] == want[table], table
    with Database(central) as far, Database(local) as here:
        for (sha,) in rows(central, "SELECT sha256 FROM evidence"):
            body = far.evidence_bytes(sha)
            assert body is not None and hashlib.sha256(body).hexdigest() == sha
            assert body == here.evidence_bytes(sha)


def nothing_left_running(db_path: Path) -> None:
    assert rows(db_path, "SELECT source FROM locks") == []
    assert rows(db_path, "SELECT id FROM crawl_runs WHERE status = 'running'") == []


def crawl(config: Path, db: Path, names=("mb", "seo")):
    return run_monitor("crawl", *names, "--config", str(config), "--db", str(db), "--time-limit", "120", env=ENV)


def in_background(fn, *args, **kwargs) -> tuple[threading.Thread, dict]:
    """fn(*args, **kwargs) in a thread; the dict gets its result (or error) when it ends."""
    out = {}

    def run():
        try:
            out["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def count(db_path: Path, table: str) -> int:
    """Rows in `table`; 0 while the database is still being created."""
    try:
        return rows(db_path, f"SELECT count(*) FROM {table}")[0][0]
    except sqlite3.OperationalError:
        return 0


def alive(pid: int) -> bool:
    """A process that runs (a zombie waiting for its parent to reap it does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:g}s waiting for {what}")


# ------------------------------------------------------------------ the same store, wherever the pages were read

def test_crawls_on_two_nodes_store_what_local_crawls_store_first_and_incremental(nodes, sites, tmp_path):
    """Through the CLI a user runs: mb pinned to node b (basic auth), seo left to any node."""
    a, b = nodes["a"], nodes["b"]
    central, local = tmp_path / "central" / "monitor.db", tmp_path / "local" / "monitor.db"
    central.parent.mkdir()
    local.parent.mkdir()
    plain, seo = sites
    central_cfg = write_config(tmp_path / "central.toml", cluster_toml(a, b) + board("mb", plain, node="b") + board("seo", seo))
    local_cfg = write_config(tmp_path / "local.toml", board("mb", plain) + board("seo", seo))

    for _ in range(2):  # the first crawl, then an incremental one: the threads read travel with the job
        with ThreadPoolExecutor(2) as pool:  # the two databases share nothing: crawl both at once
            far, here = pool.map(lambda args: crawl(*args), [(central_cfg, central), (local_cfg, local)])
        assert far.returncode == 0, far.stderr[-3000:]
        assert here.returncode == 0, here.stderr[-3000:]
        assert_same_store(central, local)
        nothing_left_running(central)
    runs = rows(central, "SELECT source, status, pages, posts_new, posts_unchanged, node, job_id FROM crawl_runs ORDER BY id")
    assert [(r[0], r[1]) for r in runs] == [("mb", "ok"), ("seo", "ok")] * 2
    first_mb, first_seo, second_mb, second_seo = runs
    assert first_mb[3] == first_seo[3] == 54, runs  # every post of each board
    assert second_mb[2] < first_mb[2] and second_seo[2] < first_seo[2] and second_mb[3] == second_seo[3] == 0, runs
    assert {first_mb[5], second_mb[5]} == {"b"}, "mb is pinned to node b"
    assert {first_seo[5], second_seo[5]} == {"a"}, "seo goes to the least busy node: both idle, the first configured"
    for source, _, _, _, _, node, job in runs:
        assert job.startswith(f"{source}-"), job
        assert job in {entry["id"] for entry in nodes[node].jobs()["finished"]}, f"{job} did not run on node {node}"
    assert rows(local, "SELECT DISTINCT node, job_id FROM crawl_runs") == [(None, None)]


def test_the_image_phase_on_a_node_reads_the_same_images_as_locally(nodes, tmp_path):
    """The demo forum's selfie ad: its photo is fetched by a second job on the node that crawled the pages
    and read here by the same image worker."""
    with DemoServer() as server:
        cfg = load(cluster_toml(nodes["a"], nodes["b"]) + f'[sources.forum]\nkind = "forum"\nengine = "mybb"\n'
                   f'base_url = "{server.url}/forum/"\n')
        source, cluster = cfg.sources["forum"], cfg.cluster
        with ThreadPoolExecutor(2) as pool:
            far = pool.submit(crawl_source, source, tmp_path / "central" / "monitor.db", time_limit=120, cluster=cluster)
            here = pool.submit(crawl_source, source, tmp_path / "local" / "monitor.db", time_limit=120)
            far, here = far.result(), here.result()
    assert far["status"] == here["status"] == "ok", (far["reason"], here["reason"])
    assert far["images_fetched"] == here["images_fetched"] and far["images_analysed"] == here["images_analysed"] >= 1
    assert_same_store(tmp_path / "central" / "monitor.db", tmp_path / "local" / "monitor.db")
    jobs = {entry["id"]: entry["spider"] for entry in nodes[far["node"]].jobs()["finished"]}
    spiders = [jobs[job] for job in jobs if job.startswith(f"forum-{far['id']}-")]
    assert sorted(spiders) == ["forum", "images"], spiders
    assert rows(tmp_path / "central" / "monitor.db", "SELECT count(*) FROM images WHERE status = 'analysed'")[0][0] >= 1


# ------------------------------------------------------------------ nodes that answer, stop, die or refuse

def test_nodes_lists_each_node_and_exits_1_for_a_stopped_one(nodes, sites, tmp_path):
    a, b = nodes["a"], nodes["b"]
    stopped = ScrapydNode("c", tmp_path / "c").start()
    stopped.stop()
    sources = board("mb", sites[0])
    config = write_config(tmp_path / "s.toml", cluster_toml(a, b, stopped) + sources)
    result = run_monitor("nodes", "--config", str(config), "--db", str(tmp_path / "m.db"), "--format", "json", env=ENV)
    assert result.returncode == 1, result.stderr
    listed = {row["node"]: row for row in json.loads(result.stdout)}
    assert [(n, r["url"], r["status"]) for n, r in listed.items()] == [
        ("a", a.url, "ok"), ("b", b.url, "ok"), ("c", stopped.url, "unreachable")]
    assert "refused" in listed["c"]["problem"].lower() and listed["a"]["problem"] is None
    assert isinstance(listed["b"]["finished"], int) and listed["b"]["running"] == 0

    write_config(tmp_path / "s.toml", cluster_toml(a, b) + sources)
    result = run_monitor("nodes", "--config", str(config), "--db", str(tmp_path / "m.db"), "--format", "json", env=ENV)
    assert result.returncode == 0, result.stderr
    assert [row["status"] for row in json.loads(result.stdout)] == ["ok", "ok"]


def test_a_node_killed_mid_job_fails_the_run_and_keeps_what_arrived(egg, tmp_path):
    db = tmp_path / "monitor.db"
    with ScrapydNode("k", tmp_path / "k", egg=egg) as node, SiteServer(SavedSite("mybb18-default")) as srv:
        config = write_config(tmp_path / "s.toml", cluster_toml(node, lost_after=2) + board("slow", srv, delay=SLOW))
        cfg = load(config.read_text(encoding="utf-8"))
        thread, out = in_background(crawl_source, cfg.sources["slow"], db, time_limit=120, cluster=cfg.cluster)
        wait_for(lambda: count(db, "posts"), 30, "the first posts from the node")
        # While it runs, `monitor nodes` names the source the node's job crawls (from the lock).
        listed = run_monitor("nodes", "--config", str(config), "--db", str(db), "--format", "json", env=ENV)
        (row,) = json.loads(listed.stdout)
        assert [(j["source"], j["spider"]) for j in row["jobs"]] == [("slow", "forum")], listed.stdout
        crawlers = node.crawl_pids()
        assert crawlers and thread.is_alive(), "the crawl ended before the node could be killed: raise SLOW"
        node.kill()
        thread.join(60)
    assert not thread.is_alive() and "error" not in out, out
    run = out["result"]
    assert run["status"] == "failed", run
    assert "node k stopped answering" in run["reason"] and run["job_id"] in run["reason"], run["reason"]
    assert not [pid for pid in crawlers if alive(pid)], "the node's crawl outlived it"
    nothing_left_running(db)
    # What arrived before the kill is stored and counted, each post with the page it was read from.
    assert 0 < count(db, "posts") == run["posts_new"], run
    assert rows(db, "SELECT count(*) FROM posts WHERE evidence_sha NOT IN (SELECT sha256 FROM evidence)") == [(0,)]


def test_a_node_that_refuses_the_job_fails_the_run_with_its_answer(nodes, sites, tmp_path, monkeypatch):
    a, b = nodes["a"], nodes["b"]
    db = tmp_path / "monitor.db"

    def run(config_text: str, name: str) -> dict:
        cfg = load(config_text)
        result = crawl_source(cfg.sources[name], db, time_limit=60, cluster=cfg.cluster)
        nothing_left_running(db)
        assert result["status"] == "failed", result
        return result

    sources = board("mb", sites[0]) + board("pinned", sites[0], node="b")
    # A project the nodes do not have: every node answers, and each says no.
    reason = run(cluster_toml(a, b, project="not_deployed") + sources, "mb")["reason"]
    assert reason.startswith("the job was not accepted"), reason
    assert "node a: schedule.json refused: project 'not_deployed' not found" in reason, reason
    assert "node b: schedule.json refused: project 'not_deployed' not found" in reason, reason
    # Wrong credentials: Scrapyd's 401.
    monkeypatch.setenv("NODE_B_PASSWORD", "not-the-password")
    reason = run(cluster_toml(a, b) + sources, "pinned")["reason"]
    assert "node b: HTTP 401 for schedule.json" in reason and "Unauthorized" in reason, reason
    # No credentials at all: the run says which variable to set, and asks the node nothing.
    monkeypatch.delenv("NODE_B_PASSWORD")
    reason = run(cluster_toml(a, b) + sources, "pinned")["reason"]
    assert "node b: environment variable NODE_B_PASSWORD is not set" in reason, reason
    assert rows(db, "SELECT count(*), count(node), count(job_id) FROM crawl_runs") == [(3, 0, 0)]
    assert rows(db, "SELECT count(*) FROM posts") == [(0,)]


def test_a_node_without_an_items_feed_fails_the_run_naming_the_setting(egg, tmp_path, monkeypatch):
    monkeypatch.setattr(remote, "NO_FEED_AFTER", 2.0)  # 30 s in production: time for a slow node to start a job
    db = tmp_path / "monitor.db"
    with ScrapydNode("nofeed", tmp_path / "nofeed", egg=egg, items=False) as node, \
            SiteServer(SavedSite("mybb18-default")) as srv:
        cfg = load(cluster_toml(node) + board("mb", srv, delay=SLOW))
        run = crawl_source(cfg.sources["mb"], db, time_limit=60, cluster=cfg.cluster)
        states = node.jobs()
    assert run["status"] == "failed", run
    assert run["reason"] == "node nofeed keeps no items feed for its jobs: set items_dir = items in its scrapyd.conf"
    assert [entry["id"] for entry in states["finished"]] == [run["job_id"]] and not states["running"], "the job was cancelled"
    nothing_left_running(db)


def test_a_short_job_on_a_node_without_an_items_feed_also_names_the_setting(egg, tmp_path):
    """A job that finishes before the no-feed check of a running job (30 s) must not read as a killed crawl."""
    db = tmp_path / "monitor.db"
    with ScrapydNode("nofeed", tmp_path / "nofeed", egg=egg, items=False) as node, \
            SiteServer(SavedSite("mybb18-default")) as srv:
        cfg = load(cluster_toml(node) + board("mb", srv))
        run = crawl_source(cfg.sources["mb"], db, time_limit=60, cluster=cfg.cluster)
    assert run["status"] == "failed", run
    assert run["reason"] == "node nofeed keeps no items feed for its jobs: set items_dir = items in its scrapyd.conf"
    nothing_left_running(db)


def test_sources_dispatched_at_the_same_moment_spread_over_the_nodes(nodes, sites, tmp_path):
    """The daemon starts max_parallel crawls at once: each must not see the nodes idle and pick the first."""
    plain, seo = sites
    db = tmp_path / "monitor.db"
    cfg = load(cluster_toml(nodes["a"], nodes["b"]) + board("mb", plain, delay=0.1) + board("seo", seo, delay=0.1))
    started = [in_background(crawl_source, cfg.sources[name], db, time_limit=120, cluster=cfg.cluster) for name in ("mb", "seo")]
    for thread, _ in started:
        thread.join(120)
    runs = [out["result"] for _, out in started]
    assert [r["status"] for r in runs] == ["ok", "ok"], runs
    assert sorted(r["node"] for r in runs) == ["a", "b"], runs


def test_a_lock_taken_over_from_a_dead_monitor_cancels_its_orphaned_job(nodes, sites, tmp_path):
    """`monitor crawl` killed while its job runs on a node: the next run of the source cancels that job."""
    plain, _ = sites
    db = tmp_path / "monitor.db"
    config = write_config(tmp_path / "s.toml", cluster_toml(nodes["a"]) + board("mb", plain, delay=SLOW))
    orphaned = subprocess.Popen([sys.executable, "-m", "monitor", "crawl", "mb", "--config", str(config), "--db", str(db)],
                                env={**os.environ, **ENV}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        job = wait_for(lambda: (rows(db, "SELECT job_id FROM locks WHERE job_id IS NOT NULL") or [[None]])[0][0]
                       if count(db, "locks") else None, 60, "the job on the node")
        wait_for(lambda: job in [j["id"] for j in nodes["a"].jobs()["running"]], 30, "the job to run")
        orphaned.kill()  # no clean-up: the lock and the job are left behind
        orphaned.wait()
    finally:
        if orphaned.poll() is None:
            orphaned.kill()
    cfg = load(config.read_text(encoding="utf-8"))
    run = crawl_source(cfg.sources["mb"], db, time_limit=120, cluster=cfg.cluster)
    assert run["status"] == "ok" and run["job_id"] != job, run
    (ended,) = [j for j in nodes["a"].jobs()["finished"] if j["id"] == job]
    lasted = (datetime.fromisoformat(ended["end_time"]) - datetime.fromisoformat(ended["start_time"])).total_seconds()
    assert lasted < 12, f"the orphaned job ran its full ~16 s ({lasted:.1f} s): it was not cancelled"
    assert rows(db, "SELECT count(*) FROM locks") == [(0,)]
    interrupted = rows(db, "SELECT status, reason FROM crawl_runs WHERE job_id = ?", [job])
    assert interrupted and interrupted[0][0] == "interrupted", interrupted


def test_the_scheduler_dispatches_its_runs_to_the_nodes(nodes, sites, tmp_path):
    """`monitor schedule`'s jobs run crawl_source with the configuration's nodes, as `monitor crawl` does."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from monitor.crawl.daemon import CrawlDaemon

    plain, _ = sites
    db = tmp_path / "monitor.db"
    cfg = load(cluster_toml(nodes["a"], nodes["b"]) + board("mb", plain, node="b", every="6h"))
    daemon = CrawlDaemon(cfg, str(db), scheduler_cls=BackgroundScheduler)
    daemon.run_job("mb")
    ((status, node, job),) = rows(db, "SELECT status, node, job_id FROM crawl_runs")
    assert (status, node) == ("ok", "b") and job in {e["id"] for e in nodes["b"].jobs()["finished"]}
