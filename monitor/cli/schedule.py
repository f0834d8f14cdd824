"""Commands for unattended crawling: the scheduler daemon and the status check."""

from __future__ import annotations

import json
import logging
import sys

import click

from ..config import ConfigError, config_path, load_config
from .app import cli, config_option, db_option, open_db
from ..timefmt import team_zone
from .output import format_option, render


def _config(config_file):
    try:
        return load_config(config_path(config_file))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command()
@click.option("--list", "list_jobs", is_flag=True, help="Print every job and its next run time ([scheduler] timezone), then exit.")
@config_option
@db_option
def schedule(list_jobs, config_file, db_path):
    """Run the crawl scheduler in the foreground (APScheduler), or list its jobs.

    Sources run on their `schedule` (cron) or `every` (interval), or those of
    a [groups.NAME] table; settings in [scheduler]. With `[digest] time`, the
    previous day's digest is sent daily at that time. One run per source at a
    time, across processes; SIGTERM/SIGINT stop new runs, give running ones
    grace_seconds, then kill them and record them as interrupted.

    \b
    Example:
        monitor schedule --list
        monitor schedule --config data/sources.toml --db data/monitor.db
    """
    from ..crawl.daemon import CrawlDaemon

    config = _config(config_file)
    daily_digest = config.digest.time and (config.digest.to or config.digest.apprise)
    if not config.schedules and not daily_digest:
        raise click.ClickException(f"{config.path}: no source has a schedule (add schedule = \"0 6 * * *\" or every = \"6h\") "
                                   "and no [digest] time is set")
    daemon = CrawlDaemon(config, db_path)
    if list_jobs:
        click.echo(render(daemon.jobs(), ["id", "source", "schedule", "next_run"], "table", zone=team_zone(config)))
        return
    open_db(db_path).close()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    daemon.serve()


STATUS_COLUMNS = ["source", "schedule", "last_started", "last_duration_s", "last_status", "last_posts_new", "last_errors",
                  "next_due", "consecutive_failures"]


@cli.command()
@click.option("--fail-after", type=click.IntRange(min=1), help="Exit 1 when a source failed this many runs in a row "
              "(default: [scheduler] fail_after, 3).")
@config_option
@db_option
@format_option(times=True)
def status(fail_after, config_file, db_path, fmt):
    """Show each source's last run, next due time and failures in a row; exit 1 if a source keeps failing.

    Meant for people and for monitoring checks (cron mail, Nagios-style).

    \b
    Example:
        monitor status
        monitor status --format json --fail-after 2
    """
    from ..crawl.daemon import source_status

    config = _config(config_file)
    limit = fail_after or config.scheduler["fail_after"]
    with open_db(db_path, must_exist=True) as db:
        rows = source_status(config, db)
    for row in rows:
        row["last_errors"] = ", ".join(f"{k} x{v}" for k, v in json.loads(row["last_errors"] or "{}").items())
    click.echo(render(rows, STATUS_COLUMNS, fmt, zone=team_zone(config)))
    failing = [r["source"] for r in rows if r["consecutive_failures"] >= limit]
    if failing:
        click.echo(f"failing: {', '.join(failing)} ({limit} or more failed runs in a row)", err=True)
        raise SystemExit(1)
