"""The platform registry: where each post's takedown request goes, read from `data/platforms.toml` (or a file given)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DATA = Path(__file__).parent / "data"


class TakedownError(ValueError):
    pass


@dataclass
class Platform:
    id: str
    name: str
    channel: str
    contact: str
    language: str
    fields: list = field(default_factory=list)
    hosts: list = field(default_factory=list)
    host_suffixes: list = field(default_factory=list)
    kinds: list = field(default_factory=list)


@dataclass
class Registry:
    platforms: list[Platform]
    default: Platform
    removed_markers: list[str]

    def match(self, url: str, kind: str | None = None) -> Platform:
        """The platform of a post: by host (or a parent domain), host suffix, source kind, else the default."""
        host = (urlsplit(url or "").hostname or "").lower()
        for p in self.platforms:
            if any(host == h or host.endswith("." + h) for h in p.hosts):
                return p
        for p in self.platforms:
            if any(host.endswith(s) for s in p.host_suffixes):
                return p
        for p in self.platforms:
            if kind and kind in p.kinds:
                return p
        return self.default

    def get(self, platform_id: str) -> Platform:
        for p in [*self.platforms, self.default]:
            if p.id == platform_id:
                return p
        raise TakedownError(f"unknown platform {platform_id!r}; known: {', '.join(p.id for p in [*self.platforms, self.default])}")


PLATFORM_KEYS = {"id", "name", "channel", "contact", "language", "fields", "hosts", "host_suffixes", "kinds"}


def load_registry(path: str | Path | None = None) -> Registry:
    path = Path(path) if path else DATA / "platforms.toml"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TakedownError(f"{path}: {exc}") from None

    def build(table: dict, where: str) -> Platform:
        unknown = set(table) - PLATFORM_KEYS
        if unknown:
            raise TakedownError(f"{path}: {where}: unknown key(s) {sorted(unknown)}")
        for key in ("id", "name", "channel", "contact", "language"):
            if not isinstance(table.get(key), str):
                raise TakedownError(f"{path}: {where}.{key}: required string")
        if table["channel"] not in ("email", "web_form", "ministry"):
            raise TakedownError(f"{path}: {where}.channel: email, web_form or ministry")
        return Platform(**table)

    if "default" not in doc:
        raise TakedownError(f"{path}: a [default] platform is required")
    platforms = [build(t, f"platform[{i}]") for i, t in enumerate(doc.get("platform", []))]
    return Registry(platforms, build(doc["default"], "default"), list(doc.get("removed", {}).get("markers", [])))
