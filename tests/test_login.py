"""Forum login: credentials from the environment, cookies kept between runs, logged-out pages handled."""

import json
import secrets
import sqlite3
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from conftest import run_monitor
from sitesrv import SiteServer, send

from monitor.demo import DemoSite

LOGIN_FORM = (b'<html><body><div id="content"><form action="member.php" method="post" id="login_form">'
              b'<input type="hidden" name="action" value="do_login" /><input type="hidden" name="my_post_key" value="k1" />'
              b'<input type="text" name="username" /><input type="password" name="password" />'
              b'<input type="submit" value="Login" /></form></div></body></html>')
LOGGED_OUT = (b'<html><body><div id="panel"><span class="welcome">Hello There, Guest! '
              b'<a href="member.php?action=login">Login</a></span></div>'
              b'<form id="quick_login" method="post" action="member.php"><input name="username" /></form>'
              b'<p>You are either not logged in or do not have permission to view this page.</p></body></html>')


class MembersOnlyForum:
    """The demo forum behind a MyBB-style login; sessions can be expired to test re-login."""

    def __init__(self, password="rahasia"):
        self.site = DemoSite()
        self.password = password
        self.sessions: set[str] = set()
        self.logins = 0
        self.expire_after = None  # expire every session after this many pages
        self.pages = 0

    def __call__(self, h):
        parts = urlsplit(h.path)
        if parts.path == "/forum/member.php":
            if h.command == "POST":
                length = int(h.headers.get("Content-Length") or 0)
                form = parse_qs(h.rfile.read(length).decode())
                if form.get("username") == ["analyst"] and form.get("password") == [self.password]:
                    self.logins += 1
                    sid = secrets.token_hex(8)
                    self.sessions.add(sid)
                    return send(h, 200, b"<html><body>Thank you for logging in.</body></html>",
                                headers={"Set-Cookie": f"mybbuser={sid}; path=/; HttpOnly"})
                return send(h, 200, b"<html><body><div class='error'>Invalid username or password.</div>" + LOGIN_FORM[12:])
            return send(h, 200, LOGIN_FORM)
        cookie = SimpleCookie(h.headers.get("Cookie") or "")
        sid = cookie["mybbuser"].value if "mybbuser" in cookie else None
        if sid not in self.sessions:
            return send(h, 200, LOGGED_OUT)
        self.pages += 1
        if self.expire_after and self.pages == self.expire_after:
            self.sessions.clear()
        status, ctype, body = self.site.render(parts.path, parts.query)
        send(h, status, body, ctype)


def crawl(tmp_path, srv, env, extra=""):
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[sources.members]\nkind = "forum"\nengine = "mybb"\nbase_url = "{srv.url}/forum/"\n{extra}'
        f'[sources.members.login]\nurl = "{srv.url}/forum/member.php?action=login"\n'
        'username_env = "FORUM_USER"\npassword_env = "FORUM_PASS"\n', encoding="utf-8")
    db_path = tmp_path / "m.db"
    result = run_monitor("crawl", "members", "--config", str(config), "--db", str(db_path), env=env)
    return result, sqlite3.connect(db_path)


ENV = {"FORUM_USER": "analyst", "FORUM_PASS": "rahasia"}


def forum_posts(forum: MembersOnlyForum) -> int:
    return sum(len(t["posts"]) for t in forum.site.threads.values())


def test_login_then_cookies_are_reused(tmp_path):
    forum = MembersOnlyForum()
    with SiteServer() as srv:
        srv.fallback = forum
        first, con = crawl(tmp_path, srv, ENV)
        assert first.returncode == 0, first.stderr
        assert forum.logins == 1
        assert con.execute("SELECT count(*) FROM posts").fetchone()[0] == forum_posts(forum)
        cookies = json.loads((tmp_path / "state" / "members" / "cookies.json").read_text())
        assert [c["name"] for c in cookies] == ["mybbuser"]
        second, con = crawl(tmp_path, srv, ENV)
    assert second.returncode == 0, second.stderr
    assert forum.logins == 1, "the saved session cookie was used; no second login"
    assert "rahasia" not in (tmp_path / "sources.toml").read_text(), "the password lives in the environment only"


def test_expired_session_logs_in_again_once(tmp_path):
    forum = MembersOnlyForum()
    forum.expire_after = 4
    with SiteServer() as srv:
        srv.fallback = forum
        result, con = crawl(tmp_path, srv, ENV)
    assert result.returncode == 0, result.stderr
    assert forum.logins == 2
    assert con.execute("SELECT count(*) FROM posts").fetchone()[0] == forum_posts(forum)


def test_wrong_password_fails_the_run_with_a_reason(tmp_path):
    with SiteServer() as srv:
        srv.fallback = MembersOnlyForum(password="something-else")
        result, con = crawl(tmp_path, srv, ENV)
    assert result.returncode == 1
    status, reason = con.execute("SELECT status, reason FROM crawl_runs").fetchone()
    assert status == "failed" and reason.startswith("login failed: the site still shows the logged-out marker")


def test_missing_environment_variable_is_named(tmp_path):
    with SiteServer() as srv:
        srv.fallback = MembersOnlyForum()
        result, con = crawl(tmp_path, srv, {"FORUM_USER": "analyst"})
    assert result.returncode == 1
    reason = con.execute("SELECT reason FROM crawl_runs").fetchone()[0]
    assert reason == "login failed: environment variable 'FORUM_PASS' is not set"
