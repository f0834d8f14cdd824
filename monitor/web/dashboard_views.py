"""The dashboard page (`/dashboard`, the page after login) and its charts as SVG images and CSV files."""

from __future__ import annotations

import threading
import time

from flask import Response, abort, g, render_template

from ..report.charts import stacked_bars_svg
from ..report.dashboard import CHARTS, chart_csv, chart_numbers, dashboard
from .i18n import translate
from .views import reader_lang, team_zone

CACHE_SECONDS = 30
"""How long the page's numbers serve its chart images (which the browser asks for right after the page)."""
_cache: dict[str, tuple[float, dict]] = {}
_lock = threading.Lock()


def _key(db) -> tuple[str, str]:
    return str(db.path), team_zone().key  # days are the team's: another zone, other numbers


def _cached(db) -> dict | None:
    with _lock:
        hit = _cache.get(_key(db))
    return hit[1] if hit and time.monotonic() - hit[0] < CACHE_SECONDS else None


def numbers(db) -> dict:
    """The dashboard's numbers, computed at most once per CACHE_SECONDS per database."""
    data = _cached(db)
    if data is None:
        data = dashboard(db, team_zone())
        with _lock:
            _cache[_key(db)] = (time.monotonic(), data)
    return data


def chart(db, name: str) -> dict:
    """One chart's numbers: the page's, while cached; else only that chart's, read afresh."""
    data = _cached(db)
    return data["charts"][name] if data is not None else chart_numbers(db, name, team_zone())


CODED = {"flags_30d": ("series",), "decisions_by_week": ("series",), "takedown_funnel": ("series", "labels")}
"""The charts whose series or labels are codes (categories, statuses); the others' are sources and days."""


def in_words(name: str, data: dict, lang: str) -> dict:
    """A chart's numbers as a person reads them: categories and statuses named in `lang`, not as codes.
    The CSV download keeps the codes (it is data for scripts and spreadsheets)."""
    coded = CODED.get(name, ())
    series = {translate(k, lang) if "series" in coded or k == "other_sources" else k: v for k, v in data["series"].items()}
    labels = [translate(label, lang) for label in data["labels"]] if "labels" in coded else data["labels"]
    return {**data, "series": series, "labels": labels}


def register(app) -> None:
    @app.route("/dashboard")
    def dashboard_page():
        data = numbers(g.db)
        lang = reader_lang()
        shown = {name: in_words(name, data["charts"][name], lang) for name in CHARTS}
        return render_template("dashboard.html", data=data, charts=CHARTS, shown=shown, zone=team_zone().key)

    @app.route("/dashboard/chart/<name>.<ext>")
    def dashboard_chart(name, ext):
        if name not in CHARTS or ext not in ("svg", "csv"):
            abort(404)
        data = chart(g.db, name)
        if ext == "csv":
            response = Response(chart_csv(data), mimetype="text/csv")
            response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return response
        lang = reader_lang()
        response = Response(stacked_bars_svg(in_words(name, data, lang), translate(f"chart_{name}", lang), ""),
                            mimetype="image/svg+xml")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Chart-CSP"] = "1"  # app.security_headers: an image with no script may style itself
        return response
