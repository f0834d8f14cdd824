"""The daily digest: one day in one page (HTML, Markdown or JSON), mailed or posted when asked.

A day is a calendar day in the team's time zone (`[scheduler] timezone`),
read from the store's UTC times. The page holds the day's flags by severity
and category with the critical and high ones listed (masked excerpts), new
and active sellers (actors), sources whose runs failed or read less than the
site holds, takedown progress, and a chart of the last 30 days embedded as an
SVG image, so the file stands alone. Mail goes through SMTP with the
`[digest]` settings (credentials from environment variables named there),
or through apprise URLs from environment variables.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
import re
import threading
from dataclasses import dataclass

from rules.identifiers import mask_value, masked_excerpt

from ..escaping import md_text
from ..labels import label, say

from .actors import current_actors
from .charts import flags_per_day, stacked_bars_svg

SEVERITIES = ("critical", "high", "medium", "low")
EXCERPT = 240
CHART_DAYS = 30
SECURITY = ("starttls", "ssl", "none")
SEND_DEADLINE = 120.0
"""Seconds the whole mail delivery may take."""
_ADDRESS = re.compile(r"[^@\s<>,;\x00-\x1f\x7f]+@[^@\s<>,;\x00-\x1f\x7f]+\.[^@\s<>,;\x00-\x1f\x7f]+")
"""A bare address: no display name, no line breaks (a header injection), no list."""


@dataclass(frozen=True)
class DigestSettings:
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    sender: str = ""
    to: tuple[str, ...] = ()
    username_env: str = ""
    password_env: str = ""
    apprise: tuple[str, ...] = ()  # names of environment variables holding apprise URLs
    time: str = ""  # "HH:MM": `monitor schedule` sends the previous day's digest then
    language: str = "id"  # the readers': "id" (Bahasa Indonesia) or "en"


DIGEST_KEYS = {"smtp_host", "smtp_port", "smtp_security", "from", "to", "username_env", "password_env", "apprise", "time", "language"}


def parse_digest(table) -> DigestSettings:
    """The `[digest]` table; ValueError names the field at fault."""
    if table is None:
        return DigestSettings()
    if not isinstance(table, dict):
        raise ValueError("digest: must be a table")
    unknown = set(table) - DIGEST_KEYS
    if unknown:
        raise ValueError(f"digest.{sorted(unknown)[0]}: unknown field; known: {', '.join(sorted(DIGEST_KEYS))}")
    env_name = re.compile(r"[A-Z_][A-Z0-9_]*")
    for key in ("username_env", "password_env"):
        if key in table and not (isinstance(table[key], str) and env_name.fullmatch(table[key])):
            raise ValueError(f"digest.{key}: must name an environment variable (A-Z, 0-9, _), not hold the secret")
    for key in ("to", "apprise"):
        if key in table and not (isinstance(table[key], list) and all(isinstance(v, str) and v for v in table[key])):
            raise ValueError(f"digest.{key}: must be a list of strings")
    if any(not env_name.fullmatch(v) for v in table.get("apprise", [])):
        raise ValueError("digest.apprise: names of environment variables holding apprise URLs")
    port = table.get("smtp_port", 587)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ValueError("digest.smtp_port: must be a port number")
    if table.get("smtp_security", "starttls") not in SECURITY:
        raise ValueError(f"digest.smtp_security: one of {', '.join(SECURITY)}")
    when = table.get("time", "")
    if when and not (isinstance(when, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", when)):
        raise ValueError("digest.time: HH:MM, e.g. \"07:00\"")
    if table.get("language", "id") not in ("id", "en"):
        raise ValueError("digest.language: \"id\" (Bahasa Indonesia) or \"en\" (English)")
    if table.get("to") and not (isinstance(table.get("smtp_host"), str) and table["smtp_host"] and table.get("from")):
        raise ValueError("digest.smtp_host and digest.from are needed to mail the digest to digest.to")
    for key, values in (("from", [table["from"]] if "from" in table else []), ("to", table.get("to", []))):
        for value in values:
            if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
                raise ValueError(f"digest.{key}: {value!r} is not an e-mail address (name@example.org)")
    return DigestSettings(smtp_host=table.get("smtp_host", ""), smtp_port=port, smtp_security=table.get("smtp_security", "starttls"),
                          sender=table.get("from", ""), to=tuple(table.get("to", [])), username_env=table.get("username_env", ""),
                          password_env=table.get("password_env", ""), apprise=tuple(table.get("apprise", [])), time=when,
                          language=table.get("language", "id"))


def day_window(day: dt.date, zone: dt.tzinfo) -> tuple[str, str]:
    """[start, end) of a local calendar day, as UTC ISO strings comparable with the store's."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=zone)
    end = start + dt.timedelta(days=1)
    utc = dt.timezone.utc
    return start.astimezone(utc).isoformat(timespec="seconds"), end.astimezone(utc).isoformat(timespec="seconds")


def _excerpt(text: str) -> str:
    return masked_excerpt(text, EXCERPT)


def build_digest(db, day: dt.date, zone: dt.tzinfo, zone_name: str) -> dict:
    """Everything the digest says about `day`, as plain data (what `--format json` prints)."""
    from ..takedown.batches import report

    start, end = day_window(day, zone)
    flags = db.flags_created(start, end)
    by_category: dict[str, int] = {}
    for flag in flags:
        for category in flag["categories"] or ["unclassified"]:
            by_category[category] = by_category.get(category, 0) + 1
    serious = [{"flag_id": f["flag_id"], "post_id": f["post_id"], "severity": f["severity"], "categories": f["categories"],
                **mask_value({"source": f["source"], "author": f["author"] or "", "url": f["url"], "title": f["thread_title"] or ""}),
                "excerpt": _excerpt(f["text"])}
               for f in flags if f["severity"] in ("critical", "high")]
    actors = current_actors(db)
    new = [a.as_dict() for a in actors if start <= a.first_seen < end]
    active = [a.as_dict() for a in actors if start <= a.last_seen < end and not start <= a.first_seen < end]
    failed = [{"source": r["source"], "status": r["status"], "reason": r["reason"], "started_at": r["started_at"]}
              for r in db.runs_between(start, end) if r["status"] in ("failed", "degraded", "interrupted", "partial")]
    first_day = day - dt.timedelta(days=CHART_DAYS - 1)
    chart_start, _ = day_window(first_day, zone)
    days = [first_day + dt.timedelta(days=i) for i in range(CHART_DAYS)]
    return {
        "date": day.isoformat(),
        "timezone": zone_name,
        "window_utc": [start, end],
        "flags": len(flags),
        "flags_by_severity": {s: sum(1 for f in flags if f["severity"] == s) for s in SEVERITIES},
        "flags_by_category": dict(sorted(by_category.items())),
        "serious_flags": serious,
        "actors": {"new": new, "active": active},
        "sources_failed": failed,
        "takedowns": {**db.takedown_changes(start, end), "by_platform": report(db)},
        "charts": {"flags_per_day": flags_per_day(db.flag_days(chart_start, end), days, zone)},
    }


def _chart_img(data: dict, lang: str) -> str:
    svg = stacked_bars_svg(data, say("flags_per_day_chart", lang, days=CHART_DAYS), say("flags", lang))
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _chart_in(d: dict, lang: str) -> dict:
    """The chart's data with its series named in `lang` (category codes become their names)."""
    chart = d["charts"]["flags_per_day"]
    return {**chart, "series": {label(code, lang): counts for code, counts in chart["series"].items()}}


def _names(codes, lang: str) -> str:
    return ", ".join(label(code, lang) for code in codes)


def render_markdown(d: dict, with_chart: bool = True, lang: str = "id") -> str:
    esc = md_text  # crawled words: no links, images, HTML or table breaks
    w = lambda key, **values: say(key, lang, **values)  # noqa: E731
    t = d["takedowns"]
    chart = _chart_in(d, lang)
    lines = [f"# {w('monitor')} — {w('digest_of', date=d['date'], zone=d['timezone'])}", "",
             f"**{w('new_flags', n=d['flags'])}**: " + ", ".join(f"{label(k, lang)} {v}" for k, v in d["flags_by_severity"].items()), ""]
    lines += [f"| {w('category')} | {w('flags')} |", "|---|---|"]
    lines += [f"| {esc(label(k, lang))} | {v} |" for k, v in d["flags_by_category"].items()] + [""]
    lines += [f"## {w('critical_and_high')}", ""]
    lines += [f"- **{label(f['severity'], lang)}** {esc(_names(f['categories'], lang))} · {esc(f['source'])} · {esc(f['author'])}: "
              f"{esc(f['excerpt'])} ({esc(f['url'])})" for f in d["serious_flags"]] or [f"- {w('none')}"]
    lines += ["", f"## {w('sellers')}", "", w("sellers_new_active", new=len(d["actors"]["new"]), active=len(d["actors"]["active"])), ""]
    for actor in d["actors"]["new"] + d["actors"]["active"]:
        ids = ", ".join(f"{label(i['kind'], lang)} {i['masked']}" for i in actor["identifiers"])
        lines.append(f"- {actor['id']}: {esc(w('seller_posts', n=actor['posts'], sources=', '.join(actor['sources'])))} ({esc(ids)})")
    lines += ["", f"## {w('sources_failed')}", ""]
    lines += [f"- {esc(r['source'])}: {w(r['status'])} — {esc(r['reason'] or '')}" for r in d["sources_failed"]] or [f"- {w('none')}"]
    lines += ["", f"## {w('takedowns')}", "", w("takedowns_today", **{k: t[k] for k in ("requested", "removed", "still_online", "escalated")}), ""]
    heads = [w("platform"), w("requested"), w("removed"), w("still_online"), w("escalated"), w("median_days_to_removal")]
    lines += ["| " + " | ".join(heads) + " |", "|---|---|---|---|---|---|"]
    lines += [f"| {esc(p['platform'])} | {p['requested']} | {p['removed']} | {p['still_online']} | {p['escalated']} | "
              f"{p['median_days_to_removal'] if p['median_days_to_removal'] is not None else '-'} |" for p in t["by_platform"]]
    lines += ["", f"## {w('flags_per_day')}", ""]
    lines += [f"![{w('flags_per_day_chart', days=CHART_DAYS)}]({_chart_img(chart, lang)})", ""] if with_chart else []
    lines += [f"| {w('day')} | " + " | ".join(esc(c) for c in chart["series"]) + " |", "|---|" + "---|" * len(chart["series"])]
    lines += [f"| {day} | " + " | ".join(str(v[i]) for v in chart["series"].values()) + " |" for i, day in enumerate(chart["days"])]
    return "\n".join(lines) + "\n"


def render_html(d: dict, lang: str = "id") -> str:
    e = html.escape
    w = lambda key, **values: e(say(key, lang, **values))  # noqa: E731
    rows = lambda cells: "<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in cells) + "</tr>"  # noqa: E731
    chart = _chart_in(d, lang)
    serious = "".join(f"<li><b>{e(label(f['severity'], lang))}</b> {e(_names(f['categories'], lang))} · {e(f['source'])} · "
                      f"{e(f['author'])}: {e(f['excerpt'])} <small>{e(f['url'])}</small></li>" for f in d["serious_flags"]) \
        or f"<li>{w('none')}</li>"
    actors = "".join(f"<li>{e(a['id'])}: {w('seller_posts', n=a['posts'], sources=', '.join(a['sources']))} "
                     f"({e(', '.join(label(i['kind'], lang) + ' ' + i['masked'] for i in a['identifiers']))})</li>"
                     for a in d["actors"]["new"] + d["actors"]["active"]) or f"<li>{w('none')}</li>"
    failed = "".join(f"<li>{e(r['source'])}: {w(r['status'])} — {e(r['reason'] or '')}</li>" for r in d["sources_failed"]) \
        or f"<li>{w('none')}</li>"
    t = d["takedowns"]
    platforms = "".join(rows([p["platform"], p["requested"], p["removed"], p["still_online"], p["escalated"],
                              p["median_days_to_removal"] if p["median_days_to_removal"] is not None else "-"]) for p in t["by_platform"])
    heads = "".join(f"<th>{w(k)}</th>" for k in ("platform", "requested", "removed", "still_online", "escalated", "median_days_to_removal"))
    day_rows = "".join(rows([day, *(v[i] for v in chart["series"].values())]) for i, day in enumerate(chart["days"]))
    severities = e(", ".join(f"{label(k, lang)} {v}" for k, v in d["flags_by_severity"].items()))
    categories = "".join(rows([label(k, lang), v]) for k, v in d["flags_by_category"].items())
    return f"""<!doctype html>
<html lang="{'id' if lang == 'id' else 'en'}"><head><meta charset="utf-8"><title>{w('monitor')} — {w('digest_of', date=d['date'], zone=d['timezone'])}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px}}</style>
</head><body>
<h1>{w('monitor')} — {w('digest_of', date=d['date'], zone=d['timezone'])}</h1>
<p><b>{w('new_flags', n=d['flags'])}</b>: {severities}</p>
<table><tr><th>{w('category')}</th><th>{w('flags')}</th></tr>{categories}</table>
<h2>{w('critical_and_high')}</h2><ul>{serious}</ul>
<h2>{w('sellers')}</h2><p>{w('sellers_new_active', new=len(d['actors']['new']), active=len(d['actors']['active']))}</p><ul>{actors}</ul>
<h2>{w('sources_failed')}</h2><ul>{failed}</ul>
<h2>{w('takedowns')}</h2><p>{w('takedowns_today', **{k: t[k] for k in ('requested', 'removed', 'still_online', 'escalated')})}</p>
<table><tr>{heads}</tr>{platforms}</table>
<h2>{w('flags_per_day')}</h2><img alt="{w('flags_per_day_chart', days=CHART_DAYS)} ({w('numbers_in_table')})" src="{_chart_img(chart, lang)}">
<table><tr><th>{w('day')}</th>{''.join(f'<th>{e(c)}</th>' for c in chart['series'])}</tr>{day_rows}</table>
</body></html>
"""


def send_digest(d: dict, settings: DigestSettings, environ=os.environ) -> list[str]:
    """Mail the digest (HTML with a Markdown text part) and post it to apprise URLs; returns what failed."""
    import smtplib
    import ssl
    from email.message import EmailMessage

    problems = []
    lang = settings.language
    subject = say("digest_subject", lang, date=d["date"], n=d["flags"])
    text, page = render_markdown(d, with_chart=False, lang=lang), render_html(d, lang)
    if settings.to:
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = subject, settings.sender, ", ".join(settings.to)
        message.set_content(text)
        message.add_alternative(page, subtype="html")
        outcome: list[str] = []

        def mail() -> None:
            try:
                deliver(message)
                outcome.append("")
            except (OSError, smtplib.SMTPException) as exc:
                outcome.append(f"mail to {', '.join(settings.to)} via {settings.smtp_host}:{settings.smtp_port}: {exc}")

        def deliver(message) -> None:
            if settings.smtp_security == "ssl":
                smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, context=ssl.create_default_context(), timeout=30)
            else:
                smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
            with smtp:
                if settings.smtp_security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if settings.username_env:
                    smtp.login(environ.get(settings.username_env, ""), environ.get(settings.password_env, ""))
                smtp.send_message(message)

        # smtplib's timeout is per read: a server that trickles a byte at a time would hold the
        # command (or a scheduler thread) for ever. The whole delivery gets SEND_DEADLINE seconds.
        sender = threading.Thread(target=mail, name="digest-mail", daemon=True)
        sender.start()
        sender.join(SEND_DEADLINE)
        if sender.is_alive() or not outcome:
            problems.append(f"mail to {', '.join(settings.to)} via {settings.smtp_host}:{settings.smtp_port}: "
                            f"no answer within {SEND_DEADLINE:g} s")
        elif outcome[0]:
            problems.append(outcome[0])
    for var in settings.apprise:
        url = environ.get(var, "").strip()
        if not url:
            problems.append(f"${var} is not set")
            continue
        from .alerts import send

        problem = send(url, subject, text)
        if problem:
            problems.append(f"${var}: {problem}")
    return problems
