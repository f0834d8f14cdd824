"""Hostile and broken sites: the run finishes, records what went wrong and keeps every post it could read."""

import json
import sqlite3

from conftest import run_monitor
from sitesrv import SITES, SavedSite, SiteServer, gzip_bomb, huge, redirect_loop, send, slow, status


def test_faulty_forum(tmp_path):
    site = SavedSite("faults")
    charset_page = (SITES / "faults" / "thread-charset.html").read_bytes()
    with SiteServer(site) as srv:
        srv.handlers["/showthread.php?tid=3"] = lambda h: send(h, 200, charset_page, "text/html; charset=iso-8859-1")
        srv.handlers["/showthread.php?tid=4"] = huge(10)
        srv.handlers["/showthread.php?tid=5"] = gzip_bomb(50)
        srv.handlers["/showthread.php"] = redirect_loop  # tid=6 and every hop it redirects to
        srv.handlers["/showthread.php?tid=7"] = status(500)
        srv.handlers["/showthread.php?tid=8"] = slow(4)
        config = tmp_path / "sources.toml"
        config.write_text(
            f'[sources.faulty]\nkind = "forum"\nengine = "mybb"\nbase_url = "{srv.url}/index.php"\n'
            "timeout = 1.5\nretries = 1\nmax_response_mb = 2\n", encoding="utf-8")
        db_path = tmp_path / "m.db"
        result = run_monitor("crawl", "faulty", "--config", str(config), "--db", str(db_path), timeout=120)
    assert result.returncode == 0, result.stderr  # a partly broken site is still a finished run
    con = sqlite3.connect(db_path)
    posts = {k: (a, t) for k, a, t in con.execute("SELECT post_key, author, text FROM posts")}
    assert set(posts) == set(site.expect), "every readable post kept"
    assert "injected" not in posts["3"][1], "scripts are never executed or read as content"
    assert posts["4"][1] == "Jual data KTP — harga 5rb, kualitas “premium”, pengiriman cepat ✓", "UTF-8 read despite the declared charset"
    assert posts["4"][0] == "penjual_é"
    flagged = {k for (k,) in con.execute("SELECT p.post_key FROM flags f JOIN posts p ON p.id = f.post_id")}
    assert flagged == {k for k, v in site.expect.items() if v == "sale"}
    status_, errors, duration = con.execute("SELECT status, errors, duration_s FROM crawl_runs").fetchone()
    errors = json.loads(errors)
    assert status_ == "ok"
    assert errors.get("HTTP 500", 0) >= 1
    assert errors.get("timeout", 0) >= 1, errors
    assert errors.get("too_large", 0) >= 2, errors  # the 10 MB page and the gzip bomb
    assert errors.get("redirect_loop", 0) >= 1, errors
    assert duration < 60
