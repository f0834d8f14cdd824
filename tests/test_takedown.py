"""Takedown batches, letters and lists; re-checks against a local server; retention."""

import csv
import datetime as dt
import json
import re
import sqlite3
from pathlib import Path

import pytest
from conftest import run_monitor
from sitesrv import SiteServer, send

from monitor.web.accounts import add_user
from monitor.store import Database
from monitor.ingest import ingest_post
from monitor.store.keys import secret_key
from monitor.web.review import decide
from rules import Detector, is_valid_nik

AD = "Jual data NIK + KK valid, 5rb per nomor, contoh 3171014508920007 dan 3273012306880012, minat japri telegram @seller_demo"


@pytest.fixture
def confirmed(tmp_path):
    """A database with confirmed posts on Telegram, Facebook, an unknown forum host and a .onion forum."""
    db_path = str(tmp_path / "m.db")
    srv = SiteServer()
    srv.__enter__()
    srv.handlers["/thread/1"] = lambda h: send(h, 200, b"<html><body><div id='post_11'>" + AD.encode() + b"</div></body></html>")
    posts = [
        ("tg", "telegram", "https://t.me/stokdata_demo/45", "stokdata_demo/45"),
        ("fb", "import", "https://www.facebook.com/groups/9/posts/77", "fb-77"),
        ("forum", "forum", f"{srv.url}/thread/1#pid11", "11"),
        ("hidden", "forum", "http://exampleonionaddressforthetests2vx7q6hzbxk7ba4i6cbwvc7yf6bq3zvid.onion/t/5#pid5", "5"),
        ("forum", "forum", f"{srv.url}/thread/2#pid21", "21"),  # flagged but dismissed: never requested
    ]
    with Database(db_path) as db:
        add_user(db, "rina", "reviewer", "correct horse battery")
        reviewer = db.user("rina")
        detector = Detector()
        for i, (source, kind, url, key) in enumerate(posts):
            result = ingest_post(db, detector, {"source": source, "kind": kind, "post_id": key, "url": url, "text": AD},
                                 secret_key(db_path))
            assert result.flag == "new"
            flag_id = db.flag_of_post(result.post_id)["id"]
            if i < 4:
                decide(db, flag_id, "confirm", reviewer)
            else:
                decide(db, flag_id, "dismiss", reviewer, reason="duplicate")
    yield db_path, tmp_path, srv
    srv.__exit__(None, None, None)


def valid_niks_in(folder: Path) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".xlsx":
                from openpyxl import load_workbook

                data = " ".join(str(c.value) for row in load_workbook(path).active.iter_rows() for c in row).encode()
            for digits in re.findall(rb"(?<!\d)\d{16}(?!\d)", data):
                if is_valid_nik(digits.decode()):
                    found.append(f"{path.name}: {digits.decode()}")
    return found


def test_batches_per_platform_with_letters_and_no_full_identity_numbers(confirmed):
    db_path, tmp_path, srv = confirmed
    out = tmp_path / "takedown"
    result = run_monitor("takedown", "--format", "csv", "--out", str(out), "--as", "rina", "--db", db_path)
    assert result.returncode == 0, result.stderr
    con = sqlite3.connect(db_path)
    batches = dict(con.execute("SELECT platform, posts FROM takedown_batches").fetchall())
    assert batches == {"telegram": 1, "meta": 1, "kominfo": 1, "onion": 1}
    folders = {p.name.split("-", 1)[1]: p for p in out.iterdir()}
    with open(folders["telegram"] / "requests.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["url"] for r in rows] == ["https://t.me/stokdata_demo/45"]
    evidence_column = rows[0]["evidence_sha256"]
    assert rows[0]["identifiers"] and "3171********0007" in rows[0]["identifiers"]
    assert "sale intent: " in rows[0]["reasons"] and "niat menjual" not in rows[0]["reasons"]  # Telegram reads English
    with open(folders["kominfo"] / "requests.csv", encoding="utf-8") as fh:
        (kominfo,) = list(csv.DictReader(fh))
    assert "niat menjual: " in kominfo["reasons"] and "sale intent" not in kominfo["reasons"]  # Kominfo: Indonesian
    letter_id = (folders["kominfo"] / "letter_id.md").read_text()
    letter_en = (folders["kominfo"] / "letter_en.md").read_text()
    for letter in (letter_id, letter_en):
        assert "UU No. 27 Tahun 2022" in letter and "PP No. 71 Tahun 2019" in letter and "Permenkominfo No. 20 Tahun 2016" in letter
        assert f"{srv.url}/thread/1#pid11" in letter and f"{srv.url}/thread/2" not in letter
    assert "dokumen identitas" in letter_id and "id_documents" not in letter_id  # categories in the letter's language
    assert "identity documents" in letter_en and "id_documents" not in letter_en
    assert valid_niks_in(out) == [], "no full identity number in any export"
    assert con.execute("SELECT count(*) FROM flags WHERE status = 'requested'").fetchone()[0] == 4
    assert con.execute("SELECT count(*) FROM audit WHERE action = 'takedown.batch'").fetchone()[0] == 4
    assert evidence_column == ""  # imported by hand: no capture to cite (crawled posts cite theirs)
    again = run_monitor("takedown", "--out", str(out), "--db", db_path)
    assert again.returncode == 0 and "nothing to request" in again.stdout
    assert con.execute("SELECT count(*) FROM takedown_batches").fetchone()[0] == 4


def test_xlsx_and_platform_filter(confirmed):
    db_path, tmp_path, _ = confirmed
    out = tmp_path / "x"
    result = run_monitor("takedown", "--format", "xlsx", "--platform", "meta", "--out", str(out), "--db", db_path)
    assert result.returncode == 0, result.stderr
    from openpyxl import load_workbook

    (folder,) = list(out.iterdir())
    sheet = load_workbook(folder / "requests.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("url", "post_id", "platform")
    assert [r[0] for r in rows[1:]] == ["https://www.facebook.com/groups/9/posts/77"]
    assert valid_niks_in(out) == []
    unknown = run_monitor("takedown", "--platform", "myspace", "--out", str(out), "--db", db_path)
    assert unknown.returncode == 1 and "unknown platform 'myspace'" in unknown.stderr


def test_recheck_records_removal_and_report(confirmed):
    db_path, tmp_path, srv = confirmed
    assert run_monitor("takedown", "--out", str(tmp_path / "t"), "--db", db_path).returncode == 0
    first = json.loads(run_monitor("recheck", "--db", db_path, "--format", "json", "--timeout", "5").stdout)
    by_url = {r["url"]: r for r in first}
    assert by_url[f"{srv.url}/thread/1#pid11"]["status"] == "still_online"
    onion = next(r for u, r in by_url.items() if ".onion" in u)
    assert onion["status"] == "unreachable" and "not looked up" in onion["detail"]
    srv.handlers["/thread/1"] = lambda h: send(h, 404, b"gone")
    second = json.loads(run_monitor("recheck", "--db", db_path, "--format", "json", "--timeout", "5").stdout)
    assert {r["url"]: r["status"] for r in second}[f"{srv.url}/thread/1#pid11"] == "removed"
    con = sqlite3.connect(db_path)
    status = con.execute("SELECT f.status FROM flags f JOIN posts p ON p.id = f.post_id WHERE p.post_key = '11'").fetchone()
    assert status == ("removed",)
    assert con.execute("SELECT removed_at IS NOT NULL FROM takedown_items WHERE url LIKE '%thread/1%'").fetchone() == (1,)
    flags_removed = json.loads(run_monitor("flags", "--status", "removed", "--db", db_path, "--format", "json").stdout)
    assert [f["url"] for f in flags_removed] == [f"{srv.url}/thread/1#pid11"]
    report = {r["platform"]: r for r in json.loads(run_monitor("takedown", "report", "--db", db_path, "--format", "json").stdout)}
    assert report["kominfo"]["removed"] == 1 and report["kominfo"]["median_days_to_removal"] is not None


def test_recheck_escalates_posts_still_online_after_the_deadline(confirmed):
    db_path, tmp_path, srv = confirmed
    assert run_monitor("takedown", "--platform", "kominfo", "--out", str(tmp_path / "t"), "--db", db_path).returncode == 0
    result = json.loads(run_monitor("recheck", "--escalate-after", "0", "--db", db_path, "--format", "json").stdout)
    assert [r["status"] for r in result] == ["escalated"]


def test_purge_is_a_dry_run_unless_told_and_keeps_open_cases(confirmed):
    db_path, tmp_path, _ = confirmed
    con = sqlite3.connect(db_path)
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=400)).isoformat(timespec="seconds")
    con.execute("UPDATE posts SET last_seen = ?", [old])
    con.execute("INSERT INTO evidence (sha256, url, status, headers, size, first_fetched_at, last_fetched_at) "
                "VALUES ('ab' || hex(randomblob(31)), 'http://x/', 200, '{}', 1, ?, ?)", [old, old])
    kept_sha = "cd" + "0" * 62
    con.execute("INSERT INTO evidence (sha256, url, status, headers, size, first_fetched_at, last_fetched_at) "
                "VALUES (?, 'http://x/', 200, '{}', 1, ?, ?)", [kept_sha, old, old])
    con.execute("UPDATE posts SET evidence_sha = ? WHERE post_key = 'stokdata_demo/45'", [kept_sha])  # an open case
    con.commit()
    audit_before = con.execute("SELECT count(*) FROM audit").fetchone()[0]
    dry = run_monitor("purge", "--older-than", "180", "--db", db_path)
    assert dry.returncode == 0 and "1 dismissed posts, 1 captured pages" in dry.stdout and "dry run" in dry.stdout
    assert con.execute("SELECT count(*) FROM posts").fetchone()[0] == 5
    done = run_monitor("purge", "--older-than", "180", "--yes", "--db", db_path)
    assert done.returncode == 0, done.stderr
    assert con.execute("SELECT count(*) FROM posts").fetchone()[0] == 4, "the dismissed post is gone"
    assert con.execute("SELECT count(*) FROM flags WHERE status = 'dismissed'").fetchone()[0] == 0
    assert [r[0] for r in con.execute("SELECT sha256 FROM evidence")] == [kept_sha], "evidence of open cases is kept"
    assert con.execute("SELECT count(*) FROM audit").fetchone()[0] == audit_before + 1, "the audit log is kept, and notes the purge"
    assert con.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'japri'").fetchone()[0] == 4


def test_crawled_posts_cite_their_captured_page(tmp_path):
    db_path = str(tmp_path / "m.db")
    assert run_monitor("demo", "--db", db_path).returncode == 0
    con = sqlite3.connect(db_path)
    flag_id, sha = con.execute("SELECT f.id, p.evidence_sha FROM flags f JOIN posts p ON p.id = f.post_id "
                               "WHERE p.source = 'demo-telegram' ORDER BY f.id LIMIT 1").fetchone()
    assert sha and len(sha) == 64
    with Database(db_path) as db:
        add_user(db, "rina", "reviewer", "correct horse battery")
        decide(db, flag_id, "confirm", db.user("rina"))
    out = tmp_path / "t"
    assert run_monitor("takedown", "--format", "json", "--out", str(out), "--db", db_path).returncode == 0
    (folder,) = list(out.iterdir())
    rows = json.loads((folder / "requests.json").read_text())
    assert [r["evidence_sha256"] for r in rows] == [sha]
    assert sha in (folder / "letter_en.md").read_text() and sha in (folder / "letter_id.md").read_text()
    assert con.execute("SELECT after FROM audit WHERE action = 'evidence.export'").fetchone()[0] == json.dumps({"sha256": [sha]})
    assert valid_niks_in(out) == []


def test_exports_never_hand_a_spreadsheet_a_formula():
    from monitor.takedown.batches import spreadsheet_safe

    assert spreadsheet_safe('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)" and spreadsheet_safe("-2+3") == "'-2+3"
    assert spreadsheet_safe("Jual data KTP") == "Jual data KTP"
