"""Takedown requests: confirmed posts grouped by platform, as lists and letters that cite evidence.

The platform registry and the letters are data files in `monitor/takedown/data/`
(editable; a custom registry can be given with --platforms). Only masked
identifiers ever reach a list or a letter; every batch is recorded, and a
post is requested once.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import shutil
import tempfile
from importlib.resources.abc import Traversable
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateNotFound

from rules import mask_value
from rules.reasons import sentences

from ..escaping import json_safe, md_code, md_text, spreadsheet_safe, write_csv, xml_safe
from ..labels import label
from ..store import Database
from ..timefmt import local_iso, local_label, team_zone
from .registry import DATA, Platform, Registry, TakedownError

FORMATS = ("csv", "xlsx", "json", "md", "html")
COLUMNS = ["url", "post_id", "platform", "source", "first_seen", "last_seen", "category", "severity", "reasons",
           "evidence_sha256", "image_sha256", "identifiers", "excerpt"]


def export_row(row: dict, platform: Platform, zone: ZoneInfo | None = None) -> dict:
    """One post as it goes into a list, its reasons in the platform's language: every field masked (masking last, after the excerpt is
    flattened), characters no file format can hold replaced, the evidence hash cited. With `zone`, times
    are ISO 8601 in that zone with its offset (the platform reads the exact instant, the team its own
    clock); without, as stored (UTC)."""
    identifiers = json.loads(row.get("identifiers") or "[]")
    out = {
        "url": row["url"],
        "post_id": row.get("site_post_id") or "",
        "platform": platform.id,
        "source": row["source"],
        "first_seen": local_iso(row["first_seen"], zone) if zone else row["first_seen"],
        "last_seen": local_iso(row["last_seen"], zone) if zone else row["last_seen"],
        "category": ", ".join(json.loads(row.get("categories") or "[]")),
        "severity": row["severity"],
        "reasons": "; ".join(sentences(row.get("reason_parts"), platform.language, json.loads(row.get("reasons") or "[]"))),
        "evidence_sha256": row.get("evidence_sha") or "",
        "image_sha256": "; ".join(i["sha256"] for i in row.get("photos") or [] if i.get("sha256")),
        "identifiers": ", ".join(f"{i['kind']} {i['masked']}" for i in identifiers
                                 if i.get("valid") and i["kind"] not in ("price", "volume")),
        "excerpt": " ".join((row.get("text") or "").split()),
    }
    out = {k: xml_safe(v) for k, v in mask_value(out, keep=("first_seen", "last_seen", "evidence_sha256", "image_sha256")).items()}
    out["excerpt"] = out["excerpt"][:300]
    return out


def write_list(rows: list[dict], fmt: str, path: Path) -> Path:
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            write_csv(fh, COLUMNS, rows)
    elif fmt == "json":
        path.write_text(json_safe(json.dumps(rows, ensure_ascii=False, indent=2)), encoding="utf-8")
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "takedown"
        sheet.append(COLUMNS)
        for row in rows:
            sheet.append([spreadsheet_safe(xml_safe(row[c])) for c in COLUMNS])
        book.save(path)
    elif fmt == "md":
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for row in rows:
            lines.append("| " + " | ".join(md_code(row[c]) if c == "url" else md_text(row[c]) for c in COLUMNS) + " |")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "html":
        body = "".join("<tr>" + "".join(f"<td>{html.escape(xml_safe(row[c]))}</td>" for c in COLUMNS) + "</tr>" for row in rows)
        head = "".join(f"<th>{c}</th>" for c in COLUMNS)
        path.write_text(f"<!DOCTYPE html><meta charset='utf-8'><table><tr>{head}</tr>{body}</table>\n", encoding="utf-8")
    else:
        raise TakedownError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    return path


class _Markdown(str):
    """Text already made safe for Markdown (by the `url` or `md` filters): not escaped again."""


def _finalize(value) -> str:
    """Every `{{ ... }}` in a letter is escaped for Markdown unless a filter already made it safe."""
    return value if isinstance(value, _Markdown) else md_text(value)


class FolderLoader(BaseLoader):
    """Letters from a folder that may be inside a zipped egg, which Jinja's FileSystemLoader cannot open."""

    def __init__(self, folder: str | os.PathLike | Traversable):
        self.folder = Path(folder) if isinstance(folder, (str, os.PathLike)) else folder

    def get_source(self, environment, template):
        if "/" in template or "\\" in template or template.startswith("."):  # one flat folder: no way out of it
            raise TemplateNotFound(template)
        path = self.folder / template
        if not path.is_file():
            raise TemplateNotFound(template)
        return path.read_text(encoding="utf-8"), str(path), lambda: True


def letter_environment(templates: Traversable = DATA, zone: ZoneInfo | None = None) -> Environment:
    env = Environment(loader=FolderLoader(templates), undefined=StrictUndefined, autoescape=False,
                      keep_trailing_newline=True, finalize=_finalize)
    env.filters["url"] = lambda v: _Markdown(md_code(v))  # a code span: cannot become a link, an image or a heading
    # "id_documents, ektp_selfie" -> "dokumen identitas, selfie e-KTP" in the letter's language
    env.filters["words"] = lambda v, lang: ", ".join(label(code.strip(), lang) for code in str(v or "").split(",") if code.strip())
    env.filters["local"] = lambda v: local_label(v, zone)  # "2026-12-06 12:10 WIB": the team's clock, with its name
    return env


def render_letters(platform: Platform, batch: dict, rows: list[dict], folder: Path,
                   templates: Traversable = DATA, zone: ZoneInfo | None = None) -> list[Path]:
    env = letter_environment(templates, zone)
    out = []
    for lang in ("id", "en"):
        text = env.get_template(f"letter_{lang}.md").render(platform=platform, batch=batch, rows=rows)
        path = folder / f"letter_{lang}.md"
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def create_batches(db: Database, registry: Registry, user: str, out: Path, fmt: str = "csv",
                   since: str | None = None, platform: str | None = None, zone: ZoneInfo | None = None) -> list[dict]:
    """One batch per platform from the confirmed posts not yet requested; returns what was written.
    Times are shown in `zone`, the team's (default Asia/Jakarta); the store keeps them in UTC.

    A batch's files are written into a hidden temporary folder and moved into place inside the
    transaction that records the batch and marks its posts requested: a failure (a bad character,
    a full disk, a crash) leaves no record and every post still requestable.
    """
    if fmt not in FORMATS:
        raise TakedownError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    zone = zone or team_zone()
    if platform:
        registry.get(platform)
    groups: dict[str, tuple[Platform, list[dict]]] = {}
    rows_found = db.confirmed_not_requested(since)
    photos = db.image_hashes([r["post_id"] for r in rows_found])
    for row in rows_found:
        row["photos"] = photos.get(row["post_id"], [])
        p = registry.match(row["url"], row["kind"])
        if platform and p.id != platform:
            continue
        groups.setdefault(p.id, (p, []))[1].append(row)
    written = []
    out.mkdir(parents=True, exist_ok=True)
    for pid, (p, rows) in sorted(groups.items()):
        exported = [export_row(r, p, zone) for r in rows]
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        folder = out / f"{stamp}-{pid}"
        n = 1
        while folder.exists():
            n += 1
            folder = out / f"{stamp}-{pid}-{n}"
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=out))
        try:
            with db.transaction():
                batch_id = db.create_batch(pid, user, fmt, str(folder), rows)
                batch = {**db.batch(batch_id)}
                names = [write_list(exported, fmt, tmp / f"requests.{fmt}").name,
                         *(f.name for f in render_letters(p, batch, exported, tmp, zone=zone))]
                files = [folder / name for name in names]
                db.audit(user, "takedown.batch", f"batch:{batch_id}", None,
                         {"platform": pid, "posts": len(rows), "files": [str(f) for f in files]})
                db.audit(user, "evidence.export", f"batch:{batch_id}", None,
                         _exported_hashes(exported))
                os.rename(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        written.append({"batch": batch_id, "platform": pid, "posts": len(rows), "folder": str(folder), "files": [str(f) for f in files]})
    return written


def _exported_hashes(exported: list[dict]) -> dict:
    """What a batch cites, for the audit: captured pages' hashes, and the images' when the posts showed any."""
    out = {"sha256": sorted({r["evidence_sha256"] for r in exported if r["evidence_sha256"]})}
    images = sorted({sha for r in exported for sha in r["image_sha256"].split("; ") if sha})
    if images:
        out["images"] = images
    return out


def report(db: Database) -> list[dict]:
    """Per platform: requested, removed, still online, escalated, unreachable, median days to removal."""
    import statistics

    out: dict[str, dict] = {}
    for item in db.takedown_items():
        row = out.setdefault(item["platform"], {"platform": item["platform"], "requested": 0, "removed": 0, "still_online": 0,
                                                "escalated": 0, "unreachable": 0, "_days": []})
        row["requested"] += 1  # every item was requested once; its status says what happened since
        if item["status"] != "requested" and item["status"] in row:
            row[item["status"]] += 1
        if item["status"] == "removed" and item["removed_at"]:
            days = (dt.datetime.fromisoformat(item["removed_at"]) - dt.datetime.fromisoformat(item["requested_at"])).total_seconds() / 86400
            row["_days"].append(days)
    for row in out.values():
        days = row.pop("_days")
        row["median_days_to_removal"] = round(statistics.median(days), 2) if days else None
    return sorted(out.values(), key=lambda r: r["platform"])
