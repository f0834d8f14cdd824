"""Table, JSON and CSV output from one set of rows, for every listing command."""

from __future__ import annotations

import io
import json

import click
from tabulate import tabulate

from ..escaping import json_safe, terminal_safe, write_csv

FORMATS = ("table", "json", "csv")


def format_option(default: str = "table"):
    return click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default=default, show_default=True,
        help="Output format: an aligned table for people, JSON or CSV for scripts.",
    )


def render(rows: list[dict], columns: list[str], fmt: str, table_columns: list[str] | None = None) -> str:
    """Rows as text. JSON keeps every key; CSV and table show `columns` (table: `table_columns`)."""
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
