"""Storage: real SQLite files in temporary folders."""

import sqlite3

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.store import Database, DatabaseError

POST = {"source": "f", "kind": "forum", "post_id": "7", "url": "http://f.example/t#pid7", "thread_title": "WTS KTP", "text": "jual data ktp"}


def test_creates_missing_folders_and_uses_wal(tmp_path):
    path = tmp_path / "a" / "b" / "m.db"
    with Database(path) as db:
        assert set(["posts", "flags", "crawl_runs", "post_versions"]) <= set(db.db.table_names())
        assert db.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    applied = sqlite3.connect(path).execute("SELECT name FROM _sqlite_migrations").fetchall()
    assert [name for (name,) in applied][:2] == ["0001_initial", "0002_rescore"]  # numbered, in order


def test_refuses_a_file_that_is_not_sqlite_and_leaves_it_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"my notes, not a database\n")
    with pytest.raises(DatabaseError, match="not a SQLite database"):
        Database(path)
    assert path.read_bytes() == b"my notes, not a database\n"
    result = CliRunner().invoke(cli, ["flags", "--db", str(path)])
    assert result.exit_code == 1
    assert "not a SQLite database" in result.output and "Traceback" not in result.output
    assert path.read_bytes() == b"my notes, not a database\n"


def test_recrawl_updates_last_seen_and_edit_keeps_history(tmp_path):
    with Database(tmp_path / "m.db") as db:
        first = db.upsert_post(POST)
        again = db.upsert_post(POST)
        edited = db.upsert_post({**POST, "text": "jual data ktp dan kk"})
        assert (first.outcome, again.outcome, edited.outcome) == ("new", "unchanged", "updated")
        assert first.id == again.id == edited.id
        assert db.count("posts") == 1
        post = db.post(first.id)
        assert post["version"] == 2 and post["text"] == "jual data ktp dan kk"
        versions = list(db.db["post_versions"].rows)
        assert [(v["version"], v["text"]) for v in versions] == [(1, "jual data ktp")]


def test_post_without_id_is_keyed_by_url(tmp_path):
    with Database(tmp_path / "m.db") as db:
        a = db.upsert_post({**POST, "post_id": None})
        b = db.upsert_post({**POST, "post_id": None, "url": "http://f.example/other"})
        c = db.upsert_post({**POST, "post_id": None})
        assert a.id == c.id != b.id


def test_full_text_search_quotes_user_input(tmp_path):
    with Database(tmp_path / "m.db") as db:
        pid = db.upsert_post(POST).id
        db.save_flag(pid, {"label": "sale", "score": 0.9, "severity": "high", "categories": [], "reasons": [],
                           "matches": [], "context": [], "identifiers": [], "lang": "id"})
        assert [r["post_id"] for r in db.queue(q="ktp")] == [pid]
        assert db.queue(q='ktp" OR "x') == []  # FTS syntax in user input is just text
        assert db.queue(q="NEAR(") == []


def test_flag_lifecycle(tmp_path):
    with Database(tmp_path / "m.db") as db:
        pid = db.upsert_post(POST).id
        sale = {"label": "sale", "score": 0.9, "severity": "high", "categories": ["id_documents"], "reasons": ["x"],
                "matches": [], "context": [], "identifiers": [], "lang": "id"}
        assert db.save_flag(pid, sale) == "new"
        assert db.save_flag(pid, sale) == "updated"
        assert len(db.list_flags()) == 1
        assert db.save_flag(pid, {**sale, "label": "not_sale"}) == "retired"
        assert db.list_flags() == []
        assert db.count("flags") == 1


def test_processes_opening_a_new_database_at_once_migrate_it_once(tmp_path):
    """Cron starting several crawls after an upgrade: each process finds the migrations pending; one runs them."""
    import subprocess
    import sys

    path = tmp_path / "new.db"
    code = "import sys; from monitor.store import Database; Database(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.PIPE, text=True) for _ in range(6)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
