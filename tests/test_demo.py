"""End to end: `monitor demo` serves the demo site, crawls it with the real spiders in a
subprocess, flags the ads, not the look-alikes, and a second run changes nothing."""

import csv
import io
import json
import sqlite3

import pytest
from conftest import run_monitor

from monitor.demo import DemoSite


def counts(db_path):
    con = sqlite3.connect(db_path)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("posts", "flags", "post_versions")}
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("elsewhere")  # not the repository root: works from any folder
    db_path = folder / "nested" / "demo.db"
    first = run_monitor("demo", "--db", str(db_path), cwd=folder)
    assert first.returncode == 0, first.stdout + first.stderr
    return db_path, first


def test_demo_stores_every_post(demo_db):
    db_path, _ = demo_db
    expected = DemoSite().expected()
    con = sqlite3.connect(db_path)
    keys = {row[0] for row in con.execute("SELECT post_key FROM posts")}
    assert keys == set(expected)


def test_demo_flags_ads_and_not_negatives(demo_db):
    db_path, _ = demo_db
    expected = DemoSite().expected()
    con = sqlite3.connect(db_path)
    flagged = {row[0] for row in con.execute("SELECT p.post_key FROM flags f JOIN posts p ON p.id = f.post_id WHERE f.active = 1")}
    assert flagged == {k for k, label in expected.items() if label == "sale"}


def test_demo_summary_and_table(demo_db):
    _, first = demo_db
    out = first.stdout
    assert "pages fetched" in out and "posts new" in out and "flagged posts" in out
    assert "ektp_selfie" in out and "Flagged posts" in out
    assert "3171014508920007" not in out  # identity numbers masked in the table


def test_demo_runs_are_recorded(demo_db):
    db_path, _ = demo_db
    con = sqlite3.connect(db_path)
    runs = con.execute("SELECT source, status, pages, posts_new FROM crawl_runs ORDER BY id").fetchall()
    assert [(r[0], r[1]) for r in runs[:2]] == [("demo-forum", "ok"), ("demo-telegram", "ok")]
    assert runs[0][2] >= 12 and runs[0][3] == 15  # index, boards, thread pages incl. page 2 of thread 11


def test_second_run_changes_no_counts(demo_db, tmp_path):
    db_path, _ = demo_db
    before = counts(db_path)
    again = run_monitor("demo", "--db", str(db_path), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert counts(db_path) == before
    assert "posts new     : 0" in again.stdout


def test_flags_json_lists_ids(demo_db):
    db_path, _ = demo_db
    result = run_monitor("flags", "--db", str(db_path), "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and all(isinstance(r["id"], int) for r in rows)
    assert {"id", "severity", "score", "categories", "url", "text", "reasons"} <= set(rows[0])
    assert not any("3171014508920007" in r["text"] for r in rows)
    csv_out = run_monitor("flags", "--db", str(db_path), "--format", "csv", "--status", "new").stdout
    assert next(csv.reader(io.StringIO(csv_out)))[:3] == ["id", "status", "severity"]
    parsed = list(csv.DictReader(io.StringIO(csv_out)))
    assert [int(r["id"]) for r in parsed] == [r["id"] for r in rows if r["status"] == "new"]
    none = run_monitor("flags", "--db", str(db_path), "--since", "2999-01-01", "--format", "json")
    assert json.loads(none.stdout) == []
    bad = run_monitor("flags", "--db", str(db_path), "--since", "yesterday")
    assert bad.returncode == 2 and "not a date" in bad.stderr
