"""Sharing reviewed posts with CTI tools: one MISP event or one STIX 2.1 bundle per export.

Built with the tools' own libraries (pymisp's data model, `stix2`), so what a
MISP instance or a STIX consumer reads is what those libraries validate.
What is shared: each post (its URL, source, author, thread, dates, a masked
excerpt and categories as tags), the SHA-256 of the page it was captured
from, and its identifiers as the store keeps them. Seller infrastructure
that is public by nature (Telegram handles, crypto wallets) is shared as
written, as indicators; identity numbers, phone numbers and e-mail addresses
only as their keyed fingerprint and masked form, never in full. The
fingerprints are HMACs under this installation's key: equal values link
across exports from the same installation, and cannot be read back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from rules.identifiers import mask_text, mask_value, masked_excerpt
from spiders.incremental import when as _when

from ..timefmt import team_zone

EXCERPT = 1000
"""Characters of a post's text shared (masked)."""

OPEN_KINDS = {"telegram": "telegram", "btc": "BTC", "eth": "ETH", "tron": "TRX"}
"""Identifier kinds shared as written: the seller's handle and wallets (kind -> label or coin symbol)."""

SEVERITY_TO_MISP = {"critical": 1, "high": 1, "medium": 2, "low": 3}
"""MISP threat levels: 1 high, 2 medium, 3 low."""

FORUM_KINDS = ("forum", "discourse")


def _excerpt(text: str) -> str:
    return masked_excerpt(text, EXCERPT)


def _tag(category: str) -> str:
    return f'datasale-monitor:category="{category}"'


def _shown(row: dict) -> dict:
    """The row's person-readable fields with any number in them masked: titles, authors and URLs carry numbers
    too (`/jual-nik-3171014508920007-murah`, `?wa=0812...`)."""
    keep = ("evidence_sha", "posted_at", "first_seen", "last_seen", "created_at", "updated_at")
    urls = {k: mask_text(row.get(k) or "") for k in ("url", "page_url")}
    return {**row, **mask_value({k: row.get(k) for k in ("author", "thread_title", "board", "source")}), **urls,
            **{k: row.get(k) for k in keep}}


def _handle(masked: str) -> str:
    """A Telegram handle as tools match it: no t.me/ or telegram.me/ address, no @."""
    for prefix in ("https://", "http://", "t.me/", "telegram.me/"):
        masked = masked.removeprefix(prefix)
    return masked.lstrip("@")


# ------------------------------------------------------------------ MISP

def _id(ns: uuid.UUID, *parts) -> str:
    """The same id for the same thing in every export of this installation, so a tool importing twice updates, not duplicates."""
    return str(uuid.uuid5(ns, "/".join(str(p) for p in parts)))


def misp_event(rows: list[dict], title: str, ns: uuid.UUID | None = None, zone: ZoneInfo | None = None):
    """A `pymisp.MISPEvent` holding every row: a microblog object per post, indicators, evidence hashes, tags.

    The event's date is the team's day in `zone` (pymisp would take the machine's); times are aware
    (a stored time without an offset is UTC), so no tool reads them in its own zone.
    """
    from pymisp import MISPEvent, MISPObject

    ns = ns or uuid.uuid4()
    event = MISPEvent()
    event.date = dt.datetime.now(zone or team_zone()).date()
    event.uuid = _id(ns, "event", *(r["flag_id"] for r in rows))
    event.info = title
    event.distribution = 0  # this organisation only, until the team decides to share wider
    event.analysis = 2
    event.threat_level_id = min((SEVERITY_TO_MISP.get(r["severity"], 3) for r in rows), default=3)
    event.add_tag("tlp:amber")
    for category in sorted({c for r in rows for c in r["categories"]}):
        event.add_tag(_tag(category))
    for raw in rows:
        row = _shown(raw)
        post = MISPObject("microblog", standalone=False)
        post.uuid = _id(ns, "post", row["flag_id"])
        post.comment = f"flag {row['flag_id']}: {row['status']}, severity {row['severity']}, source {row['source']}"
        url_attribute = post.add_attribute("url", value=row["url"], to_ids=False)
        for category in row["categories"]:
            url_attribute.add_tag(_tag(category))
        post.add_attribute("post", value=_excerpt(row["text"]))
        post.add_attribute("type", value="Forum" if row["kind"] in FORUM_KINDS else "Other")
        if row.get("author"):
            post.add_attribute("username", value=row["author"])
        if row.get("thread_title"):
            post.add_attribute("title", value=row["thread_title"])
        posted = _when(row.get("posted_at")) or _when(row.get("first_seen"))
        if posted:
            post.add_attribute("creation-date", value=posted)
        event.add_object(post)
        if row.get("evidence_sha"):
            event.add_attribute("sha256", row["evidence_sha"], category="External analysis", to_ids=False,
                                comment=f"SHA-256 of the page captured at {row.get('page_url') or row['url']}")
        for image in raw.get("photos") or []:
            event.add_attribute("sha256", image["sha256"], category="External analysis", to_ids=False,
                                comment=f"SHA-256 of an image the post {row['url']} showed")
        for ident in raw["identifiers"]:
            if ident["kind"] == "telegram":
                account = MISPObject("telegram-account", standalone=False)
                account.uuid = _id(ns, "contact", row["flag_id"], ident["fingerprint"])
                account.add_attribute("username", value=_handle(ident["masked"]))
                account.comment = f"contact in {row['url']}"
                event.add_object(account)
            elif ident["kind"] in OPEN_KINDS:
                wallet = MISPObject("coin-address", standalone=False)
                wallet.uuid = _id(ns, "wallet", row["flag_id"], ident["fingerprint"])
                wallet.add_attribute("address", value=ident["masked"])
                wallet.add_attribute("symbol", value=OPEN_KINDS[ident["kind"]])
                wallet.comment = f"wallet in {row['url']}"
                event.add_object(wallet)
            else:
                event.add_attribute("text", f"{ident['kind']} fingerprint {ident['fingerprint']}", category="Other",
                                    to_ids=False, comment=f"{ident['kind']} {ident['masked']} in {row['url']} (keyed hash; never the number)")
    return event


# ------------------------------------------------------------------ STIX 2.1

def _pattern_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def stix_bundle(rows: list[dict], title: str, ns: uuid.UUID | None = None):
    """A `stix2.Bundle`: per post a Report with ObservedData (URL, captured page) and Indicators for handles and wallets.

    Every time is given aware and written in UTC with 'Z', as STIX 2.1 requires, whatever the team's zone.
    """
    import stix2

    ns = ns or uuid.uuid4()
    now = dt.datetime.now(dt.timezone.utc)
    team = stix2.Identity(id=f"identity--{_id(ns, 'identity')}", name="Data-sale monitor", identity_class="organization")
    objects: list = [team]
    indicators_seen: dict[str, object] = {}  # a handle in two posts is one indicator
    for raw in rows:
        row = _shown(raw)
        first = _when(row.get("first_seen")) or now
        last = max(_when(row.get("last_seen")) or first, first)
        url = stix2.URL(value=row["url"])
        observed = [url]
        if row.get("evidence_sha"):
            observed.append(stix2.Artifact(url=row.get("page_url") or row["url"], hashes={"SHA-256": row["evidence_sha"]},
                                           mime_type="text/html"))
        for image in raw.get("photos") or []:
            observed.append(stix2.Artifact(url=image["url"] if image["url"].startswith(("http://", "https://")) else row["url"],
                                           hashes={"SHA-256": image["sha256"]}))
        seen = stix2.ObservedData(id=f"observed-data--{_id(ns, 'seen', row['flag_id'])}", created_by_ref=team, first_observed=first, last_observed=last, number_observed=1,
                                  object_refs=[o.id for o in observed], object_marking_refs=[stix2.TLP_AMBER])
        indicators = []
        for ident in raw["identifiers"]:
            if ident["kind"] == "telegram":
                handle = _pattern_text(_handle(ident["masked"]))
                pattern = f"[user-account:account_login = '{handle}' AND user-account:account_type = 'telegram']"
                name = f"Telegram contact {ident['masked']}"
            elif ident["kind"] in OPEN_KINDS:
                pattern = f"[x-cryptocurrency-wallet:address = '{_pattern_text(ident['masked'])}']"
                name = f"{OPEN_KINDS[ident['kind']]} wallet {ident['masked']}"
            else:
                continue
            key = f"indicator--{_id(ns, 'indicator', ident['kind'], ident['fingerprint'])}"
            if key not in indicators_seen:
                indicators_seen[key] = stix2.Indicator(id=key, created_by_ref=team, name=name, pattern=pattern, pattern_type="stix",
                                                       valid_from=first, indicator_types=["attribution"],
                                                       object_marking_refs=[stix2.TLP_AMBER])
            indicators.append(indicators_seen[key])
        hidden = [{"kind": i["kind"], "fingerprint": i["fingerprint"], "masked": i["masked"]}
                  for i in raw["identifiers"] if i["kind"] not in OPEN_KINDS]
        report = stix2.Report(
            id=f"report--{_id(ns, 'report', row['flag_id'])}", created_by_ref=team, name=row.get("thread_title") or f"post {row['flag_id']}", published=_when(row["updated_at"]) or now,
            report_types=["threat-report"], labels=row["categories"] or ["unclassified"],
            description=_excerpt(row["text"]),
            object_refs=[seen.id, *(o.id for o in observed), *(i.id for i in indicators)],
            external_references=[{"source_name": row["source"], "url": row["url"],
                                  **({"hashes": {"SHA-256": row["evidence_sha"]}} if row.get("evidence_sha") else {})}],
            object_marking_refs=[stix2.TLP_AMBER],
            allow_custom=True,
            x_datasale_flag={"id": row["flag_id"], "status": row["status"], "severity": row["severity"],
                             "author": row.get("author") or "", "source_kind": row["kind"]},
            x_datasale_identifiers=hidden,
        )
        objects += [*(o for o in observed if o.id not in {x.id for x in objects}), seen, report]
    objects += list(indicators_seen.values())
    objects.append(stix2.Note(id=f"note--{_id(ns, 'note', *(r['flag_id'] for r in rows))}", created_by_ref=team,
                              content=title, object_refs=[team.id]))
    return stix2.Bundle(*objects, allow_custom=True)


def export(db, fmt: str, status: str = "confirmed", since: str | None = None,
           zone: ZoneInfo | None = None) -> tuple[str, int, int]:
    """The export's text (JSON), how many posts and how many identifiers it holds; `zone` is the team's (MISP's event date)."""
    from ..store.keys import fingerprint, secret_key

    rows = db.flags_to_share(status, since)
    photos = db.image_hashes([r["post_row"] for r in rows])
    for row in rows:
        row["photos"] = [{"sha256": i["sha256"], "url": i["url"]} for i in photos.get(row["post_row"], []) if i.get("sha256")]
    ns = uuid.UUID(hex=fingerprint(secret_key(db.path), "installation", "cti-export-ids"))
    title = f"Data-sale monitor: {len(rows)} {status} posts" + (f" since {since}" if since else "")
    if fmt == "misp":
        text = misp_event(rows, title, ns, zone).to_json(indent=2)
    else:
        text = stix_bundle(rows, title, ns).serialize(pretty=True)
    return text, len(rows), sum(len(r["identifiers"]) for r in rows)
