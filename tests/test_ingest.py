"""`monitor ingest` and `monitor runs`: posts collected elsewhere go the same way as crawled ones."""

import csv
import json
import sqlite3

from conftest import run_monitor

ROWS = [
    {"url": "https://www.facebook.com/groups/123/posts/456", "post_id": "fb-456", "author": "Toko Data",
     "posted_at": "2026-11-20T09:00:00+07:00", "thread_title": "Grup Jual Beli Akun",
     "text": "Ready jutaan stok data bergaransi, foto KTP, selfie KTP, KK dan NPWP. Minat inbox.",
     "images": ["https://scontent.example/1.jpg"]},
    {"url": "https://x.com/berita/status/789", "text": "Data 6 juta NPWP diduga bocor dan dijual di forum, kata pakar siber."},
]


def test_jsonl_round_trip_with_bad_rows(tmp_path):
    path = tmp_path / "posts.jsonl"
    lines = [json.dumps(ROWS[0]), "{broken", json.dumps({"url": "not-a-url", "text": "x"}),
             json.dumps({"url": "https://x.com/a/1", "text": "", "author": "a"}), json.dumps(ROWS[1])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db_path = tmp_path / "m.db"
    result = run_monitor("ingest", str(path), "--source", "facebook", "--db", str(db_path))
    assert result.returncode == 1, "bad rows make the exit code non-zero"
    assert f"{path}:2: not JSON" in result.stderr
    assert f"{path}:3: url: missing or not an http(s) URL" in result.stderr
    assert f"{path}:4: text: missing or empty" in result.stderr
    assert "2 new, 0 updated, 0 unchanged posts; 1 new flags; 3 bad rows" in result.stdout
    con = sqlite3.connect(db_path)
    row = con.execute("SELECT source, kind, post_key, author, posted_at, images FROM posts WHERE post_key = 'fb-456'").fetchone()
    assert row == ("facebook", "import", "fb-456", "Toko Data", "2026-11-20T02:00:00+00:00", json.dumps(ROWS[0]["images"]))
    flagged = con.execute("SELECT p.post_key FROM flags f JOIN posts p ON p.id = f.post_id").fetchall()
    assert flagged == [("fb-456",)]
    again = run_monitor("ingest", str(path), "--source", "facebook", "--db", str(db_path))
    assert "0 new, 0 updated, 2 unchanged posts" in again.stdout
    assert con.execute("SELECT count(*) FROM posts").fetchone() == (2,)


def test_csv_round_trip(tmp_path):
    path = tmp_path / "manual.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["url", "text", "author", "posted_at", "images"])
        writer.writeheader()
        writer.writerow({"url": ROWS[0]["url"], "text": ROWS[0]["text"], "author": "Toko Data", "posted_at": "2026-11-20",
                         "images": "https://scontent.example/1.jpg; https://scontent.example/2.jpg"})
        writer.writerow({"url": ROWS[1]["url"], "text": ROWS[1]["text"], "author": "", "posted_at": "kemarin", "images": ""})
    db_path = tmp_path / "m.db"
    result = run_monitor("ingest", str(path), "--source", "manual", "--db", str(db_path))
    assert result.returncode == 1 and f"{path}:3: posted_at: 'kemarin' is not an ISO 8601 date" in result.stderr
    con = sqlite3.connect(db_path)
    assert json.loads(con.execute("SELECT images FROM posts").fetchone()[0]) == ["https://scontent.example/1.jpg", "https://scontent.example/2.jpg"]
    runs = run_monitor("runs", "--db", str(db_path), "--format", "json")
    run = json.loads(runs.stdout)[0]
    assert (run["source"], run["kind"], run["status"], run["posts_new"], run["errors"]) == ("manual", "import", "partial", 1, "bad_rows x1")


def test_csv_without_required_columns(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("link,body\nhttps://x,y\n", encoding="utf-8")
    result = run_monitor("ingest", str(path), "--source", "manual", "--db", str(tmp_path / "m.db"))
    assert result.returncode == 1 and "lacks required column(s) text, url" in result.stderr
