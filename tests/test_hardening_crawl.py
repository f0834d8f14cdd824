"""Issue 11, items 15 and 16: a hostile site cannot steer the crawler or the re-check.

Item 15 (SSRF): a hostile forum on 127.0.0.1 answers with a 302, a meta
refresh or a "next page" link to another service of the same machine (a
second server on another port, reached as 127.0.0.1 or localhost); a real
`monitor crawl` must not send it a single request nor store its page.
`monitor recheck` must not follow a redirect to another port either, and
names that resolve to private addresses are refused for clearnet sources.

Item 16 (re-check evasion): a live ad that says "Post not found" or
"Konten ini tidak tersedia" (in its text, in an HTML comment, even in an
element styled like the platform's error box) is still online; a real
removal page (the message in the platform's element, the post gone) is removed.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_monitor
from sitesrv import SITES, SavedSite, SiteServer, send

from monitor.ingest import ingest_post
from monitor.store import Database
from monitor.store.keys import secret_key
from monitor.web.accounts import add_user
from monitor.web.review import decide
from rules import Detector

HOSTILE = SITES / "hostile"
SECRET = "RAHASIA-LAYANAN-INTERNAL"
SECRET_PAGE = (
    "<html><head><title>Internal admin</title></head><body>"
    "<div class='navigation'><span class='active'>Internal admin</span></div>"
    "<div id='posts'><div class='post' id='post_999'><div class='author_information'><strong>"
    "<span class='largetext'><a href='#'>admin</a></span></strong></div>"
    f"<div class='post_body'>Jual data NIK + KK valid 5rb per nomor, japri telegram @internal {SECRET}</div>"
    "</div></div><div class='pagination'><a class='pagination_next' href='/secret?page=2'>Next</a></div></body></html>"
).encode()


def board_page(other: str) -> bytes:
    """A MyBB board: a normal thread, a 302, a meta refresh, a thread link and a next-page link to `other`."""
    rows = "".join(
        f"<tr class='inline_row'><td class='trow1'><span class='subject_old'><a href='{href}'>{title}</a></span></td>"
        f"<td class='trow1'><a href='javascript:MyBB.whoPosted({i});'>0</a></td>"
        f"<td class='trow1'><span class='lastpost smalltext'>11-20-2026, 09:00 AM</span></td></tr>"
        for i, (href, title) in enumerate([
            ("showthread.php?tid=1", "Normal thread"),
            ("showthread.php?tid=2", "Answers 302"),
            ("showthread.php?tid=3", "Answers a meta refresh"),
            (f"{other}/showthread.php?tid=4", "Thread on another port"),
        ], 1))
    return (
        "<html><head><title>Hostile Forum</title></head><body><div class='navigation'><span class='active'>Hostile</span></div>"
        f"<table class='tborder clear'>{rows}</table>"
        f"<div class='pagination'><a class='pagination_next' href='{other}/forumdisplay.php?page=2'>Next</a></div>"
        "</body></html>"
    ).encode()


def hostile_forum(srv: SiteServer, other: str) -> None:
    good = (SITES / "faults" / "thread-good.html").read_bytes()
    srv.handlers["/index.php"] = lambda h: send(h, 200, board_page(other))
    srv.handlers["/showthread.php?tid=1"] = lambda h: send(h, 200, good)
    srv.handlers["/showthread.php?tid=2"] = lambda h: send(h, 302, b"", headers={"Location": f"{other}/showthread.php?tid=2"})
    srv.handlers["/showthread.php?tid=3"] = lambda h: send(
        h, 200, f'<html><head><meta http-equiv="refresh" content="0;url={other}/secret"></head><body>Moved</body></html>'.encode())


def crawl(tmp_path, base_url: str):
    config = tmp_path / "sources.toml"
    config.write_text(f'[sources.hostile]\nkind = "forum"\nengine = "mybb"\nbase_url = "{base_url}"\nretries = 0\n',
                      encoding="utf-8")
    db_path = tmp_path / "m.db"
    result = run_monitor("crawl", "hostile", "--config", str(config), "--db", str(db_path), timeout=180)
    return result, sqlite3.connect(db_path), db_path


# ------------------------------------------------------------------ item 15: SSRF

@pytest.mark.parametrize("other_host", ["127.0.0.1", "localhost"])
def test_item15_crawl_never_leaves_the_source_port(tmp_path, other_host):
    with SiteServer() as internal, SiteServer() as forum:
        internal.fallback = lambda h: send(h, 200, SECRET_PAGE)
        other = f"http://{other_host}:{internal.httpd.server_address[1]}"
        hostile_forum(forum, other)
        result, con, db_path = crawl(tmp_path, f"{forum.url}/index.php")
        got = list(internal.requests)
    assert result.returncode == 0, result.stderr
    assert got == [], f"the service on another port was asked for {got}"
    texts = [t for (t,) in con.execute("SELECT text FROM posts")]
    assert texts and not any(SECRET in t for t in texts), "nothing of the other service is stored as a post"
    assert con.execute("SELECT count(*) FROM posts WHERE post_key = '1'").fetchone()[0] == 1, "the forum itself is read"
    port = str(internal.httpd.server_address[1])
    assert not [u for (u,) in con.execute("SELECT url FROM evidence") if port in u], "no capture of the other service"
    status, errors = con.execute("SELECT status, errors FROM crawl_runs").fetchone()
    errors = json.loads(errors)
    assert status == "ok"
    assert errors.get("offsite_refused", 0) >= 2, errors  # the 302 and the meta refresh
    runs = run_monitor("runs", "--db", str(db_path))
    assert "offsite_refused" in runs.stdout, runs.stdout


def test_item15_telegram_older_page_link_to_another_port_is_refused(tmp_path):
    channel = (SITES / "telegram" / "channel.html").read_text(encoding="utf-8")
    with SiteServer() as internal, SiteServer(SavedSite("telegram")) as tg:
        internal.fallback = lambda h: send(h, 200, SECRET_PAGE)
        other = f"http://127.0.0.1:{internal.httpd.server_address[1]}"
        page = channel.replace('href="/s/gudangdata_demo?before=1201"', f'href="{other}/s/gudangdata_demo?before=1201"')
        tg.handlers["/s/gudangdata_demo"] = lambda h: send(h, 200, page.encode())
        config = tmp_path / "tg.toml"
        config.write_text(f'[sources.tg]\nkind = "telegram"\nchannel = "gudangdata_demo"\nbase_url = "{tg.url}/"\n', encoding="utf-8")
        result = run_monitor("crawl", "tg", "--config", str(config), "--db", str(tmp_path / "m.db"))
        got = list(internal.requests)
    assert result.returncode == 0, result.stderr
    assert got == []
    con = sqlite3.connect(tmp_path / "m.db")
    assert con.execute("SELECT count(*) FROM posts").fetchone()[0] > 0, "the channel itself is read"
    assert json.loads(con.execute("SELECT errors FROM crawl_runs").fetchone()[0]).get("offsite_refused") == 1


def _loopback_name() -> str | None:
    """This machine's own name when it resolves to a loopback/private address (Debian: 127.0.1.1), else None."""
    name = socket.gethostname()
    try:
        address = ipaddress.ip_address(socket.gethostbyname(name))
    except (OSError, ValueError):
        return None
    return name if not address.is_global and name != "localhost" and not name.endswith(".localhost") else None


def test_item15_clearnet_name_resolving_to_loopback_is_refused_by_the_crawler(tmp_path):
    name = _loopback_name()
    if name is None:
        pytest.skip("this machine's name does not resolve to a loopback or private address")
    with SiteServer() as forum:
        hostile_forum(forum, "http://127.0.0.1:9")
        port = forum.httpd.server_address[1]
        _, con, _ = crawl(tmp_path, f"http://{name}:{port}/index.php")
        got = list(forum.requests)
    assert got == [], f"a name that resolves to loopback was fetched: {got}"
    status, reason, errors = con.execute("SELECT status, reason, errors FROM crawl_runs").fetchone()
    assert status == "failed" and json.loads(errors).get("private_address_refused", 0) >= 1, (status, reason, errors)


def test_item15_private_addresses_are_refused_after_resolution():
    from spiders.middlewares import address_refusal

    looked_up = []

    def resolver(answers):
        def resolve(host):
            looked_up.append(host)
            return answers
        return resolve

    for address in ["127.0.0.1", "127.0.1.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "100.64.0.1", "169.254.169.254",
                    "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "::"]:
        why = address_refusal("forum.example", "forum.example", resolver([address]))
        assert why and address in why, (address, why)
    assert address_refusal("forum.example", "forum.example", resolver(["93.184.216.34"])) is None
    assert address_refusal("forum.example", "forum.example", resolver(["93.184.216.34", "10.0.0.1"])), "every answer counts"
    # The real resolver: /etc/hosts' localhost, and literals, for a clearnet source.
    assert "loopback" in address_refusal("localhost", "forum.example", socket.gethostbyname_ex)
    assert address_refusal("127.0.0.1", "forum.example", resolver([])) and address_refusal("[::1]", "forum.example", resolver([]))
    # A source that is itself on a local address (the demo, the tests) keeps working, with no lookup.
    looked_up.clear()
    for base in ["127.0.0.1", "::1", "10.0.0.7", "localhost"]:
        assert address_refusal("127.0.0.1", base, resolver(["127.0.0.1"])) is None
    assert address_refusal("x.onion", "forum.example", resolver(["127.0.0.1"])) is None
    assert looked_up == [], ".onion and local sources are never looked up"


RESOLVER_CHECK = """
from twisted.internet import reactor
from spiders.middlewares import PublicAddressResolver, _PUBLIC_ONLY
PublicAddressResolver(reactor, cache_size=100, timeout=5).install_on_reactor()
seen = []
def step(names):
    if not names:
        reactor.stop()
        return
    name, public_only = names[0]
    if public_only:
        _PUBLIC_ONLY.add(name)
    d = reactor.resolve(name)
    d.addCallbacks(lambda a: seen.append(f"{name}={a}"), lambda f: seen.append(f"{name}: {f.value}"))
    d.addBoth(lambda _: step(names[1:]))
reactor.callWhenRunning(step, [("localhost", False), ("localhost", True)])
reactor.run()
print("|".join(seen))
"""


def test_item15_resolver_refuses_private_answers_where_the_connection_is_made(tmp_path):
    """The guard's lookup and the connection's share the resolver: a name marked clearnet cannot answer loopback
    to the connection (DNS rebinding), even from the cache, while other names (a proxy's) resolve as before."""
    import spiders  # the code under test, wherever this run imports it from

    code_root = str(Path(spiders.__file__).resolve().parent.parent)
    result = subprocess.run([sys.executable, "-c", RESOLVER_CHECK], check=False, cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": code_root})
    assert result.returncode == 0, result.stderr
    unmarked, marked = result.stdout.strip().split("|")
    assert unmarked == "localhost=127.0.0.1"
    assert "localhost resolves to 127.0.0.1, a loopback address" in marked, marked


def test_item15_recheck_does_not_follow_a_redirect_to_another_port(tmp_path):
    with SiteServer() as internal, SiteServer() as forum:
        internal.fallback = lambda h: send(h, 200, SECRET_PAGE)
        other = f"http://127.0.0.1:{internal.httpd.server_address[1]}"
        forum.handlers["/thread/7"] = lambda h: send(h, 302, b"", headers={"Location": f"{other}/thread/7"})
        forum.handlers["/thread/8"] = lambda h: send(h, 301, b"", headers={"Location": f"{forum.url}/thread/8b"})
        forum.handlers["/thread/8b"] = lambda h: send(h, 200, b"<div id='post_8'>still here</div>")
        db_path = confirmed_db(tmp_path, [(f"{forum.url}/thread/7#pid7", "7", AD), (f"{forum.url}/thread/8#pid8", "8", AD)])
        assert run_monitor("takedown", "--out", str(tmp_path / "t"), "--db", db_path).returncode == 0
        result = run_monitor("recheck", "--db", db_path, "--format", "json", "--timeout", "5")
        got = list(internal.requests)
    assert result.returncode == 0, result.stderr
    assert got == [], "the re-check followed a redirect to another port"
    by_url = {r["url"]: r for r in json.loads(result.stdout)}
    redirected = by_url[f"{forum.url}/thread/7#pid7"]
    assert redirected["status"] == "unreachable" and "another site" in redirected["detail"], redirected
    assert by_url[f"{forum.url}/thread/8#pid8"]["status"] == "still_online", "a redirect on the same site is followed"
    name = _loopback_name()
    if name:  # a clearnet name that resolves to loopback: refused where the connection is made
        from monitor.takedown.recheck import check_url

        state, detail = check_url(f"http://{name}:{internal.httpd.server_address[1]}/x", None, [], timeout=5)
        assert state == "unreachable" and "refused" in detail, detail


# ------------------------------------------------------------------ item 16: re-check evasion

AD = "Jual data NIK + KK valid, 5rb per nomor, minat japri telegram @seller_demo"
EVASIVE = ("Jual data NIK + KK valid, 5rb per nomor. Post not found? Konten ini tidak tersedia? "
           "The specified thread does not exist — cuma bercanda, japri @seller_demo")


def confirmed_db(tmp_path, posts: list[tuple[str, str, str]]) -> str:
    """A database whose forum posts (url, post id, text) are all confirmed by a reviewer."""
    db_path = str(tmp_path / "m.db")
    with Database(db_path) as db:
        add_user(db, "rina", "reviewer", "correct horse battery staple")
        reviewer = db.user("rina")
        detector = Detector()
        for url, key, text in posts:
            result = ingest_post(db, detector, {"source": "forum", "kind": "forum", "post_id": key, "url": url, "text": text},
                                 secret_key(db_path))
            assert result.flag == "new", url
            decide(db, db.flag_of_post(result.post_id)["id"], "confirm", reviewer)
    return db_path


def test_item16_live_ad_saying_post_not_found_stays_online(tmp_path):
    live = (HOSTILE / "mybb-live-ad.html").read_bytes()
    pages = {name: (HOSTILE / f"{name}.html").read_bytes() for name in ("mybb-removed", "phpbb-removed", "xenforo-removed")}
    with SiteServer() as forum:
        forum.handlers["/showthread.php?tid=5"] = lambda h: send(h, 200, live)
        for i, name in enumerate(pages, 6):
            forum.handlers[f"/showthread.php?tid={i}"] = lambda h, body=pages[name]: send(h, 200, body)
        urls = {"live": f"{forum.url}/showthread.php?tid=5#pid501"}
        urls.update({name: f"{forum.url}/showthread.php?tid={i}#pid{i}01" for i, name in enumerate(pages, 6)})
        db_path = confirmed_db(tmp_path, [(urls["live"], "501", EVASIVE)]
                               + [(url, url.rsplit("pid", 1)[1], AD) for name, url in urls.items() if name != "live"])
        assert run_monitor("takedown", "--out", str(tmp_path / "t"), "--db", db_path).returncode == 0
        result = run_monitor("recheck", "--db", db_path, "--format", "json", "--timeout", "5")
    assert result.returncode == 0, result.stderr
    status = {r["url"]: (r["status"], r["detail"]) for r in json.loads(result.stdout)}
    assert status[urls["live"]][0] == "still_online", status[urls["live"]]
    for name in pages:
        assert status[urls[name]][0] == "removed", (name, status[urls[name]])
        assert f"{name.split('-')[0]} page says" in status[urls[name]][1], "read from the engine's own error element"
    con = sqlite3.connect(db_path)
    flag = con.execute("SELECT f.status FROM flags f JOIN posts p ON p.id = f.post_id WHERE p.post_key = '501'").fetchone()
    assert flag == ("still_online",)


def test_item16_telegram_marker_counts_only_in_its_element_and_with_the_post_gone():
    from monitor.takedown.recheck import check_url
    from monitor.takedown.registry import load_registry

    registry = load_registry()
    telegram = registry.removal_pages("telegram")
    with SiteServer() as tg:
        for name in ("telegram-live-ad", "telegram-removed", "telegram-error-but-post-shown"):
            page = (HOSTILE / f"{name}.html").read_bytes()
            tg.handlers[f"/stokdata_demo/{name}"] = lambda h, body=page: send(h, 200, body)

        def check(name, text=EVASIVE):
            return check_url(f"{tg.url}/stokdata_demo/{name}", None, telegram, "stokdata_demo/45", 5, text)

        assert check("telegram-live-ad")[0] == "online", check("telegram-live-ad")
        assert check("telegram-error-but-post-shown")[0] == "online"
        assert check("telegram-removed", AD) == ("removed", "HTTP 200, telegram page says 'Post not found'")
        # Another platform's message is not this platform's: a forum error box means nothing on Telegram.
        forum_pages = registry.removal_pages("kominfo")
        assert check_url(f"{tg.url}/stokdata_demo/telegram-removed", None, forum_pages, "stokdata_demo/45", 5, AD)[0] == "online"


def test_item16_registry_schema_refuses_unknown_keys_and_bad_selectors(tmp_path):
    from monitor.takedown.registry import TakedownError, load_registry

    base = (SITES.parent.parent / "monitor" / "takedown" / "data" / "platforms.toml").read_text(encoding="utf-8")
    cases = {
        '[removed.bad]\nselector = "div"\ntexts = ["x"]\nwhere = "body"\n': "removed.bad: unknown key(s) ['where']",
        '[removed.bad]\nselector = "div[["\ntexts = ["x"]\n': "removed.bad.selector: not a CSS selector",
        '[removed.bad]\nselector = "div"\ntexts = []\n': "removed.bad.texts: required",
        'removal = 1\n': "unknown key(s) ['removal']",
    }
    for extra, message in cases.items():
        path = tmp_path / "p.toml"
        path.write_text(base + "\n" + extra, encoding="utf-8")
        with pytest.raises(TakedownError, match=re.escape(message)):
            load_registry(path)
    old = base.replace('[removed.telegram]', '[removed]\nmarkers = ["Post not found"]\n\n[removed.telegram]')
    (tmp_path / "old.toml").write_text(old, encoding="utf-8")
    with pytest.raises(TakedownError, match="list of bare markers was replaced"):
        load_registry(tmp_path / "old.toml")
    unknown = base.replace('removed = ["telegram"]', 'removed = ["telegarm"]')
    (tmp_path / "typo.toml").write_text(unknown, encoding="utf-8")
    with pytest.raises(TakedownError, match=r"platform\[0\]\.removed: no \[removed.telegarm\] table"):
        load_registry(tmp_path / "typo.toml")


def _orphan_child(delay: float, marker: str) -> None:
    import time as _time

    from monitor.crawl.processes import die_with_parent

    _time.sleep(delay)  # a spawned worker's imports: its parent may die meanwhile
    die_with_parent()
    _time.sleep(20)
    open(marker, "w").close()


def _running(pid: int) -> bool:
    """A process that runs (a zombie or a gone one does not)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def test_a_worker_whose_parent_died_while_it_started_does_not_live_on(tmp_path):
    """Killing `monitor crawl` seconds after it spawned its ingest worker left the worker running for ever:
    Linux sends the parent-death signal only to processes that asked before the parent died."""
    import subprocess
    import sys
    import textwrap
    import time

    marker = tmp_path / "survived"
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import multiprocessing, os, sys
        sys.path[:0] = {sys.path!r}
        from test_hardening_crawl import _orphan_child
        if __name__ == "__main__":
            child = multiprocessing.get_context("spawn").Process(target=_orphan_child, args=(1.5, {str(marker)!r}))
            child.start()
            print(child.pid, flush=True)
            os._exit(0)  # killed: nothing cleans up
    """))
    pid = int(subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True).stdout)
    deadline = time.monotonic() + 15
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = _running(pid)
    if alive:
        os.kill(pid, 9)
    assert not alive, "the orphaned worker lived on"
    assert not marker.exists()
