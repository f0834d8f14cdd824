"""Alerts after a crawl: one message per run through apprise to a JSON webhook on 127.0.0.1, masked."""

import json
import re
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import run_monitor

from monitor.demo import DemoServer
from rules import is_valid_nik


class Webhook:
    """A JSON webhook receiver: keeps every POSTed body; answers `status`."""

    def __init__(self, status: int = 200):
        self.bodies: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                hook.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"json://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def config_for(tmp_path, server, rules: str) -> str:
    path = tmp_path / "sources.toml"
    channel = server.site.telegram["channel"]
    path.write_text(f'[sources.tg]\nkind = "telegram"\nchannel = "{channel}"\nbase_url = "{server.url}/tg/"\n\n'
                    f'[alerts]\nlink_base = "https://monitor.example"\n{rules}', encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("language", ["id", "en"])
def test_one_masked_message_per_run_with_every_matching_flag(tmp_path, webhook, language):
    rules = (f'language = "{language}"\n'
             '[[alerts.rules]]\nname = "documents"\ncategories = ["ektp_selfie", "id_documents", "database_dump"]\n'
             'notify = ["ALERT_HOOK"]\n')
    with DemoServer() as server:
        config = config_for(tmp_path, server, rules)
        result = run_monitor("crawl", "tg", "--config", config, "--db", str(tmp_path / "m.db"), env={"ALERT_HOOK": webhook.url})
        again = run_monitor("crawl", "tg", "--config", config, "--db", str(tmp_path / "m.db"), env={"ALERT_HOOK": webhook.url})
    assert result.returncode == 0, result.stderr
    con = sqlite3.connect(tmp_path / "m.db")
    flagged = con.execute("SELECT f.post_id, f.categories FROM flags f").fetchall()
    matching = [pid for pid, cats in flagged if set(json.loads(cats)) & {"ektp_selfie", "id_documents", "database_dump"}]
    assert matching and len(webhook.bodies) == 1, "one message for the run, not one per post"
    body = webhook.bodies[0]
    title = {"id": f"Monitor penjualan data: {len(matching)} tanda baru dari tg",
             "en": f"Data-sale monitor: {len(matching)} new flag(s) from tg"}[language]
    assert body["title"] == title
    # categories and severities in the reader's words, never codes
    assert not re.search(r"ektp_selfie|id_documents|database_dump|\[(HIGH|CRITICAL)\]" if language == "id" else
                         r"ektp_selfie|id_documents|database_dump", body["message"])
    assert ("dokumen identitas" in body["message"] or "selfie e-KTP" in body["message"]) if language == "id" else \
        ("identity documents" in body["message"] or "e-KTP selfie" in body["message"])
    for pid in matching:
        assert f"https://monitor.example/posts/{pid}" in body["message"]
    assert not [d for d in re.findall(r"(?<!\d)\d{16}(?!\d)", body["message"]) if is_valid_nik(d)], "never a full NIK"
    assert again.returncode == 0 and len(webhook.bodies) == 1, "no new flags, no message"


def test_a_failing_notifier_is_recorded_and_the_run_keeps_its_result(tmp_path):
    refusing = Webhook(status=500)
    rules = '[[alerts.rules]]\nseverity = ["critical", "high", "medium", "low"]\nnotify = ["ALERT_HOOK", "ALERT_UNSET"]\n'
    try:
        with DemoServer() as server:
            config = config_for(tmp_path, server, rules)
            result = run_monitor("crawl", "tg", "--config", config, "--db", str(tmp_path / "m.db"), env={"ALERT_HOOK": refusing.url})
    finally:
        refusing.close()
    assert result.returncode == 0, result.stderr  # the crawl itself went fine
    assert "alert through $ALERT_HOOK not sent: not delivered" in result.stderr
    assert "alert through $ALERT_UNSET not sent: environment variable not set" in result.stderr
    status, errors = sqlite3.connect(tmp_path / "m.db").execute("SELECT status, errors FROM crawl_runs").fetchone()
    assert status == "ok" and "alert_not_sent (ALERT_HOOK: not delivered)" in json.loads(errors)
    assert len(refusing.bodies) == 1


@pytest.mark.parametrize("rules, problem", [
    ('[[alerts.rules]]\nseverity = ["high"]\n', "alerts.rules[0].notify: required"),
    ('[[alerts.rules]]\nnotify = ["https://hooks.example/secret"]\n', "alerts.rules[0].notify: must be a list of strings"),
    ('[[alerts.rules]]\nnotify = ["X"]\nseverity = ["urgent"]\n', "alerts.rules[0].severity: one of low, medium, high, critical"),
    ('[[alerts.rules]]\nnotify = ["X"]\nactor = "x"\n', "alerts.rules[0].actor: unknown field"),
    ('[[alerts.rules]]\nnotify = ["X"]\nactors = ["seller one"]\n', "alerts.rules[0].actors: must be a list of strings"),
    ('[[alerts.rules]]\nnotify = ["X"]\ncategories = ["id-documents"]\n', "alerts.rules[0].categories: unknown 'id-documents'"),
    ('[[alerts.rules]]\nnotify = ["X"]\nsources = ["tg-typo"]\n', "alerts.rules[0].sources: unknown source 'tg-typo'"),
    ('language = "jv"\n', 'alerts.language: "id" (Bahasa Indonesia) or "en" (English)'),
])
def test_bad_alert_rules_are_refused_with_the_field(tmp_path, rules, problem):
    path = tmp_path / "s.toml"
    path.write_text(f'[sources.t]\nkind = "telegram"\nchannel = "abcd_efg"\n\n[alerts]\n{rules}', encoding="utf-8")
    result = run_monitor("sources", "--config", str(path))
    assert result.returncode == 1 and problem in result.stderr, result.stderr


def test_every_seller_id_the_grouping_gives_can_be_named_in_a_rule():
    from monitor.report.actors import _new_id
    from monitor.report.alerts import parse_alerts

    fingerprint = "0123456789abcdef" * 4
    held: set[str] = set()
    for _ in range(4):  # the short id, a longer one, the longest, then a numbered one
        held.add(_new_id(fingerprint, held.__contains__))
    rules = parse_alerts({"rules": [{"actors": sorted(held), "notify": ["X"]}]}).rules
    assert set(rules[0].actors) == held and len(held) == 4


def test_an_actor_rule_alerts_on_that_seller_only(tmp_path, webhook):
    from monitor.store import Database

    with DemoServer() as server:
        config = config_for(tmp_path, server, '[[alerts.rules]]\nnotify = ["NONE_SET"]\n')
        assert run_monitor("crawl", "tg", "--config", config, "--db", str(tmp_path / "m.db")).returncode == 0
        with Database(tmp_path / "m.db") as db:  # the seller with the most posts, as /actors lists it
            actor, posts = db.db.execute("SELECT actor_id, actor_posts FROM actor_members ORDER BY actor_posts DESC").fetchone()
            db.db.execute("UPDATE flags SET created_at = '2999-01-01T00:00:00+00:00'")  # as if raised by the next run
        config = config_for(tmp_path, server, f'[[alerts.rules]]\nactors = ["{actor}"]\nnotify = ["ALERT_HOOK"]\n')
        run_monitor("crawl", "tg", "--config", config, "--db", str(tmp_path / "m.db"), env={"ALERT_HOOK": webhook.url})
    (body,) = webhook.bodies
    assert body["title"].startswith(f"Monitor penjualan data: {posts} tanda baru")
