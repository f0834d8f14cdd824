"""Form login for forums that hide boards from visitors, and the state kept between runs.

Credentials come from environment variables named in the source's
configuration, never from the configuration itself. Session cookies are
saved in the source's state folder when a crawl ends and loaded when the
next one starts, so a daily crawl does not log in every day. A page that
shows the logged-out marker triggers one login and a retry; a second
logged-out page ends the crawl with a reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import scrapy
from scrapy.downloadermiddlewares.cookies import CookiesMiddleware
from scrapy.exceptions import CloseSpider

LOGIN_KEYS = {"url", "username_env", "password_env", "username_field", "password_field", "logged_out", "login_form"}


class StateDir:
    """The files a source keeps between runs: cookies and the threads already read."""

    def __init__(self, path: str):
        self.path = Path(path)

    def read_json(self, name: str, default):
        try:
            return json.loads((self.path / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return default

    def write_json(self, name: str, value) -> None:
        """Write `name` for the owner only (0600 in a 0700 folder): cookies are a logged-in forum session."""
        missing = [p for p in (self.path, *self.path.parents) if not p.is_dir()]
        for folder in reversed(missing):  # each new folder 0700, not only the last (mkdir -p ignores the mode)
            folder.mkdir(mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        tmp = self.path / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)  # whatever the umask, and if an older file was left behind
            fh.write(json.dumps(value))
        tmp.replace(self.path / name)


class LoginMixin:
    """For spiders with `self.login` (dict or None), `self.state` (StateDir or None) and `self.preset`."""

    login: dict | None
    state: StateDir | None
    logins = 0
    login_gen = 0  # bumped by every login; requests carry the generation they were sent in
    login_pending = False
    pending: list | None = None
    pages_since_login = 0
    MAX_LOGINS = 5  # per run: a session that keeps expiring is a problem to report, not to loop on

    def saved_cookies(self) -> list[dict]:
        return self.state.read_json("cookies.json", []) if (self.login and self.state) else []

    def logged_out(self, response) -> bool:
        if not self.login or not hasattr(response, "css"):
            return False
        marker = self.login.get("logged_out") or self.preset.get("session", {}).get("logged_out")
        if marker and response.css(marker):
            return True
        self.pages_since_login += 1
        return False

    def fail_login(self, reason: str):
        self.crawler.stats.set_value("monitor/login_failed", 1)
        self.crawler.stats.set_value("monitor/close_reason", f"login failed: {reason}")
        raise CloseSpider(f"login failed: {reason}")

    def relogin(self, response):
        """Log in and retry `response`'s request; logged out again straight after a login ends the crawl.

        Concurrent requests that come back logged out while a login is under
        way wait for it; those sent before the last login are simply retried.
        """
        retry = response.request.replace(dont_filter=True)
        if response.meta.get("login_gen", 0) < self.login_gen:
            yield self._renewed(retry)
            return
        if self.login_pending:
            self.pending.append(retry)
            return
        if self.logins and not self.pages_since_login:
            self.fail_login("pages still show the logged-out marker after logging in")
        if self.logins >= self.MAX_LOGINS:
            self.fail_login(f"the session expired {self.logins} times in one run")
        self._credentials()  # fail now, with the variable's name, if one is missing
        self.login_pending, self.pending = True, [retry]
        self.logger.info("logged out at %s: logging in at %s", response.url, self.login["url"])
        yield scrapy.Request(self.login["url"], callback=self._submit_login, dont_filter=True, meta=self.request_meta())

    def _renewed(self, request):
        request.meta["login_gen"] = self.login_gen
        return request

    def _credentials(self) -> tuple[str, str]:
        values = []
        for key in ("username_env", "password_env"):
            name = self.login.get(key, "")
            if not os.environ.get(name):
                self.fail_login(f"environment variable {name or key!r} is not set")
            values.append(os.environ[name])
        return values[0], values[1]

    def _submit_login(self, response):
        form = self.login.get("login_form") or self.preset.get("session", {}).get("login_form")
        user, password = self._credentials()
        formdata = {self.login.get("username_field", "username"): user,
                    self.login.get("password_field", "password"): password}
        try:
            request = scrapy.FormRequest.from_response(response, formcss=form or None, formdata=formdata,
                                                       callback=self._after_login, dont_filter=True)
        except ValueError:
            self.fail_login(f"no login form at {response.url}")
        request.meta.update(self.request_meta())
        yield request

    def _after_login(self, response):
        marker = self.login.get("logged_out") or self.preset.get("session", {}).get("logged_out")
        form = self.login.get("login_form") or self.preset.get("session", {}).get("login_form")
        if (marker and response.css(marker)) or (form and response.css(form)):
            self.fail_login("the site still shows the logged-out marker (wrong credentials?)")
        self.logins += 1
        self.login_gen += 1
        self.pages_since_login = 0
        self.login_pending = False
        self.logger.info("logged in")
        for request in self.pending:
            yield self._renewed(request)
        self.pending = []

    def request_meta(self) -> dict:
        return {"login_gen": self.login_gen}

    def save_cookies(self) -> None:
        if not (self.login and self.state):
            return
        for mw in self.crawler.engine.downloader.middleware.middlewares:
            if isinstance(mw, CookiesMiddleware):
                cookies = [{"name": c.name, "value": c.value, "domain": c.domain, "path": c.path}
                           for jar in mw.jars.values() for c in jar.jar]
                self.state.write_json("cookies.json", cookies)
