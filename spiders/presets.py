"""Forum engine presets: CSS selectors and paging rules as data, one TOML file per engine.

A new forum of a known engine needs only a configuration entry; a new engine
needs a preset file here, saved pages and a test.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

PRESETS_DIR = Path(__file__).parent / "presets"

SCHEMA = {
    "index": {"boards": str},
    "board": {"threads": str, "next": str, "title": str},
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
        "body": str,
        "drop": list,
        "quote": str,
        "next": str,
    },
}
REQUIRED = {("thread", "posts"), ("thread", "body")}


class PresetError(ValueError):
    pass


def engines() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


@cache
def load_preset(engine: str) -> dict:
    """The validated preset of `engine`; unknown keys are refused by name."""
    path = PRESETS_DIR / f"{engine}.toml"
    if not path.is_file():
        raise PresetError(f"unknown forum engine {engine!r}; known: {', '.join(engines())}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return validate(data, str(path))


def validate(data: dict, where: str) -> dict:
    out: dict = {"name": data.get("name", "")}
    for section, value in data.items():
        if section == "name":
            continue
        if section not in SCHEMA:
            raise PresetError(f"{where}: unknown section [{section}]; known: {sorted(SCHEMA)}")
        if not isinstance(value, dict):
            raise PresetError(f"{where}: [{section}] must be a table")
        for key, v in value.items():
            if key not in SCHEMA[section]:
                raise PresetError(f"{where}: [{section}] unknown key {key!r}; known: {sorted(SCHEMA[section])}")
            if not isinstance(v, SCHEMA[section][key]):
                raise PresetError(f"{where}: [{section}] {key} must be a {SCHEMA[section][key].__name__}")
        out[section] = dict(value)
    for section, key in REQUIRED:
        if key not in out.get(section, {}):
            raise PresetError(f"{where}: [{section}] {key} is required")
    for section in SCHEMA:
        out.setdefault(section, {})
    return out
