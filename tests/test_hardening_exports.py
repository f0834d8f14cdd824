"""Issue 11, items 4-7 and 20: takedown batches, CSV, Markdown and terminal output against hostile posts."""

import csv
import io
import json
import sqlite3
import subprocess
import sys

import pytest
from conftest import run_monitor
from markdown_it import MarkdownIt

from monitor.ingest import ingest_post
from monitor.store import Database
from monitor.web.accounts import add_user
from monitor.web.review import decide
from rules import Detector

AD = "Jual data KTP + selfie e-KTP lengkap, 10rb per data, minat japri wa 0812-3456-7890"
TRACKER = "http://tracker.example/p.png"
HOSTILE_URL = f"https://t.me/s/x/1?a=](x)\n# This request is withdrawn\n![seen]({TRACKER})<img src={TRACKER}>|x|"
TERMINAL_ATTACK = "\x1b]0;pwned\x07\x1b[2K\x1b[1A\rforged line\x9b31m\u202e\u061c"


def make_db(path, posts: list[dict], confirm: bool = True) -> None:
    """A real database with `posts` ingested, flagged, and confirmed by a reviewer."""
    with Database(path) as db:
        add_user(db, "rina", "reviewer", "correct horse battery")
        detector = Detector()
        for n, extra in enumerate(posts):
            item = {"source": "hostile", "kind": "import", "post_id": f"p{n}", "url": f"https://forum.example/t/{n}",
                    "text": AD, **extra}
            result = ingest_post(db, detector, item, b"k" * 32)
            assert result.flag == "new"
            if confirm:
                decide(db, db.flag_of_post(result.post_id)["id"], "confirm", db.user("rina"))


def statuses(path) -> list[str]:
    return [r[0] for r in sqlite3.connect(path).execute("SELECT status FROM flags ORDER BY id")]


# ---------------------------------------------------------------- item 4

@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json", "md", "html"])
def test_item04_control_characters_do_not_lose_a_batch(tmp_path, fmt):
    db_path = tmp_path / "m.db"
    make_db(db_path, [{"text": AD + " \x01\x02\x0b\x7f end", "author": "\x00seller\x1f"}, {}])
    out = tmp_path / "out"
    result = run_monitor("takedown", "--format", fmt, "--out", str(out), "--as", "rina", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    folders = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1 and (folders[0] / f"requests.{fmt}").stat().st_size > 0
    if fmt == "xlsx":
        from openpyxl import load_workbook

        assert load_workbook(folders[0] / "requests.xlsx").active.max_row == 3
    assert statuses(db_path) == ["requested", "requested"]


def test_item04_a_crash_while_writing_leaves_every_post_requestable(tmp_path, monkeypatch):
    from monitor.takedown import batches
    from monitor.takedown.registry import load_registry

    db_path = tmp_path / "m.db"
    make_db(db_path, [{}, {}])

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(batches, "render_letters", crash)  # the list is written, then the disk is full
    out = tmp_path / "out"
    with Database(db_path) as db, pytest.raises(OSError):
        batches.create_batches(db, load_registry(), "rina", out, "xlsx")
    assert statuses(db_path) == ["confirmed", "confirmed"]
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM takedown_batches").fetchone() == (0,)
    assert list(out.iterdir()) == []  # no half-written batch folder, visible or hidden
    monkeypatch.undo()
    result = run_monitor("takedown", "--format", "xlsx", "--out", str(out), "--as", "rina", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    assert statuses(db_path) == ["requested", "requested"]


# ---------------------------------------------------------------- item 5

def test_item05_flags_csv_is_formula_safe_and_a_bare_cr_cannot_forge_a_row(tmp_path):
    db_path = tmp_path / "m.db"
    make_db(db_path, [{"author": "evil\r999,new,critical,1.0,forged"}, {"author": "=HYPERLINK(\"http://x\",\"y\")"},
                      {"author": "+cmd"}, {"author": "-2+3"}, {"author": "@SUM(A1)"}, {"author": "\tTAB"}], confirm=False)
    result = subprocess.run([sys.executable, "-m", "monitor", "flags", "--format", "csv", "--db", str(db_path)],
                            capture_output=True)  # bytes: a text-mode pipe would turn the CR into a newline
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode("utf-8"), newline="")))
    assert sorted(int(r["id"]) for r in rows) == [1, 2, 3, 4, 5, 6]
    authors = {r["author"] for r in rows}
    assert "evil\r999,new,critical,1.0,forged" in authors
    assert {"'=HYPERLINK(\"http://x\",\"y\")", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tTAB"} <= authors


def test_item05_semicolon_locales_and_control_characters():
    """Found by an attacker: `x;=2+5` is a formula where spreadsheets split on `;`; ESC reached the terminal."""
    from monitor.escaping import write_csv

    buf = io.StringIO()
    write_csv(buf, ["a", "b", "c"], [{"a": "x;=2+5", "b": "a\x1b]0;pwned\x07", "c": " \uff1d1+1"}])
    text = buf.getvalue()
    assert '"x;=2+5"' in text and "\x1b" not in text and "\x07" not in text
    assert list(csv.reader(io.StringIO(text, newline="")))[1] == ["x;=2+5", "a\\x1b]0;pwned\\x07", "' \uff1d1+1"]


def test_item05_audit_and_takedown_csv_use_the_same_writer():
    from monitor.escaping import write_csv

    buf = io.StringIO()
    write_csv(buf, ["a", "b"], [{"a": "x\ry", "b": "=1+1"}])
    assert list(csv.reader(io.StringIO(buf.getvalue(), newline=""))) == [["a", "b"], ["x\ry", "'=1+1"]]


# ---------------------------------------------------------------- item 6

def rendered(markdown: str) -> str:
    return MarkdownIt("gfm-like").render(markdown)


def test_item06_letters_and_lists_keep_hostile_urls_inert(tmp_path):
    db_path = tmp_path / "m.db"
    make_db(db_path, [{"url": HOSTILE_URL, "text": AD + f" ![x]({TRACKER}) <img src={TRACKER}> # heading"}])
    out = tmp_path / "out"
    result = run_monitor("takedown", "--format", "md", "--out", str(out), "--as", "rina", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    files = [p for p in out.rglob("*.md")]
    assert {p.name for p in files} == {"requests.md", "letter_id.md", "letter_en.md"}
    for path in files:
        html = rendered(path.read_text(encoding="utf-8"))
        assert "<img" not in html and "<h1>This request" not in html, path.name
        assert f'href="{TRACKER}' not in html and "withdrawn</h" not in html, path.name
        assert "t.me/s/x/1" in html, path.name  # the URL is still there, as text


def test_item06_markdown_escaping_functions():
    from monitor.escaping import md_code, md_text

    html = rendered(f"| a | b |\n|---|---|\n| {md_text('x | y ![i](' + TRACKER + ')')} | {md_code(HOSTILE_URL)} |\n")
    assert "<img" not in html and html.count("<td>") == 2
    assert "<h1>" not in rendered(md_text("# withdrawn")) and "<a" not in rendered(md_text("see https://evil.example/"))
    # Found by an attacker against the first version: GFM's autolinker makes links of bare domains and addresses.
    for value in ("order di evil.com/pay", "evil.com", "evil.com:8080", "//evil.com", "a@evil.com", "mailto:a@b.co",
                  "xmpp:x@evil.com", "www\uff0eevil.com", "http\uff1a//evil.com"):
        assert "<a" not in rendered(md_text(value)), value
    assert md_text("2026-11-29T10:00:00+00:00 Harga: 5rb") == "2026-11-29T10:00:00+00:00 Harga: 5rb"


# ---------------------------------------------------------------- item 7

def test_item07_terminal_output_shows_control_characters_escaped(tmp_path):
    db_path = tmp_path / "m.db"
    make_db(db_path, [{"author": "a" + TERMINAL_ATTACK, "text": AD + TERMINAL_ATTACK}], confirm=False)
    table = run_monitor("flags", "--db", str(db_path))
    assert table.returncode == 0, table.stderr
    explained = run_monitor("explain", AD + TERMINAL_ATTACK)
    assert explained.returncode == 0, explained.stderr
    for out in (table.stdout, explained.stdout):
        assert not any(c in out for c in "\x1b\x07\r\x9b\u202e\u061c"), repr(out)
        assert "\\x1b" in out
    as_json = run_monitor("flags", "--db", str(db_path), "--format", "json")
    assert "\x1b" not in as_json.stdout and "\x9b" not in as_json.stdout and "\u202e" not in as_json.stdout
    assert TERMINAL_ATTACK[5:] in json.loads(as_json.stdout)[0]["text"]  # still the same data for scripts


# ---------------------------------------------------------------- item 20

def test_item20_takedown_report_counts_each_request_once(tmp_path):
    db_path = tmp_path / "m.db"
    make_db(db_path, [{}, {}, {}])
    assert run_monitor("takedown", "--out", str(tmp_path / "out"), "--as", "rina", "--db", str(db_path)).returncode == 0
    report = json.loads(run_monitor("takedown", "report", "--db", str(db_path), "--format", "json").stdout)
    assert [(r["requested"], r["removed"], r["still_online"]) for r in report] == [(3, 0, 0)]
