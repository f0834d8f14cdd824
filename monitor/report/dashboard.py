"""The dashboard's numbers: today against the usual, and the charts, each as a table that can be drawn or downloaded.

Everything comes from three grouped scans (flags, runs, decisions) over the
last 90 days, so the page's cost grows with the number of days and groups,
not with the number of posts or flags. Days are the team's calendar days.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import statistics

SEVERITIES = ("critical", "high", "medium", "low")
FUNNEL = ("confirmed", "requested", "removed", "still_online", "escalated")
TOP_SOURCES = 6
CHARTS = ("flags_30d", "flags_90d_by_source", "decisions_by_week", "takedown_funnel", "crawl_health")


def _days(end: dt.date, n: int) -> list[dt.date]:
    return [end - dt.timedelta(days=n - 1 - i) for i in range(n)]


def _zero(labels) -> list[int]:
    return [0] * len(labels)


def dashboard(db, zone: dt.tzinfo, now: dt.datetime | None = None) -> dict:
    """{"today": {...}, "charts": {id: {"title", "labels", "series"}}, "platforms": [...]} for the team's today."""
    from ..takedown.batches import report

    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone)
    today = now.date()
    offset = int(now.utcoffset().total_seconds() // 60)
    days90 = _days(today, 90)
    start = dt.datetime.combine(days90[0], dt.time(), zone).astimezone(dt.timezone.utc).isoformat(timespec="seconds")
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.timezone.utc).isoformat(timespec="seconds")
    index90 = {d.isoformat(): i for i, d in enumerate(days90)}
    by_severity = {s: _zero(days90) for s in SEVERITIES}
    by_category: dict[str, list[int]] = {}
    by_source: dict[str, list[int]] = {}
    for day, severity, categories, source, status, count in db.flag_groups(start, end, offset):
        i = index90.get(day)
        if i is None:
            continue
        if severity in by_severity:
            by_severity[severity][i] += count
        for category in json.loads(categories or "[]") or ["unclassified"]:
            by_category.setdefault(category, _zero(days90))[i] += count
        by_source.setdefault(source, _zero(days90))[i] += count
    def usual(series):  # the 30 days before today; a whole number when it is one
        median = statistics.median(series[-31:-1])
        return int(median) if float(median).is_integer() else median
    today_rows = ([{"kind": "severity", "name": s, "today": v[-1], "median_30d": usual(v)} for s, v in by_severity.items()]
                  + [{"kind": "category", "name": c, "today": v[-1], "median_30d": usual(v)} for c, v in sorted(by_category.items())])
    labels30 = [d.isoformat() for d in days90[-30:]]
    top = sorted(by_source, key=lambda s: -sum(by_source[s]))
    sources = {s: by_source[s] for s in top[:TOP_SOURCES]}
    if len(top) > TOP_SOURCES:
        sources["other sources"] = [sum(col) for col in zip(*(by_source[s] for s in top[TOP_SOURCES:]))]
    weeks = sorted({(today - dt.timedelta(days=today.weekday() + 7 * k)).isoformat() for k in range(12)})
    decided = {"confirmed": _zero(weeks), "dismissed": _zero(weeks)}
    week_index = {w: i for i, w in enumerate(weeks)}
    for week, status, count in db.decision_weeks(start, end, offset):
        if week in week_index:
            decided["dismissed" if status == "dismissed" else "confirmed"][week_index[week]] += count
    platforms = report(db)
    # All time at every stage: a post confirmed months ago may be removed today.
    funnel = [db.flags_reaching(FUNNEL)] + [sum(p[k] for p in platforms) for k in ("requested", "removed", "still_online", "escalated")]
    health_posts: dict[str, list[int]] = {}
    failed: dict[str, int] = {}
    index30 = {d: i for i, d in enumerate(labels30)}
    for day, source, status, runs, posts in db.run_groups(start, end, offset):
        if day in index30:
            health_posts.setdefault(source, _zero(labels30))[index30[day]] += posts
        if status in ("failed", "degraded") and day in index30:
            failed[source] = failed.get(source, 0) + runs
    return {
        "date": today.isoformat(),
        "today": today_rows,
        "charts": {
            "flags_30d": {"title": "Flags per day, last 30 days, by category", "labels": labels30,
                          "series": {c: v[-30:] for c, v in sorted(by_category.items())}},
            "flags_90d_by_source": {"title": "Flags per day, last 90 days, by source", "labels": [d.isoformat() for d in days90],
                                    "series": sources},
            "decisions_by_week": {"title": "Decisions per week: confirmed (and later stages) and dismissed", "labels": weeks,
                                  "series": decided},
            "takedown_funnel": {"title": "Takedown funnel", "labels": list(FUNNEL), "series": {"posts": funnel}},
            "crawl_health": {"title": "New posts per day by source, last 30 days", "labels": labels30,
                             "series": dict(sorted(health_posts.items()))},
        },
        "failed_runs_30d": dict(sorted(failed.items())),
        "platforms": platforms,
    }


def chart_csv(chart: dict) -> str:
    """A chart's numbers as CSV: one row per label, one column per series."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    from ..takedown.batches import spreadsheet_safe

    writer.writerow(["label", *(spreadsheet_safe(name) for name in chart["series"])])
    for i, label in enumerate(chart["labels"]):
        writer.writerow([spreadsheet_safe(label), *(values[i] for values in chart["series"].values())])
    return out.getvalue()
