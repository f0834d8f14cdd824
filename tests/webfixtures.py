"""Shared set-up for the review-page tests: a served app on 127.0.0.1, Chromium, logins, screenshots.

Importing this module lowers the scrypt cost of NEW password hashes for the test process and
the `monitor` subprocesses it starts (MONITOR_TEST_SCRYPT_N, see monitor/web/accounts.py): at
the production cost (N=2**17, 128 MiB) dozens of logins and parallel-login tests would be slow
and memory-hungry. Tests that are about the cost set it themselves.

Screenshots go to the test's tmp_path. `MONITOR_REFRESH_SCREENSHOT=1` (what `bash
scripts/screenshot` sets) makes the queue test write the README's picture, docs/review-queue.png,
instead: the only way a test run touches the repository.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from pathlib import Path

import pytest

os.environ.setdefault("MONITOR_TEST_SCRYPT_N", str(2**14))

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
SCREENSHOT = ROOT / "docs" / "review-queue.png"
REFRESH_ENV = "MONITOR_REFRESH_SCREENSHOT"


def screenshot_path(tmp_path: Path, name: str = "review-queue.png") -> Path:
    """Where a browser test saves its screenshot: tmp_path, or the README's picture when asked to refresh it."""
    if os.environ.get(REFRESH_ENV) == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        return SCREENSHOT.parent / name
    return Path(tmp_path) / name


@contextlib.contextmanager
def served(db_path: str, threads: int = 4, zone: str = "Asia/Jakarta"):
    """The real review page (waitress) over `db_path` on 127.0.0.1 and a free port; yields its base URL."""
    from waitress import create_server

    from monitor.web import create_app

    server = create_server(create_app(db_path, zone=zone), host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop(server, thread)


def stop(server, thread) -> None:
    """Stop a waitress server run in `thread`, leaving nothing that writes to a closed descriptor.

    `server.close()` from another thread closes the wake-up pipe under the running loop; a worker
    finishing later still writes b"x" to that descriptor number, which by then may be the stdout
    pipe of a `monitor` subprocess a later test started (its JSON then begins with "x"). So: stop
    the workers, then close every socket from inside the loop, which then ends by itself.
    """
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=10)

    def close_all():
        for dispatcher in list(server._map.values()):
            dispatcher.close()

    try:
        server.trigger.pull_trigger(close_all)
    except OSError:
        # EBADF: the wake-up pipe was already closed (seen once under pytest-xdist, cause not found):
        # nothing left to wake, and no worker left to write to it, so close the rest from here.
        close_all()
    thread.join(timeout=10)


def launch_browser():
    """Debian's Chromium under Playwright (a generator for a fixture); skips when it is not installed."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: scripts/test installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def login(browser, url: str, name: str, password: str = PASSWORD):
    """A new browser context logged in as `name`; returns (context, page) on the queue."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill('input[name="username"]', name)
    page.fill('input[name="password"]', password)
    page.click("form.login button")
    page.wait_for_url(f"{url}/dashboard")  # the page after login
    page.goto(f"{url}/queue")
    return context, page


class Client:
    """An HTTP client with its own cookie jar against a served app (requests, redirects not followed)."""

    def __init__(self, url: str):
        import requests

        self.url = url
        self.http = requests.Session()

    def get(self, path: str, **kw):
        return self.http.get(self.url + path, allow_redirects=False, timeout=60, **kw)

    def post(self, path: str, data=None, **kw):
        return self.http.post(self.url + path, data=data, allow_redirects=False, timeout=120, **kw)

    def login_form(self, path: str = "/login") -> str:
        """GET the login page; returns its CSRF token."""
        page = self.get(path)
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def login(self, name: str, password: str = PASSWORD, path: str = "/login"):
        token = self.login_form(path)
        return self.post(path, {"username": name, "password": password, "csrf_token": token})

    def csrf(self) -> str:
        """The session's CSRF token, read from a page."""
        return re.search(r'name="csrf-token" content="([^"]*)"', self.get("/rules/stats").text).group(1)
