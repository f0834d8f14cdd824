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
