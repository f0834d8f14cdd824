"""Alerts: after a crawl run, one message per notifier listing the run's new flags that match an alert rule.

Rules live in the configuration (`[[alerts.rules]]`: severity, categories,
sources, actors (seller ids from /actors), and `notify`, the names of environment variables that hold apprise
URLs: a Telegram bot, e-mail, Slack, Matrix, a JSON webhook). Secrets stay
in the environment. A message carries severity, categories, source, a masked
excerpt and a link to the post's page, never a full identity number. A
notifier that fails is recorded in the run's errors; the run's result does
not change.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from rules.identifiers import mask_value, masked_excerpt

from ..labels import CATEGORIES, label, say

SEVERITIES = ("low", "medium", "high", "critical")
EXCERPT = 280
MAX_LISTED = 50
"""Flags listed in one message; the rest are counted."""
ACTOR_ID = r"A-(?:[0-9a-f]{10}(?:-[1-9][0-9]*)?|[0-9a-f]{16}|[0-9a-f]{32})"
"""A seller's id as monitor.report.actors gives it (see `_new_id`)."""
RULE_KEYS = {"name", "severity", "categories", "sources", "actors", "notify"}


@dataclass(frozen=True)
class AlertRule:
    name: str
    notify: tuple[str, ...]
    severity: tuple[str, ...] = ()  # empty: any
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()  # seller ids as /actors shows them ("A-2be299f207")

    def matches(self, flag: dict) -> bool:
        return ((not self.severity or flag["severity"] in self.severity)
                and (not self.categories or bool(set(self.categories) & set(flag["categories"])))
                and (not self.sources or flag["source"] in self.sources)
                and (not self.actors or flag.get("actor_id") in self.actors))


@dataclass(frozen=True)
class Alerts:
    rules: tuple[AlertRule, ...] = ()
    link_base: str = ""  # the review page's address, for links to each post
    language: str = "id"  # the readers': "id" (Bahasa Indonesia) or "en"


def _names(value, path: str, pattern: str = r".+") -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and re.fullmatch(pattern, v) for v in value):
        raise ValueError(f"{path}: must be a list of strings")
    return tuple(value)


def parse_alerts(table) -> Alerts:
    """The `[alerts]` table; ValueError names the field at fault."""
    if table is None:
        return Alerts()
    if not isinstance(table, dict):
        raise ValueError("alerts: must be a table")
    unknown = set(table) - {"rules", "link_base", "language"}
    if unknown:
        raise ValueError(f"alerts.{sorted(unknown)[0]}: unknown field; known: language, link_base, rules")
    if table.get("language", "id") not in ("id", "en"):
        raise ValueError("alerts.language: \"id\" (Bahasa Indonesia) or \"en\" (English)")
    link_base = table.get("link_base", "")
    if not isinstance(link_base, str) or (link_base and not re.match(r"https?://[^\s/]+", link_base)):
        raise ValueError("alerts.link_base: must be the review page's http(s) address")
    rules = []
    for i, rule in enumerate(table.get("rules", [])):
        path = f"alerts.rules[{i}]"
        if not isinstance(rule, dict):
            raise ValueError(f"{path}: must be a table ([[alerts.rules]])")
        if set(rule) - RULE_KEYS:
            raise ValueError(f"{path}.{sorted(set(rule) - RULE_KEYS)[0]}: unknown field; known: {', '.join(sorted(RULE_KEYS))}")
        if "notify" not in rule:
            raise ValueError(f"{path}.notify: required: names of environment variables holding apprise URLs")
        notify = _names(rule["notify"], f"{path}.notify", r"[A-Z_][A-Z0-9_]*")
        if not notify:
            raise ValueError(f"{path}.notify: name at least one environment variable")
        severity = _names(rule.get("severity", []), f"{path}.severity")
        if set(severity) - set(SEVERITIES):
            raise ValueError(f"{path}.severity: one of {', '.join(SEVERITIES)}")
        categories = _names(rule.get("categories", []), f"{path}.categories")
        if set(categories) - set(CATEGORIES):
            raise ValueError(f"{path}.categories: unknown {sorted(set(categories) - set(CATEGORIES))[0]!r}; "
                             f"known: {', '.join(CATEGORIES)}")
        rules.append(AlertRule(name=str(rule.get("name") or f"rule {i + 1}"), notify=notify, severity=severity,
                               categories=categories,
                               sources=_names(rule.get("sources", []), f"{path}.sources"),
                               actors=_names(rule.get("actors", []), f"{path}.actors", ACTOR_ID)))
    return Alerts(rules=tuple(rules), link_base=link_base.rstrip("/"), language=table.get("language", "id"))


def message(flags: list[dict], run: dict, link_base: str, lang: str = "id") -> tuple[str, str]:
    """Title and body of one alert in `lang`: every matching flag, masked."""
    title = say("alert_title", lang, n=len(flags), source=run["source"])
    lines = []
    for flag in flags[:MAX_LISTED]:
        shown = mask_value({"author": flag.get("author") or "", "title": flag.get("thread_title") or ""})
        excerpt = masked_excerpt(flag.get("text") or "", EXCERPT)
        link = f"{link_base}/posts/{flag['post_id']}" if link_base else say("post_n", lang, id=flag["post_id"])
        categories = ", ".join(label(c, lang) for c in flag["categories"]) or "-"
        lines.append(f"[{label(flag['severity'], lang).upper()}] {categories} · {flag['source']}"
                     f"{' · ' + shown['author'] if shown['author'] else ''}\n{excerpt}\n{link}")
    if len(flags) > MAX_LISTED:
        lines.append(say("alert_more", lang, n=len(flags) - MAX_LISTED))
    return title, "\n\n".join(lines)


def send(url: str, title: str, body: str) -> str | None:
    """Deliver through apprise; None, or why not."""
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(url):
        return "not an apprise URL"
    return None if notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT) else "not delivered"


def alert_run(db, run: dict, alerts: Alerts, environ=os.environ) -> dict[str, str]:
    """Send the run's alerts; returns {environment variable: why it failed} and records failures on the run."""
    if not alerts.rules or not run.get("id"):
        return {}
    flags = db.flags_raised_in_run(run["source"], run["started_at"])
    targets: dict[str, list[dict]] = {}
    for flag in flags:
        for rule in alerts.rules:
            if rule.matches(flag):
                for var in rule.notify:
                    if flag not in targets.setdefault(var, []):
                        targets[var].append(flag)
    failed = {}
    for var, matched in targets.items():
        url = environ.get(var, "").strip()
        if not url:
            failed[var] = "environment variable not set"
            continue
        title, body = message(matched, run, alerts.link_base, alerts.language)
        try:
            problem = send(url, title, body)
        except Exception as exc:  # a notifier must never break the crawl's record
            problem = f"{type(exc).__name__}"
        if problem:
            failed[var] = problem
    if failed:
        errors = dict(run.get("errors") or {})
        for var, problem in failed.items():
            errors[f"alert_not_sent ({var}: {problem})"] = 1
        db.update_run(run["id"], errors=errors)
    return failed
