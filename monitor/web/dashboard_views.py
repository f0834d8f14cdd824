"""The dashboard page (`/dashboard`, the page after login) and its charts as SVG images and CSV files."""

from __future__ import annotations

import threading
import time

from flask import Response, abort, g, render_template

from ..report.charts import stacked_bars_svg
from ..report.dashboard import CHARTS, chart_csv, dashboard
from .i18n import translate
from .views import JAKARTA

CACHE_SECONDS = 30
"""How long the page's numbers serve its chart images (which the browser asks for right after the page)."""
_cache: dict[str, tuple[float, dict]] = {}
_lock = threading.Lock()


def numbers(db) -> dict:
    """The dashboard's numbers, computed at most once per CACHE_SECONDS per database."""
    key = str(db.path)
    with _lock:
        hit = _cache.get(key)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
    data = dashboard(db, JAKARTA)
    with _lock:
        _cache[key] = (time.monotonic(), data)
    return data


def register(app) -> None:
    @app.route("/dashboard")
    def dashboard_page():
        data = numbers(g.db)
        return render_template("dashboard.html", data=data, charts=CHARTS)

    @app.route("/dashboard/chart/<name>.<ext>")
    def dashboard_chart(name, ext):
        if name not in CHARTS or ext not in ("svg", "csv"):
            abort(404)
        chart = numbers(g.db)["charts"][name]
        if ext == "csv":
            response = Response(chart_csv(chart), mimetype="text/csv")
            response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return response
        lang = (g.user or {}).get("lang") or "id"
        response = Response(stacked_bars_svg(chart, translate(f"chart_{name}", lang), ""), mimetype="image/svg+xml")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Chart-CSP"] = "1"  # app.security_headers: an image with no script may style itself
        return response
