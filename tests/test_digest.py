"""`monitor digest`: the day's numbers checked against SQL, masked, self-contained, and mailed to a real SMTP server."""

import base64
import datetime as dt
import email
import json
import re
import sqlite3
from email import policy

import pytest
from conftest import free_port, run_monitor

from monitor.ingest import ingest_post
from monitor.store import Database
from monitor.store.keys import secret_key
from rules import Detector, is_valid_nik

ADS = [
    "Jual data NIK + KK valid, 5rb per nomor, contoh 3171014508920007, minat japri telegram @seller_demo",
    "WTS selfie KTP + foto KTP asli 2.000 pcs, sample 3273012306880012, telegram @seller_demo",
    "Jual database pelanggan 1 juta baris (nama, NIK, alamat, no HP), telegram t.me/gudang_leak",
    "Ready stok foto KTP + selfie e-KTP, harga 10rb/pcs, WA 081234567890 ![x](https://evil.example/pixel.png) <img src=x>",
]
SOURCE = '[sources.tg]\nkind = "telegram"\nchannel = "abcd_efg"\n\n'
# When each flag was raised (UTC), and the Jakarta day that makes it: 17:00 UTC is midnight in Jakarta.
RAISED = ["2026-12-04T10:00:00+00:00", "2026-12-05T16:59:00+00:00", "2026-12-05T17:00:00+00:00", "2026-12-06T09:00:00+00:00"]


@pytest.fixture
def generated(tmp_path):
    db_path = str(tmp_path / "m.db")
    with Database(db_path) as db:
        detector = Detector()
        for i, text in enumerate(ADS):
            result = ingest_post(db, detector, {"source": "tg", "kind": "telegram", "post_id": f"c/{i}",
                                                "url": f"https://t.me/c/{i}", "text": text}, secret_key(db_path))
            assert result.flag == "new", text
            db.db.execute("UPDATE flags SET created_at = ? WHERE post_id = ?", [RAISED[i], result.post_id])
            db.db.execute("UPDATE posts SET first_seen = ?, last_seen = ? WHERE id = ?", [RAISED[i], RAISED[i], result.post_id])
        db.db.execute("INSERT INTO crawl_runs (source, kind, started_at, status, reason, pages, posts_new, errors) "
                      "VALUES ('forum-x', 'forum', '2026-12-06T01:00:00+00:00', 'degraded', '4 thread pages had no post', 5, 0, '{}')")
    return db_path, tmp_path


def test_the_day_in_numbers_matches_the_store(generated):
    db_path, tmp = generated
    result = run_monitor("digest", "--date", "2026-12-06", "--format", "json", "--db", db_path, "--config", "/nonexistent.toml")
    assert result.returncode == 1 and "configuration file not found" in result.stderr  # a named config must exist
    result = run_monitor("digest", "--date", "2026-12-06", "--format", "json", "--db", db_path)
    assert result.returncode == 0, result.stderr
    d = json.loads(result.stdout)
    assert d["date"] == "2026-12-06" and d["timezone"] == "Asia/Jakarta"
    con = sqlite3.connect(db_path)
    start, end = "2026-12-05T17:00:00+00:00", "2026-12-06T17:00:00+00:00"
    rows = con.execute("SELECT severity, categories FROM flags WHERE created_at >= ? AND created_at < ?", [start, end]).fetchall()
    assert len(rows) == 2 == d["flags"]  # Jakarta's 6 December: the flags raised at 17:00 and 09:00 UTC
    assert d["flags_by_severity"] == {s: sum(1 for sev, _ in rows if sev == s) for s in ("critical", "high", "medium", "low")}
    counted = {}
    for _, cats in rows:
        for c in json.loads(cats):
            counted[c] = counted.get(c, 0) + 1
    assert d["flags_by_category"] == counted
    assert d["sources_failed"] == [{"source": "forum-x", "status": "degraded", "reason": "4 thread pages had no post",
                                    "started_at": "2026-12-06T01:00:00+00:00"}]
    assert {"requested", "removed", "escalated", "still_online", "by_platform"} <= set(d["takedowns"])
    # actors: @seller_demo links the first two posts; they were first seen before this day, the others on it
    new_ids = {i["masked"] for a in d["actors"]["new"] for i in a["identifiers"]}
    assert "t.me/gudang_leak" in new_ids and "@seller_demo" not in new_ids
    chart = d["charts"]["flags_per_day"]
    for day, total in zip(chart["days"], map(sum, zip(*chart["series"].values()))):
        local = dt.date.fromisoformat(day)
        lo = (dt.datetime(local.year, local.month, local.day) - dt.timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        hi = (dt.datetime(local.year, local.month, local.day) + dt.timedelta(hours=17)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        sql = sum(len(json.loads(c)) for (c,) in con.execute("SELECT categories FROM flags WHERE created_at >= ? AND created_at < ?", [lo, hi]))
        assert total == sql, day


def test_html_and_markdown_stand_alone_and_mask_every_number(generated):
    db_path, tmp = generated
    for fmt in ("html", "md"):
        out = tmp / f"digest.{fmt}"
        assert run_monitor("digest", "--date", "2026-12-06", "--format", fmt, "--out", str(out), "--db", db_path).returncode == 0
        text = out.read_text(encoding="utf-8")
        assert not [n for n in re.findall(r"(?<!\d)\d{16}(?!\d)", text) if is_valid_nik(n)] and "081234567890" not in text
        (chart,) = re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", text)
        svg = base64.b64decode(chart).decode()
        assert svg.startswith("<?xml") and "<script" not in svg and 'href="http' not in svg  # nothing fetched from elsewhere
    assert "<script" not in (tmp / "digest.html").read_text()
    markdown = (tmp / "digest.md").read_text()
    assert "](https://evil" not in markdown and "<img src=x>" not in markdown  # crawled words cannot become images
    assert "## Kritis dan tinggi" in markdown and "| selfie e-KTP |" in markdown  # Indonesian unless asked otherwise


def test_the_digest_in_english_when_asked(generated):
    db_path, tmp = generated
    english = run_monitor("digest", "--date", "2026-12-06", "--format", "md", "--lang", "en", "--db", db_path)
    assert english.returncode == 0, english.stderr
    assert "## Critical and high" in english.stdout and "| e-KTP selfie |" in english.stdout and "Kritis" not in english.stdout
    config = tmp / "s.toml"
    config.write_text(f'{SOURCE}[digest]\nlanguage = "en"\n', encoding="utf-8")
    configured = run_monitor("digest", "--date", "2026-12-06", "--format", "md", "--config", str(config), "--db", db_path)
    assert configured.stdout == english.stdout
    overridden = run_monitor("digest", "--date", "2026-12-06", "--format", "md", "--lang", "id", "--config", str(config), "--db", db_path)
    assert "## Kritis dan tinggi" in overridden.stdout


@pytest.mark.parametrize("digest, problem", [
    ('to = ["ops@x.org\\nBcc: spy@evil.example"]\nsmtp_host = "h"\nfrom = "m@x.org"', "digest.to:"),
    ('to = ["ops@x.org"]\nsmtp_host = "h"\nfrom = 5', "digest.from: 5 is not an e-mail address"),
])
def test_addresses_that_would_inject_headers_are_refused(tmp_path, digest, problem):
    config = tmp_path / "s.toml"
    config.write_text(f"{SOURCE}[digest]\n{digest}\n", encoding="utf-8")
    result = run_monitor("sources", "--config", str(config))
    assert result.returncode == 1 and problem in result.stderr, result.stderr


@pytest.mark.parametrize("language", ["id", "en"])
def test_send_mails_it_to_a_real_smtp_server(generated, language):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    db_path, tmp = generated
    received = []

    class Keep(Message):
        def handle_message(self, message):
            received.append(message)

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config = tmp / "s.toml"
        config.write_text(f'{SOURCE}[digest]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_security = "none"\n'
                          f'from = "monitor@example.org"\nto = ["csirt@example.org"]\nlanguage = "{language}"\n', encoding="utf-8")
        result = run_monitor("digest", "--date", "2026-12-06", "--send", "--config", str(config), "--db", db_path)
    finally:
        controller.stop()
    assert result.returncode == 0 and "sent" in result.stderr, result.stderr
    (message,) = received
    parsed = email.message_from_string(message.as_string(), policy=policy.default)
    subject = {"id": "Ringkasan monitor penjualan data 2026-12-06: 2 tanda baru",
               "en": "Data-sale monitor digest 2026-12-06: 2 new flags"}[language]
    assert parsed["Subject"] == subject and parsed["To"] == "csirt@example.org"
    page = parsed.get_body(("html",)).get_content()
    assert f'<html lang="{language}">' in page and "t.me/gudang_leak" in page
    words = {"id": ("ringkasan 2026-12-06", "Kritis dan tinggi", "basis data bocor", "Penjual", "median hari sampai dihapus"),
             "en": ("digest of 2026-12-06", "Critical and high", "database dump", "Sellers", "median days to removal")}[language]
    assert all(w in page for w in words), page
    text = parsed.get_body(("plain",)).get_content()
    assert "database_dump" not in page + text and "ektp_selfie" not in page + text  # names, not codes


def test_send_without_settings_and_unreachable_servers_are_reported(generated):
    db_path, tmp = generated
    no_settings = run_monitor("digest", "--send", "--db", db_path)
    assert no_settings.returncode == 2 and "--send needs a [digest] table" in no_settings.stderr
    config = tmp / "s.toml"
    config.write_text(f'{SOURCE}[digest]\nsmtp_host = "127.0.0.1"\nsmtp_port = {free_port()}\nfrom = "m@example.org"\nto = ["x@example.org"]\n')
    down = run_monitor("digest", "--date", "2026-12-06", "--send", "--config", str(config), "--db", db_path)
    assert down.returncode == 1 and "not sent: mail to x@example.org" in down.stderr
    config.write_text(f'{SOURCE}[digest]\nto = ["x@example.org"]\n')
    assert "digest.smtp_host and digest.from are needed" in run_monitor("digest", "--send", "--config", str(config), "--db", db_path).stderr


def test_the_scheduler_sends_yesterdays_digest_daily(generated):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    from monitor.config import load_config
    from monitor.crawl.daemon import CrawlDaemon

    db_path, tmp = generated
    config = tmp / "s.toml"
    port = free_port()
    config.write_text(f'{SOURCE}[digest]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_security = "none"\n'
                      f'from = "m@example.org"\nto = ["x@example.org"]\ntime = "07:00"\n', encoding="utf-8")
    listed = run_monitor("schedule", "--list", "--config", str(config), "--db", db_path)
    assert listed.returncode == 0 and "daily at 07:00" in listed.stdout and "07:00 WIB" in listed.stdout, listed.stdout
    received = []

    class Keep(Message):
        def handle_message(self, message):
            received.append(message)

    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        daemon = CrawlDaemon(load_config(config), db_path)
        assert "digest" in {job.id for job in daemon.scheduler.get_jobs()}
        assert daemon.send_digest() == []
    finally:
        controller.stop()
    (message,) = received
    jakarta = dt.timezone(dt.timedelta(hours=7))
    yesterdays = {(dt.datetime.now(jakarta) - dt.timedelta(days=1, seconds=s)).date().isoformat() for s in (0, 60)}
    assert any(message["Subject"].startswith(f"Ringkasan monitor penjualan data {day}") for day in yesterdays), \
        (message["Subject"], yesterdays)  # the daemon's "yesterday" was taken a moment before ours: Jakarta's midnight may lie between


def test_a_mail_server_that_trickles_is_given_up_on(generated, monkeypatch):
    import socket
    import threading
    import time

    from monitor.report import digest as module

    db_path, _ = generated
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def trickle():
        conn, _ = listener.accept()
        for _ in range(40):  # one byte every half second: each read succeeds, the greeting never ends
            try:
                conn.send(b"2")
            except OSError:
                return
            time.sleep(0.5)

    threading.Thread(target=trickle, daemon=True).start()
    monkeypatch.setattr(module, "SEND_DEADLINE", 2.0)
    settings = module.DigestSettings(smtp_host="127.0.0.1", smtp_port=listener.getsockname()[1], smtp_security="none",
                                     sender="m@example.org", to=("x@example.org",))
    with Database(db_path) as db:
        data = module.build_digest(db, dt.date(2026, 12, 6), dt.timezone(dt.timedelta(hours=7)), "Asia/Jakarta")
    started = time.monotonic()
    problems = module.send_digest(data, settings)
    assert time.monotonic() - started < 10 and problems and "no answer within 2 s" in problems[0]
    listener.close()
