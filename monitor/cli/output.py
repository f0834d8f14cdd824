"""Table, JSON and CSV output from one set of rows, for every listing command."""

from __future__ import annotations

import io
import json

import click
from tabulate import tabulate

from ..escaping import json_safe, terminal_safe, write_csv
from ..timefmt import ZONE_HELP, local_iso, local_label

FORMATS = ("table", "json", "csv")
TIME_FIELDS = frozenset({"at", "first_seen", "last_seen", "last_started", "next_due", "next_run", "locked_until",
                         "last_visit", "missing_since"})
"""Fields that hold times besides those named `*_at`; only their values' presentation changes, never the names."""


def format_option(default: str = "table", times: bool = False):
    return click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default=default, show_default=True,
        help="Output format: an aligned table for people, JSON or CSV for scripts." + (f" {ZONE_HELP}" if times else ""),
    )


def is_time_field(name: str) -> bool:
    return name in TIME_FIELDS or name.endswith("_at")


def local_times(rows: list[dict], fmt: str, zone=None) -> list[dict]:
    """Copies of `rows` with stored UTC times in the team's zone: labelled ("12:10 WIB") in a table,
    ISO 8601 with the offset in JSON and CSV, so scripts still read the exact instant."""
    shown = local_label if fmt == "table" else local_iso
    return [{k: shown(v, zone) if is_time_field(k) else v for k, v in row.items()} for row in rows]


def render(rows: list[dict], columns: list[str], fmt: str, table_columns: list[str] | None = None, zone=None) -> str:
    """Rows as text. JSON keeps every key; CSV and table show `columns` (table: `table_columns`).
    Times are shown in `zone` (default: the default team zone), see `local_times`."""
    rows = local_times(rows, fmt, zone)
    if fmt == "json":
        return json_safe(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    if fmt == "csv":
        buf = io.StringIO()
        write_csv(buf, columns, rows)
        return buf.getvalue().removesuffix("\r\n")
    cols = table_columns or columns
    if not rows:
        return "(none)"
    # Cells come from posts: control characters are shown escaped, never sent to the terminal.
    return tabulate([[terminal_safe(_cell(row.get(c))) for c in cols] for row in rows], headers=cols,
                    tablefmt="simple", disable_numparse=True)


def _cell(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if value is None:
        return ""
    return str(value)


def snippet(text: str, width: int = 70) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
