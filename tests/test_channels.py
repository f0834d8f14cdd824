"""Telegram channel previews and Mastodon timelines, crawled from local servers into the database."""

import json
import sqlite3
from urllib.parse import parse_qs, urlsplit

from conftest import run_monitor
from sitesrv import SavedSite, SiteServer, send


def crawl(tmp_path, table, db="m.db"):
    config = tmp_path / "sources.toml"
    config.write_text(f"[sources.src]\n{table}\n", encoding="utf-8")
    db_path = tmp_path / db
    return run_monitor("crawl", "src", "--config", str(config), "--db", str(db_path)), sqlite3.connect(db_path)


def test_telegram_channel_pages_into_the_database(tmp_path):
    site = SavedSite("telegram")
    with SiteServer(site) as srv:
        result, con = crawl(tmp_path, f'kind = "telegram"\nchannel = "gudangdata_demo"\nbase_url = "{srv.url}/"')
    assert result.returncode == 0, result.stderr
    rows = {r[0]: r for r in con.execute("SELECT post_key, text, views, forwarded_from, images, posted_at, url FROM posts")}
    assert set(rows) == set(site.expect), "both pages, the second one reached through ?before="
    ad = rows["gudangdata_demo/1201"]
    assert "🔥 READY STOK SELFIE KTP 🔥" in ad[1] and "\n✅ KK + NPWP\n" in ad[1]
    assert ad[2] == 1200 and json.loads(ad[4]) == ["https://cdn4.telesco.pe/file/sample_photo_1201.jpg"]
    assert ad[5] == "2026-11-20T04:11:53+00:00" and ad[6] == "https://t.me/gudangdata_demo/1201"
    assert rows["gudangdata_demo/1202"][3] == "Info Kuota"
    flagged = {k for (k,) in con.execute("SELECT p.post_key FROM flags f JOIN posts p ON p.id = f.post_id")}
    assert flagged == {k for k, v in site.expect.items() if v == "sale"}


def test_telegram_channel_without_preview_is_reported(tmp_path):
    with SiteServer(SavedSite("telegram")) as srv:
        srv.handlers["/s/privatedata_demo"] = lambda h: send(h, 302, b"", headers={"Location": "/privatedata_demo"})
        result, con = crawl(tmp_path, f'kind = "telegram"\nchannel = "privatedata_demo"\nbase_url = "{srv.url}/"')
    assert result.returncode == 1
    assert "no public web preview" in result.stderr
    assert con.execute("SELECT status, reason FROM crawl_runs").fetchone() == ("failed", "the channel has no public web preview")


def status_json(n: int) -> dict:
    return {
        "id": str(110000000000000000 + n),
        "created_at": f"2026-11-2{n % 10}T08:00:00.000Z",
        "url": f"https://mastodon.example/@seller{n}/{110000000000000000 + n}",
        "content": f"<p>Jual data KTP + selfie, stok {n}00 set, 15rb per set. DM ya <a href=\"https://mastodon.example/tags/datapribadi\" class=\"mention hashtag\">#<span>datapribadi</span></a></p>"
        if n % 2 else f"<p>Hati-hati, banyak penipu jual data pribadi di sini. Laporkan! #{n}</p>",
        "account": {"acct": f"seller{n}@mastodon.example", "username": f"seller{n}"},
        "media_attachments": [{"type": "image", "url": f"https://files.example/{n}.jpg"}] if n % 2 else [],
        "tags": [{"name": "datapribadi"}],
        "reblog": None,
    }


def mastodon_api(h):
    query = parse_qs(urlsplit(h.path).query)
    max_id = int(query["max_id"][0]) - 110000000000000000 if "max_id" in query else 100
    page = [status_json(n) for n in range(max_id - 1, max(max_id - 41, 59), -1)]  # ids 99..60, newest first
    send(h, 200, json.dumps(page).encode(), "application/json; charset=utf-8")


def test_mastodon_hashtag_timeline_pages_with_max_id(tmp_path):
    with SiteServer() as srv:
        srv.handlers["/api/v1/timelines/tag/datapribadi"] = mastodon_api
        result, con = crawl(tmp_path, f'kind = "mastodon"\nbase_url = "{srv.url}/"\nhashtag = "datapribadi"')
        requested = list(srv.requests)
    assert result.returncode == 0, result.stderr
    assert con.execute("SELECT count(*) FROM posts").fetchone()[0] == 40
    assert any("max_id=110000000000000060" in r for r in requested), "the second page asks for older posts"
    flags = con.execute("SELECT count(*) FROM flags").fetchone()[0]
    assert flags == 20, "the sale posts, not the warnings"
    author, images = con.execute("SELECT author, images FROM posts WHERE post_key = '110000000000000099'").fetchone()
    assert author == "seller99@mastodon.example" and json.loads(images) == ["https://files.example/99.jpg"]


def test_mastodon_401_and_empty_timelines_are_reported(tmp_path):
    with SiteServer() as srv:
        srv.handlers["/api/v1/timelines/public"] = lambda h: send(
            h, 401, b'{"error":"This method requires an authenticated user"}', "application/json")
        srv.handlers["/api/v1/timelines/tag/kosong"] = lambda h: send(h, 200, b"[]", "application/json")
        denied, con = crawl(tmp_path, f'kind = "mastodon"\nbase_url = "{srv.url}/"\ntimeline = "public"')
        assert denied.returncode == 1 and "requires a login for its public timelines" in denied.stderr
        empty, con = crawl(tmp_path, f'kind = "mastodon"\nbase_url = "{srv.url}/"\nhashtag = "kosong"', db="empty.db")
    assert empty.returncode == 0
    errors = json.loads(con.execute("SELECT errors FROM crawl_runs").fetchone()[0])
    assert errors == {"empty_timeline": 1}
