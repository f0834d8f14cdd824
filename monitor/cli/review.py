"""Commands for people: users, review decisions from the shell, and the review page server."""

from __future__ import annotations

import sys

import click

from .app import cli, db_option, open_db, zone_config_option, zone_of
from .output import format_option, render


def _password(prompt: str) -> str:
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\n")


@cli.group()
def users():
    """Manage the review page's users: admin, reviewer or viewer.

    \b
    Example:
        monitor users add rina --role reviewer
        monitor users list
    """


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "reviewer", "viewer"]), required=True)
@db_option
def users_add(name, role, db_path):
    """Add user NAME; the password is prompted for (or read from standard input).

    \b
    Example:
        monitor users add rina --role reviewer
        echo 'a long passphrase' | monitor users add bot --role viewer
    """
    from ..web.accounts import AccountError, add_user

    password = _password(f"Password for {name}")
    with open_db(db_path) as db:
        try:
            add_user(db, name, role, password, by="cli")
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"added {name} ({role})")


@users.command("list")
@zone_config_option
@db_option
@format_option(times=True)
def users_list(config_file, db_path, fmt):
    """List users with their role and state.

    \b
    Example:
        monitor users list --format json
    """
    zone = zone_of(config_file)
    with open_db(db_path) as db:
        rows = [{k: u[k] for k in ("name", "role", "disabled", "locked_until", "lang", "last_visit", "created_at")} for u in db.users()]
    click.echo(render(rows, ["name", "role", "disabled", "locked_until", "lang", "last_visit", "created_at"], fmt, zone=zone))


@users.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable the user again instead.")
@db_option
def users_disable(name, enable, db_path):
    """Disable (or with --enable, enable again) user NAME.

    \b
    Example:
        monitor users disable rina
    """
    from ..web.accounts import AccountError, set_disabled

    with open_db(db_path) as db:
        try:
            set_disabled(db, name, not enable, by="cli")
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{name} {'enabled' if enable else 'disabled'}")


@users.command("set-password")
@click.argument("name")
@db_option
def users_set_password(name, db_path):
    """Set a new password for NAME (prompted, or read from standard input); clears a lockout.

    \b
    Example:
        monitor users set-password rina
    """
    from ..web.accounts import AccountError, set_password

    password = _password(f"New password for {name}")
    with open_db(db_path) as db:
        try:
            set_password(db, name, password, by="cli")
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"password of {name} changed")


@cli.command()
@click.argument("action", type=click.Choice(["list", "confirm", "dismiss", "escalate", "note"]))
@click.argument("ids", nargs=-1, type=int)
@click.option("--reason", type=click.Choice(["news_report", "not_a_sale", "duplicate", "other"]), help="Why a flag is dismissed.")
@click.option("--note", help="A note kept with the decision.")
@click.option("--as", "as_user", metavar="USER", help="The user deciding (must exist; required for decisions).")
@zone_config_option
@db_option
@format_option(times=True)
def review(action, ids, reason, note, as_user, config_file, db_path, fmt):
    """Decide on flags from the shell: list their decisions, or confirm / dismiss / escalate / annotate them.

    IDS are the `id`s that `monitor flags --format json` prints. Every
    decision is written to the audit log under --as USER.

    \b
    Example:
        monitor review confirm 12 15 --as rina --note "seller active on 3 channels"
        monitor review dismiss 7 --reason news_report --as rina
        monitor review list 12
    """
    from ..web.review import ReviewError, decide

    with open_db(db_path) as db:
        if action == "list":
            rows = [e for flag_id in ids for e in db.review_events(flag_id)] if ids else []
            click.echo(render(rows, ["flag_id", "at", "user", "action", "before_status", "after_status", "reason", "note"], fmt,
                              zone=zone_of(config_file)))
            return
        if not ids:
            raise click.UsageError("give the flag IDS to decide on")
        if not as_user:
            raise click.UsageError("--as USER is needed: decisions are recorded under a user (monitor users list)")
        user = db.user(as_user)
        if user is None or user["disabled"]:
            raise click.ClickException(f"--as: no enabled user {as_user!r} (monitor users list)")
        for flag_id in ids:
            try:
                flag = decide(db, flag_id, action, user, reason=reason, note=note)
            except ReviewError as exc:
                raise click.ClickException(f"flag {flag_id}: {exc}") from None
            click.echo(f"flag {flag_id}: {flag['status']}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; keep 127.0.0.1 unless behind a proxy.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--secure-cookies", is_flag=True, help="Mark the session cookie Secure (when served behind HTTPS).")
@zone_config_option
@db_option
def serve(host, port, secure_cookies, config_file, db_path):
    """Serve the review page (waitress) over the database: login, queue, post detail, audit log.

    Times on the page are in the team's zone (`[scheduler] timezone`, default Asia/Jakarta).

    \b
    Example:
        monitor serve --port 8000
    """
    from ..web import serve_app

    open_db(db_path).close()
    serve_app(db_path, host, port, secure_cookies=secure_cookies, zone=zone_of(config_file).key)
