"""The review page in a real browser (Debian's Chromium driven by Playwright), and its guards."""

import json
import sqlite3
import urllib.error
import urllib.request

import pytest
from conftest import run_monitor
from webfixtures import PASSWORD, login, screenshot_path, served

from monitor.web.accounts import add_user
from monitor.store import Database
from monitor.ingest import ingest_post
from monitor.store.keys import secret_key
from rules import Detector

HOSTILE = (
    "Jual data NIK + KK valid 5rb per nomor, minat japri telegram @xss_seller_demo "
    '<script>alert("script")</script> <img src=x onerror="alert(\'img\')"> '
    '<a href="javascript:alert(\'link\')">klik</a> <style>body{background:url(http://127.0.0.2:9/css)}</style> '
    '<img src="http://127.0.0.2:9/pixel.png"> <iframe src="http://127.0.0.2:9/frame"></iframe>'
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    db_path = str(folder / "m.db")
    demo = run_monitor("demo", "--db", db_path)
    assert demo.returncode == 0, demo.stderr
    with Database(db_path) as db:
        ingest_post(db, Detector(), {"source": "hostile", "kind": "import", "post_id": "x1", "url": "javascript:alert('url')",
                                     "text": HOSTILE, "thread_title": "<b>title</b>"}, secret_key(db_path))
        for name, role in (("ana", "admin"), ("rina", "reviewer"), ("vito", "viewer")):
            add_user(db, name, role, PASSWORD)
    with served(db_path) as url:
        yield url, db_path


def statuses(db_path):
    con = sqlite3.connect(db_path)
    return dict(con.execute("SELECT id, status FROM flags").fetchall())


def test_every_route_refuses_anonymous_requests(site):
    url, db_path = site
    from monitor.web import create_app as make

    rules = [r for r in make(db_path).url_map.iter_rules() if r.endpoint not in ("static", "login")]
    assert len(rules) >= 10
    for rule in rules:
        path = rule.rule.replace("<int:flag_id>", "1").replace("<int:post_id>", "1")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            request = urllib.request.Request(url + path, method=method, data=b"" if method == "POST" else None)
            opener = urllib.request.build_opener(NoRedirect)
            try:
                response = opener.open(request)
                code, location = response.status, response.headers.get("Location", "")
            except urllib.error.HTTPError as exc:
                code, location = exc.code, exc.headers.get("Location", "")
            if method == "GET":
                assert code == 302 and "/login" in location, (path, code)
            else:
                assert code == 401, (path, method, code)


def test_pages_name_their_own_icon(site, browser):
    """Without one, Chromium asks for /favicon.ico, which is no page here: a 404 and a console error on
    every page (what made a browser test fail now and then when the request beat the test's end)."""
    url, _ = site
    with urllib.request.urlopen(f"{url}/login") as response:
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in response.read().decode()
    with urllib.request.urlopen(f"{url}/static/favicon.svg") as icon:  # before login too: the login page shows it
        assert icon.status == 200 and icon.headers["Content-Type"].startswith("image/svg+xml")
        assert icon.read().startswith(b"<svg")
    context = browser.new_context()
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.goto(f"{url}/login")
    page.fill('input[name="username"]', "rina")
    page.fill('input[name="password"]', PASSWORD)
    page.click("form.login button")
    page.wait_for_url(f"{url}/dashboard")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)  # the icon is fetched after the load; give a missing one time to fail
    context.close()
    assert not [m for m in console if m.startswith("error")], console


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_keyboard_triage_filter_search_and_screenshot(site, browser, tmp_path):
    """Keyboard triage; the screenshot goes to tmp_path (`bash scripts/screenshot` refreshes the README's)."""
    url, db_path = site
    context, page = login(browser, url, "rina")
    page.goto(f"{url}/queue?from=2000-01-01")
    assert "j/k" in page.inner_text("#legend")
    items = page.locator("#queue .item")
    assert items.count() >= 9
    ids = [int(items.nth(i).get_attribute("data-flag")) for i in range(3)]
    screenshot = screenshot_path(tmp_path)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 10_000
    for key in ("c", "e", "d"):
        page.keyboard.press(key)
        page.wait_for_timeout(300)
    # `d` asks for a reason (none is preselected); Enter on the chosen one sends the dismissal
    page.wait_for_selector(f'#queue .item[data-flag="{ids[2]}"] select[name="reason"]:focus')
    page.select_option(f'#queue .item[data-flag="{ids[2]}"] select[name="reason"]', "news_report")
    page.keyboard.press("Enter")
    from playwright.sync_api import expect

    expect(page.locator("#queue .item.decided")).to_have_count(3)  # (a string wait_for_function needs eval: CSP)
    now = statuses(db_path)
    assert [now[i] for i in ids] == ["confirmed", "escalated", "dismissed"]
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT reason FROM review_events WHERE flag_id = ?", [ids[2]]).fetchone() == ("news_report",)
    assert con.execute("SELECT count(*) FROM audit WHERE user = 'rina' AND action LIKE 'review.%'").fetchone()[0] == 3
    page.select_option('select[name="severity"]', "critical")
    page.click("#filters button")
    severities = page.locator("#queue .item .severity").all_inner_texts()
    assert severities and set(s.lower() for s in severities) == {"kritis"}  # shown in the reader's language (Indonesian)
    page.fill("#search", "combolist")
    page.select_option('select[name="severity"]', "")
    page.click("#filters button")
    texts = page.locator("#queue .item pre.text").all_inner_texts()
    assert texts and all("combolist" in t.lower() for t in texts)
    assert "Tombol" in page.inner_text("#legend")  # Bahasa Indonesia by default
    reasons = " ".join(page.locator("#queue .item ul.reasons").all_inner_texts())
    assert "data yang ditawarkan: " in reasons and "data on offer" not in reasons
    page.click('button[name="lang"][value="en"]')
    assert page.inner_text("#legend").startswith("Keys: j/k move")
    reasons = " ".join(page.locator("#queue .item ul.reasons").all_inner_texts())
    assert "data on offer: " in reasons and "data yang ditawarkan" not in reasons  # the reasons follow the switch
    assert sqlite3.connect(db_path).execute("SELECT lang FROM users WHERE name = 'rina'").fetchone() == ("en",)
    context.close()


def test_hostile_post_renders_inert(site, browser):
    url, db_path = site
    context, page = login(browser, url, "rina")
    dialogs, outside = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)
    page.goto(f"{url}/queue?from=2000-01-01&source=hostile")
    text = page.inner_text("#queue .item pre.text")
    assert '<script>alert("script")</script>' in text, "the payload is shown as text"
    assert page.locator("#queue .item pre.text script, #queue .item pre.text img, #queue .item pre.text iframe").count() == 0
    assert page.locator("#queue .item .url a").count() == 1  # only the "details" link: javascript: URLs are not links
    page.goto(f"{url}/posts/{sqlite3.connect(db_path).execute('SELECT id FROM posts WHERE source = ?', ['hostile']).fetchone()[0]}")
    page.wait_for_timeout(500)
    assert dialogs == [] and outside == []
    context.close()


def test_csrf_roles_and_reveal(site, browser):
    url, db_path = site
    flag_id, post_id = sqlite3.connect(db_path).execute(
        "SELECT f.id, f.post_id FROM flags f JOIN posts p ON p.id = f.post_id WHERE p.text LIKE '%3171014508920007%'").fetchone()
    reviewer, page = login(browser, url, "rina")
    assert reviewer.request.post(f"{url}/flags/{flag_id}/decide", form={"action": "confirm"}).status == 400, "no CSRF token"
    assert reviewer.request.get(f"{url}/users").status == 403
    token = page.get_attribute('meta[name="csrf-token"]', "content")
    assert reviewer.request.post(f"{url}/posts/{post_id}", form={"csrf_token": token}).status == 403, "reviewers cannot reveal"
    assert reviewer.request.get(f"{url}/audit").status == 403
    reviewer.close()
    viewer, page = login(browser, url, "vito")
    assert page.locator("#queue .actions").count() == 0
    token = page.get_attribute('meta[name="csrf-token"]', "content")
    assert viewer.request.post(f"{url}/flags/{flag_id}/decide", form={"action": "confirm", "csrf_token": token}).status == 403
    viewer.close()
    admin, page = login(browser, url, "ana")
    page.goto(f"{url}/posts/{post_id}")
    assert "3171014508920007" not in page.content() and "3171********0007" in page.content()
    page.click("#reveal")
    from playwright.sync_api import expect

    expect(page.locator("body")).to_contain_text("3171014508920007")  # waits for the POST's page, not the old one
    assert sqlite3.connect(db_path).execute(
        "SELECT count(*) FROM audit WHERE user = 'ana' AND action = 'identifiers.reveal' AND target = ?", [f"post:{post_id}"]).fetchone()[0] == 1
    page.goto(f"{url}/posts/{post_id}")
    page.click("#evidence-link")
    capture = page.inner_text("pre.capture")
    assert 'class="post_body' in capture, "the captured page, shown as text"
    assert page.locator("pre.capture div, pre.capture script").count() == 0
    csv_text = admin.request.get(f"{url}/audit.csv").text()
    assert "identifiers.reveal" in csv_text and "login" in csv_text and "evidence.read" in csv_text
    admin.close()


def test_lockout_after_repeated_failures(site, browser):
    url, db_path = site
    context = browser.new_context()
    page = context.new_page()
    for _ in range(5):
        page.goto(f"{url}/login")
        page.fill('input[name="username"]', "vito")
        page.fill('input[name="password"]', "wrong password!")
        page.click("form.login button")
    page.goto(f"{url}/login")
    page.fill('input[name="username"]', "vito")
    page.fill('input[name="password"]', PASSWORD)
    page.click("form.login button")
    assert "locked" in page.inner_text(".error").lower() or "dikunci" in page.inner_text(".error").lower()
    cookie = [c for c in context.cookies() if c["name"] == "monitor_session"][0]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    context.close()
    with Database(db_path) as db:
        db.update_user("vito", locked_until=None, failed_logins=0)


def test_review_cli_and_rule_stats(site):
    _, db_path = site
    flags = json.loads(run_monitor("flags", "--db", db_path, "--format", "json").stdout)
    target = next(f for f in flags if f["status"] == "new")
    denied = run_monitor("review", "confirm", str(target["id"]), "--as", "vito", "--db", db_path)
    assert denied.returncode == 1 and "only reviewers and admins decide" in denied.stderr
    done = run_monitor("review", "confirm", str(target["id"]), "--as", "rina", "--note", "aktif di 3 kanal", "--db", db_path)
    assert done.returncode == 0 and f"flag {target['id']}: confirmed" in done.stdout
    listed = json.loads(run_monitor("review", "list", str(target["id"]), "--db", db_path, "--format", "json").stdout)
    assert listed[-1]["action"] == "confirm" and listed[-1]["note"] == "aktif di 3 kanal"
    missing_reason = run_monitor("review", "dismiss", str(target["id"]), "--as", "rina", "--db", db_path)
    assert missing_reason.returncode == 1 and "needs a reason" in missing_reason.stderr
    stats = json.loads(run_monitor("rules", "stats", "--db", db_path, "--format", "json").stdout)
    assert stats and all({"rule_id", "confirmed", "dismissed", "precision"} <= set(r) for r in stats)


def test_users_cli(tmp_path):
    db_path = str(tmp_path / "m.db")
    import subprocess
    import sys

    add = subprocess.run([sys.executable, "-m", "monitor", "users", "add", "budi", "--role", "reviewer", "--db", db_path],
                         input="a long enough passphrase\n", capture_output=True, text=True)
    assert add.returncode == 0, add.stderr
    short = subprocess.run([sys.executable, "-m", "monitor", "users", "add", "cici", "--role", "viewer", "--db", db_path],
                           input="short\n", capture_output=True, text=True)
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    assert run_monitor("users", "disable", "budi", "--db", db_path).returncode == 0
    listed = json.loads(run_monitor("users", "list", "--db", db_path, "--format", "json").stdout)
    assert listed == [{**listed[0], "name": "budi", "role": "reviewer", "disabled": 1}]
    con = sqlite3.connect(db_path)
    assert [r[0] for r in con.execute("SELECT action FROM audit ORDER BY id")] == ["user.add", "user.disable"]
    assert "passphrase" not in str(con.execute("SELECT password_hash FROM users").fetchall())
