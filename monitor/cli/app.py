"""The `monitor` click group and the options every family of commands shares.

Command modules import the group from here and register on it; this module
imports none of them, so there is no circle (`monitor.cli` imports the families).
"""

from __future__ import annotations

import os

from pathlib import Path

import click

from .. import __version__
from ..store import DEFAULT_DB, Database, DatabaseError
from ..store.keys import SecretKeyError


def db_option(f):
    return click.option(
        "--db", "db_path", envvar="MONITOR_DB", default=DEFAULT_DB, show_default=True, metavar="PATH",
        help="SQLite database file (env MONITOR_DB). Created with its folder if missing.",
    )(f)


def config_option(f):
    return click.option(
        "--config", "config_file", envvar="MONITOR_CONFIG", default=None, metavar="FILE",
        help="Sources file (env MONITOR_CONFIG; default data/sources.toml).",
    )(f)


def zone_config_option(f):
    """--config for a command that reads the configuration only for the team's time zone."""
    return click.option(
        "--config", "config_file", envvar="MONITOR_CONFIG", default=None, metavar="FILE",
        help="Configuration whose [scheduler] timezone times are shown in (env MONITOR_CONFIG; default "
             "data/sources.toml if it exists, else Asia/Jakarta).",
    )(f)


def optional_config(config_file):
    """The configuration, or None when none was named and the default file does not exist."""
    from ..config import ConfigError, config_path, load_config

    path = config_path(config_file)
    if config_file is None and not Path(path).is_file():
        return None
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def zone_of(config_file):
    """The team's time zone: `[scheduler] timezone` of the configuration, or Asia/Jakarta without one.

    Only that setting is read: a command that shows times must not fail because a source elsewhere in
    the file is misconfigured (`monitor sources` reports that). A file that cannot be read as TOML or
    a zone that does not exist is said on standard error, and Asia/Jakarta is used."""
    import tomllib

    from ..config import config_path
    from ..timefmt import team_zone, timezone_of

    path = Path(config_path(config_file))
    if not path.is_file():
        if config_file is not None:
            raise click.ClickException(f"{path}: configuration file not found")
        return team_zone(None)
    try:
        scheduler = tomllib.loads(path.read_text(encoding="utf-8")).get("scheduler") or {}
        name = scheduler.get("timezone") if isinstance(scheduler, dict) else None
        return timezone_of(name) if name else team_zone(None)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError, TypeError) as exc:
        click.echo(f"{path}: the time zone could not be read ({exc}); times are shown in Asia/Jakarta", err=True)
        return team_zone(None)


def open_db(path: str, must_exist: bool = False) -> Database:
    """The database at `path`; with `must_exist`, a missing file is an error (commands that only read it
    would otherwise create an empty database and report that nothing happened)."""
    if must_exist and not Path(path).is_file():
        raise click.ClickException(f"no database at {path}: give --db PATH (env MONITOR_DB), or crawl or ingest first")
    try:
        return Database(path)
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from None


class MonitorGroup(click.Group):
    """The group that turns an unusable database or secret key into a one-line error, not a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (DatabaseError, SecretKeyError) as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=MonitorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="monitor")
def cli():
    """Find, explain and track posts that sell Indonesian personal data.

    Crawl forums and channels, flag sale ads with an explainable rule layer,
    and list the flags for review.

    \b
    Example:
        monitor demo            # crawl the built-in demo site end to end
        monitor flags --format json
    """
    # The data folder holds personal data, forum sessions and the secret key: whatever this
    # command (or the crawl subprocesses, which inherit it) creates is for the owner only.
    os.umask(0o077)


def check_date(value: str) -> None:
    import datetime as dt

    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD or ISO time)", param_hint="--since") from None


def utc_since(value: str, zone) -> str:
    """A --since value as stored times are written (UTC, to the second), so the comparison is by time, not by
    text: a time with an offset ("2026-12-06T12:10:00+07:00", as JSON output prints) means that instant; a
    date or a time without one is the team's (`zone`): "2026-12-06" is midnight in Jakarta."""
    import datetime as dt

    check_date(value)
    parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
