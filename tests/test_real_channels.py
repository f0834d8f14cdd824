"""Telegram, Mastodon and Discourse on real answers: every message compared with an independent reading.

The pages and JSON answers in `tests/sites/*-real/` come from public repositories
(PROVENANCE.md beside them says which, and what their authors changed); their
`expected.json` was written from the markup by hand and a throwaway script, not
by these spiders.
"""

import json
import sqlite3
from pathlib import Path

from conftest import run_monitor
from scrapy.http import HtmlResponse
from sitesrv import SavedSite, SiteServer

from spiders.dates import iso_to_utc
from spiders.discourse import parse_topic_posts, topic_marker, topic_rows
from spiders.mastodon import attachment_urls, parse_statuses
from spiders.telegram import parse_channel_page

SITES = Path(__file__).parent / "sites"


def norm(text) -> str:
    return " ".join((text or "").split())


def expected(name: str) -> dict:
    return json.loads((SITES / name / "expected.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ Telegram

def test_telegram_previews_from_2020_to_2023_read_as_their_markup_says():
    pages = {f: v for f, v in expected("telegram-real")["pages"].items() if v["route"].startswith("/s/")}
    assert len(pages) >= 5
    checked = 0
    for file, page in pages.items():
        response = HtmlResponse(url="https://t.me" + page["route"], body=(SITES / "telegram-real" / file).read_bytes(), encoding="utf-8")
        posts = {p["post_id"]: p for p in parse_channel_page(response, "tg")}
        assert set(posts) == {m["post"] for m in page["messages"]}, file
        for m in page["messages"]:
            post, where = posts[m["post"]], (file, m["post"])
            assert post["posted_at"] == iso_to_utc(m["date_iso"]), where  # never a video's duration
            assert post["url"] == m["date_href"], where
            assert norm(post["text"]).startswith(norm(m["text_start"])), where  # never the replied-to snippet
            if m.get("poll"):
                for words in [m["poll"]["question"], *m["poll"]["options"]]:
                    assert words in post["text"], where
            if m.get("document"):
                assert m["document"]["title"] in post["text"], where
                if m["document"].get("size"):
                    assert m["document"]["size"] in post["text"], where
            for key in ("title", "description"):
                if (m.get("link_preview") or {}).get(key):
                    assert norm(m["link_preview"][key])[:50] in norm(post["text"]), where
            for button in m.get("buttons") or []:
                assert button["label"] in post["text"] and (not button.get("url") or button["url"] in post["text"]), where
            for url in m.get("link_urls") or []:
                if url.startswith("http"):
                    assert url in post["text"], where  # the address behind link text
            if m.get("signature"):
                assert post["author"] == m["signature"], where
            if m.get("reply_to_text_start"):
                assert norm(post["quoted"]).startswith(norm(m["reply_to_text_start"])), where
            assert (post["forwarded_from"] or None) == (m.get("forwarded_from") or None), where
            assert set(post["images"]) == set(m.get("image_urls") or []), where  # photos, stills, previews; no avatars or maps
            checked += 1
    assert checked >= 50


def test_a_real_channel_preview_crawled_end_to_end(tmp_path):
    page = expected("telegram-real")["pages"]["tchantest-2023-assembled.html"]
    with SiteServer(SavedSite("telegram-real")) as srv:
        config = tmp_path / "s.toml"
        config.write_text(f'[sources.tg]\nkind = "telegram"\nchannel = "tchantest"\nbase_url = "{srv.url}/"\nmax_pages = 1\n',
                          encoding="utf-8")
        result = run_monitor("crawl", "tg", "--config", str(config), "--db", str(tmp_path / "m.db"), env={"MONITOR_MODEL": "none"})
    con = sqlite3.connect(tmp_path / "m.db")
    stored = {key: (at, raw, text) for key, at, raw, text in con.execute("SELECT post_key, posted_at, posted_raw, text FROM posts")}
    assert set(stored) == {m["post"] for m in page["messages"]}, result.stderr
    for m in page["messages"]:
        at, raw, text = stored[m["post"]]
        assert at == iso_to_utc(m["date_iso"]) and raw == m["date_iso"]
    assert "[poll] Let's do a quick poll quizz mode: Opt1 / Opt2 / Opt3" in stored["tchantest/11"][2]


# ------------------------------------------------------------------ Mastodon

def test_mastodon_answers_keep_every_attachment_and_one_date_form():
    files = expected("mastodon-real")["files"]
    seen_unknown = statuses_read = 0
    for file in files:
        data = json.loads((SITES / "mastodon-real" / file).read_text(encoding="utf-8"))
        entries = [s for s in (data if isinstance(data, list) else [data]) if isinstance(s, dict)]
        statuses = [s for s in entries if "id" in s and "account" in s]  # an edit history's entries have no id
        posts = {p["post_id"]: p for p in parse_statuses(statuses, "m")}
        for status in statuses:
            original = status.get("reblog") or status
            post = posts[str(original["id"])]
            assert post["posted_at"] == iso_to_utc(original["created_at"]) and post["posted_at"].endswith("+00:00"), file
            assert set(attachment_urls(original.get("media_attachments"))) <= set(post["images"]), file
            statuses_read += 1
        for entry in entries:
            urls = attachment_urls(entry.get("media_attachments"))
            for media in entry.get("media_attachments") or []:
                if media["type"] == "unknown":
                    seen_unknown += 1
                    assert media["remote_url"] in urls, (file, "an 'unknown' attachment is kept by its remote_url")
                elif media["type"] in ("image", "gifv"):
                    assert (media.get("url") or media.get("remote_url")) in urls, file
    assert seen_unknown >= 1 and statuses_read >= 20


# ------------------------------------------------------------------ Discourse

def test_discourse_topic_answers_read_as_the_api_says():
    files = expected("discourse-real")["files"]
    topics = 0
    for file, about in files.items():
        data = json.loads((SITES / "discourse-real" / file).read_text(encoding="utf-8"))
        if about["kind"] == "topic_list":
            rows = topic_rows(data)
            assert [t["id"] for t in rows] == [t["id"] for t in about["topics"]], file
            assert all(topic_marker(t).startswith(f"{t['posts_count']}|") for t in rows)
        if about["kind"] != "topic":
            continue
        topics += 1
        posts = {p["post_id"]: p for p in parse_topic_posts(data, "https://d.example/", "d", {about["category_id"]: "Cat"})}
        kinds = {p["id"]: p.get("post_type") for p in data["post_stream"]["posts"]}
        members = [p for p in about["posts"] if kinds[p["id"]] not in (2, 3)]  # not "This topic is now pinned"
        assert set(posts) == {str(p["id"]) for p in members}, file
        for p in members:
            post, raw = posts[str(p["id"])], next(x for x in data["post_stream"]["posts"] if x["id"] == p["id"])
            assert post["author"] == p["username"]
            assert post["posted_at"] == iso_to_utc(p["created_at"])
            assert post["url"] == f"https://d.example/t/{about['slug']}/{about['id']}/{p['post_number']}"
            assert post["thread_title"] == about["title"] and post["board"] == "Cat"
            if 'class="quote' in raw["cooked"]:
                assert post["quoted"] and post["quoted"][:30] not in post["text"], (file, p["id"])
            else:
                assert norm(post["text"]).startswith(norm(p["cooked_text_start"])[:40]), (file, p["id"])
    assert topics >= 4


def test_a_real_discourse_crawled_end_to_end_and_again_incrementally(tmp_path):
    config = tmp_path / "s.toml"
    with SiteServer(SavedSite("discourse-real")) as srv:
        config.write_text(f'[sources.d]\nkind = "discourse"\nbase_url = "{srv.url}/"\n', encoding="utf-8")
        first = run_monitor("crawl", "d", "--config", str(config), "--db", str(tmp_path / "m.db"), env={"MONITOR_MODEL": "none"})
        srv.requests.clear()
        second = run_monitor("crawl", "d", "--config", str(config), "--db", str(tmp_path / "m.db"), env={"MONITOR_MODEL": "none"})
        again = list(srv.requests)
    con = sqlite3.connect(tmp_path / "m.db")
    rows = con.execute("SELECT post_key, kind, author, posted_at, url, opens_thread FROM posts ORDER BY post_key").fetchall()
    assert [r[0] for r in rows] == ["4383", "4387", "4393", "4396"], first.stderr
    assert {r[1] for r in rows} == {"discourse"}
    assert rows[0][2:] == ("kincl", "2016-05-23T17:03:59+00:00", f"{srv.url}/t/ibm-powervm-support/1448/1", 1)
    assert con.execute("SELECT count(*) FROM threads").fetchone()[0] == 1, "the topic read to its end is remembered"
    assert "/t/1448.json" not in again, f"an unchanged topic is not fetched again: {again} {second.stderr}"


def test_hostile_messages_and_answers_are_capped_not_crashed_on():
    links = "".join(f'<a href="https://wa.me/6281{i:08d}">x</a>' for i in range(5000))
    options = "".join(f'<div class="tgme_widget_message_poll_option_text">{"o" * 1000}</div>' for _ in range(500))
    page = (f'<div class="tgme_widget_message" data-post="evil/1"><div class="tgme_widget_message_text">{links}</div>'
            f'<div class="tgme_widget_message_poll"><div class="tgme_widget_message_poll_question">&lt;script&gt;</div>{options}</div>'
            f'<a class="tgme_widget_message_date" href="https://t.me/evil/1"><time datetime="not a date">x</time></a></div>')
    (post,) = parse_channel_page(HtmlResponse(url="https://t.me/s/evil", body=page.encode(), encoding="utf-8"), "tg")
    assert len(post["text"]) <= 200_000 and post["text"].count("https://wa.me/") <= 5000 + 100
    assert "[poll] <script>" in post["text"] and post["posted_at"] is None
    bomb = HtmlResponse(url="https://d.example/t/1.json", body=b"[" * 200_000, encoding="utf-8")
    from spiders.discourse import _json
    assert _json(bomb) is None
    huge = {"id": 1, "slug": "x", "title": "t", "post_stream": {"posts": [{"id": "1"}, {"id": 2, "deleted_at": "x"}, None, 7]}}
    assert parse_topic_posts(huge, "https://d.example/", "d", {}) == []  # ids that are not numbers, deleted posts, junk
    assert parse_topic_posts({"id": 1, "post_stream": [1], "category_id": [1]}, "https://d.example/", "d", {}) == []
    assert topic_rows({"topic_list": {"topics": [{"id": True}, {"id": 3}]}}) == [{"id": 3}]
    odd = [{"id": 1, "reblog": "x", "account": [1], "content": 5, "tags": ["a", {"name": None}], "created_at": 5,
            "media_attachments": [{"type": "unknown", "remote_url": "http://[::1/"}]}]
    (status,) = parse_statuses(odd, "m")
    assert status["author"] == "" and status["posted_at"] is None and status["text"] == ""
    deep = "<blockquote>" * 1000 + "inner words" + "</blockquote>" * 1000 + "own words"
    from spiders.text import extract
    fragment = extract(deep, "https://f.example/", drop=("blockquote",), quote="blockquote")
    assert fragment.text == "own words" and fragment.quoted == "inner words"  # the outermost quote, read once
