"""Charts drawn on the server as SVG with matplotlib, each with the numbers it shows.

SVG text, no scripts: the review page's CSP allows neither scripts from
elsewhere nor inline ones, and a digest file must stand alone. Figures are
built with `matplotlib.figure.Figure` (no pyplot global state, safe in a web
server's threads); ids are salted deterministically so the same numbers draw
the same file.
"""

from __future__ import annotations

import datetime as dt
import io
import json

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#7f7f7f"]


def flags_per_day(rows: list[tuple[str, str]], days: list[dt.date], zone: dt.tzinfo) -> dict:
    """{"days": [...], "series": {category: [count per day]}} from (created_at, categories JSON) rows; a flag
    with several categories counts once in each, one without any under "unclassified"."""
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, list[int]] = {}
    for created_at, categories in rows:
        try:
            day = dt.datetime.fromisoformat(created_at).astimezone(zone).date()
        except (TypeError, ValueError):
            continue
        if day not in index:
            continue
        for category in json.loads(categories or "[]") or ["unclassified"]:
            series.setdefault(category, [0] * len(days))[index[day]] += 1
    return {"days": [d.isoformat() for d in days], "series": dict(sorted(series.items()))}


def stacked_bars_svg(data: dict, title: str, ylabel: str) -> str:
    """A stacked bar chart of `flags_per_day`-shaped data, as an SVG document string."""
    import matplotlib

    from matplotlib.figure import Figure

    matplotlib.rcParams["svg.hashsalt"] = "datasale-monitor"  # the same numbers draw the same file
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, and readable by screen readers
    fig = Figure(figsize=(8, 3), dpi=100)
    ax = fig.add_subplot()
    days = data.get("labels") or data["days"]
    bottom = [0] * len(days)
    for i, (name, counts) in enumerate(data["series"].items()):
        ax.bar(range(len(days)), counts, bottom=bottom, label=name, color=PALETTE[i % len(PALETTE)], width=0.8)
        bottom = [b + c for b, c in zip(bottom, counts)]
    step = max(1, len(days) // 10)
    ax.set_xticks(range(0, len(days), step))
    short = lambda label: label[5:] if len(label) == 10 and label[4] == "-" else label  # noqa: E731  dates: MM-DD
    ax.set_xticklabels([short(days[i]) for i in range(0, len(days), step)], fontsize=8)
    ax.set_ylim(bottom=0)  # counts: an all-zero chart must not show negative numbers
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    if data["series"]:
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
