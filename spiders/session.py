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
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(json.dumps(value), encoding="utf-8")
        tmp.replace(self.path / name)


class LoginMixin:
    """For spiders with `self.login` (dict or None), `self.state` (StateDir or None) and `self.preset`."""

    login: dict | None
    state: StateDir | None
    login_attempts = 0

    def saved_cookies(self) -> list[dict]:
        return self.state.read_json("cookies.json", []) if (self.login and self.state) else []

    def logged_out(self, response) -> bool:
        if not self.login or not hasattr(response, "css"):
            return False
        marker = self.login.get("logged_out") or self.preset.get("session", {}).get("logged_out")
        return bool(marker and response.css(marker))

    def relogin(self, response):
        """Log in once and retry `response`'s request; a second time ends the crawl."""
        if self.login_attempts >= 1:
            self.crawler.stats.set_value("monitor/login_failed", 1)
            raise CloseSpider("login failed: pages still show the logged-out marker after logging in")
        self.login_attempts += 1
        self._credentials()  # fail now, with the variable's name, if one is missing
        retry = response.request.replace(dont_filter=True)
        self.logger.info("logged out at %s: logging in at %s", response.url, self.login["url"])
        yield scrapy.Request(self.login["url"], callback=self._submit_login, dont_filter=True,
                             meta={"retry": retry, **self.request_meta()})

    def _credentials(self) -> tuple[str, str]:
        values = []
        for key in ("username_env", "password_env"):
            name = self.login.get(key, "")
            if not os.environ.get(name):
                self.crawler.stats.set_value("monitor/login_failed", 1)
                raise CloseSpider(f"login failed: environment variable {name or key!r} is not set")
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
            self.crawler.stats.set_value("monitor/login_failed", 1)
            raise CloseSpider(f"login failed: no login form at {response.url}") from None
        request.meta.update({"retry": response.meta["retry"], **self.request_meta()})
        yield request

    def _after_login(self, response):
        if self.logged_out(response):
            self.crawler.stats.set_value("monitor/login_failed", 1)
            raise CloseSpider("login failed: the site still shows the logged-out marker (wrong credentials?)")
        self.logger.info("logged in")
        yield response.meta["retry"]

    def request_meta(self) -> dict:
        return {}

    def save_cookies(self) -> None:
        if not (self.login and self.state):
            return
        for mw in self.crawler.engine.downloader.middleware.middlewares:
            if isinstance(mw, CookiesMiddleware):
                cookies = [{"name": c.name, "value": c.value, "domain": c.domain, "path": c.path}
                           for jar in mw.jars.values() for c in jar.jar]
                self.state.write_json("cookies.json", cookies)
