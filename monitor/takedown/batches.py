"""Takedown requests: confirmed posts grouped by platform, as lists and letters that cite evidence.

The platform registry and the letters are data files in `monitor/takedown/data/`
(editable; a custom registry can be given with --platforms). Only masked
identifiers ever reach a list or a letter; every batch is recorded, and a
post is requested once.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from rules import mask_text

from ..store import Database
from .registry import DATA, Platform, Registry, TakedownError

FORMATS = ("csv", "xlsx", "json", "md", "html")
COLUMNS = ["url", "post_id", "platform", "source", "first_seen", "last_seen", "category", "severity", "reasons",
           "evidence_sha256", "identifiers", "excerpt"]


def export_row(row: dict, platform: Platform) -> dict:
    """One post as it goes into a list: identifiers masked only, the evidence hash cited."""
    identifiers = json.loads(row.get("identifiers") or "[]")
    return {
        "url": row["url"],
        "post_id": row.get("site_post_id") or "",
        "platform": platform.id,
        "source": row["source"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        "category": ", ".join(json.loads(row.get("categories") or "[]")),
        "severity": row["severity"],
        "reasons": "; ".join(json.loads(row.get("reasons") or "[]")),
        "evidence_sha256": row.get("evidence_sha") or "",
        "identifiers": ", ".join(f"{i['kind']} {i['masked']}" for i in identifiers
                                 if i.get("valid") and i["kind"] not in ("price", "volume")),
        "excerpt": " ".join(mask_text(row.get("text") or "").split())[:300],
    }


def spreadsheet_safe(value) -> str:
    """A cell value a spreadsheet will not run: text starting with = + - @ (a formula) gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_list(rows: list[dict], fmt: str, path: Path) -> Path:
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows({c: spreadsheet_safe(row[c]) for c in COLUMNS} for row in rows)
    elif fmt == "json":
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "takedown"
        sheet.append(COLUMNS)
        for row in rows:
            sheet.append([spreadsheet_safe(row[c]) for c in COLUMNS])
        book.save(path)
    elif fmt == "md":
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for row in rows:
            lines.append("| " + " | ".join(str(row[c]).replace("|", "\\|").replace("\n", " ") for c in COLUMNS) + " |")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "html":
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(row[c]))}</td>" for c in COLUMNS) + "</tr>" for row in rows)
        head = "".join(f"<th>{c}</th>" for c in COLUMNS)
        path.write_text(f"<!DOCTYPE html><meta charset='utf-8'><table><tr>{head}</tr>{body}</table>\n", encoding="utf-8")
    else:
        raise TakedownError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    return path


def render_letters(platform: Platform, batch: dict, rows: list[dict], folder: Path, templates: Path = DATA) -> list[Path]:
    env = Environment(loader=FileSystemLoader(str(templates)), undefined=StrictUndefined, autoescape=False,
                      keep_trailing_newline=True)
    out = []
    for lang in ("id", "en"):
        text = env.get_template(f"letter_{lang}.md").render(platform=platform, batch=batch, rows=rows)
        path = folder / f"letter_{lang}.md"
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def create_batches(db: Database, registry: Registry, user: str, out: Path, fmt: str = "csv",
                   since: str | None = None, platform: str | None = None) -> list[dict]:
    """One batch per platform from the confirmed posts not yet requested; returns what was written."""
    if fmt not in FORMATS:
        raise TakedownError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if platform:
        registry.get(platform)
    groups: dict[str, tuple[Platform, list[dict]]] = {}
    for row in db.confirmed_not_requested(since):
        p = registry.match(row["url"], row["kind"])
        if platform and p.id != platform:
            continue
        groups.setdefault(p.id, (p, []))[1].append(row)
    written = []
    for pid, (p, rows) in sorted(groups.items()):
        exported = [export_row(r, p) for r in rows]
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        folder = out / f"{stamp}-{pid}"
        folder.mkdir(parents=True, exist_ok=True)
        batch_id = db.create_batch(pid, user, fmt, str(folder), rows)
        batch = {**db.batch(batch_id)}
        files = [write_list(exported, fmt, folder / f"requests.{fmt}"), *render_letters(p, batch, exported, folder)]
        db.audit(user, "takedown.batch", f"batch:{batch_id}", None,
                 {"platform": pid, "posts": len(rows), "files": [str(f) for f in files]})
        db.audit(user, "evidence.export", f"batch:{batch_id}", None, {"sha256": sorted({r["evidence_sha256"] for r in exported if r["evidence_sha256"]})})
        written.append({"batch": batch_id, "platform": pid, "posts": len(rows), "folder": str(folder), "files": [str(f) for f in files]})
    return written


def report(db: Database) -> list[dict]:
    """Per platform: requested, removed, still online, escalated, unreachable, median days to removal."""
    import statistics

    out: dict[str, dict] = {}
    for item in db.takedown_items():
        row = out.setdefault(item["platform"], {"platform": item["platform"], "requested": 0, "removed": 0, "still_online": 0,
                                                "escalated": 0, "unreachable": 0, "_days": []})
        row["requested"] += 1
        if item["status"] in row:
            row[item["status"]] += 1
        if item["status"] == "removed" and item["removed_at"]:
            days = (dt.datetime.fromisoformat(item["removed_at"]) - dt.datetime.fromisoformat(item["requested_at"])).total_seconds() / 86400
            row["_days"].append(days)
    for row in out.values():
        days = row.pop("_days")
        row["median_days_to_removal"] = round(statistics.median(days), 2) if days else None
    return sorted(out.values(), key=lambda r: r["platform"])
