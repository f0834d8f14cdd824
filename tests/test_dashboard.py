"""The dashboard: numbers checked against SQL on a generated database, charts as SVG images in a real browser."""

import csv
import datetime as dt
import io
import json
import sqlite3

import pytest
from webfixtures import PASSWORD, Client, login, screenshot_path, served

from monitor.ingest import ingest_post
from monitor.report.charts import stacked_bars_svg
from monitor.report.dashboard import CHARTS, chart_numbers, dashboard
from monitor.store import Database
from monitor.store.keys import secret_key
from monitor.web.accounts import add_user
from monitor.web.review import decide
from monitor.web.views import JAKARTA
from rules import Detector

ADS = [
    "Jual data NIK + KK valid, 5rb per nomor, contoh 3171014508920007, minat japri telegram @seller_demo",
    "WTS selfie KTP + foto KTP asli 2.000 pcs, sample 3273012306880012, telegram @seller_demo",
    "Jual database pelanggan 1 juta baris (nama, NIK, alamat, no HP), telegram t.me/gudang_leak",
    "Ready stok foto KTP + selfie e-KTP, harga 10rb/pcs, WA 081234567890",
    "Dijual data nasabah bank 150 ribu baris: nama, NIK, no HP. Harga 0.05 BTC, DM @bankleak",
]
DAYS_AGO = [0, 0, 1, 10, 45]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dash")
    db_path = str(folder / "m.db")
    now = dt.datetime.now(dt.timezone.utc)
    with Database(db_path) as db:
        add_user(db, "rina", "reviewer", PASSWORD)
        detector = Detector()
        for i, text in enumerate(ADS):
            result = ingest_post(db, detector, {"source": f"src{i % 2}", "kind": "telegram", "post_id": f"c/{i}",
                                                "url": f"https://t.me/c/{i}", "text": text}, secret_key(db_path))
            flag = db.flag_of_post(result.post_id)
            if i in (1, 3):
                decide(db, flag["id"], "confirm", db.user("rina"))
            if i == 2:
                decide(db, flag["id"], "dismiss", db.user("rina"), reason="not_a_sale")
            when = (now - dt.timedelta(days=DAYS_AGO[i])).isoformat(timespec="seconds")
            db.db.execute("UPDATE flags SET created_at = ? WHERE id = ?", [when, flag["id"]])
        db.db.execute("INSERT INTO crawl_runs (source, kind, started_at, status, reason, pages, posts_new, errors) "
                      "VALUES ('src0', 'telegram', ?, 'failed', 'no page could be fetched', 0, 0, '{}')", [now.isoformat(timespec="seconds")])
    return db_path


def local_day(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(JAKARTA).date().isoformat()


def test_numbers_match_the_store(generated):
    now = dt.datetime.now(dt.timezone.utc)  # one clock for both sides, or a run at Jakarta's midnight disagrees
    with Database(generated) as db:
        data = dashboard(db, JAKARTA, now)
    con = sqlite3.connect(generated)
    flags = con.execute("SELECT created_at, severity, categories, status FROM flags WHERE active = 1").fetchall()
    today = now.astimezone(JAKARTA).date().isoformat()
    for row in data["today"]:
        if row["kind"] == "severity":
            assert row["today"] == sum(1 for c, s, _, _ in flags if local_day(c) == today and s == row["name"]), row
    chart = data["charts"]["flags_30d"]
    for i, day in enumerate(chart["labels"]):
        expected = sum(len(json.loads(cats)) for c, _, cats, _ in flags if local_day(c) == day)
        assert sum(series[i] for series in chart["series"].values()) == expected, day
    assert sum(sum(v) for v in data["charts"]["flags_90d_by_source"]["series"].values()) == 5  # the 45-day-old one too
    funnel = data["charts"]["takedown_funnel"]
    assert funnel["labels"][0] == "confirmed" and funnel["series"]["posts"][0] == 2
    weeks = data["charts"]["decisions_by_week"]["series"]
    assert sum(weeks["confirmed"]) == 2 and sum(weeks["dismissed"]) == 1
    assert data["failed_runs_30d"] == {"src0": 1}


def test_each_chart_alone_reads_the_numbers_the_page_shows(generated):
    now = dt.datetime.now(dt.timezone.utc)
    with Database(generated) as db:
        data = dashboard(db, JAKARTA, now)
        for name in CHARTS:
            assert chart_numbers(db, name, JAKARTA, now) == data["charts"][name], name
    svg = stacked_bars_svg(data["charts"]["flags_90d_by_source"], "90 days", "flags")
    assert svg.count("<path") < 60, "a series is one path of bars, not one element per bar"
    for source in data["charts"]["flags_90d_by_source"]["series"]:
        assert f">{source}<" in svg  # the legend names every series, as text


def test_dashboard_in_a_browser_with_charts_tables_and_csv(generated, browser, tmp_path):
    with served(generated) as url:
        context, page = login(browser, url, "rina")
        page.goto(f"{url}/dashboard")
        assert page.locator("#today tr").count() >= 5
        images = page.locator("section.chart img")
        assert images.count() == 5
        widths = page.evaluate("Array.from(document.querySelectorAll('section.chart img')).map(i => i.naturalWidth)")
        assert all(w > 0 for w in widths), "every chart loads as an image"
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.reload()
        assert not [e for e in errors if "Content Security Policy" in e], errors
        page.screenshot(path=str(screenshot_path(tmp_path, "dashboard.png")), full_page=True)
        context.close()
        client = Client(url)
        client.login("rina")
        svg = client.get("/dashboard/chart/flags_30d.svg")
        assert svg.headers["Content-Type"].startswith("image/svg+xml") and "<script" not in svg.text
        assert "selfie e-KTP" in svg.text and "ektp_selfie" not in svg.text  # the legend in the reader's words
        funnel = client.get("/dashboard/chart/takedown_funnel.svg").text
        assert "dikonfirmasi" in funnel and "still_online" not in funnel
        page_text = client.get("/dashboard").text
        assert "<th>selfie e-KTP</th>" in page_text and "<th>ektp_selfie</th>" not in page_text
        assert "style-src 'unsafe-inline'" in svg.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in client.get("/dashboard").headers["Content-Security-Policy"]
        rows = list(csv.reader(io.StringIO(client.get("/dashboard/chart/takedown_funnel.csv").text)))
        assert rows[0] == ["label", "posts"] and rows[1] == ["confirmed", "2"]
        assert client.get("/dashboard/chart/nope.svg").status_code == 404
        assert Client(url).get("/dashboard").status_code in (302, 401), "the dashboard needs a login"


def test_days_follow_the_zone_through_summer_time(tmp_path):
    """A zone whose offset changed within the charts' days: each run and decision falls on its own local day
    (Amsterdam left summer time on 25 October 2026; "now" is in winter time)."""
    from zoneinfo import ZoneInfo

    with Database(tmp_path / "m.db") as db:
        db.db.execute("INSERT INTO crawl_runs (source, kind, started_at, status, posts_new, errors) "
                      "VALUES ('forum', 'forum', '2026-10-20T22:30:00+00:00', 'failed', 7, '{}')")  # 00:30 on Wed 21 Oct, CEST
        add_user(db, "rina", "reviewer", PASSWORD)
        post = ingest_post(db, Detector(), {"source": "forum", "post_id": "1", "url": "https://f.example/1",
                                            "text": "Jual data NIK + KK valid, 5rb per nomor, telegram @seller_demo"}, secret_key(tmp_path / "m.db"))
        decide(db, db.flag_of_post(post.post_id)["id"], "confirm", db.user("rina"))
        db.db.execute("UPDATE review_events SET at = '2026-10-18T22:30:00+00:00'")  # 00:30 on Mon 19 Oct, CEST
        data = dashboard(db, ZoneInfo("Europe/Amsterdam"), dt.datetime(2026, 11, 10, 12, 0, tzinfo=dt.timezone.utc))
    health = data["charts"]["crawl_health"]
    assert [health["labels"][i] for i, v in enumerate(health["series"]["forum"]) if v] == ["2026-10-21"]
    weeks = data["charts"]["decisions_by_week"]
    assert [weeks["labels"][i] for i, v in enumerate(weeks["series"]["confirmed"]) if v] == ["2026-10-19"]
