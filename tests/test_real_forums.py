"""Forum presets on pages the real engines rendered, compared post by post with an independent record.

phpBB 3.2 and 3.3 and XenForo 2 pages come from public sources (PROVENANCE.md beside
them); their `expected.json` was read from the markup by hand and a throwaway
script, not by these spiders. MyBB pages were rendered here by MyBB itself and are
compared with MyBB's own database (tests/test_real_mybb.py).
"""

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from conftest import run_monitor
from scrapy.http import HtmlResponse
from sitesrv import SavedSite, SiteServer
from urllib.parse import urlsplit

from spiders.dates import in_utc, zone_of
from spiders.forum import links, parse_thread
from spiders.presets import load_preset

SITES = Path(__file__).parent / "sites"

SETS = {
    # set folder: (engine, the board's zone as its footer says)
    "phpbb32-real": ("phpbb", "-06:00"),
    "phpbb33-real": ("phpbb", "-07:00"),
    "xenforo2-real": ("xenforo", "UTC"),
}


def norm(text) -> str:
    return " ".join((text or "").split())


def saved_pages(folder: str):
    """(set, file, its expected record, a response for it) of every topic page of a set."""
    about = json.loads((SITES / folder / "expected.json").read_text(encoding="utf-8"))["pages"]
    for file, page in about.items():
        if page["kind"] != "topic":
            continue
        sub, _, name = file.rpartition("/")
        site = SavedSite(f"{folder}/{sub}" if sub else folder)
        url = page["page_url"]
        parts = urlsplit(url)
        body = site.page(parts.path, parts.query)
        assert body is not None, (folder, file, url)
        yield file, page, HtmlResponse(url=url, body=body, encoding=site.charset)


def expected_utc(raw_iso: str, zone: str) -> str:
    value = dt.datetime.fromisoformat(raw_iso)
    return in_utc(value, zone_of(zone))


@pytest.mark.parametrize("folder", sorted(SETS))
def test_every_post_of_a_real_page_as_the_engine_rendered_it(folder):
    engine, zone = SETS[folder]
    preset = load_preset(engine)
    checked = 0
    for file, page, response in saved_pages(folder):
        posts = parse_thread(response, preset, "s", zone_of(zone))
        where = (folder, file)
        assert [p["post_id"] for p in posts] == [p["post_id"] for p in page["posts"]], where  # no header row taken for a post
        for post, want in zip(posts, page["posts"]):
            at = (folder, file, want["post_id"])
            assert post["author"] == want["author"], at
            assert post["posted_at"] == expected_utc(want["posted_iso"], zone), (at, post["posted_raw"])
            assert post["thread_title"] == page["thread_title"], at
            assert post["board"] == page["board"], at  # the last crumb of the header's breadcrumb, not the footer's
            text = post["text"]
            for smiley in want.get("smilies", []):  # the reading left smilies out; the spider keeps them as their text
                assert smiley in text, at
                text = text.replace(smiley, " ", 1)
            text = norm(text)
            assert text.startswith(norm(want["text_start"])) and text.endswith(norm(want["text_end"])), (at, text[:80], text[-60:])
            if want["quoted_start"]:
                assert norm(want["quoted_start"]) in norm(post["quoted"]), at
            # smilies are text, not images; HTTrack's local copies are served at their original addresses
            assert post["images"] == want.get("images_original", want["images"]), at
            assert post["url"] == want["url"], at  # the post's own link, which opens the right page
            checked += 1
        if page.get("next_page"):
            assert links(response, preset["thread"]["next"], preset) == [page["next_page"]], where
    assert checked >= 4


def test_xenforo_sub_forums_are_followed_from_the_forum_list():
    about = json.loads((SITES / "xenforo2-real" / "expected.json").read_text(encoding="utf-8"))["pages"]["neogaf/forum_list.html"]
    site = SavedSite("xenforo2-real/neogaf")
    response = HtmlResponse(url="https://www.neogaf.com/", body=site.page("/", ""), encoding="utf-8")
    preset = load_preset("xenforo")
    found = {urlsplit(u).path for u in links(response, preset["index"]["boards"], preset)}
    detail = about["subforums_detail"]
    assert found == set(detail["node_titles (h3.node-title a)"]) | set(detail["a.subNodeLink"])


def test_a_real_phpbb_32_board_crawled_by_configuration_only(tmp_path):
    """Index -> board -> the topics it lists that the mirror holds (2 of 51), page 2 of a topic included.

    The mirror lacks the other 49 topics: the server answers 404 for them, so the
    run is failed as a site would be whose links mostly break, with the posts it could read kept.
    """
    site = SavedSite("phpbb32-real")
    about = json.loads((SITES / "phpbb32-real" / "expected.json").read_text(encoding="utf-8"))["pages"]
    with SiteServer(site) as srv:
        config = tmp_path / "s.toml"
        config.write_text(f'[sources.dostips]\nkind = "forum"\nengine = "phpbb"\nbase_url = "{srv.url}/forum/index.php"\n'
                          f'timezone = "-06:00"\n', encoding="utf-8")
        result = run_monitor("crawl", "dostips", "--config", str(config), "--db", str(tmp_path / "m.db"), env={"MONITOR_MODEL": "none"})
    con = sqlite3.connect(tmp_path / "m.db")
    stored = {r[0]: r[1:] for r in con.execute("SELECT post_key, author, posted_at, thread_title, board, url, thread_url FROM posts")}
    listed = [f"viewtopic-{t}" for t in ("8834", "8837", "8837-start15")]  # 6325 is on a later board page, not saved
    want = {p["post_id"]: (page, p) for name, page in about.items() if name[:-5] in listed for p in page["posts"]}
    assert set(stored) == set(want), result.stderr
    status, reason = con.execute("SELECT status, reason FROM crawl_runs").fetchone()
    assert status == "failed" and "404 x" in reason, reason
    for key, (page, p) in want.items():
        author, posted_at, title, board, url, thread_url = stored[key]
        assert (author, title, board) == (p["author"], page["thread_title"], page["board"])
        assert posted_at == expected_utc(p["posted_iso"], "-06:00")
        assert url == p["url"].replace("https://www.dostips.com", srv.url)
    pages_of_8837 = {stored[p["post_id"]][5] for p in about["viewtopic-8837.html"]["posts"] + about["viewtopic-8837-start15.html"]["posts"]}
    assert pages_of_8837 == {f"{srv.url}/forum/viewtopic.php?f=3&t=8837"}, "both pages of a topic are one thread"
    assert con.execute("SELECT count(*) FROM threads").fetchone()[0] == 2
