"""Forum engine presets: CSS selectors and paging rules as data, one TOML file per engine.

A new forum of a known engine needs only a configuration entry (with
`selectors` overrides where its theme differs); a new engine needs a preset
file here, saved pages and a test.

Sections and keys (all CSS selectors unless said otherwise):
  [index]   boards: links to boards on the forum index
  [board]   rows: one thread row; threads: the thread link (inside a row, or anywhere
            without rows); marker: the parts of a row that change when the thread
            gets a new post (replies, last post), never views; next: next page link
  [thread]  title (alternatives separated by commas are tried in order, not in page
            order), board (breadcrumb links; the last one with text names the board),
            posts: one post; not_posts: inside a `posts` match, marks one that is not
            a post (a style's column header); post_id: attribute of the post holding
            its id, post_id_pattern: regex with one group; author; date; date_attr:
            attribute with the real date; date_formats: strptime formats; date_drop:
            parts of the date element that are not the post's date (an edit note);
            timezone: the engine's default zone for printed dates without an offset
            (a source's `timezone` replaces it); permalink: the post's own link;
            post_url: when it has none, "...{post}...{thread}..." with the thread id
            from thread_id_pattern; body; attachments: where attached images are;
            quote_drop: parts of a quote that are not the quoted words ("X wrote:");
            drop: parts of the body that are not the author's words (quotes, signatures);
            quote: quoted replies; next: next page link
  [urls]    drop_params: query parameters removed from every link (session ids, sort
            orders); skip: substrings of links never followed (calendars, search)
  [session] logged_out: present only on pages shown to a logged-out visitor;
            login_form: the login form on the login page
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files

PRESETS_DIR = files("spiders") / "presets"
"""A Traversable, not a Path: on a Scrapyd node the package is a zipped egg that `Path(__file__)` cannot look into."""

SCHEMA = {
    "index": {"boards": str},
    "board": {"rows": str, "threads": str, "marker": str, "next": str, "title": str},
    "thread": {
        "title": str,
        "board": str,
        "posts": str,
        "post_id": str,
        "post_id_pattern": str,
        "author": str,
        "date": str,
        "date_attr": str,
        "date_formats": list,
        "date_drop": list,
        "timezone": str,
        "permalink": str,
        "post_url": str,
        "thread_id_pattern": str,
        "not_posts": str,
        "body": str,
        "attachments": str,
        "drop": list,
        "quote": str,
        "quote_drop": list,
        "next": str,
    },
    "urls": {"drop_params": list, "skip": list},
    "session": {"logged_out": str, "login_form": str},
}
REQUIRED = {("thread", "posts"), ("thread", "body"), ("board", "threads")}


class PresetError(ValueError):
    pass


def engines() -> list[str]:
    return sorted(p.name.removesuffix(".toml") for p in PRESETS_DIR.iterdir() if p.name.endswith(".toml"))


@cache
def _load(engine: str) -> dict:
    if engine not in engines():  # a name, not a path: "../x" never leaves the presets folder
        raise PresetError(f"unknown forum engine {engine!r}; known: {', '.join(engines())}")
    path = PRESETS_DIR / f"{engine}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"{path}: not valid TOML: {exc}") from None
    return validate(data, str(path))


def load_preset(engine: str, overrides: dict | None = None) -> dict:
    """The validated preset of `engine`, with a source's `selectors` overrides merged in."""
    preset = _load(engine)
    if not overrides:
        return preset
    check_overrides(overrides, "selectors")
    merged = {section: dict(values) if isinstance(values, dict) else values for section, values in preset.items()}
    for section, values in overrides.items():
        merged[section].update(values)
    return merged


def check_overrides(overrides, where: str) -> None:
    """Refuse an override table that names an unknown section or key, or has a wrong type."""
    if not isinstance(overrides, dict):
        raise PresetError(f"{where}: must be a table of sections")
    for section, values in overrides.items():
        if section not in SCHEMA:
            raise PresetError(f"{where}.{section}: unknown section; known: {', '.join(sorted(SCHEMA))}")
        if not isinstance(values, dict):
            raise PresetError(f"{where}.{section}: must be a table")
        for key, value in values.items():
            if key not in SCHEMA[section]:
                raise PresetError(f"{where}.{section}.{key}: unknown key; known: {', '.join(sorted(SCHEMA[section]))}")
            if not isinstance(value, SCHEMA[section][key]):
                raise PresetError(f"{where}.{section}.{key}: must be a {SCHEMA[section][key].__name__}")


def validate(data: dict, where: str) -> dict:
    out: dict = {"name": data.get("name", "")}
    body = {k: v for k, v in data.items() if k != "name"}
    try:
        check_overrides(body, "")
    except PresetError as exc:
        raise PresetError(f"{where}: {str(exc).lstrip('.')}") from None
    out.update({section: dict(values) for section, values in body.items()})
    for section in SCHEMA:
        out.setdefault(section, {})
    for section, key in REQUIRED:
        if key not in out[section]:
            raise PresetError(f"{where}: [{section}] {key} is required")
    return out
