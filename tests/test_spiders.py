"""Spider parsing on saved pages: plain functions over real Scrapy responses."""

from conftest import saved_response

from spiders.forum import canonical_thread_url, links, parse_thread
from spiders.presets import PresetError, load_preset, validate
from spiders.telegram import older_page, parse_channel_page, parse_views

import pytest

THREAD_URL = "https://forum.example/showthread.php?tid=4821&page=2"


def test_mybb_thread_posts_authors_dates_and_ids():
    posts = parse_thread(saved_response("mybb/showthread-4821-page2.html", THREAD_URL), load_preset("mybb"), "exforum")
    assert [p["post_id"] for p in posts] == ["90211", "90230", "90244"]
    assert [p["author"] for p in posts] == ["ktp_supplier", "buyer_x", "pencari_info"]
    first = posts[0]
    assert first["thread_title"] == "[WTS] KTP + Selfie KTP fresh 2026"
    assert first["board"] == "Databases"
    assert first["posted_at"] == "2026-11-21T20:03:00+00:00"  # the post's date, not its edit note's
    assert posts[1]["posted_at"] == "2026-11-22T09:15:00+00:00"  # "Yesterday" from the title, joined with the time
    assert posts[1]["posted_raw"] == "11-22-2026, 09:15 AM"
    assert first["url"] == "https://forum.example/showthread.php?tid=4821&pid=90211#pid90211"
    assert first["thread_url"] == "https://forum.example/showthread.php?tid=4821"


def test_mybb_body_text_keeps_lines_and_drops_quote_signature_script():
    posts = parse_thread(saved_response("mybb/showthread-4821-page2.html", THREAD_URL), load_preset("mybb"), "exforum")
    text = posts[0]["text"]
    assert text.splitlines()[0] == "Update stok: 3.000 selfie e-KTP + foto KTP asli, semua provinsi."
    assert "sample nya ada gan" not in text  # quoted reply kept apart
    assert "sample nya ada gan" in posts[0]["quoted"]
    assert "Escrow OK" not in text  # signature dropped
    assert posts[0]["images"] == ["https://i.imgur.example/blurred_sample.jpg"]
    assert "alert" not in posts[1]["text"]


def test_mybb_next_page_link_and_canonical_url():
    response = saved_response("mybb/showthread-4821-page2.html", THREAD_URL)
    assert links(response, load_preset("mybb")["thread"]["next"]) == ["https://forum.example/showthread.php?tid=4821&page=3"]
    assert canonical_thread_url("https://f.example/showthread.php?tid=9&page=4#pid1") == "https://f.example/showthread.php?tid=9"


def test_telegram_channel_page():
    url = "https://t.me/s/gudangdata_demo"
    posts = parse_channel_page(saved_response("telegram/channel.html", url), "tg")
    assert [p["post_id"] for p in posts] == ["gudangdata_demo/1201", "gudangdata_demo/1202"]
    ad = posts[0]
    assert ad["url"] == "https://t.me/gudangdata_demo/1201"
    assert ad["posted_at"] == "2026-11-20T04:11:53+00:00"
    assert ad["views"] == 1200
    assert ad["images"] == ["https://cdn4.telesco.pe/file/sample_photo_1201.jpg"]
    assert "🔥 READY STOK SELFIE KTP 🔥" in ad["text"]
    assert "\n✅ Selfie e-KTP HD\n" in ad["text"]
    assert posts[1]["forwarded_from"] == "Info Kuota"
    assert "<script>" in posts[1]["text"]  # escaped text stays text, never markup
    assert older_page(saved_response("telegram/channel.html", url)) == "https://t.me/s/gudangdata_demo?before=1201"


def test_views_parsing():
    assert parse_views("1.2K") == 1200
    assert parse_views("3M") == 3_000_000
    assert parse_views("845") == 845
    assert parse_views("") is None


def test_preset_validation_names_bad_keys():
    with pytest.raises(PresetError, match=r"x.toml: thread.postz: unknown key"):
        validate({"thread": {"postz": "div", "posts": "div", "body": "div"}}, "x.toml")
    with pytest.raises(PresetError, match="unknown forum engine 'vbulletin9'; known: mybb, phpbb, xenforo"):
        load_preset("vbulletin9")
    with pytest.raises(PresetError, match=r"selectors.board.rowz: unknown key"):
        load_preset("mybb", {"board": {"rowz": "tr"}})


def test_source_overrides_change_one_selector_and_keep_the_rest():
    preset = load_preset("mybb", {"thread": {"author": "span.poster"}})
    assert preset["thread"]["author"] == "span.poster"
    assert preset["thread"]["body"] == load_preset("mybb")["thread"]["body"]
    assert load_preset("mybb")["thread"]["author"] != "span.poster"  # the shared preset is untouched


def test_posts_nested_in_posts_are_read_once_with_the_outermost():
    from scrapy.http import HtmlResponse

    inner = '<div class="post" id="post_{n}"><div class="post_body">words {n}</div>'
    page = '<div id="posts">' + "".join(inner.format(n=n) for n in range(400)) + "</div>" * 401
    posts = parse_thread(HtmlResponse(url="https://f.example/showthread.php?tid=1", body=page.encode(), encoding="utf-8"),
                         load_preset("mybb"), "s")
    # Broken markup nests posts and each stays a post; past any real page's count, the rest are not parsed again.
    assert [p["post_id"] for p in posts] == [str(n) for n in range(61)] and posts[0]["text"] == "words 0"
