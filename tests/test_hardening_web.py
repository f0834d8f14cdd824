"""Issue 11, the review page tried as an attacker would: one test (or a few) per item, named after it.

Everything runs against real things: SQLite files in tmp_path, the review page served by waitress
on 127.0.0.1, `python -m monitor` subprocesses, and Debian's Chromium for what happens in the page.
Work is counted (scrypt calls, SQLite VM steps), never timed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from conftest import run_monitor
from webfixtures import PASSWORD, Client, login, served

from monitor.ingest import ingest_post
from monitor.store import Database
from monitor.store.keys import secret_key
from monitor.web.accounts import MAX_FAILURES, add_user
from monitor.web.review import decide
from rules import Detector, is_valid_nik

DEMO_NIK = "3171014508920007"  # a demo post's NIK; its page capture carries it too


def nik(day: int) -> str:
    """A valid NIK (Jakarta Pusat region code, born on `day` January 1990), distinct per day."""
    number = f"317101{day:02d}01900001"
    assert is_valid_nik(number), number
    return number


def page_text(html: str) -> str:
    return lxml.html.fromstring(html).text_content()


def leaks(number: str, text: str) -> bool:
    """Whether `text` shows 10 or more of `number`'s digits in order on one line (separators ignored)."""
    windows = {number[i:i + 10] for i in range(len(number) - 9)}
    return any(w in re.sub(r"\D", "", line) for line in text.splitlines() for w in windows)


def users_cmd(*args, password: str | None = None, db_path: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", "users", *args, "--db", db_path],
                          input=None if password is None else password + "\n", capture_output=True, text=True, timeout=120,
                          check=False)


class ScryptCalls:
    """Counts hashlib.scrypt calls (thread-safe), with the salt and cost of each: the password checks that ran."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple[bytes, int]] = []
        self.lock = threading.Lock()
        real = hashlib.scrypt

        def counting(password, *, salt, n, r, p, **kw):
            with self.lock:
                self.calls.append((bytes(salt), n))
            return real(password, salt=salt, n=n, r=r, p=p, **kw)

        monkeypatch.setattr(hashlib, "scrypt", counting)

    def reset(self):
        with self.lock:
            self.calls.clear()

    def with_salt(self, salt: bytes) -> int:
        return sum(1 for s, _ in self.calls if s == salt)


def salt_of(db_path: str, name: str) -> bytes:
    import base64

    stored = sqlite3.connect(db_path).execute("SELECT password_hash FROM users WHERE name = ?", [name]).fetchone()[0]
    return base64.b64decode(stored.split("$")[-2])


# ---------------------------------------------------------------- sites

@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    """The demo's posts (with page captures) and one user per role, served."""
    db_path = str(tmp_path_factory.mktemp("demo") / "m.db")
    demo = run_monitor("demo", "--db", db_path)
    assert demo.returncode == 0, demo.stderr
    with Database(db_path) as db:
        for name, role in (("ana", "admin"), ("rina", "reviewer"), ("vito", "viewer"), ("kiki", "reviewer"), ("dewi", "reviewer")):
            add_user(db, name, role, PASSWORD)
    with served(db_path) as url:
        yield url, db_path


@pytest.fixture(scope="module")
def accounts_site(tmp_path_factory):
    """An empty database with users, served with 8 threads (parallel logins)."""
    db_path = str(tmp_path_factory.mktemp("accounts") / "m.db")
    with Database(db_path) as db:
        for name, role in (("ana", "admin"), ("rina", "reviewer"), ("race", "reviewer"), ("real", "reviewer"),
                           ("gone", "reviewer"), ("shut", "reviewer"), ("sess", "reviewer"), ("role", "admin")):
            add_user(db, name, role, PASSWORD)
    with served(db_path, threads=8) as url:
        yield url, db_path


# ---------------------------------------------------------------- item 1

def test_item01_evidence_page_masks_identity_numbers_and_reveal_is_audited(demo_site):
    url, db_path = demo_site
    con = sqlite3.connect(db_path)
    post_id, sha = con.execute("SELECT id, evidence_sha FROM posts WHERE text LIKE ?", [f"%{DEMO_NIK}%"]).fetchone()
    path = f"/posts/{post_id}/evidence/{sha}"
    viewer = Client(url)
    assert viewer.login("vito").status_code == 302
    page = viewer.get(path)
    assert page.status_code == 200 and 'class="post_body' in page_text(page.text), "the capture is shown, as text"
    assert DEMO_NIK not in page.text and not leaks(DEMO_NIK, page_text(page.text)), "a viewer reads the capture masked"
    assert "3171********0007" in page.text
    assert viewer.post(path, {"csrf_token": viewer.csrf()}).status_code == 403, "only an admin may reveal"

    admin = Client(url)
    assert admin.login("ana").status_code == 302
    assert DEMO_NIK not in admin.get(path).text, "masked for an admin too until asked"
    assert admin.post(path, {}).status_code == 400, "a reveal needs the CSRF token"
    revealed = admin.post(path, {"csrf_token": admin.csrf()})
    assert revealed.status_code == 200 and DEMO_NIK in page_text(revealed.text)
    audit = con.execute("SELECT user, action FROM audit WHERE target = ? AND action LIKE 'evidence.%' ORDER BY id",
                        [f"post:{post_id}"]).fetchall()
    assert ("ana", "evidence.reveal") in audit and ("vito", "evidence.read") in audit
    assert ("vito", "evidence.reveal") not in audit and audit.count(("ana", "evidence.reveal")) == 1


# ---------------------------------------------------------------- item 2 (the page's part)

def test_item02_every_field_on_queue_and_post_page_is_masked(tmp_path):
    db_path = str(tmp_path / "m.db")
    fields = {"title": nik(15), "author": nik(16), "url": nik(17), "post_id": nik(18), "image": nik(19),
              "board": nik(20), "text": nik(21), "old_title": nik(22), "linked_author": nik(23)}
    key = secret_key(db_path)
    detector = Detector()
    sale = "Jual data NIK + KK valid 5rb per nomor, minat japri WA 0812 3456 7890, contoh {}"
    post = {"source": "forum-x", "kind": "forum", "post_id": fields["post_id"], "url": f"http://forum.example/t/{fields['url']}",
            "thread_title": f"Data {fields['old_title']}", "author": fields["author"], "board": fields["board"],
            "images": [f"http://img.example/{fields['image']}.jpg"], "text": sale.format(fields["text"])}
    with Database(db_path) as db:
        ingest_post(db, detector, post, key)
        ingest_post(db, detector, {**post, "thread_title": f"Data {fields['title']}", "text": sale.format(fields["text"]) + " ready"}, key)
        ingest_post(db, detector, {"source": "forum-y", "kind": "forum", "post_id": "other", "url": "http://forum.example/t/2",
                                   "author": fields["linked_author"], "text": "Sedia data KTP, WA 0812 3456 7890"}, key)
        add_user(db, "rina", "reviewer", PASSWORD)
        add_user(db, "ana", "admin", PASSWORD)
        post_id = db.db.execute("SELECT id FROM posts WHERE source = 'forum-x'").fetchone()[0]
        assert db.post_versions(post_id), "the edit left a version"
    with served(db_path) as url:
        reviewer = Client(url)
        assert reviewer.login("rina").status_code == 302
        queue = reviewer.get("/queue?from=2000-01-01&source=forum-x")
        detail = reviewer.get(f"/posts/{post_id}")
        assert queue.status_code == 200 and detail.status_code == 200
        assert 'class="item sev-' in queue.text, "the post is in the queue"
        for name, page in (("queue", queue), ("post page", detail)):
            for field, number in fields.items():
                if field == "linked_author" and name == "queue":
                    continue  # the queue lists linked posts by source and identifier only
                assert number not in page.text, f"{field}'s NIK in the {name}'s HTML"
                assert not leaks(number, page_text(page.text)), f"{field}'s NIK in the {name}'s text"
        assert "3171********0001" in detail.text and "0812******90" in detail.text
        assert f"http://forum.example/t/{fields['url']}" not in detail.text, "no href that carries the number"
        admin = Client(url)
        assert admin.login("ana").status_code == 302
        revealed = admin.post(f"/posts/{post_id}", {"csrf_token": admin.csrf()})
        assert fields["title"] in revealed.text and fields["author"] in revealed.text, "an admin's reveal shows the fields"


# ---------------------------------------------------------------- item 8

HOSTILE_NEXT = ["/%09/evil.example/", "/%0a/x", "/%0d%0aSet-Cookie:%20a=1", "//evil.example/", "%2F%2Fevil.example",
                "/%5Cevil.example", "%5C%5Cevil.example", "https://evil.example/", "https:evil.example", "javascript:alert(1)",
                "/%252F%252Fevil.example", "/%2509/evil.example", "%09/evil.example", "/%E2%80%8B/evil.example", "/%C2%A0/x",
                "%20//evil.example"]


def test_item08_open_redirect_after_login_is_refused(accounts_site):
    url, _ = accounts_site
    host = urlsplit(url).netloc
    for value in HOSTILE_NEXT:
        client = Client(url)
        response = client.login("rina", path=f"/login?next={value}")
        assert response.status_code == 302, (value, response.status_code)
        location = urlsplit(response.headers["Location"])
        assert location.path == "/dashboard" and location.netloc in ("", host), (value, response.headers["Location"])
    for value, expected in (("%2Fposts%2F1%3Fx%3D1", "/posts/1?x=1"), ("%2Fqueue%3Fq%3Djual%2520data", "/queue?q=jual%20data")):
        response = Client(url).login("rina", path=f"/login?next={value}")
        assert response.status_code == 302 and response.headers["Location"].endswith(expected), (value, response.headers["Location"])


# ---------------------------------------------------------------- item 9

def test_item09_parallel_wrong_passwords_check_at_most_max_failures(accounts_site, monkeypatch):
    url, db_path = accounts_site
    scrypt = ScryptCalls(monkeypatch)
    clients = [Client(url) for _ in range(40)]
    tokens = [c.login_form() for c in clients]
    barrier = threading.Barrier(len(clients))
    codes: list[int] = []

    def attempt(client, token):
        barrier.wait()
        codes.append(client.post("/login", {"username": "race", "password": "wrong password!", "csrf_token": token}).status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(clients, tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [401] * 40
    checked = scrypt.with_salt(salt_of(db_path, "race"))
    assert 1 <= checked <= MAX_FAILURES, f"{checked} password checks ran for 40 parallel attempts"
    locked = sqlite3.connect(db_path).execute("SELECT locked_until FROM users WHERE name = 'race'").fetchone()[0]
    assert locked, "the account ends locked"
    assert Client(url).login("race").status_code == 401, "even the right password is refused while locked"


# ---------------------------------------------------------------- item 10

def test_item10_every_login_failure_does_the_same_work_and_says_the_same(accounts_site, monkeypatch):
    url, db_path = accounts_site
    with Database(db_path) as db:
        db.update_user("gone", disabled=1)
        db.update_user("shut", locked_until="2999-01-01T00:00:00+00:00")
    scrypt = ScryptCalls(monkeypatch)
    seen = {}
    for kind, name, password in (("unknown", "nobody", "wrong password!"), ("disabled", "gone", PASSWORD),
                                 ("locked", "shut", PASSWORD), ("wrong password", "real", "wrong password!")):
        client = Client(url)
        token = client.login_form()
        scrypt.reset()
        response = client.post("/login", {"username": name, "password": password, "csrf_token": token})
        message = re.search(r'<p class="error">(.*?)</p>', response.text, re.DOTALL)
        seen[kind] = (response.status_code, message and message.group(1), len(scrypt.calls), sorted({n for _, n in scrypt.calls}))
    assert all(v[2] == 1 for v in seen.values()), {k: v[2] for k, v in seen.items()}
    assert len({(v[0], v[1], tuple(v[3])) for v in seen.values()}) == 1, seen
    assert seen["unknown"][0] == 401 and seen["unknown"][1]


# ---------------------------------------------------------------- item 11

def _replay(url: str, cookies: dict) -> tuple[int, int]:
    """(GET /queue, POST a decision) with a copied cookie: 302 to login and 401 when the session is dead."""
    thief = Client(url)
    thief.http.cookies.update(cookies)
    return thief.get("/queue").status_code, thief.post("/flags/1/decide", {"action": "confirm"},
                                                       headers={"X-CSRF-Token": "x"}).status_code


def test_item11_copied_cookie_dies_at_logout_password_change_and_disable(accounts_site):
    url, db_path = accounts_site
    user = Client(url)
    assert user.login("sess").status_code == 302
    cookies = user.http.cookies.get_dict()
    assert _replay(url, cookies)[0] == 200, "the copy works while the session lives"
    assert user.post("/logout", {"csrf_token": user.csrf()}).status_code == 302
    assert _replay(url, cookies) == (302, 401), "logout ends the copied cookie too"

    assert user.login("sess").status_code == 302
    cookies = user.http.cookies.get_dict()
    changed = users_cmd("set-password", "sess", password="another long passphrase", db_path=db_path)
    assert changed.returncode == 0, changed.stderr
    assert _replay(url, cookies) == (302, 401), "a new password ends every session"

    assert user.login("sess", "another long passphrase").status_code == 302
    cookies = user.http.cookies.get_dict()
    assert users_cmd("disable", "sess", db_path=db_path).returncode == 0
    assert _replay(url, cookies) == (302, 401)
    assert users_cmd("disable", "sess", "--enable", db_path=db_path).returncode == 0
    assert _replay(url, cookies) == (302, 401), "enabling the account again does not revive old sessions"


def test_item11_role_change_ends_sessions(accounts_site):
    from monitor.web.accounts import set_role

    url, db_path = accounts_site
    user = Client(url)
    assert user.login("role").status_code == 302
    assert user.get("/users").status_code == 200
    with Database(db_path) as db:
        set_role(db, "role", "viewer", by="ana")
    assert user.get("/users").status_code == 302, "the admin session made before the change is gone"
    assert user.login("role").status_code == 302 and user.get("/users").status_code == 403


# ---------------------------------------------------------------- item 12

SEARCHES = ['"', '""', "\x00", "jual\x00data", "*", "AND", "NEAR(", "(jual", "jual)", '"jual', 'jual"', "OR OR", "-", "^", ":",
            "jual AND", "NOT jual", "{a b}", "col:jual", "a" * 500]


def test_item12_ordinary_input_never_gives_a_500(demo_site):
    url, _ = demo_site
    client = Client(url)
    assert client.login("rina").status_code == 302
    for q in SEARCHES:
        response = client.get("/queue", params={"from": "2000-01-01", "q": q})
        assert response.status_code in (200, 400), (q, response.status_code)
    empty = client.get("/queue", params={"from": "2000-01-01", "q": '"'})
    assert empty.status_code == 200 and 'id="search-note"' in empty.text, "a search with no words says so"
    quoted = client.get("/queue", params={"from": "2000-01-01", "q": 'jual"'})
    assert quoted.status_code == 200 and 'class="item sev-' in quoted.text, "a stray quote does not hide the results"
    for params, expected in (({"from": "0001-01-01"}, 200), ({"to": "9999-12-31"}, 200), ({"from": "9999-12-31"}, 200),
                             ({"from": "0001-01-01", "to": "9999-12-31"}, 200), ({"from": "2026-13-01"}, 400),
                             ({"to": "0001-01-01"}, 200), ({"from": "2026-02-30"}, 400), ({"from": "x\x00"}, 400)):
        response = client.get("/queue", params=params)
        assert response.status_code == expected, (params, response.status_code)
    assert 'class="item sev-' in client.get("/queue", params={"from": "0001-01-01", "to": "9999-12-31"}).text
    assert client.get("/queue", params={"page": "\u00b2"}).status_code == 200, "a superscript digit is not a page number"
    for path in ("/posts/99999999999999999999999", "/posts/99999999999999999999999/evidence/x"):
        assert client.get(path).status_code == 404, path  # past SQLite's integers: no such post
    assert client.post("/flags/99999999999999999999999/decide", {"action": "confirm", "csrf_token": client.csrf()}).status_code == 404


# ---------------------------------------------------------------- item 13

def _legacy_hash(password: str) -> str:
    """A hash as the previous release wrote it: scrypt$salt$digest at N=2**14."""
    import base64

    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_item13_old_format_hash_logs_in_and_is_rewritten_at_todays_cost(tmp_path, monkeypatch):
    db_path = str(tmp_path / "m.db")
    with Database(db_path) as db:
        add_user(db, "lama", "reviewer", PASSWORD)
        db.update_user("lama", password_hash=_legacy_hash(PASSWORD))
    monkeypatch.setenv("MONITOR_TEST_SCRYPT_N", str(2**15))  # "today's" cost differs from the legacy 2**14 in N too
    with served(db_path) as url:
        assert Client(url).login("lama").status_code == 302, "the old format still logs in"
        stored = sqlite3.connect(db_path).execute("SELECT password_hash FROM users WHERE name = 'lama'").fetchone()[0]
        assert stored.startswith("scrypt$32768$8$1$"), stored
        assert Client(url).login("lama").status_code == 302, "and the rewritten hash logs in"


def test_item13_default_cost_is_owasps(monkeypatch):
    from monitor.web import accounts

    monkeypatch.delenv("MONITOR_TEST_SCRYPT_N", raising=False)
    stored = accounts.hash_password("a long enough passphrase")
    assert stored.startswith("scrypt$131072$8$1$"), stored
    assert accounts.check_password("a long enough passphrase", stored)


def test_item13_one_password_limit_for_cli_and_login_form(tmp_path):
    db_path = str(tmp_path / "m.db")
    too_long = users_cmd("add", "panjang", "--role", "viewer", password="x" * 300, db_path=db_path)
    assert too_long.returncode == 1 and "at most 256 characters" in too_long.stderr, too_long.stderr
    longest = "k" * 256
    assert users_cmd("add", "pas", "--role", "viewer", password=longest, db_path=db_path).returncode == 0
    with served(db_path) as url:
        assert Client(url).login("pas", longest).status_code == 302, "the longest allowed password logs in, uncut"
        over = Client(url).login("pas", longest + "k")
        assert over.status_code == 401 and 'class="error"' in over.text, "a longer one fails like a wrong one"
    reason = sqlite3.connect(db_path).execute("SELECT after FROM audit WHERE action = 'login.failed' ORDER BY id DESC").fetchone()
    assert reason == ("password over 256 characters",)


# ---------------------------------------------------------------- item 14

SHARED = 10_000


def test_item14_linked_posts_are_capped_and_counted_through_an_index(tmp_path):
    db_path = str(tmp_path / "m.db")
    fp = "f" * 32
    with Database(db_path) as db:
        db.begin()
        for i in range(SHARED):
            post_id = db.db.execute(
                "INSERT INTO posts (source, post_key, kind, url, author, text, content_hash, version, first_seen, last_seen, "
                "updated_at, images) VALUES ('forum', ?, 'forum', ?, 'seller', 'Jual data, WA 0812 3456 7890', ?, 1, "
                "'2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', '[]')",
                [str(i), f"http://forum.example/t/{i}", f"h{i}"]).lastrowid
            db.db.execute("INSERT INTO identifiers (post_id, kind, fingerprint, masked) VALUES (?, 'phone', ?, '0812******90')",
                          [post_id, fp])
        db.commit()
        last = post_id
        steps = [0]

        def tick():
            steps[0] += 1
            return 0

        db.db.conn.set_progress_handler(tick, 100)
        rows = db.linked_posts(last, limit=5)
        db.db.conn.set_progress_handler(None, 100)
        assert [r["post_id"] for r in rows] == [last - 1, last - 2, last - 3, last - 4, last - 5]
        assert steps[0] * 100 < 20_000, f"about {steps[0] * 100} SQLite VM steps to link one post: it reads every sharer"

        from monitor.store.review_queries import LINKED_RECENT

        plan = " ".join(r[-1] for r in db.db.execute(f"EXPLAIN QUERY PLAN {LINKED_RECENT}", [fp, last, 5]).fetchall())
        assert "USING COVERING INDEX" in plan and "TEMP B-TREE" not in plan, plan
        linked = db.linked(last, limit=5)
        assert linked["identifiers"] == [{"kind": "phone", "masked": "0812******90", "others": SHARED - 1}]
        db.save_identifiers(last - 1, [])  # the count follows deletions too
        assert db.linked(last, limit=5)["identifiers"][0]["others"] == SHARED - 2
        db.db.execute("INSERT INTO flags (post_id, label, score, severity, categories, reasons, matches, context, identifiers, "
                      "lang, status, active, created_at, updated_at) VALUES (?, 'sale', 0.9, 'high', '[\"other_pii\"]', '[]', '[]', "
                      "'[]', '[]', 'id', 'new', 1, '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')", [last])
        add_user(db, "rina", "reviewer", PASSWORD)
    with served(db_path) as url:
        client = Client(url)
        assert client.login("rina").status_code == 302
        queue = client.get("/queue?from=2000-01-01")
        assert queue.status_code == 200 and f'<span class="others">{SHARED - 2}</span>' in queue.text


# ---------------------------------------------------------------- item 21

def _stats_json(db_path: str) -> list[dict]:
    run = run_monitor("rules", "stats", "--db", db_path, "--format", "json")
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_item21_rule_stats_count_posts_and_keep_escalations_apart(tmp_path):
    db_path = str(tmp_path / "m.db")
    with Database(db_path) as db:
        add_user(db, "rina", "reviewer", PASSWORD)
        match = {"rule_id": "sale.jual", "label": "sale", "category": None, "start": 0, "end": 4, "text": "jual",
                 "neutralised_by": None}
        flags = []
        for i in range(3):
            post = db.upsert_post({"source": "forum", "post_id": str(i), "url": f"http://forum.example/{i}", "text": f"jual jual {i}"})
            db.save_flag(post.id, {"label": "sale", "score": 0.9, "severity": "high", "categories": ["other_pii"], "reasons": [],
                                   "matches": [match, {**match, "start": 5, "end": 9}, {**match, "rule_id": "data.nik"}],
                                   "context": [], "identifiers": [], "lang": "id"})
            flags.append(db.flag_of_post(post.id)["id"])
    empty = run_monitor("rules", "stats", "--db", db_path)
    assert empty.returncode == 0 and "no decisions" in empty.stdout, empty.stdout
    assert _stats_json(db_path) == []
    with served(db_path) as url:
        client = Client(url)
        assert client.login("rina").status_code == 302
        assert 'id="no-decisions"' in client.get("/rules/stats").text
        with Database(db_path) as db:
            rina = db.user("rina")
            decide(db, flags[0], "confirm", rina)
            decide(db, flags[1], "escalate", rina)
            decide(db, flags[2], "dismiss", rina, reason="news_report")
        page = client.get("/rules/stats").text
    rows = {r["rule_id"]: r for r in _stats_json(db_path)}
    assert rows["sale.jual"] == {"rule_id": "sale.jual", "decided": 3, "confirmed": 1, "dismissed": 1, "escalated": 1,
                                 "precision": 0.5}
    assert rows["data.nik"]["decided"] == 3
    table = run_monitor("rules", "stats", "--db", db_path).stdout
    assert table.split("\n")[0].split() == ["rule_id", "decided", "confirmed", "dismissed", "escalated", "precision"]
    row = re.search(r"<tr><td>sale\.jual</td>.*?</tr>", page)
    assert row and re.findall(r"<td>([^<]*)</td>", row.group(0)) == ["sale.jual", "3", "1", "1", "1", "0.5"], page
    assert "<th>escalated</th>" in page or "<th>dieskalasi</th>" in page


# ---------------------------------------------------------------- item 22

def test_item22_expired_session_during_keyboard_triage_sends_to_login_and_back(demo_site, browser):
    from playwright.sync_api import expect

    url, db_path = demo_site
    context, page = login(browser, url, "kiki")
    page.goto(f"{url}/queue?from=2000-01-01")
    first = page.locator("#queue .item").first
    flag_id = int(first.get_attribute("data-flag"))
    before = sqlite3.connect(db_path).execute("SELECT status FROM flags WHERE id = ?", [flag_id]).fetchone()[0]
    context.clear_cookies()  # the session is gone (expired, or ended server-side)
    page.keyboard.press("c")
    notice = page.locator("#notice")
    expect(notice).to_be_visible()
    assert "log in" in notice.inner_text().lower() or "masuk" in notice.inner_text().lower()
    page.wait_for_url(re.compile(r".*/login\?.*"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["next"] == ["/queue?from=2000-01-01"], page.url
    expect(page.locator("#expired")).to_be_visible()
    assert sqlite3.connect(db_path).execute("SELECT status FROM flags WHERE id = ?", [flag_id]).fetchone()[0] == before
    page.fill('input[name="username"]', "kiki")
    page.fill('input[name="password"]', PASSWORD)
    page.click("form.login button")
    page.wait_for_url(re.compile(r".*/queue\?from=2000-01-01$"))
    context.close()


# ---------------------------------------------------------------- item 23

def test_item23_d_asks_for_a_reason_instead_of_preselecting_one(demo_site, browser):
    from playwright.sync_api import expect

    url, db_path = demo_site
    con = sqlite3.connect(db_path)
    context, page = login(browser, url, "dewi")
    page.goto(f"{url}/queue?from=2000-01-01&status=new")
    item = page.locator("#queue .item").first
    flag_id = int(item.get_attribute("data-flag"))
    reasons = item.locator('select[name="reason"]')
    assert reasons.input_value() == "", "no reason is chosen for the reviewer"
    page.keyboard.press("d")
    expect(reasons).to_be_focused()
    expect(page.locator("#notice")).to_be_visible()
    page.wait_for_timeout(500)
    assert con.execute("SELECT status FROM flags WHERE id = ?", [flag_id]).fetchone() == ("new",), "nothing sent yet"
    reasons.select_option("not_a_sale")
    page.keyboard.press("Enter")
    expect(item).to_have_class(re.compile(r"\bdecided\b"))
    assert con.execute("SELECT status FROM flags WHERE id = ?", [flag_id]).fetchone() == ("dismissed",)
    assert con.execute("SELECT reason FROM review_events WHERE flag_id = ? ORDER BY id DESC", [flag_id]).fetchone() == ("not_a_sale",)
    token = page.get_attribute('meta[name="csrf-token"]', "content")
    other = int(page.locator("#queue .item").nth(1).get_attribute("data-flag"))
    refused = context.request.post(f"{url}/flags/{other}/decide", form={"action": "dismiss", "csrf_token": token},
                                   headers={"Accept": "application/json"})
    assert refused.status == 400 and "reason" in refused.json()["error"], "the server refuses a dismissal without a reason"
    context.close()


# ---------------------------------------------------------------- item 24

def test_item24_browser_tests_leave_the_tracked_screenshot_alone():
    """Run the review page's screenshot test (of the code under test) and check docs/ did not change."""
    import monitor

    root = Path(monitor.__file__).resolve().parents[1]
    picture = root / "docs" / "review-queue.png"
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed")

    def status() -> str:
        return subprocess.run(["git", "status", "--porcelain", "docs/"], cwd=root, capture_output=True, text=True, check=False).stdout

    before, before_status = picture.read_bytes() if picture.exists() else None, status()
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_REFRESH_SCREENSHOT"}
    try:
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "keyboard_triage",
                              str(root / "tests" / "test_web.py")], cwd=root, env=env, capture_output=True, text=True, timeout=600,
                             check=False)
        assert run.returncode == 0, run.stdout[-3000:]
        after = picture.read_bytes() if picture.exists() else None
        assert after == before, "the browser test rewrote docs/review-queue.png"
        assert status() == before_status
    finally:
        if before is not None and picture.read_bytes() != before:
            picture.write_bytes(before)  # leave the checkout as it was, even on the old code
