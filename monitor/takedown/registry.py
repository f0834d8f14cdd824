"""The platform registry: where each post's takedown request goes, read from `data/platforms.toml` (or a file given).

It also says how each platform shows that a post is gone: `[removed.NAME]`
tables give the element a platform prints its "does not exist" message in
(a CSS selector) and the messages; a platform lists the ones it can show in
`removed = [...]`. Re-checks look for a message only inside those elements,
so a seller cannot write "Post not found" into a live ad to have it recorded
as removed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from urllib.parse import urlsplit

import soupsieve

DATA = files("monitor.takedown") / "data"
"""The shipped registry and letters, as a Traversable: they also read from a zipped egg."""


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
    removed: list = field(default_factory=list)


@dataclass
class RemovedPage:
    """A platform's "this post is gone" page: messages looked for inside the elements `selector` matches."""

    name: str
    selector: str
    texts: list[str]


@dataclass
class Registry:
    platforms: list[Platform]
    default: Platform
    removed_pages: dict[str, RemovedPage] = field(default_factory=dict)

    def removal_pages(self, platform_id: str) -> list[RemovedPage]:
        """The removal pages a platform can show (none for an unknown platform id)."""
        for p in [*self.platforms, self.default]:
            if p.id == platform_id:
                return [self.removed_pages[name] for name in p.removed]
        return []

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


PLATFORM_KEYS = {"id", "name", "channel", "contact", "language", "fields", "hosts", "host_suffixes", "kinds", "removed"}
REMOVED_KEYS = {"selector", "texts"}
TOP_KEYS = {"default", "platform", "removed"}


def _removed_pages(doc: dict, path: Path | Traversable) -> dict[str, RemovedPage]:
    section = doc.get("removed", {})
    if not isinstance(section, dict):
        raise TakedownError(f"{path}: removed: a table of [removed.NAME] tables")
    pages = {}
    for name, table in section.items():
        where = f"removed.{name}"
        if not isinstance(table, dict):
            hint = (" (the list of bare markers was replaced: each page is a [removed.NAME] table with a selector and "
                    "texts, listed by the platforms that show it in removed = [...])") if name == "markers" else ""
            raise TakedownError(f"{path}: {where}: must be a table with selector and texts{hint}")
        unknown = set(table) - REMOVED_KEYS
        if unknown:
            raise TakedownError(f"{path}: {where}: unknown key(s) {sorted(unknown)}; known: {sorted(REMOVED_KEYS)}")
        selector, texts = table.get("selector"), table.get("texts")
        if not isinstance(selector, str) or not selector.strip():
            raise TakedownError(f"{path}: {where}.selector: required: the CSS selector of the element the message is in")
        try:
            soupsieve.compile(selector)
        except Exception as exc:  # noqa: BLE001 - soupsieve raises several kinds
            raise TakedownError(f"{path}: {where}.selector: not a CSS selector: {exc}") from None
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise TakedownError(f"{path}: {where}.texts: required: a list of the messages (non-empty strings)")
        pages[name] = RemovedPage(name, selector, texts)
    return pages


def load_registry(path: str | Path | None = None) -> Registry:
    path = Path(path) if path else DATA / "platforms.toml"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TakedownError(f"{path}: {exc}") from None

    def build(table: dict, where: str) -> Platform:
        if not isinstance(table, dict):
            raise TakedownError(f"{path}: {where}: must be a table")
        unknown = set(table) - PLATFORM_KEYS
        if unknown:
            raise TakedownError(f"{path}: {where}: unknown key(s) {sorted(unknown)}")
        for key in ("id", "name", "channel", "contact", "language"):
            if not isinstance(table.get(key), str):
                raise TakedownError(f"{path}: {where}.{key}: required string")
        if table["channel"] not in ("email", "web_form", "ministry"):
            raise TakedownError(f"{path}: {where}.channel: email, web_form or ministry")
        removed = table.get("removed", [])
        if not isinstance(removed, list) or not all(isinstance(n, str) for n in removed):
            raise TakedownError(f"{path}: {where}.removed: a list of [removed.NAME] names")
        missing = [n for n in removed if n not in pages]
        if missing:
            raise TakedownError(f"{path}: {where}.removed: no [removed.{missing[0]}] table; "
                                f"known: {', '.join(sorted(pages)) or 'none'}")
        return Platform(**table)

    unknown = set(doc) - TOP_KEYS
    if unknown:
        raise TakedownError(f"{path}: unknown key(s) {sorted(unknown)}; known: {sorted(TOP_KEYS)}")
    if "default" not in doc:
        raise TakedownError(f"{path}: a [default] platform is required")
    pages = _removed_pages(doc, path)
    platforms = [build(t, f"platform[{i}]") for i, t in enumerate(doc.get("platform", []))]
    return Registry(platforms, build(doc["default"], "default"), pages)
