"""The review page: a Flask application served by waitress, bound to 127.0.0.1 by default.

Everything shown comes from hostile posts, so templates escape everything
(Jinja autoescape), the Content-Security-Policy allows only this site's own
scripts and styles (no inline code, images only from this site, no outside
connections), post images are shown only as copies the monitor re-encoded
and serves itself (blurred by default; sharp only after an audited request:
see image_views), never loaded from where the post pointed, and captured
pages are shown as escaped text. Every route but /login and /static needs a session;
a session is refused once its user's `session_epoch` moved on (logout,
new password, role change, disabled: see accounts); every form carries a
CSRF token. Identity numbers are masked in every field a person sees
(text, title, author, board, URL, ids, images, captured pages, linked
posts) unless an admin asks, and that request is audited.

Requests that ask for JSON (the queue's keyboard triage) get their errors as
JSON too, and a 401 with a `login` URL, so the script can say what happened
and send the reviewer to log in instead of failing silently.
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import Flask, abort, g, jsonify, redirect, request, session, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from ..store import Database
from ..store.keys import secret_key
from ..timefmt import local_label, timezone_of
from .accounts import session_valid
from .i18n import LANGS, translate

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'"
SESSION_HOURS = 12


class SqliteInt(IntegerConverter):
    """`<int:...>` in routes, up to SQLite's largest integer: a longer id is a 404, not an OverflowError (500)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def local_time(value, zone=None) -> str:
    """A stored UTC time as the team reads it: in the team's zone (the app's, else Jakarta) with its label
    ("2026-12-06 12:10 WIB"); a value without a time of day or an offset is shown as stored."""
    from .views import team_zone

    shown = local_label(value, zone or team_zone())
    return "" if shown is None else str(shown)


def create_app(db_path: str, secure_cookies: bool = False, zone: str = "Asia/Jakarta") -> Flask:
    """The review page on `db_path`; times are shown in `zone` (the configuration's `[scheduler] timezone`)."""
    from . import actor_views, dashboard_views, image_views, views
    from .views import masked, reader_lang, wants_json

    app = Flask(__name__)
    app.url_map.converters["int"] = SqliteInt
    app.config.update(
        SECRET_KEY=secret_key(db_path) + b"/session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="monitor_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
        MAX_CONTENT_LENGTH=64 * 1024,
        MONITOR_DB=db_path,
        TEAM_ZONE=timezone_of(zone),
    )

    @app.before_request
    def open_database():
        g.db = Database(app.config["MONITOR_DB"])
        g.user = None
        name = session.get("user")
        if name:
            user = g.db.user(name)
            if session_valid(user, session.get("epoch")):
                g.user = user
            else:
                session.clear()
        if request.endpoint in ("login", "static"):
            return None
        if g.user is None:
            here = request.full_path if request.query_string else request.path
            if wants_json():
                back = here if request.method == "GET" else url_for("queue")
                return jsonify({"error": translate("session_expired", session.get("lang") or "id"),
                                "login": url_for("login", next=back)}), 401
            if request.method == "GET":
                return redirect(url_for("login", next=here))
            abort(401)
        if request.method == "POST":
            token = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
            if not token or not secrets.compare_digest(token, session.get("csrf", "")):
                abort(400, "missing or wrong CSRF token")
        return None

    @app.teardown_request
    def close_database(exc=None):
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.after_request
    def security_headers(response):
        # A chart (an SVG image with no script) styles itself; everything else gets the page's policy.
        response.headers["Content-Security-Policy"] = CHART_CSP if response.headers.pop("X-Chart-CSP", None) else CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        # A blurred image copy may sit in the browser's own cache (image_views); nothing else is kept.
        private = response.headers.pop("X-Private-Cache", None)
        response.headers["Cache-Control"] = f"private, max-age={int(private)}" if private and private.isdigit() else "no-store"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc):
        """Errors as JSON for scripts that asked for JSON; the usual page otherwise."""
        if wants_json():
            return jsonify({"error": exc.description or exc.name}), exc.code
        return exc

    app.jinja_env.filters["masked"] = masked
    app.jinja_env.filters["local"] = local_time

    @app.context_processor
    def helpers():
        lang = reader_lang()
        return {"t": lambda key: translate(key, lang), "lang": lang, "langs": LANGS, "user": g.get("user"),
                "csrf_token": session.get("csrf", "")}

    views.register(app)
    dashboard_views.register(app)
    actor_views.register(app)
    image_views.register(app)
    return app


def serve_app(db_path: str, host: str = "127.0.0.1", port: int = 8000, secure_cookies: bool = False,
              zone: str = "Asia/Jakarta") -> None:
    from waitress import create_server

    from ..report.charts import warm_up

    warm_up()  # matplotlib's import and first figure (fonts) take about 0.4 s once per process: here, not in the first request
    server = create_server(create_app(db_path, secure_cookies=secure_cookies, zone=zone), host=host, port=port, threads=8, ident="monitor")
    print(f"Review page on http://{host}:{server.effective_port}/queue  (Ctrl-C to stop)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
