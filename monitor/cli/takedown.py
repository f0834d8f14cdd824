"""Commands for acting on confirmed sales: takedown batches, re-checks, the removal report, retention."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from .app import cli, config_option, db_option, open_db, utc_since, zone_config_option, zone_of
from .output import format_option, render


def _registry(path):
    from ..takedown.registry import TakedownError, load_registry

    try:
        return load_registry(path)
    except TakedownError as exc:
        raise click.ClickException(str(exc)) from None


@cli.group(invoke_without_command=True)
@click.option("--since", metavar="DATE", help="Only flags raised on or after DATE (YYYY-MM-DD or ISO time; without an offset, in the team's zone).")
@click.option("--platform", metavar="P", help="Only this platform (an id of the registry: telegram, meta, x, kominfo, ...).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json", "md", "html"]), default="csv", show_default=True)
@click.option("--out", "out_dir", default="data/takedown", show_default=True, type=click.Path(file_okay=False), help="Folder for the batches.")
@click.option("--as", "as_user", default="cli", show_default=True, metavar="USER", help="Who requests (recorded with the batch).")
@click.option("--platforms", "platforms_file", type=click.Path(exists=True, dir_okay=False), help="A platform registry instead of the built-in one.")
@zone_config_option
@db_option
@click.pass_context
def takedown(ctx, since, platform, fmt, out_dir, as_user, platforms_file, config_file, db_path):
    """Write takedown requests: one batch per platform from confirmed posts not yet requested.

    Each batch folder holds the list (URL, post id, first and last seen,
    category, severity, reasons, evidence SHA-256, masked identifiers) and a
    letter in Indonesian and one in English citing UU No. 27/2022, PP No.
    71/2019 and Permenkominfo No. 20/2016. Posts become 'requested'; running
    it again requests nothing twice. Times are in the team's time zone
    ([scheduler] timezone, default Asia/Jakarta): ISO 8601 with the offset
    in the list, "2026-12-06 12:10 WIB" in the letters.

    \b
    Example:
        monitor takedown --format xlsx --out data/takedown
        monitor takedown --platform telegram --since 2026-11-01
        monitor takedown report
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..takedown.batches import TakedownError, create_batches

    zone = zone_of(config_file)
    if since:
        since = utc_since(since, zone)
    registry = _registry(platforms_file)
    with open_db(db_path) as db:
        try:
            written = create_batches(db, registry, as_user, Path(out_dir), fmt, since, platform, zone=zone)
        except TakedownError as exc:
            raise click.ClickException(str(exc)) from None
    if not written:
        click.echo("nothing to request: no confirmed post waits for a takedown request")
        return
    for batch in written:
        click.echo(f"batch {batch['batch']} ({batch['platform']}): {batch['posts']} posts -> {batch['folder']}")


@takedown.command("report")
@db_option
@format_option()
def takedown_report(db_path, fmt):
    """Per platform: how many requested posts were removed, are still online or escalated, and the median days to removal.

    \b
    Example:
        monitor takedown report --format json
    """
    from ..takedown.batches import report

    with open_db(db_path, must_exist=True) as db:
        rows = report(db)
    click.echo(render(rows, ["platform", "requested", "removed", "still_online", "escalated", "unreachable", "median_days_to_removal"], fmt))


@cli.command()
@click.option("--batch", "batch_id", type=int, help="Only this batch.")
@click.option("--older-than", type=click.FloatRange(min=0), metavar="DAYS", help="Only requests made at least DAYS ago.")
@click.option("--escalate-after", default=7, show_default=True, type=click.FloatRange(min=0), metavar="DAYS",
              help="A post still online this many days after the request is escalated.")
@click.option("--timeout", default=20, show_default=True, type=click.FloatRange(min=1))
@click.option("--platforms", "platforms_file", type=click.Path(exists=True, dir_okay=False))
@config_option
@db_option
@format_option()
def recheck(batch_id, older_than, escalate_after, timeout, platforms_file, config_file, db_path, fmt):
    """Fetch every requested post again and record whether it is online, removed or unreachable.

    Requests go through the post's source proxy (from the configuration);
    a .onion without one is never looked up.

    \b
    Example:
        monitor recheck --older-than 2
        monitor recheck --batch 4
    """
    from ..config import ConfigError, config_path, load_sources
    from ..takedown.recheck import recheck as run_recheck

    proxies = {}
    path = config_path(config_file)
    if path.exists():
        try:
            proxies = {n: s.options["proxy"] for n, s in load_sources(path).items() if "proxy" in s.options}
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    with open_db(db_path) as db:
        results = run_recheck(db, _registry(platforms_file), proxies, batch_id, older_than, escalate_after, timeout)
    click.echo(render(results, ["item", "batch", "platform", "status", "detail", "url"], fmt))


@cli.command()
@click.option("--older-than", required=True, type=click.IntRange(min=1), metavar="DAYS")
@click.option("--yes", is_flag=True, help="Really delete; without it, only show what would go.")
@zone_config_option
@db_option
def purge(older_than, yes, config_file, db_path):
    """Remove captured pages and dismissed posts past retention; keep the audit log and open cases.

    Captures cited by posts still under review or takedown are kept. A dry
    run unless --yes is given.

    \b
    Example:
        monitor purge --older-than 180          # what would go
        monitor purge --older-than 180 --yes
    """
    from ..timefmt import local_label

    cutoff = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=older_than)).isoformat(timespec="seconds")
    zone = zone_of(config_file)
    with open_db(db_path) as db:
        found = db.purge_candidates(cutoff)
        click.echo(f"past retention ({older_than} days, before {local_label(cutoff, zone)}): {len(found['posts'])} dismissed posts, "
                   f"{len(found['evidence'])} captured pages")
        for post_id in found["posts"][:20]:
            click.echo(f"  post {post_id}")
        for sha in found["evidence"][:20]:
            click.echo(f"  capture {sha}")
        if not yes:
            click.echo("dry run: nothing removed (add --yes)")
            return
        db.purge(found["posts"], found["evidence"])
        from ..report.actors import rebuild_members

        rebuild_members(db)  # the sellers' pages and counts without the removed posts
        for sha in found["evidence"]:
            (db.evidence_dir / sha[:2] / f"{sha}.gz").unlink(missing_ok=True)
        db.audit("cli", "purge", f"older-than:{older_than}", None, {"posts": len(found["posts"]), "evidence": len(found["evidence"])})
    click.echo(f"removed {len(found['posts'])} posts and {len(found['evidence'])} captured pages")
