"""Crawl runs against real local servers: success and failure are recorded with a reason."""

import json
import sqlite3
from pathlib import Path

from conftest import free_port, run_monitor

from monitor.demo import DemoServer


def write_config(tmp_path, base_url, kind_lines='kind = "forum"\nengine = "mybb"'):
    path = tmp_path / "sources.toml"
    path.write_text(f'[sources.local]\n{kind_lines}\nbase_url = "{base_url}"\n', encoding="utf-8")
    return path


def test_unreachable_site_fails_with_reason(tmp_path):
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}/forum/")
    db_path = tmp_path / "m.db"
    result = run_monitor("crawl", "local", "--config", str(config), "--db", str(db_path))
    assert result.returncode == 1
    assert "crawl failed for: local" in result.stderr
    assert "no page could be fetched" in result.stderr
    status, reason = sqlite3.connect(db_path).execute("SELECT status, reason FROM crawl_runs").fetchone()
    assert status == "failed" and "connection_refused" in reason


def test_crawl_configured_source_and_max_pages(tmp_path):
    with DemoServer() as server:
        config = tmp_path / "sources.toml"
        config.write_text(
            f'[sources.small]\nkind = "forum"\nengine = "mybb"\nbase_url = "{server.url}/forum/"\nmax_pages = 3\n', encoding="utf-8"
        )
        db_path = tmp_path / "m.db"
        result = run_monitor("crawl", "small", "--config", str(config), "--db", str(db_path), env={"MONITOR_DB": "ignored-by-flag.db"})
    # Stopping at max_pages leaves the site partly unread: the run says so, and a cron job hears it.
    assert result.returncode == 1 and "crawl degraded for: small" in result.stderr, result.stderr
    con = sqlite3.connect(db_path)
    pages, status, reason = con.execute("SELECT pages, status, reason FROM crawl_runs").fetchone()
    assert pages <= 3
    assert status == "degraded" and "max_pages reached" in reason, reason
    assert not (tmp_path / "ignored-by-flag.db").exists()


def test_telegram_channel_without_preview_fails(tmp_path):
    with DemoServer() as server:
        config = tmp_path / "sources.toml"
        config.write_text(f'[sources.tg]\nkind = "telegram"\nchannel = "nopreview_channel"\nbase_url = "{server.url}/tg/"\n')
        result = run_monitor("crawl", "tg", "--config", str(config), "--db", str(tmp_path / "m.db"))
    assert result.returncode == 1
    assert "no page could be fetched" in result.stderr or "no public web preview" in result.stderr


def test_a_run_where_most_pages_answer_errors_and_no_post_is_read_fails(tmp_path):
    """The saved MyBB index answers; every board and thread it links to is gone (404): not `ok`."""
    from sitesrv import SavedSite, SiteServer

    site = SavedSite("mybb")
    site.routes = {k: v for k, v in site.routes.items() if k == "/index.php"}
    with SiteServer(site) as srv:
        config = write_config(tmp_path, f"{srv.url}/index.php")
        db_path = tmp_path / "m.db"
        result = run_monitor("crawl", "local", "--config", str(config), "--db", str(db_path))
    assert result.returncode == 1, result.stdout
    status, reason = sqlite3.connect(db_path).execute("SELECT status, reason FROM crawl_runs").fetchone()
    assert status == "failed" and "no post was read" in reason and "404 x" in reason, reason


def test_plain_scrapy_export_writes_posts_without_errors(tmp_path):
    """`scrapy crawl forum -O posts.jsonl` (README): posts exported, no TypeError per page from the
    captured pages' bytes (those are kept by `monitor crawl` only)."""
    import json
    import subprocess
    import sys

    from conftest import ROOT

    out = tmp_path / "posts.jsonl"
    with DemoServer() as server:
        result = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "forum", "-a", f"base_url={server.url}/forum/",
                                 "-O", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "TypeError" not in result.stderr and "Error processing" not in result.stderr, result.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows and all(r.get("text") is not None and "body" not in r for r in rows)
    assert all(len(r["evidence_sha"]) == 64 for r in rows if "evidence_sha" in r)


def test_a_run_is_judged_by_what_it_read():
    from monitor.crawl.runner import judge

    ok_pages = {"downloader/response_status_count/200": 6}

    def run(posts=0, **stats):
        return {"posts_new": posts, "posts_updated": 0, "posts_unchanged": 0, "errors": {}, "stats": json.dumps({**ok_pages, **stats})}

    log = Path("/nonexistent.log")
    assert judge(run(posts=5), 0, log) == ("ok", None)
    assert judge(run(**{"monitor/threads_unchanged": 12}), 0, log) == ("ok", None)  # a quiet day: nothing changed
    status, reason = judge(run(), 0, log)
    assert status == "degraded" and "6 pages were fetched but no post was read" in reason
    status, reason = judge(run(posts=5, **{"depth/request_ignored_count": 3}), 0, log)
    assert status == "degraded" and "max_depth reached: 3 links not followed" in reason
    status, reason = judge(run(posts=5, **{"spider_exceptions/ValueError": 2}), 0, log)
    assert status == "degraded" and "2 pages could not be read (ValueError x2)" in reason
    status, reason = judge(run(**{"monitor/threads_unchanged": 9, "monitor/thread_pages_empty": 4}), 0, log)
    assert status == "degraded" and "4 thread pages had no post" in reason  # a broken theme is not a quiet day
    status, reason = judge(run(posts=5, **{"downloader/response_status_count/503": 7}), 0, log)
    assert status == "failed" and "7 of 13 requests failed (503 x7)" in reason
