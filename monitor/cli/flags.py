"""`monitor flags`: the flagged posts, for people and scripts, identity numbers masked."""

from __future__ import annotations

import json

import click

from ..store.review_queries import FLAG_STATUSES, QUEUE_SORTS
from .app import cli, db_option, open_db, utc_since, zone_config_option, zone_of
from .output import format_option, render, snippet

FLAG_COLUMNS = ["id", "status", "severity", "score", "categories", "source", "author", "posted_at", "created_at", "url", "text"]
OWN_FIELDS = ("id", "post_id", "score", "rules_score", "created_at", "model")
"""Fields this program wrote, not masked (masking reads an ISO time's digits as a number)."""
FLAG_TABLE_COLUMNS = ["id", "status", "severity", "score", "categories", "source", "author", "text"]


def flag_row(flag: dict, short: bool = False) -> dict:
    """A flag as shown to people and scripts: identity numbers masked in every field, not only the text.

    With `short` (the table) the text is flattened to one line before masking and cut after it:
    flattening masked text could join two masked-looking halves back into one readable number.
    """
    from rules import mask_value

    row = {k: flag[k] for k in FLAG_COLUMNS if k in flag}
    row["text"] = " ".join((row.get("text") or "").split()) if short else row.get("text") or ""
    row["post_id"] = flag["post_id"]
    row["reasons"] = flag["reasons"]
    row["thread_title"] = flag.get("thread_title")
    # What decided it: the model's version (None: the rules alone), the words that moved its
    # score, the rules' own score, and warnings such as a model that could not be loaded.
    row["model"] = flag.get("model")
    row["model_terms"] = json.loads(flag.get("model_terms") or "[]")
    row["rules_score"] = flag.get("rules_score")
    row["warnings"] = json.loads(flag.get("warnings") or "[]")
    keep = OWN_FIELDS + (("posted_at",) if _is_iso_time(row.get("posted_at")) else ())  # spiders pass sites' dates
    row = mask_value(row, keep=keep)
    if short:
        row["text"] = snippet(row["text"])
    return row


def _is_iso_time(value) -> bool:
    import datetime as dt

    if not isinstance(value, str) or len(value) > 40:
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@cli.command()
@db_option
@click.option("--since", metavar="DATE", help="Only flags raised on or after DATE (YYYY-MM-DD or ISO time; without an offset, in the team's zone).")
@click.option("--status", type=click.Choice(FLAG_STATUSES), help="Only flags with this status.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many flags.")
@click.option("--sort", type=click.Choice(QUEUE_SORTS), default="severity", show_default=True,
              help="Order: most severe first, scores nearest the 0.5 threshold first (uncertain), or newest first.")
@click.option("--uncertain", is_flag=True, help="Only flags whose score is between 0.25 and 0.75 (the model is unsure).")
@zone_config_option
@format_option(times=True)
def flags(db_path, since, status, limit, sort, uncertain, config_file, fmt):
    """List flagged posts, most severe first (see --sort), with identity numbers masked.

    `--format json` prints a list of objects; each `id` is the flag id that
    review and takedown commands accept. `--sort uncertain` puts the flags
    whose decision would teach the model the most first.

    \b
    Example:
        monitor flags --since 2026-11-01 --status new --format json
        monitor flags --status new --sort uncertain --uncertain --limit 20
    """
    zone = zone_of(config_file)
    if since:
        since = utc_since(since, zone)
    with open_db(db_path, must_exist=True) as db:
        found = db.list_flags(since=since, status=status, limit=limit, sort=sort, uncertain=uncertain)
    rows = [flag_row(f, short=fmt == "table") for f in found]
    click.echo(render(rows, FLAG_COLUMNS, fmt, FLAG_TABLE_COLUMNS, zone=zone))
