"""The dashboard page (`/dashboard`, the page after login) and its charts as SVG images and CSV files."""

from __future__ import annotations

from flask import Response, abort, g, render_template

from ..report.charts import stacked_bars_svg
from ..report.dashboard import CHARTS, chart_csv, dashboard
from .i18n import translate
from .views import JAKARTA

def register(app) -> None:
    @app.route("/dashboard")
    def dashboard_page():
        data = dashboard(g.db, JAKARTA)
        return render_template("dashboard.html", data=data, charts=CHARTS)

    @app.route("/dashboard/chart/<name>.<ext>")
    def dashboard_chart(name, ext):
        if name not in CHARTS or ext not in ("svg", "csv"):
            abort(404)
        chart = dashboard(g.db, JAKARTA)["charts"][name]
        if ext == "csv":
            response = Response(chart_csv(chart), mimetype="text/csv")
            response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return response
        lang = (g.user or {}).get("lang") or "id"
        response = Response(stacked_bars_svg(chart, translate(f"chart_{name}", lang), ""), mimetype="image/svg+xml")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Chart-CSP"] = "1"  # app.security_headers: an image with no script may style itself
        return response
