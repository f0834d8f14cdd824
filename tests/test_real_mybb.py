"""MyBB 1.8 as it really is: pages MyBB itself rendered, crawled by configuration only, compared with MyBB's database.

`tests/sites/mybb18-*` were rendered by a stock MyBB 1.8.37 on 127.0.0.1 (SQLite,
populated through MyBB's own data handlers; PROVENANCE.md says how and with
which settings) and saved byte for byte as MyBB served them to a guest. Their
`expected.json` is MyBB's own record of every visible post, read from its
database, not from the pages. `state-b/` is the same board after a reply, an
edit and a deletion made through MyBB's handlers.
"""

import html
import json
import re
import sqlite3
from pathlib import Path

import pytest
from conftest import run_monitor
from sitesrv import SavedSite, SiteServer

SITES = Path(__file__).parent / "sites"
SETS = ["mybb18-default", "mybb18-seo", "mybb18-classic"]
SMILIES = {":)": "Smile", ":D": "Big Grin", ";)": "Wink", ":(": "Sad", ":P": "Tongue", ":cool:": "Cool", ":angry:": "Angry"}


def record(name: str) -> dict:
    return json.loads((SITES / name / "expected.json").read_text(encoding="utf-8"))


def norm(text: str) -> str:
    return " ".join((text or "").replace("|", " ").split())


def _strip_quotes(message: str) -> tuple[str, list[str]]:
    """The message without its [quote] blocks (innermost first), and the words of each quote."""
    quotes = []
    pattern = re.compile(r"\[quote(?:=[^\]]*)?\]((?:(?!\[quote).)*?)\[/quote\]", re.I | re.S)
    while True:
        m = pattern.search(message)
        if not m:
            return message, quotes
        quotes.append(m.group(1))
        message = message[:m.start()] + " " + message[m.end():]


def bbcode_words(message: str, html_allowed: bool = False) -> str:
    """What a reader sees of a MyBB message: tags gone, link text kept, smilies as MyBB names them."""
    text = re.sub(r"\[img(?:=[^\]]*)?\].*?\[/img\]", " ", message, flags=re.I | re.S)
    text = re.sub(r"\[url=[^\]]*\](.*?)\[/url\]", r"\1", text, flags=re.I | re.S)
    text = re.sub(r"\[/?(?:b|i|u|s|color|size|font)(?:=[^\]]*)?\]", "", text, flags=re.I)  # inline: no break
    text = re.sub(r"\[/?(?:url|email|img|quote|code|php|list|\*|align|hr|video)(?:=[^\]]*)?\]", " ", text, flags=re.I)
    if html_allowed:
        text = re.sub(r"</?(?:i|b|u|s|em|strong|span|a|small|code)\b[^>]*>", "", text, flags=re.I)  # inline elements
        text = re.sub(r"<[^>]+>", " ", text)
    text = html.unescape(text) if html_allowed else text
    for code, name in SMILIES.items():
        text = re.sub(rf"(?<!\S){re.escape(code)}(?!\S)", name, text)
    return norm(text)


def message_images(message: str) -> list[str]:
    own, _ = _strip_quotes(message)
    return [u.strip() for u in re.findall(r"\[img(?:=[^\]]*)?\](.*?)\[/img\]", own, flags=re.I | re.S)]


def base_url(site: SavedSite, srv) -> str:
    return f"{srv.url}/index.php" if "/index.php" in site.routes else f"{srv.url}/"


def crawl(tmp_path, srv, site, extra: str = "", db="m.db"):
    config = tmp_path / "s.toml"
    config.write_text(f'[sources.mybb]\nkind = "forum"\nengine = "mybb"\nbase_url = "{base_url(site, srv)}"\n'
                      f'timezone = "+07:00"\n{extra}\n', encoding="utf-8")
    result = run_monitor("crawl", "mybb", "--config", str(config), "--db", str(tmp_path / db), env={"MONITOR_MODEL": "none"})
    return result, sqlite3.connect(tmp_path / db)


@pytest.mark.parametrize("name", SETS)
def test_every_post_as_mybb_recorded_it(tmp_path, name):
    site, want = SavedSite(name), record(name)
    with SiteServer(site) as srv:
        result, con = crawl(tmp_path, srv, site)
        url = srv.url
    cols = ["post_key", "author", "posted_at", "thread_title", "board", "text", "quoted", "images", "url", "thread_url"]
    stored = {r[0]: dict(zip(cols, r)) for r in con.execute(f"SELECT {', '.join(cols)} FROM posts")}
    posts = [p for p in want["posts"] if p.get("visible", 1) == 1]
    assert set(stored) == {str(p["pid"]) for p in posts}, result.stderr  # sub-forums, every board and thread page
    html_forums = {f["fid"] for f in want["forums"] if f.get("allowhtml")}
    wrong = []
    for p in posts:
        got = stored[str(p["pid"])]
        own, quotes = _strip_quotes(p["message"])
        checks = {
            "author": got["author"] == p["username"],
            "time": got["posted_at"] == p["dateline_utc"][:17] + "00+00:00",  # MyBB prints minutes, not seconds
            "title": got["thread_title"] == p["thread_subject"],
            "board": got["board"] == p["forum_name"],
            "text": norm(got["text"]) == bbcode_words(own, p["fid"] in html_forums),
            "quotes": all(bbcode_words(q) in norm(got["quoted"]) for q in quotes if bbcode_words(q)),
            "images": json.loads(got["images"]) == message_images(p["message"]),
            "url": got["url"] == f"{url}/showthread.php?tid={p['tid']}&pid={p['pid']}#pid{p['pid']}"
                   or got["url"] == f"{url}/thread-{p['tid']}-post-{p['pid']}.html#pid{p['pid']}",
        }
        wrong += [(p["pid"], field, got.get({"time": "posted_at", "title": "thread_title"}.get(field, field))) for field, ok in checks.items() if not ok]
    assert not wrong, wrong[:10]
    status, reason = con.execute("SELECT status, reason FROM crawl_runs").fetchone()
    assert status == "ok", reason


@pytest.mark.parametrize("name", ["mybb18-default", "mybb18-seo"])
def test_a_second_crawl_with_nothing_changed_fetches_only_the_index_and_boards(tmp_path, name):
    site = SavedSite(name)
    with SiteServer(site) as srv:
        crawl(tmp_path, srv, site)
        srv.requests.clear()
        result, con = crawl(tmp_path, srv, site)
        again = list(srv.requests)
    assert again and not [r for r in again if "showthread.php" in r or r.startswith("/thread-")], again
    assert {r for r in again if "forumdisplay.php" in r or r.startswith(("/index.php", "/forum-")) or r == "/"}, again
    threads = {t for (t,) in con.execute("SELECT thread_url FROM posts")}
    assert len(threads) == len(record(name)["threads"]), sorted(threads)  # every page of a thread is one thread
    assert con.execute("SELECT count(*) FROM threads").fetchone()[0] == len(threads)
    status, reason = con.execute("SELECT status, reason FROM crawl_runs ORDER BY id DESC").fetchone()
    assert status == "ok", reason  # a quiet day is not a degraded run


def test_a_reply_an_edit_and_a_deletion_are_each_seen_by_the_next_crawl(tmp_path):
    before, after = record("mybb18-default"), record("mybb18-default/state-b")
    pids_before = {p["pid"] for p in before["posts"]}
    pids_after = {p["pid"] for p in after["posts"]}
    added, deleted = pids_after - pids_before, pids_before - pids_after
    edited = {p["pid"] for p in after["posts"] if p["pid"] in pids_before and p["message"] != next(
        q["message"] for q in before["posts"] if q["pid"] == p["pid"])}
    assert len(added) == len(deleted) == len(edited) == 1
    site = SavedSite("mybb18-default")
    # Every thread counts as recent and due for a recheck: the fixtures' dates are fixed, the test's clock is not.
    extra = "recheck_days = 36500\nrecheck_hours = 0"
    with SiteServer(site) as srv:
        crawl(tmp_path, srv, site, extra)
        srv.site = SavedSite("mybb18-default/state-b")
        result, con = crawl(tmp_path, srv, site, extra)
    rows = {int(k): (v, missing, text) for k, v, missing, text in con.execute("SELECT post_key, version, missing_since, text FROM posts")}
    (new,), (gone,), (changed,) = added, deleted, edited
    assert new in rows and rows[new][1] is None, result.stderr
    assert rows[gone][1] is not None, "the deleted post is marked missing, not deleted"
    new_message = next(p["message"] for p in after["posts"] if p["pid"] == changed)
    own, _ = _strip_quotes(new_message)
    assert rows[changed][0] == 2 and norm(rows[changed][2]) == bbcode_words(own), "the edit is a new version"
    assert con.execute("SELECT count(*) FROM post_versions").fetchone()[0] >= 1


def test_pages_of_a_board_or_thread_do_not_count_as_depth(tmp_path):
    site = SavedSite("mybb18-default")
    with SiteServer(site) as srv:
        result, con = crawl(tmp_path, srv, site, "max_depth = 3")  # index -> board -> sub-forum -> thread
    stored = {k for (k,) in con.execute("SELECT post_key FROM posts")}
    assert stored == {str(p["pid"]) for p in record("mybb18-default")["posts"]}, result.stderr


def test_one_unreadable_image_address_loses_nothing(tmp_path):
    """A member's [img] with an address no URL parser reads must not cost the page, its thread or the run."""
    site = SavedSite("mybb18-default")
    page = site.page("/showthread.php", "tid=7")
    hostile = page.replace(b'<div class="post_body', b'<img src="http://[::1/x.png"><a href="http://[::1/">x</a><div class="post_body', 1)
    assert hostile != page
    with SiteServer(site) as srv:
        from sitesrv import send
        srv.handlers["/showthread.php?tid=7"] = lambda h: send(h, 200, hostile.replace(site.origin.encode(), srv.url.encode()))
        result, con = crawl(tmp_path, srv, site)
    stored = {k for (k,) in con.execute("SELECT post_key FROM posts")}
    assert stored == {str(p["pid"]) for p in record("mybb18-default")["posts"]}, result.stderr
    status, reason = con.execute("SELECT status, reason FROM crawl_runs").fetchone()
    assert status == "ok", reason
