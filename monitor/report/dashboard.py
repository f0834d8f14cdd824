"""The dashboard's numbers: today against the usual, and the charts, each as a table that can be drawn or downloaded.

Flags are counted a day at a time (`ReportQueries.flag_day_counts`): each of the
team's calendar days is one range of a covering index, so a day's grouping sorts
about a thousand entries where one grouping of the 90 days sorted all of them.
Each part is read when first needed: the page reads them all, a chart image only
its own, so a chart whose numbers are no longer cached does not pay for the
other four. The cost grows with the number of days and groups, not with the
number of posts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import statistics
from functools import cached_property

SEVERITIES = ("critical", "high", "medium", "low")
FUNNEL = ("confirmed", "requested", "removed", "still_online", "escalated")
TOP_SOURCES = 6
CHARTS = ("flags_30d", "flags_90d_by_source", "decisions_by_week", "takedown_funnel", "crawl_health")
TITLES = {
    "flags_30d": "Flags per day, last 30 days, by category",
    "flags_90d_by_source": "Flags per day, last 90 days, by source",
    "decisions_by_week": "Decisions per week: confirmed (and later stages) and dismissed",
    "takedown_funnel": "Takedown funnel",
    "crawl_health": "New posts per day by source, last 30 days",
}


def _days(end: dt.date, n: int) -> list[dt.date]:
    return [end - dt.timedelta(days=n - 1 - i) for i in range(n)]


def _zero(labels) -> list[int]:
    return [0] * len(labels)


class Numbers:
    """The dashboard's numbers for the team's today; each part is read from the store once, when first asked for."""

    def __init__(self, db, zone: dt.tzinfo, now: dt.datetime | None = None):
        now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone)
        self.db = db
        self.today = now.date()
        self.zone = zone
        self.days90 = _days(self.today, 90)
        self.bounds = [self._utc(d) for d in self.days90] + [self._utc(self.today + dt.timedelta(days=1))]  # each day's start, then the end
        self.start, self.end = self.bounds[0], self.bounds[-1]
        self.labels30 = [d.isoformat() for d in self.days90[-30:]]

    def _utc(self, day: dt.date) -> str:
        """The start of a local day, as stored times are written (UTC ISO)."""
        return dt.datetime.combine(day, dt.time(), self.zone).astimezone(dt.timezone.utc).isoformat(timespec="seconds")

    def _flags_by(self, column: str, days: int = 90) -> dict[str, list[int]]:
        """{value of `column`: active flags per day over the last `days` days}."""
        series: dict[str, list[int]] = {}
        for i, value, count in self.db.flag_day_counts(self.bounds[-days - 1:], column):
            series.setdefault(value, [0] * days)[i] += count
        return series

    @cached_property
    def by_severity(self) -> dict[str, list[int]]:
        """Today and the 30 days before it: all that the table shows."""
        found = self._flags_by("severity", 31)
        return {s: found.get(s) or [0] * 31 for s in SEVERITIES}

    @cached_property
    def by_category(self) -> dict[str, list[int]]:
        """A flag counts once in each of its categories; one without any under "unclassified"."""
        out: dict[str, list[int]] = {}
        for categories, counts in self._flags_by("categories").items():
            for category in json.loads(categories or "[]") or ["unclassified"]:
                out[category] = [a + b for a, b in zip(out.get(category) or _zero(self.days90), counts)]
        return dict(sorted(out.items()))

    @cached_property
    def platforms(self) -> list[dict]:
        from ..takedown.batches import report

        return report(self.db)

    @cached_property
    def runs(self) -> list[tuple]:
        """(local day, source, status, runs, posts new) over the 90 days."""
        return [(self.days90[i].isoformat(), *rest) for i, *rest in self.db.run_groups(self.bounds)]

    def today_rows(self) -> list[dict]:
        def usual(series):  # the 30 days before today; a whole number when it is one
            median = statistics.median(series[-31:-1])
            return int(median) if float(median).is_integer() else median

        return ([{"kind": "severity", "name": s, "today": v[-1], "median_30d": usual(v)} for s, v in self.by_severity.items()]
                + [{"kind": "category", "name": c, "today": v[-1], "median_30d": usual(v)} for c, v in self.by_category.items()])

    def failed_runs(self) -> dict[str, int]:
        failed: dict[str, int] = {}
        days30 = set(self.labels30)
        for day, source, status, runs, _ in self.runs:
            if status in ("failed", "degraded") and day in days30:
                failed[source] = failed.get(source, 0) + runs
        return dict(sorted(failed.items()))

    def chart(self, name: str) -> dict:
        """{"title", "labels", "series"} of one of CHARTS."""
        return {"title": TITLES[name], **getattr(self, "_" + name)()}

    def _flags_30d(self) -> dict:
        return {"labels": self.labels30, "series": {c: v[-30:] for c, v in self.by_category.items()}}

    def _flags_90d_by_source(self) -> dict:
        by_source = self._flags_by("source")
        top = sorted(by_source, key=lambda s: (-sum(by_source[s]), s))
        sources = {s: by_source[s] for s in top[:TOP_SOURCES]}
        if len(top) > TOP_SOURCES:
            sources["other_sources"] = [sum(col) for col in zip(*(by_source[s] for s in top[TOP_SOURCES:]))]
        return {"labels": [d.isoformat() for d in self.days90], "series": sources}

    def _decisions_by_week(self) -> dict:
        today = self.today
        mondays = sorted(today - dt.timedelta(days=today.weekday() + 7 * k) for k in range(12))
        weeks = [m.isoformat() for m in mondays]
        decided = {"confirmed": _zero(weeks), "dismissed": _zero(weeks)}
        bounds = [self._utc(m) for m in mondays] + [self._utc(mondays[-1] + dt.timedelta(days=7))]
        for i, status, count in self.db.decision_groups(bounds):
            decided["dismissed" if status == "dismissed" else "confirmed"][i] += count
        return {"labels": weeks, "series": decided}

    def _takedown_funnel(self) -> dict:
        # All time at every stage: a post confirmed months ago may be removed today.
        funnel = [self.db.flags_reaching(FUNNEL)] + [sum(p[k] for p in self.platforms)
                                                     for k in ("requested", "removed", "still_online", "escalated")]
        return {"labels": list(FUNNEL), "series": {"posts": funnel}}

    def _crawl_health(self) -> dict:
        health_posts: dict[str, list[int]] = {}
        index30 = {d: i for i, d in enumerate(self.labels30)}
        for day, source, _, _, posts in self.runs:
            if day in index30:
                health_posts.setdefault(source, _zero(self.labels30))[index30[day]] += posts
        return {"labels": self.labels30, "series": dict(sorted(health_posts.items()))}


def dashboard(db, zone: dt.tzinfo, now: dt.datetime | None = None) -> dict:
    """{"today": {...}, "charts": {id: {"title", "labels", "series"}}, "platforms": [...]} for the team's today."""
    numbers = Numbers(db, zone, now)
    return {
        "date": numbers.today.isoformat(),
        "today": numbers.today_rows(),
        "charts": {name: numbers.chart(name) for name in CHARTS},
        "failed_runs_30d": numbers.failed_runs(),
        "platforms": numbers.platforms,
    }


def chart_numbers(db, name: str, zone: dt.tzinfo, now: dt.datetime | None = None) -> dict:
    """One chart's {"title", "labels", "series"}, reading only what that chart shows."""
    return Numbers(db, zone, now).chart(name)


def chart_csv(chart: dict) -> str:
    """A chart's numbers as CSV: one row per label, one column per series."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    from ..takedown.batches import spreadsheet_safe

    writer.writerow(["label", *(spreadsheet_safe(name) for name in chart["series"])])
    for i, label in enumerate(chart["labels"]):
        writer.writerow([spreadsheet_safe(label), *(values[i] for values in chart["series"].values())])
    return out.getvalue()
