"""Both languages: what a person reads on the page comes from the catalogue, not raw codes or English-only text."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from webfixtures import PASSWORD, Client, served

from monitor.ingest import ingest_post
from monitor.store import Database
from monitor.store.keys import secret_key
from monitor.web.accounts import add_user
from monitor.web.i18n import STRINGS
from rules import Detector


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    db_path = str(tmp_path_factory.mktemp("i18n") / "m.db")
    with Database(db_path) as db:
        add_user(db, "rina", "reviewer", PASSWORD)
        ingest_post(db, Detector(), {"source": "tg", "kind": "telegram", "post_id": "1", "url": "https://t.me/x/1",
                                     "text": "Jual foto selfie e-KTP 15rb/foto, telegram @x_demo"}, secret_key(db_path))
    with served(db_path) as url:
        yield url


def test_codes_are_shown_in_the_readers_language(site):
    client = Client(site)
    client.login("rina")
    queue = client.get("/queue?from=2000-01-01").text
    assert "selfie e-KTP" in queue and ">baru<" in queue  # category and status, Indonesian by default
    missing = client.get("/posts/999999")
    assert missing.status_code == 404 and STRINGS["not_found"][0] in missing.text
    bad_date = client.get("/queue?from=yesterday")
    assert bad_date.status_code == 400 and STRINGS["error_400"][0] in bad_date.text and "YYYY-MM-DD" in bad_date.text
    wrong_method = client.post("/dashboard", {"csrf_token": client.csrf()})
    assert wrong_method.status_code == 405 and STRINGS["error_405"][0] in wrong_method.text
    client.post("/lang", {"lang": "en", "csrf_token": client.csrf()})
    assert STRINGS["not_found"][1] in client.get("/posts/999999").text
    assert STRINGS["error_400"][1] in client.get("/queue?from=yesterday").text
    assert "e-KTP selfie" in client.get("/queue?from=2000-01-01").text


def test_reasons_are_said_in_the_readers_language(site):
    client = Client(site)
    client.login("rina")
    client.post("/lang", {"lang": "id", "csrf_token": client.csrf()})
    queue, post = client.get("/queue?from=2000-01-01").text, client.get("/posts/1").text
    for page in (queue, post):
        assert "niat menjual: Jual" in page and "data yang ditawarkan: selfie e-KTP" in page and "kontak: " in page
        assert "sale intent" not in page and "data on offer" not in page
    client.post("/lang", {"lang": "en", "csrf_token": client.csrf()})
    post = client.get("/posts/1").text
    assert "sale intent: Jual" in post and "data on offer: e-KTP selfie" in post and "niat menjual" not in post


@pytest.mark.parametrize("damaged", ['[{"kind": "valid_ids", "n": Infinity}]', '[{"kind": "fields", "n": 1e400}]',
                                     "[" * 5000 + "]" * 5000, '{"kind": "words"}', "not json", '[{"kind": "model"}]'])
def test_damaged_reason_parts_never_break_a_page_or_a_list(tmp_path, damaged):
    from monitor.takedown.batches import export_row
    from monitor.takedown.registry import load_registry

    db_path = str(tmp_path / "m.db")
    with Database(db_path) as db:
        add_user(db, "rina", "reviewer", PASSWORD)
        stored = ingest_post(db, Detector(), {"source": "tg", "kind": "telegram", "post_id": "1", "url": "https://t.me/x/1",
                                              "text": "Jual foto selfie e-KTP 15rb/foto, telegram @x_demo"}, secret_key(db_path))
        db.db.execute("UPDATE flags SET reason_parts = ?", [damaged])
        row = {**db.flag_of_post(stored.post_id), **db.post(stored.post_id)}
    platform = next(p for p in load_registry().platforms if p.id == "telegram")
    assert export_row(row, platform)["reasons"].startswith("sale intent: ")  # the stored sentences stand in
    with served(db_path) as url:
        client = Client(url)
        client.login("rina")
        for page in (f"/posts/{stored.post_id}", "/queue?from=2000-01-01"):
            response = client.get(page)
            assert response.status_code == 200 and "sale intent: Jual" in response.text, page


def test_flags_stored_before_reasons_were_data_show_their_sentences(tmp_path):
    db_path = str(tmp_path / "m.db")
    with Database(db_path) as db:
        add_user(db, "rina", "reviewer", PASSWORD)
        stored = ingest_post(db, Detector(), {"source": "tg", "kind": "telegram", "post_id": "1", "url": "https://t.me/x/1",
                                              "text": "Jual foto selfie e-KTP 15rb/foto, telegram @x_demo"}, secret_key(db_path))
        db.db.execute("UPDATE flags SET reason_parts = NULL, reasons = '[\"an older sentence <b>x</b>\"]'")
    with served(db_path) as url:
        client = Client(url)
        client.login("rina")
        post = client.get(f"/posts/{stored.post_id}").text
    assert "an older sentence &lt;b&gt;x&lt;/b&gt;" in post


def test_identifier_kinds_are_named_in_the_readers_language(site):
    from rules.identifiers import KINDS

    for kind in KINDS:
        indonesian, english = STRINGS[kind]
        assert indonesian and english, kind
    client = Client(site)
    client.login("rina")
    client.post("/lang", {"lang": "id", "csrf_token": client.csrf()})
    assert "<code>Telegram @x_demo</code>" in client.get("/actors").text  # the kind's name, not the code "telegram"
    assert "<li>Telegram: <code>@x_demo</code></li>" in client.get("/posts/1").text


def test_every_dashboard_and_actor_word_has_both_languages():
    from monitor.report.dashboard import CHARTS

    for key in [f"chart_{c}" for c in CHARTS] + ["critical", "high", "medium", "low", "ektp_selfie", "id_documents",
                                                  "database_dump", "combolist_credentials", "other_pii", "new", "confirmed",
                                                  "dismissed", "escalated", "requested", "removed", "still_online", "actors"]:
        indonesian, english = STRINGS[key]
        assert indonesian and english, key


def test_times_are_shown_in_jakarta_with_their_label():
    from zoneinfo import ZoneInfo

    from monitor.web.app import local_time

    assert local_time("2026-12-05T17:30:00+00:00") == "2026-12-06 00:30 WIB"  # the team's day, not UTC's
    assert local_time("2026-12-05T17:30:00+00:00", ZoneInfo("Asia/Makassar")) == "2026-12-06 01:30 WITA"
    assert local_time("2026-12-05T17:30:00Z", ZoneInfo("Etc/GMT-7")) == "2026-12-06 00:30 UTC+07:00"  # no name: the offset
    assert local_time(None) == ""
    assert local_time("2026-11-20") == "2026-11-20" and local_time("") == ""  # a date alone is shown as stored


def test_the_page_shows_times_in_the_configured_zone(tmp_path):
    db_path = str(tmp_path / "m.db")
    with Database(db_path) as db:
        add_user(db, "rina", "reviewer", PASSWORD)
        stored = ingest_post(db, Detector(), {"source": "tg", "kind": "telegram", "post_id": "1", "url": "https://t.me/x/1",
                                              "posted_at": "2026-12-05T17:30:00+00:00",
                                              "text": "Jual foto selfie e-KTP 15rb/foto, telegram @x_demo"}, secret_key(db_path))
    with served(db_path, zone="Asia/Makassar") as url:
        client = Client(url)
        client.login("rina")
        page = client.get(f"/posts/{stored.post_id}").text
        # the queue's days are the flags' days (now) in the team's zone; the days either side keep a run near midnight true
        today = dt.datetime.now(ZoneInfo("Asia/Makassar")).date()
        queue = client.get(f"/queue?from={today - dt.timedelta(days=1)}&to={today + dt.timedelta(days=1)}").text
    assert "2026-12-06 01:30 WITA" in page and "WIB" not in page
    assert "2026-12-06 01:30 WITA" in queue
