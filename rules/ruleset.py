"""Rules as data: loading and validating the TOML rule files in this folder.

Each file holds `[[rule]]` tables. A rule has an id, a label, a weight, one
pattern (`phrases`, `tokens` or `regex`) and examples that must and must not
match; context rules also carry a `category` and a `direction`. Unknown keys
and bad values are refused with the file and line of the rule, because rule
authors edit these files by hand.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

RULES_DIR = files("rules")
"""The shipped rules, as a Traversable: they load from a zipped egg too. A user's folder is a plain Path."""

LABELS = {
    "SALE_INTENT",  # the author offers something: jual, WTS, selling, ready stok
    "DATA",  # the kind of personal data on offer; `category` says which
    "PRICE",  # a price or a price term
    "CONTACT",  # a way to reach the seller
    "VOLUME",  # an amount of records, rows, files
    "TERMS",  # samples, guarantees, bulk, payment: how a deal is made
    "FIELD",  # a personal-data field name; several together describe a dump's columns
    "BENIGN",  # lawful commerce sharing the vocabulary (paket data, dompet KTP)
    "CONTEXT",  # ConText-style modifier; `category` and `direction` say how
}
DATA_CATEGORIES = {"ektp_selfie", "id_documents", "database_dump", "combolist_credentials", "other_pii"}
CONTEXT_CATEGORIES = {"REPORTED", "OFFICIAL", "WARNING", "NEGATED", "QUESTION", "PSEUDO"}
DIRECTIONS = {"forward", "backward", "both"}
PATTERN_KEYS = ("phrases", "tokens", "regex")
ALLOWED_KEYS = {"id", "label", "weight", "description", "category", "direction", "match", "no_match", *PATTERN_KEYS}


class RuleError(ValueError):
    """A rule file that cannot be used; the message names file and line."""


@dataclass(frozen=True)
class Rule:
    id: str
    label: str
    weight: float
    file: str
    line: int
    description: str = ""
    category: str | None = None
    direction: str = "forward"
    phrases: tuple[str, ...] = ()
    tokens: tuple[tuple[dict, ...], ...] = ()
    regex: re.Pattern[str] | None = None  # a group named `hit`, if present, is the span reported
    match: tuple[str, ...] = ()
    no_match: tuple[str, ...] = ()


def _rule_lines(text: str) -> list[int]:
    """Line numbers (1-based) of each `[[rule]]` header, in order."""
    return [i for i, line in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\[\s*rule\s*\]\]", line)]


def load_file(path: Traversable) -> list[Rule]:
    """Load and validate one rule file."""
    text = path.read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path}: not valid TOML: {exc}") from None
    unknown_top = set(doc) - {"rule"}
    if unknown_top:
        raise RuleError(f"{path}: unknown top-level key(s) {sorted(unknown_top)}; rules go in [[rule]] tables")
    raw_rules = doc.get("rule", [])
    lines = _rule_lines(text)
    rules = []
    for n, raw in enumerate(raw_rules):
        line = lines[n] if n < len(lines) else 0
        rules.append(_build(raw, path, line))
    return rules


def _build(raw: dict, path: Traversable, line: int) -> Rule:
    where = f"{path.name}:{line}"

    def fail(msg: str) -> RuleError:
        return RuleError(f"{where}: rule {raw.get('id', '?')!r}: {msg}")

    unknown = set(raw) - ALLOWED_KEYS
    if unknown:
        raise fail(f"unknown key(s) {sorted(unknown)}; allowed: {sorted(ALLOWED_KEYS)}")
    for key in ("id", "label", "weight"):
        if key not in raw:
            raise fail(f"missing required key '{key}'")
    if not isinstance(raw["id"], str) or not re.fullmatch(r"[a-z0-9_.\-]+", raw["id"]):
        raise fail("id must be lower-case letters, digits, '.', '_' or '-'")
    if raw["label"] not in LABELS:
        raise fail(f"label must be one of {sorted(LABELS)}")
    if not isinstance(raw["weight"], (int, float)) or isinstance(raw["weight"], bool):
        raise fail("weight must be a number")
    present = [k for k in PATTERN_KEYS if k in raw]
    if len(present) != 1:
        raise fail(f"needs exactly one of {list(PATTERN_KEYS)}, found {present or 'none'}")
    category = raw.get("category")
    if raw["label"] == "DATA" and category not in DATA_CATEGORIES:
        raise fail(f"DATA rules need a category from {sorted(DATA_CATEGORIES)}")
    if raw["label"] == "CONTEXT":
        if category not in CONTEXT_CATEGORIES:
            raise fail(f"CONTEXT rules need a category from {sorted(CONTEXT_CATEGORIES)}")
        if raw.get("direction", "forward") not in DIRECTIONS:
            raise fail(f"direction must be one of {sorted(DIRECTIONS)}")
    elif "direction" in raw:
        raise fail("only CONTEXT rules take a direction")
    for key in ("match", "no_match"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(f"{key} must be a list of strings")
    if not raw.get("match"):
        raise fail("give at least one example in 'match'")

    phrases: tuple[str, ...] = ()
    tokens: tuple[tuple[dict, ...], ...] = ()
    regex = None
    if "phrases" in raw:
        value = raw["phrases"]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise fail("phrases must be a non-empty list of non-empty strings")
        phrases = tuple(value)
    elif "tokens" in raw:
        value = raw["tokens"]
        if not isinstance(value, list) or not value or not all(isinstance(t, dict) for t in value):
            raise fail("tokens must be a list of spaCy token-pattern tables")
        tokens = (tuple(value),)
    else:
        try:
            regex = re.compile(raw["regex"])
        except (re.error, TypeError) as exc:
            raise fail(f"regex does not compile: {exc}") from None
    return Rule(
        id=raw["id"],
        label=raw["label"],
        weight=float(raw["weight"]),
        file=path.name,
        line=line,
        description=raw.get("description", ""),
        category=category,
        direction=raw.get("direction", "forward"),
        phrases=phrases,
        tokens=tokens,
        regex=regex,
        match=tuple(raw.get("match", [])),
        no_match=tuple(raw.get("no_match", [])),
    )


def load_rules(directory: str | Path | Traversable = RULES_DIR) -> list[Rule]:
    """Load every `*.toml` rule file of `directory`; ids must be unique across files."""
    if isinstance(directory, (str, os.PathLike)):
        directory = Path(directory)
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    found = directory.is_dir() and sorted((p for p in directory.iterdir() if p.name.endswith(".toml")), key=lambda p: p.name)
    if not found:
        raise RuleError(f"{directory}: no rule files (*.toml)")
    for path in found:
        for rule in load_file(path):
            if rule.id in seen:
                raise RuleError(f"{rule.file}:{rule.line}: rule id {rule.id!r} already defined at {seen[rule.id]}")
            seen[rule.id] = f"{rule.file}:{rule.line}"
            rules.append(rule)
    return rules
