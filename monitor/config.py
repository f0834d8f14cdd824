"""The sources configuration: which sites to crawl and how, validated on load.

A TOML file with one `[sources.NAME]` table per source (see
`data/sources.example.toml`). Every error names the file, the field and
what is wrong, so a typo never turns into a silent empty crawl. Secrets
(forum passwords) are never written here: a source names the environment
variables that hold them.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from spiders.dates import ZoneError, zone_of
from spiders.presets import PresetError, check_overrides, load_preset
from spiders.session import LOGIN_KEYS

from .crawl.scheduling import DEFAULT_TIMEZONE, Schedule, build_trigger, timezone_of
from .crawl.scrapyd import DEFAULT_PROJECT, Cluster, Node
from .report.alerts import Alerts, parse_alerts
from .report.digest import DigestSettings, parse_digest

DEFAULT_CONFIG = "data/sources.toml"


class ConfigError(Exception):
    """A configuration that cannot be used; the message names file and field."""


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    options: dict = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.options.get("base_url", "")


SCHEDULER_DEFAULTS = {
    "timezone": DEFAULT_TIMEZONE,
    "max_parallel": 2,  # crawls at once
    "time_limit": 3600,  # seconds before a crawl is killed
    "grace_seconds": 30,  # on SIGTERM, how long running crawls may finish
    "misfire_grace_seconds": 900,  # a run missed by less than this (daemon busy or down) still runs
    "fail_after": 3,  # `monitor status` fails when a source failed this many runs in a row
    "log_days": 30,  # crawl logs older than this are deleted
}


@dataclass
class Config:
    sources: dict[str, Source]
    schedules: dict[str, Schedule]  # source name -> its schedule
    scheduler: dict
    path: str = ""
    alerts: Alerts = field(default_factory=Alerts)
    digest: DigestSettings = field(default_factory=DigestSettings)
    cluster: Cluster | None = None  # Scrapyd nodes: crawls are dispatched to them instead of run here


def _url(value) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host"
    return None


def _non_negative(value) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
    return None if ok else "must be a number >= 0"


def _text(value) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _whole(minimum: int):
    def check(value) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
        return None if ok else f"must be a whole number >= {minimum}"

    return check


def _positive(value) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    return None if ok else "must be a number > 0"


def _selectors(value) -> str | None:
    try:
        check_overrides(value, "selectors")
    except PresetError as exc:
        return str(exc).split(": ", 1)[-1] if str(exc).startswith("selectors:") else str(exc)
    return None


def _login(value) -> str | None:
    if not isinstance(value, dict):
        return "must be a table: url, username_env, password_env (and optionally username_field, password_field, logged_out, login_form)"
    unknown = set(value) - LOGIN_KEYS
    if unknown:
        return f"unknown key(s) {sorted(unknown)}; known: {sorted(LOGIN_KEYS)}"
    for key in ("url", "username_env", "password_env"):
        if key not in value:
            return f"needs {key!r}"
    if _url(value["url"]):
        return "url must be an http(s) URL"
    for key in ("username_env", "password_env"):
        if not isinstance(value[key], str) or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", value[key]):
            return f"{key} must name an environment variable (A-Z, 0-9, _), not hold the secret itself"
    return None


def _timeline(value) -> str | None:
    return None if value in ("public", "local") else "must be 'public' or 'local'"


def _hashtag(value) -> str | None:
    ok = isinstance(value, str) and re.fullmatch(r"#?\w{1,100}", value)
    return None if ok else "must be a hashtag (letters, digits, _)"


def _listing(value) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return None
    return "must be true/false or a list of board names, e.g. [\"Marketplace\", \"Jual Beli\"]"


def _flag(value) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _origins(value) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "must be a list of URLs such as [\"https://i.imgur.com\"]"
    for v in value:
        if _url(v):
            return f"{v!r}: must be an http:// or https:// URL with a host"
    return None


def _engine(value) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    try:
        load_preset(value)
    except PresetError as exc:
        return str(exc)
    return None


def _at_most(limit: float):
    """A finite number from 0 to `limit` (a hundred years of days or hours)."""
    def check(value) -> str | None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= limit
        return None if ok else f"must be a number from 0 to {limit:g}"
    return check


def _zone(value) -> str | None:
    if not isinstance(value, str):
        return "must be a string: an IANA zone such as Asia/Jakarta, or an offset such as +07:00"
    try:
        zone_of(value)
    except ZoneError as exc:
        return str(exc)
    return None


def _categories(value) -> str | None:
    ok = isinstance(value, list) and value and all(isinstance(v, str) and re.fullmatch(r"[\w-]+(/[\w-]+)*", v) for v in value)
    return None if ok else 'must be a list of categories as in their address, e.g. ["marketplace/5", "jual-beli/12/7"]'


def _channel(value) -> str | None:
    ok = isinstance(value, str) and re.fullmatch(r"[A-Za-z][\w]{3,31}", value)
    return None if ok else "must be a public channel name (letters, digits, _; 4-32 characters)"


COMMON = {
    "kind": _text,
    "schedule": _text,  # cron expression; checked by building the trigger
    "every": _text,  # interval like 6h; checked by building the trigger
    "description": _text,
    "base_url": _url,
    "proxy": _url,  # an HTTP proxy; for .onion: privoxy forwarding to Tor's SOCKS port
    "max_pages": _whole(0),
    "max_depth": _whole(0),
    "delay": _non_negative,
    "timeout": _positive,
    "concurrency": _whole(1),
    "retries": _whole(0),
    "max_response_mb": _positive,
    "listing": _listing,  # true, or board names: thread titles there are listing titles (a marketplace)
    "images": _flag,  # fetch and read the images of flagged posts and posts that speak of photos (default true)
    "images_per_run": _whole(0),  # images fetched per run at most (default 50); the rest wait for the next run
    "image_hosts": _origins,  # other origins the source's images may come from (its own always may)
    "node": _text,  # the Scrapyd node (a name under [scrapyd.nodes]) this source always runs on; default: any
}
KINDS = {
    "forum": ({"engine": _engine, "selectors": _selectors, "login": _login,
               "timezone": _zone,  # the board's zone for printed times without an offset (default: the engine's)
               "recheck_days": _at_most(36_500),  # threads with a post this recent are re-read for edits and deletions
               "recheck_hours": _at_most(876_000)},  # ... when last read this long ago
              {"base_url", "engine"}),
    "telegram": ({"channel": _channel}, {"channel"}),
    "mastodon": ({"hashtag": _hashtag, "timeline": _timeline}, {"base_url"}),
    "discourse": ({"categories": _categories, "recheck_days": _at_most(36_500), "recheck_hours": _at_most(876_000)}, {"base_url"}),
}


def parse_sources(doc: dict, where: str) -> dict[str, Source]:
    """Validate a loaded configuration document's sources; `where` names it in errors."""
    return parse_config(doc, where).sources


def _schedule_of(table: dict, path: str, where: str, timezone: str) -> Schedule | None:
    given = [k for k in ("schedule", "every") if k in table]
    if len(given) > 1:
        raise ConfigError(f"{where}: {path}: give schedule (cron) or every (interval), not both")
    if not given:
        return None
    key = given[0]
    kind = "cron" if key == "schedule" else "every"
    try:
        build_trigger(kind, table[key], timezone)
    except ValueError as exc:
        raise ConfigError(f"{where}: {path}.{key}: {exc}") from None
    return Schedule(kind, table[key], f"{path}.{key}")


def _scheduler_settings(table, where: str) -> dict:
    if table is None:
        return dict(SCHEDULER_DEFAULTS)
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: scheduler: must be a table")
    out = dict(SCHEDULER_DEFAULTS)
    for key, value in table.items():
        if key not in SCHEDULER_DEFAULTS:
            raise ConfigError(f"{where}: scheduler.{key}: unknown field; known: {sorted(SCHEDULER_DEFAULTS)}")
        if key == "timezone":
            try:
                timezone_of(value if isinstance(value, str) else "")
            except ValueError as exc:
                raise ConfigError(f"{where}: scheduler.timezone: {exc}") from None
        else:
            problem = (_positive if key in ("time_limit",) else _whole(1 if key in ("max_parallel", "fail_after", "log_days") else 0))(value)
            if problem:
                raise ConfigError(f"{where}: scheduler.{key}: {problem}")
        out[key] = value
    return out


def parse_config(doc: dict, where: str) -> Config:
    """Validate a whole configuration document: sources, groups and scheduler settings."""
    unknown = set(doc) - {"sources", "groups", "scheduler", "alerts", "digest", "scrapyd"}
    if unknown:
        raise ConfigError(f"{where}: unknown top-level key(s) {sorted(unknown)}; known: alerts, digest, groups, scheduler, scrapyd, sources")
    try:
        alerts = parse_alerts(doc.get("alerts"))
        digest = parse_digest(doc.get("digest"))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    scheduler = _scheduler_settings(doc.get("scheduler"), where)
    sources = _parse_source_tables(doc, where)
    cluster = _cluster(doc.get("scrapyd"), where)
    for name, source in sources.items():
        pinned = source.options.get("node")
        if pinned is not None and (cluster is None or pinned not in cluster.nodes):
            known = ", ".join(sorted(cluster.nodes)) if cluster else "none: there is no [scrapyd] table"
            raise ConfigError(f"{where}: sources.{name}.node: unknown node {pinned!r}; known: {known}")
    for i, rule in enumerate(alerts.rules):
        unknown_sources = set(rule.sources) - set(sources)
        if unknown_sources:  # a typo would make the rule silently never fire
            raise ConfigError(f"{where}: alerts.rules[{i}].sources: unknown source {sorted(unknown_sources)[0]!r}; "
                              f"known: {', '.join(sorted(sources))}")
    schedules = {}
    for name in sources:
        table = doc["sources"][name]
        found = _schedule_of(table, f"sources.{name}", where, scheduler["timezone"])
        if found:
            schedules[name] = found
    groups = doc.get("groups", {})
    if not isinstance(groups, dict):
        raise ConfigError(f"{where}: groups: must be a table of [groups.NAME] tables")
    for group, table in groups.items():
        path = f"groups.{group}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: {path}: must be a table")
        extra = set(table) - {"sources", "schedule", "every", "description"}
        if extra:
            raise ConfigError(f"{where}: {path}.{sorted(extra)[0]}: unknown field; known: description, every, schedule, sources")
        members = table.get("sources")
        if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
            raise ConfigError(f"{where}: {path}.sources: must be a list of source names")
        for member in members:
            if member not in sources:
                raise ConfigError(f"{where}: {path}.sources: unknown source {member!r}; known: {', '.join(sorted(sources))}")
            if member in schedules:
                raise ConfigError(f"{where}: {path}.sources: {member!r} already has a schedule ({schedules[member].origin})")
        found = _schedule_of(table, path, where, scheduler["timezone"])
        if found is None:
            raise ConfigError(f"{where}: {path}: needs schedule (cron) or every (interval)")
        for member in members:
            schedules[member] = found
    return Config(sources, schedules, scheduler, where, alerts, digest, cluster)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _cluster(table, where: str) -> Cluster | None:
    """The `[scrapyd]` table: `[scrapyd.nodes.NAME]` tables with `url` and optional `username_env` /
    `password_env` (names of environment variables, never the secrets), and the project's settings."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: scrapyd: must be a table")
    known = {"nodes", "project", "poll_seconds", "lost_after_seconds"}
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}: scrapyd.{key}: unknown field; known: {sorted(known)}")
    project = table.get("project", DEFAULT_PROJECT)
    if not isinstance(project, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", project):
        raise ConfigError(f"{where}: scrapyd.project: must be the project name deployed on the nodes (letters, digits, _ . -)")
    timing = {}
    for key, default, low in (("poll_seconds", 2.0, 0.1), ("lost_after_seconds", 60.0, 1.0)):
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
            raise ConfigError(f"{where}: scrapyd.{key}: must be a number of seconds >= {low:g}")
        timing[key] = float(value)
    tables = table.get("nodes")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{where}: scrapyd.nodes: add at least one [scrapyd.nodes.NAME] table with a url")
    nodes = {}
    for name, node in tables.items():
        path = f"scrapyd.nodes.{name}"
        _named_table(name, node, where, path, "node")
        for key in node:
            if key not in ("url", "username_env", "password_env"):
                raise ConfigError(f"{where}: {path}.{key}: unknown field; known: password_env, url, username_env "
                                  "(credentials are read from the environment variables these name)")
        problem = _url(node.get("url")) if "url" in node else "required: the node's address, e.g. http://10.0.0.5:6800"
        if problem:
            raise ConfigError(f"{where}: {path}.url: {problem}")
        if urlsplit(node["url"]).username or urlsplit(node["url"]).password:
            raise ConfigError(f"{where}: {path}.url: no credentials in the URL; name environment variables in "
                              "username_env and password_env")
        for key in ("username_env", "password_env"):
            if key in node and not (isinstance(node[key], str) and _ENV_NAME.fullmatch(node[key])):
                raise ConfigError(f"{where}: {path}.{key}: must be the name of an environment variable")
        nodes[name] = Node(name, node["url"], node.get("username_env"), node.get("password_env"))
    return Cluster(nodes, project, timing["poll_seconds"], timing["lost_after_seconds"])


def _named_table(name: str, table, where: str, path: str, what: str) -> None:
    """A [sources.NAME] or [scrapyd.nodes.NAME] table: a name fit for file names and job ids, and a table."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]{0,63}", name):
        raise ConfigError(f"{where}: {path}: {what} names are lower-case letters, digits, '-' and '_'")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: {path}: must be a table")


def _parse_source_tables(doc: dict, where: str) -> dict[str, Source]:
    tables = doc.get("sources")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{where}: no sources: add at least one [sources.NAME] table")
    sources = {}
    for name, table in tables.items():
        path = f"sources.{name}"
        _named_table(name, table, where, path, "source")
        kind = table.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{where}: {path}.kind: must be one of {sorted(KINDS)}, got {kind!r}")
        extra, required = KINDS[kind]
        checks = {**COMMON, **extra}
        for key, value in table.items():
            if key not in checks:
                raise ConfigError(f"{where}: {path}.{key}: unknown field for kind {kind!r}; known: {sorted(checks)}")
            problem = checks[key](value)
            if problem:
                raise ConfigError(f"{where}: {path}.{key}: {problem}")
        for key in sorted(required - set(table)):
            raise ConfigError(f"{where}: {path}.{key}: required for kind {kind!r}")
        if kind == "mastodon" and ("hashtag" in table) == ("timeline" in table):
            raise ConfigError(f"{where}: {path}: give exactly one of hashtag or timeline")
        if (urlsplit(table.get("base_url", "")).hostname or "").endswith(".onion") and "proxy" not in table:
            raise ConfigError(f"{where}: {path}.proxy: required for a .onion base_url (an HTTP proxy to Tor, e.g. privoxy "
                              "on http://127.0.0.1:8118); without one the name would be looked up outside Tor")
        options = {k: v for k, v in table.items() if k not in ("kind", "schedule", "every")}
        sources[name] = Source(name=name, kind=kind, options=options)
    return sources


def config_path(explicit: str | None) -> Path:
    return Path(explicit or os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)


def load_sources(path: str | os.PathLike) -> dict[str, Source]:
    """Load and validate the sources file at `path`."""
    return load_config(path).sources


def load_config(path: str | os.PathLike) -> Config:
    """Load and validate the configuration file at `path`: sources, groups, scheduler."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"{path}: configuration file not found; copy data/sources.example.toml to {path} "
            "or pass --config FILE (env MONITOR_CONFIG)"
        )
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return parse_config(doc, str(path))


def select(sources: dict[str, Source], names: list[str]) -> list[Source]:
    """The sources named, in order; an unknown name lists the known ones."""
    unknown = [n for n in names if n not in sources]
    if unknown:
        raise ConfigError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(sorted(sources))}")
    return [sources[n] for n in names]
