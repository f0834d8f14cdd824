"""Charts drawn on the server as SVG with matplotlib, each with the numbers it shows.

SVG text, no scripts: the review page's CSP allows neither scripts from
elsewhere nor inline ones, and a digest file must stand alone. Figures are
built with `matplotlib.figure.Figure` (no pyplot global state, safe in a web
server's threads); ids are salted deterministically so the same numbers draw
the same file.

Each series is one path of rectangles, not one artist per bar (a 90-day chart
of seven sources was 630 artists, each with its own transforms), and the
margins are worked out from the chart's longest count rather than by
`tight_layout`, which lays out every label once more before the file is drawn:
together most of a chart's time. Importing matplotlib and reading its fonts
costs about a third of a second once per process; `warm_up` pays it when the
app starts rather than in a user's request.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#7f7f7f"]
BAR_WIDTH = 0.8
WIDTH, HEIGHT = 8, 3  # inches, at 100 dpi: the page shows charts 800 x 300

_loaded: dict = {}
_load_lock = threading.Lock()


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


def _matplotlib() -> dict:
    """matplotlib's parts that the charts use, imported once (and its SVG settings set once)."""
    with _load_lock:
        if not _loaded:
            import matplotlib
            from matplotlib.figure import Figure
            from matplotlib.patches import PathPatch
            from matplotlib.path import Path
            from matplotlib.ticker import MaxNLocator

            matplotlib.rcParams["svg.hashsalt"] = "datasale-monitor"  # the same numbers draw the same file
            matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, and readable by screen readers
            _loaded.update(Figure=Figure, PathPatch=PathPatch, Path=Path, MaxNLocator=MaxNLocator)
    return _loaded


def warm_up() -> None:
    """Import matplotlib and draw one tiny chart (thrown away), so that its fonts are read before the first
    request rather than in it; once per process."""
    if not _loaded:
        stacked_bars_svg({"labels": ["2000-01-01", "2000-01-02"], "series": {"warm-up": [1, 2]}}, "warm-up", "")


def _bars(mpl: dict, counts: list, bottom: list):
    """One path holding a rectangle per non-zero count, standing on `bottom`."""
    vertices, codes = [], []
    half = BAR_WIDTH / 2
    for x, (count, base) in enumerate(zip(counts, bottom)):
        if count:
            top = base + count
            vertices += [(x - half, base), (x + half, base), (x + half, top), (x - half, top), (x - half, base)]
            codes += [mpl["Path"].MOVETO, mpl["Path"].LINETO, mpl["Path"].LINETO, mpl["Path"].LINETO, mpl["Path"].CLOSEPOLY]
    if not vertices:  # an empty series still has its legend entry
        return mpl["Path"]([(0, 0)], [mpl["Path"].MOVETO])
    return mpl["Path"](vertices, codes)


def _margins(fig, top_count: int, ylabel: str) -> None:
    """Room for the title, the dates and the counts (10-point digits, about 6.4 points wide each)."""
    left = 7 + (16 if ylabel else 0) + 6.4 * len(str(top_count)) + 9  # points: pad, label, digits, tick and gap
    fig.subplots_adjust(left=left / 72 / WIDTH, right=0.98, bottom=0.3 / HEIGHT, top=1 - 0.3 / HEIGHT)


def stacked_bars_svg(data: dict, title: str, ylabel: str) -> str:
    """A stacked bar chart of `flags_per_day`-shaped data, as an SVG document string."""
    mpl = _matplotlib()
    fig = mpl["Figure"](figsize=(WIDTH, HEIGHT), dpi=100)
    ax = fig.add_subplot()
    days = data.get("labels") or data["days"]
    bottom = [0] * len(days)
    for i, (name, counts) in enumerate(data["series"].items()):
        # add_artist, not add_patch: the limits are set below, and add_patch would walk every bar's edges for them
        ax.add_artist(mpl["PathPatch"](_bars(mpl, counts, bottom), facecolor=PALETTE[i % len(PALETTE)], edgecolor="none",
                                       linewidth=0, label=name))
        bottom = [b + c for b, c in zip(bottom, counts)]
    pad = 0.05 * (max(len(days), 1) - 1 + BAR_WIDTH)  # matplotlib's own margin around bars
    ax.set_xlim(-BAR_WIDTH / 2 - pad, max(len(days), 1) - 1 + BAR_WIDTH / 2 + pad)
    ax.set_ylim(0, max(bottom, default=0) * 1.05 or 1)  # counts: an all-zero chart must not show negative numbers
    ax.yaxis.set_major_locator(mpl["MaxNLocator"](integer=True))  # counts: no tick at 2.5
    step = max(1, len(days) // 10)
    ax.set_xticks(range(0, len(days), step))
    short = lambda label: label[5:] if len(label) == 10 and label[4] == "-" else label  # noqa: E731  dates: MM-DD
    ax.set_xticklabels([short(days[i]) for i in range(0, len(days), step)], fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    if data["series"]:
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    _margins(fig, int(ax.get_ylim()[1]), ylabel)
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
