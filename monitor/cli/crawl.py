"""Commands that bring posts in: crawl, demo, ingest, and the runs and sources they use."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..config import ConfigError, Source, config_path, load_sources, select
from ..store import Database
from .app import cli, config_option, db_option, open_db, zone_config_option, zone_of
from .flags import FLAG_COLUMNS, FLAG_TABLE_COLUMNS, flag_row
from .output import format_option, render


def _progress_printer(name: str):
    def show(run: dict) -> None:
        click.echo(f"\r  {name}: {run['pages']} pages, {run['posts_new']} new posts, {run['flags_new']} flags ...", nl=False, err=True)

    return show


def check_storage(db_path: str) -> bytes:
    """Fail now, with a message, on a database or secret key that cannot be used (not in the crawl's worker).

    Returns the secret key; a SecretKeyError becomes a one-line error in MonitorGroup.
    """
    from ..store.keys import secret_key

    open_db(db_path).close()  # first: a file that is not a database is refused before a key is made beside it
    return secret_key(db_path)


def crawl_sources(sources: list[Source], db_path: str, time_limit: float, log_days: int = 30, alerts=None,
                  cluster=None) -> list[dict]:
    """Crawl each source under its lock; a source another process is crawling is skipped, and said so.
    With a `cluster` (the configuration's [scrapyd] nodes) the pages are crawled on a node."""
    from ..crawl.runner import Skipped, crawl_source

    runs = []
    for source in sources:
        click.echo(f"Crawling {source.name} ({source.kind}) ...", err=True)
        live = sys.stderr.isatty()
        run = crawl_source(source, db_path, alerts=alerts, time_limit=time_limit, log_days=log_days, cluster=cluster,
                           progress=_progress_printer(source.name) if live else None)
        if isinstance(run, Skipped):
            click.echo(f"  skipped: {run.reason}", err=True)
            continue
        if live:
            click.echo("\r" + " " * 79 + "\r", nl=False, err=True)
        line = (f"  {source.name}: {run['status']} in {run['duration_s']}s, {run['pages']} pages, "
                f"{run['posts_new']} new / {run['posts_updated']} updated / {run['posts_unchanged']} unchanged posts"
                + (f", {run['images_fetched'] or 0} images fetched ({run['images_analysed'] or 0} new read, "
                   f"{run['images_failed'] or 0} failed)" if run.get("images_fetched") or run.get("images_failed") else ""))
        click.echo(line, err=True)
        if run["status"] != "ok":
            log = f" (log: {run['log']})" if run.get("log") else ""
            click.echo(f"  {source.name}: {run['reason']}{log}", err=True)
        for var, problem in (run.get("alerts_failed") or {}).items():
            click.echo(f"  {source.name}: alert through ${var} not sent: {problem}", err=True)
        runs.append(run)
    return runs


def raise_for_runs(runs: list[dict]) -> None:
    """Exit 1 naming the sources whose run failed or read less than the site holds (degraded)."""
    failed = [r["source"] for r in runs if r["status"] not in ("ok", "degraded")]
    degraded = [r["source"] for r in runs if r["status"] == "degraded"]
    parts = ([f"crawl failed for: {', '.join(failed)}"] if failed else []) + \
        ([f"crawl degraded for: {', '.join(degraded)}"] if degraded else [])
    if parts:
        raise click.ClickException("; ".join(parts))


def print_summary(runs: list[dict], db: Database) -> None:
    sources = [r["source"] for r in runs]
    click.echo("")
    click.echo("Summary")
    click.echo(f"  pages fetched : {sum(r['pages'] for r in runs)}")
    click.echo(f"  posts new     : {sum(r['posts_new'] for r in runs)}")
    click.echo(f"  posts updated : {sum(r['posts_updated'] for r in runs)}")
    click.echo(f"  posts unchanged: {sum(r['posts_unchanged'] for r in runs)}")
    click.echo(f"  images read   : {sum(r.get('images_analysed') or 0 for r in runs)}")
    counts = db.flag_counts_by_category(sources)
    click.echo(f"  flagged posts : {len(db.list_flags(sources=sources))}")
    for category, n in counts.items():
        click.echo(f"    {category:<22} {n}")


@cli.command()
@click.argument("sources", nargs=-1)
@click.option("--due", is_flag=True, help="Crawl the scheduled sources whose schedule came due since their last successful run (for cron).")
@config_option
@db_option
@click.option("--time-limit", type=click.FloatRange(min=1), help="Seconds before a crawl is killed (default: [scheduler] time_limit, 3600).")
def crawl(sources, due, config_file, db_path, time_limit):
    """Crawl the configured SOURCES (or, with --due, every source that is due) and flag what they post.

    Each source runs as its own `scrapy crawl` process under a lock: if
    another process (cron, the daemon) is crawling the same source, this one
    skips it, says why and exits 0. Exits non-zero if a source failed
    (unreachable, no pages, crawler error).

    \b
    Example:
        monitor crawl demo-forum --config data/sources.toml --db data/monitor.db
        monitor crawl --due          # from cron: see the README
    """
    import datetime as dt
    import signal

    def stop(signum, frame):  # `kill` ends a crawl like Ctrl-C: its crawler killed (or its node job cancelled), its run interrupted
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)

    from ..config import load_config
    from ..crawl.scheduling import is_due, timezone_of
    from ..timefmt import local_label

    if bool(sources) == due:
        raise click.UsageError("name the SOURCES to crawl, or give --due (not both)")
    try:
        config = load_config(config_path(config_file))
        selected = select(config.sources, list(sources)) if sources else []
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if due:
        if not config.schedules:
            raise click.ClickException(f"{config.path}: no source has a schedule (add schedule = \"0 6 * * *\" or every = \"6h\")")
        tz = config.scheduler["timezone"]
        now = dt.datetime.now(timezone_of(tz))
        with open_db(db_path) as db:
            for name, schedule in sorted(config.schedules.items()):
                last_ok = db.last_ok_start(name)
                if is_due(schedule, dt.datetime.fromisoformat(last_ok) if last_ok else None, now, tz):
                    selected.append(config.sources[name])
                else:
                    click.echo(f"{name}: not due ({schedule.describe()}, last successful run {local_label(last_ok, now.tzinfo)})", err=True)
        if not selected:
            click.echo("nothing is due", err=True)
            return
    check_storage(db_path)
    runs = crawl_sources(selected, db_path, time_limit or config.scheduler["time_limit"], config.scheduler["log_days"], config.alerts,
                         config.cluster)
    with open_db(db_path) as db:
        print_summary(runs, db)
    raise_for_runs(runs)


@cli.command()
@db_option
@click.option("--time-limit", default=600, show_default=True, type=click.FloatRange(min=1), help="Seconds before a crawl is killed.")
@click.option("--serve", "then_serve", is_flag=True, help="Then serve the review page over the demo database, with a demo reviewer account.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port of the review page (with --serve).")
def demo(db_path, time_limit, then_serve, port):
    """Serve the built-in demo site on 127.0.0.1, crawl it, flag it, list the flags.

    The demo is a small MyBB-style forum and a Telegram channel preview with
    synthetic ads and look-alike harmless posts. It uses the real spiders,
    rules and database; running it again adds no duplicates.

    \b
    Example:
        monitor demo --db /tmp/demo.db
        monitor demo --serve      # then open the review page as the demo reviewer
    """
    from ..demo import DemoServer

    check_storage(db_path)
    with DemoServer() as server:
        click.echo(f"Demo site at {server.url}/ (forum: {server.url}/forum/)", err=True)
        channel = server.site.telegram["channel"]
        sources = [
            Source("demo-forum", "forum", {"base_url": f"{server.url}/forum/", "engine": "mybb"}),
            Source("demo-telegram", "telegram", {"base_url": f"{server.url}/tg/", "channel": channel}),
        ]
        runs = crawl_sources(sources, db_path, time_limit)
    with open_db(db_path) as db:
        print_summary(runs, db)
        flags = db.list_flags(sources=[s.name for s in sources])
        click.echo("")
        click.echo("Flagged posts")
        rows = [flag_row(f, short=True) for f in flags]
        click.echo(render(rows, FLAG_COLUMNS, "table", FLAG_TABLE_COLUMNS))
    raise_for_runs(runs)
    if then_serve:
        serve_demo(db_path, port)


def serve_demo(db_path: str, port: int) -> None:
    """Give the demo reviewer a new one-time password, print it, and serve the review page."""
    import secrets

    from ..web import serve_app
    from ..web.accounts import add_user, set_password

    password = secrets.token_urlsafe(12)
    with open_db(db_path) as db:
        if db.user("demo"):
            set_password(db, "demo", password, by="demo")
        else:
            add_user(db, "demo", "reviewer", password, by="demo")
    click.echo("")
    click.echo(f"Review page: log in at /login as user 'demo' with the one-time password {password}")
    serve_app(db_path, "127.0.0.1", port)


@cli.command("sources")
@config_option
@format_option()
def sources_cmd(config_file, fmt):
    """List the configured sources after validating the sources file.

    \b
    Example:
        monitor sources --config data/sources.example.toml
    """
    try:
        loaded = load_sources(config_path(config_file))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    rows = [{"name": s.name, "kind": s.kind, "base_url": s.base_url or "https://t.me/", **{k: v for k, v in s.options.items() if k != "base_url"}} for s in loaded.values()]
    for row in rows:  # what each kind reads: the channel, hashtag or timeline, the categories
        row["reads"] = row.get("channel") or (f"#{row['hashtag']}" if row.get("hashtag") else None) or row.get("timeline") \
            or ", ".join(row.get("categories") or []) or row.get("engine") or ""
    click.echo(render(rows, ["name", "kind", "base_url", "reads"], fmt))


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", "source_name", required=True, metavar="NAME",
              help="Name the posts are stored under (e.g. facebook-groups); lower-case letters, digits, '-', '_'.")
@db_option
def ingest(file, source_name, db_path):
    """Import posts collected elsewhere from a JSONL or CSV FILE, through the same rules and storage as crawls.

    A crawl's feed (JSONL records with `_type`, as a Scrapyd node's job writes
    them: items/<project>/<spider>/<job>.jl) is stored as that crawl would have
    been: posts with kind and thread URL, captured pages, thread records, images.

    Columns: url and text (required), post_id, author, posted_at (ISO 8601),
    thread_title, board, images, and is_listing (true) or kind "listing" for a
    listing title on a marketplace (a listing may have a thread_title and no
    text). Posts are analysed by the rules and the current model. Importing
    the same file again adds nothing;
    bad rows are reported with their line numbers and the good ones kept
    (exit code 1 when any row was bad).

    \b
    Example:
        monitor ingest collected/facebook.jsonl --source facebook-groups
        monitor ingest manual.csv --source manual --db data/monitor.db
        monitor ingest items/datasale_monitor/forum/job1.jl --source some-forum
    """
    import re
    import signal

    from ..crawl.feed_import import is_feed
    from ..crawl.importer import ImportFailed, import_file
    from ..learning.registry import build_detector

    if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]{0,63}", source_name):
        raise click.BadParameter("lower-case letters, digits, '-' and '_'", param_hint="--source")
    key = check_storage(db_path)
    if is_feed(file):
        ingest_feed(file, source_name, db_path)
        return
    detector = build_detector(db_path, explain_all=False)
    for warning in detector.warnings:
        click.echo(f"warning: {warning}", err=True)

    def stop(signum, frame):  # `kill` ends the import like Ctrl-C: the run is recorded as interrupted
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    with open_db(db_path) as db:
        try:
            result = import_file(db, file, source_name, detector, key)
        except ImportFailed as exc:
            for line in exc.result.bad:
                click.echo(line, err=True)
            raise click.ClickException(str(exc)) from None
    from ..crawl.runner import refresh_actors

    refresh_actors(Path(db_path))
    for line in result.bad:
        click.echo(line, err=True)
    counts = result.counts
    click.echo(f"{source_name}: {counts['new']} new, {counts['updated']} updated, {counts['unchanged']} unchanged posts; "
               f"{result.flagged} new flags; {len(result.bad)} bad rows")
    if result.bad:
        raise SystemExit(1)


def ingest_feed(file: str, source_name: str, db_path: str) -> None:
    """`monitor ingest` of a crawl's feed (monitor.crawl.feed_import); exit code 1 when a record was bad."""
    import signal

    from ..crawl.feed_import import import_feed
    from ..crawl.runner import refresh_actors

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    result = import_feed(file, source_name, db_path)
    refresh_actors(Path(db_path))
    for line in result.bad[:50]:
        click.echo(line, err=True)
    run = result.run
    click.echo(f"{source_name}: {run['status']}: {result.records} records, {run['pages']} pages, {run['posts_new']} new, "
               f"{run['posts_updated']} updated, {run['posts_unchanged']} unchanged posts; {run['flags_new']} new flags"
               + (f"; {run['reason']}" if run.get("reason") else ""))
    if run["status"] != "ok":
        raise SystemExit(1)


RUN_COLUMNS = ["id", "source", "kind", "status", "started_at", "duration_s", "pages", "posts_new", "posts_updated",
               "posts_unchanged", "posts_missing", "flags_new", "images_fetched", "images_analysed", "images_failed", "errors", "reason"]


@cli.command()
@click.option("--source", metavar="S", help="Only runs of this source.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@zone_config_option
@db_option
@format_option(times=True)
def runs(source, limit, config_file, db_path, fmt):
    """List crawl and import runs, newest first: result, pages, posts new/updated/unchanged, errors by type.

    \b
    Example:
        monitor runs --source demo-forum --limit 5
    """
    zone = zone_of(config_file)
    with open_db(db_path, must_exist=True) as db:
        rows = db.runs(source, limit=limit)
    for row in rows:
        row["errors"] = ", ".join(f"{k} x{v}" for k, v in json.loads(row.get("errors") or "{}").items())
    click.echo(render(rows, RUN_COLUMNS, fmt, zone=zone))
