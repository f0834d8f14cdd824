"""`monitor export`: reviewed posts for CTI tools (a MISP event, a STIX 2.1 bundle)."""

from __future__ import annotations

from pathlib import Path

import click

from ..store.common import write_private
from ..store.review_queries import FLAG_STATUSES
from .app import check_date, cli, db_option, open_db


@cli.command("export")
@click.argument("fmt", metavar="misp|stix", type=click.Choice(["misp", "stix"]))
@click.option("--since", metavar="DATE", help="Only flags raised on or after DATE (YYYY-MM-DD or ISO time).")
@click.option("--status", type=click.Choice(FLAG_STATUSES), default="confirmed", show_default=True,
              help="Only flags with this status.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Where to write the event or bundle (JSON; written owner-only, replaced whole).")
@db_option
def export_cmd(fmt, since, status, out_file, db_path):
    """Write reviewed posts as one MISP event or one STIX 2.1 bundle for threat-intelligence tools.

    Each post with its URL, source, author, thread, dates, categories (as
    tags or labels), a masked excerpt and the SHA-256 of the captured page;
    Telegram handles and crypto wallets as indicators; identity numbers,
    phone numbers and e-mail addresses only as keyed fingerprints with their
    masked form. The event is TLP:AMBER and limited to your organisation
    until you share it wider.

    \b
    Example:
        monitor export misp --since 2026-11-01 --out exports/event.json
        monitor export stix --status escalated --out exports/bundle.json
    """
    from ..report.cti import export

    if since:
        check_date(since)
    with open_db(db_path, must_exist=True) as db:
        text, posts, identifiers = export(db, fmt, status, since)
    path = Path(out_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, text.encode("utf-8"))
    click.echo(f"{posts} {status} posts with {identifiers} identifiers written to {path} ({fmt})", err=True)
