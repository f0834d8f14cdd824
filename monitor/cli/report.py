"""`monitor export` and `monitor digest`: reviewed posts for CTI tools, and the day in one page."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..store.common import write_private
from ..store.review_queries import FLAG_STATUSES
from ..escaping import json_safe, terminal_safe
from .app import cli, config_option, db_option, open_db, optional_config, utc_since, zone_config_option, zone_of


@cli.command("export")
@click.argument("fmt", metavar="misp|stix", type=click.Choice(["misp", "stix"]))
@click.option("--since", metavar="DATE", help="Only flags raised on or after DATE (YYYY-MM-DD or ISO time; "
              "without an offset, in the team's zone).")
@click.option("--status", type=click.Choice(FLAG_STATUSES), default="confirmed", show_default=True,
              help="Only flags with this status.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Where to write the event or bundle (JSON; written owner-only, replaced whole).")
@zone_config_option
@db_option
def export_cmd(fmt, since, status, out_file, config_file, db_path):
    """Write reviewed posts as one MISP event or one STIX 2.1 bundle for threat-intelligence tools.

    Each post with its URL, source, author, thread, dates, categories (as
    tags or labels), a masked excerpt and the SHA-256 of the captured page;
    Telegram handles and crypto wallets as indicators; identity numbers,
    phone numbers and e-mail addresses only as keyed fingerprints with their
    masked form. The event is TLP:AMBER and limited to your organisation
    until you share it wider. STIX times are UTC (as the standard asks);
    MISP times carry their offset, and the event's date is the team's day
    ([scheduler] timezone, default Asia/Jakarta).

    \b
    Example:
        monitor export misp --since 2026-11-01 --out exports/event.json
        monitor export stix --status escalated --out exports/bundle.json
    """
    from ..report.cti import export

    zone = zone_of(config_file)
    if since:
        since = utc_since(since, zone)
    with open_db(db_path, must_exist=True) as db:
        text, posts, identifiers = export(db, fmt, status, since, zone=zone)
    path = Path(out_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, text.encode("utf-8"))
    click.echo(f"{posts} {status} posts with {identifiers} identifiers written to {path} ({fmt})", err=True)


@cli.command()
@click.option("--date", "day", metavar="YYYY-MM-DD", help="The day, in the team's time zone ([scheduler] timezone). Default: yesterday.")
@click.option("--format", "fmt", type=click.Choice(["html", "md", "json"]), default="html", show_default=True)
@click.option("--out", "out_file", type=click.Path(dir_okay=False), metavar="FILE", help="Write to FILE instead of standard output.")
@click.option("--send", is_flag=True, help="Mail it ([digest] SMTP settings) and post it to the [digest] apprise URLs.")
@click.option("--lang", type=click.Choice(["id", "en"]),
              help="Its language: id = Bahasa Indonesia, en = English. Default: [digest] language, else id.")
@config_option
@db_option
def digest(day, fmt, out_file, send, lang, config_file, db_path):
    """The day in one page: new flags by severity and category, the critical and high ones, new and
    active sellers, sources that failed, takedown progress, and a 30-day chart (embedded: the file stands alone).

    Identity numbers are masked everywhere in it. The JSON has `date`,
    `flags_by_severity`, `flags_by_category`, `actors`, `sources_failed`,
    `takedowns` and the chart's numbers under `charts`.

    \b
    Example:
        monitor digest --date 2026-12-05 --format md --out digest.md
        monitor digest --send          # yesterday's, mailed as [digest] says
    """
    import dataclasses
    import datetime as dt
    import json

    from ..crawl.scheduling import timezone_of
    from ..report.digest import DigestSettings, build_digest, render_html, render_markdown, send_digest

    config = optional_config(config_file)
    zone_name = config.scheduler["timezone"] if config else "Asia/Jakarta"
    zone = timezone_of(zone_name)
    if day:
        try:
            when = dt.date.fromisoformat(day)
        except ValueError:
            raise click.BadParameter(f"{day!r} is not a date (YYYY-MM-DD)", param_hint="--date") from None
        if not 2000 <= when.year <= 2999:
            raise click.BadParameter(f"{day!r}: a day from the years 2000 to 2999", param_hint="--date")
    else:
        when = dt.datetime.now(zone).date() - dt.timedelta(days=1)
    if send and not (config and (config.digest.to or config.digest.apprise)):
        raise click.UsageError("--send needs a [digest] table with `to` (and smtp_host, from) or `apprise` in the configuration")
    with open_db(db_path, must_exist=True) as db:
        data = build_digest(db, when, zone, zone_name)
    settings = config.digest if config else DigestSettings()
    if lang:
        settings = dataclasses.replace(settings, language=lang)
    if fmt == "json":
        text = json_safe(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        text = render_markdown(data, lang=settings.language) if fmt == "md" else render_html(data, settings.language)
    if out_file:
        path = Path(out_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, text.encode("utf-8"))
        click.echo(f"digest of {when} ({data['flags']} new flags) written to {path}", err=True)
    elif not send:
        click.echo(terminal_safe(text, keep_newlines=True) if fmt == "md" and sys.stdout.isatty() else text)
    if send:
        problems = send_digest(data, settings)
        for problem in problems:
            click.echo(f"not sent: {problem}", err=True)
        if problems:
            raise SystemExit(1)
        click.echo(f"digest of {when} sent", err=True)
