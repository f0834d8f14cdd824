"""Routes of the review page."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import secrets
import unicodedata
from functools import wraps
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, g, has_app_context, jsonify, redirect, render_template, request, session, url_for

from rules import find_identifiers, mask_text
from rules.identifiers import MASKED_KINDS
from rules.reasons import sentences

from ..escaping import write_csv
from ..labels import CATEGORIES
from ..explain import segments as highlight_segments
from ..store.image_queries import listed_urls
from ..store.review_queries import FLAG_STATUSES, QUEUE_SORTS, fts_query
from .accounts import ROLES, AccountError, add_user, authenticate, end_sessions, set_disabled
from .i18n import LANGS, translate
from .post_images import GRANT_SECONDS, post_image_cards, thumbnails
from .review import DISMISS_REASONS, ReviewError, decide

JAKARTA = ZoneInfo("Asia/Jakarta")


def team_zone() -> ZoneInfo:
    """The zone the team reads times in (`create_app(zone=...)`, from `[scheduler] timezone`); Jakarta outside a request."""
    return current_app.config.get("TEAM_ZONE", JAKARTA) if has_app_context() else JAKARTA


def reader_lang() -> str:
    """The language of the person reading: their account's choice, else the session's, else Indonesian."""
    return (g.get("user") or {}).get("lang") or session.get("lang") or "id"
SEVERITIES = ("critical", "high", "medium", "low")
QUEUE_PAGE = 100  # flags per queue page
EVIDENCE_SHOWN = 500_000  # bytes of a captured page shown at most
STATUSES = FLAG_STATUSES
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9998, 12, 31)  # the queue's dates are clamped to these (no overflow)


def wants_json() -> bool:
    """Whether the request asked for JSON rather than a page (fetch with Accept: application/json)."""
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def masked(value, reveal: bool = False) -> str:
    """A field as a person may see it: identity, card and phone numbers masked unless revealed (the `masked` filter)."""
    if value is None:
        return ""
    value = str(value)
    return value if reveal else _mask_short(value) if len(value) <= 2000 else mask_text(value)


@functools.lru_cache(maxsize=8192)
def _mask_short(value: str) -> str:
    """mask_text of a short field, remembered: a queue page shows the same sources, sellers' masked
    contacts and reason sentences again and again (about 20 fields an item)."""
    return mask_text(value)


def requires(*roles: str):
    """Only users of these roles; others get 403."""

    def wrap(view):
        @wraps(view)
        def inner(*args, **kwargs):
            if g.user is None or g.user["role"] not in roles:
                abort(403)
            return view(*args, **kwargs)

        return inner

    return wrap


def segments(text: str, matches: list[dict], reveal: bool = False) -> list[tuple[str, bool]]:
    """`text` cut into (piece, matched), identity numbers masked unless revealed; the template escapes every piece.

    Masking comes last: if the masker still finds something in the pieces as cut (it may see
    numbers the positions did not cover, e.g. after normalising separators), the whole text is
    shown masked, without highlighting.
    """
    if reveal:
        return highlight_segments(text, [(m["start"], m["end"]) for m in matches], [])
    pieces = highlight_segments(text, [(m["start"], m["end"]) for m in matches], find_identifiers(text))
    joined = "".join(piece for piece, _ in pieces)
    if mask_text(joined) != joined:
        return [(mask_text(text), False)]
    return pieces


def link_of(url: str, reveal: bool = False) -> tuple[str | None, bool]:
    """(href or None, is_onion): only http(s) URLs become links, .onion ones never do, and neither
    does a URL that carries an identity number (its address would show it) unless revealed."""
    parts = urlsplit(url or "")
    onion = (parts.hostname or "").endswith(".onion")
    if parts.scheme in ("http", "https") and parts.hostname and not onion and (reveal or mask_text(url) == url):
        return url, False
    return None, onion


def url_fields(url: str, reveal: bool = False) -> dict:
    """What the page shows of a post's URL: the link (if any), the text, and whether copying it gives the real URL."""
    href, onion = link_of(url, reveal)
    shown = masked(url, reveal)
    return {"href": href, "onion": onion, "url_shown": shown, "copyable": shown == (url or "")}


def safe_next(target: str | None) -> str | None:
    """Where to go after login: a path on this site, else None (the queue).

    The raw value and its percent-decoded form must both be a path that starts with exactly one
    `/`, has no scheme or host, no backslash and no control, format (zero-width, bidi) or
    whitespace character: browsers drop a TAB or newline, so `/%09/evil.example/` would become
    `//evil.example/`. In the decoded query only a plain space is allowed (a search's words).
    """
    if not target or len(target) > 2000:
        return None
    decoded = unquote(target)
    path, _, query = decoded.partition("?")
    for value, spaces in ((target, False), (path, False), (query, True)):
        for c in value:
            if c == " " and spaces:
                continue
            if c == "\\" or c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp", "Zs"):
                return None
    for value in (target, path):
        parts = urlsplit(value)
        if not value.startswith("/") or value.startswith("//") or parts.scheme or parts.netloc:
            return None
    return target


def day_range(args, user) -> tuple[dt.date, dt.date]:
    """The queue's dates: the filter's, else since the reviewer's last visit (or yesterday), in the team's zone."""
    zone = team_zone()
    today = dt.datetime.now(zone).date()
    try:
        start = dt.date.fromisoformat(args["from"]) if args.get("from") else None
        end = dt.date.fromisoformat(args["to"]) if args.get("to") else None
    except ValueError:
        abort(400, "dates are YYYY-MM-DD, e.g. 2026-01-31")
    if start is None:
        last = user.get("last_visit")
        start = dt.datetime.fromisoformat(last).astimezone(zone).date() if last else today - dt.timedelta(days=1)
    # clamped, so 0001-01-01 or 9999-12-31 mean "any" instead of overflowing in the time-zone arithmetic
    return min(max(start, FIRST_DAY), LAST_DAY), min(max(end or today, FIRST_DAY), LAST_DAY)


def utc_bounds(start: dt.date, end: dt.date) -> tuple[str, str]:
    zone = team_zone()
    since = dt.datetime.combine(start, dt.time(), zone).astimezone(dt.timezone.utc)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.timezone.utc)
    return since.isoformat(timespec="seconds"), until.isoformat(timespec="seconds")


def register(app) -> None:
    @app.route("/")
    def home():
        return redirect(url_for("dashboard_page"))

    @app.route("/login", methods=["GET", "POST"])
    def login():
        error = None
        if request.method == "POST":
            token = request.form.get("csrf_token", "")
            if not token or not secrets.compare_digest(token, session.get("login_csrf", "")):
                abort(400, "missing or wrong CSRF token")
            # the whole password: one over accounts.MAX_PASSWORD fails like a wrong one, nothing is cut
            user, _ = authenticate(g.db, request.form.get("username", "")[:64], request.form.get("password", ""))
            if user:
                session.clear()
                session.permanent = True
                session["user"] = user["name"]
                session["epoch"] = user.get("session_epoch") or 0
                session["csrf"] = secrets.token_urlsafe(32)
                return redirect(safe_next(request.args.get("next")) or url_for("dashboard_page"))
            error = "bad_login"  # one message for unknown, disabled, locked and wrong: names are not told apart
        session["login_csrf"] = session.get("login_csrf") or secrets.token_urlsafe(32)
        return render_template("login.html", error=error, login_csrf=session["login_csrf"],
                               expired=bool(request.args.get("expired"))), (401 if error else 200)

    @app.route("/logout", methods=["POST"])
    def logout():
        """Ends the user's sessions server-side (every browser), not just this cookie."""
        end_sessions(g.db, g.user["name"])
        g.db.audit(g.user["name"], "logout", g.user["name"])
        session.clear()
        return redirect(url_for("login"))

    @app.route("/lang", methods=["POST"])
    def set_lang():
        lang = request.form.get("lang")
        if lang not in LANGS:
            abort(400)
        g.db.update_user(g.user["name"], lang=lang)
        return redirect(request.referrer if (request.referrer or "").startswith(request.host_url) else url_for("queue"))

    @app.route("/queue")
    def queue():
        args = request.args
        start, end = day_range(args, g.user)
        since, until = utc_bounds(start, end)
        filters = {k: args.get(k) or None for k in ("source", "category", "severity", "status")}
        for key, allowed in (("category", CATEGORIES), ("severity", SEVERITIES), ("status", STATUSES)):
            if filters[key] and filters[key] not in allowed:
                abort(400, f"unknown {key}")
        page = args.get("page", "1")
        page = int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 10_000 else 1
        q = (args.get("q") or "").replace("\x00", "")
        sort = args.get("sort") if args.get("sort") in QUEUE_SORTS else QUEUE_SORTS[0]  # a bad value: the default
        uncertain = args.get("uncertain") == "1"
        search_note = "search_needs_words" if q.strip() and fts_query(q) is None else None
        items = [] if search_note else g.db.queue(since, until, q=q, limit=QUEUE_PAGE, offset=(page - 1) * QUEUE_PAGE,
                                                  sort=sort, uncertain=uncertain, **filters)
        lang = reader_lang()
        for item in items:
            item["segments"] = segments(item["text"] or "", json.loads(item["matches"] or "[]"))
            item["categories"] = json.loads(item["categories"] or "[]")
            item["reasons"] = sentences(item["reason_parts"], lang, json.loads(item["reasons"] or "[]"))
            item.update(url_fields(item["url"]))
            item["linked"] = g.db.linked(item["post_id"], limit=5)
        thumbnails(g.db, items)  # small blurred copies of the posts' analysed images, one query for the page
        if not args:
            g.db.update_user(g.user["name"], last_visit=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        next_args = {**args.to_dict(), "from": start.isoformat(), "to": end.isoformat(), "page": page + 1, "sort": sort}
        if uncertain:
            next_args["uncertain"] = "1"
        else:
            next_args.pop("uncertain", None)
        return render_template("queue.html", items=items, start=start, end=end, args=args, choices=g.db.queue_choices(),
                               search_note=search_note, sort=sort, sorts=QUEUE_SORTS, uncertain=uncertain,
                               next_page=url_for("queue", **next_args) if len(items) == QUEUE_PAGE else None,
                               severities=SEVERITIES, categories=CATEGORIES, statuses=STATUSES, reasons=DISMISS_REASONS)

    @app.route("/flags/<int:flag_id>/decide", methods=["POST"])
    @requires("admin", "reviewer")
    def decide_flag(flag_id):
        try:
            flag = decide(g.db, flag_id, request.form.get("action", ""), g.user,
                          reason=request.form.get("reason") or None, note=request.form.get("note"))
        except ReviewError as exc:
            if wants_json():
                return jsonify({"error": str(exc)}), 400
            abort(400, str(exc))
        if wants_json():
            lang = reader_lang()
            return jsonify({"id": flag["id"], "status": flag["status"], "status_label": translate(flag["status"], lang)})
        return redirect(request.referrer if (request.referrer or "").startswith(request.host_url) else url_for("queue"))

    @app.route("/posts/<int:post_id>", methods=["GET", "POST"])
    def post_detail(post_id):
        post = g.db.post(post_id)
        if post is None:
            abort(404)
        reveal = False
        if request.method == "POST":  # the explicit reveal request
            if g.user["role"] != "admin":
                abort(403)
            reveal = True
            g.db.audit(g.user["name"], "identifiers.reveal", f"post:{post_id}")
        flag = g.db.flag_of_post(post_id)
        matches = json.loads(flag["matches"]) if flag else []
        identifiers = find_identifiers(post["text"] or "")
        shown = [{"kind": i.kind, "valid": i.valid, "value": (post["text"][i.start:i.end] if reveal and i.kind in MASKED_KINDS else i.masked)}
                 for i in identifiers if i.kind not in ("price", "volume")]
        versions = [{**v, "segments": segments(v["text"] or "", [], reveal)} for v in g.db.post_versions(post_id)]
        evidence = g.db.evidence(post.get("evidence_sha"))
        return render_template("post.html", post=post, flag=flag, segments=segments(post["text"] or "", matches, reveal),
                               evidence=evidence, identifiers=shown, reveal=reveal, versions=versions,
                               **url_fields(post["url"], reveal),
                               images=post_image_cards(g.db, post_id, listed_urls(post["images"])),
                               grant_minutes=str(GRANT_SECONDS // 60), linked=g.db.linked(post_id),
                               events=g.db.review_events(flag["id"]) if flag else [],
                               reasons=sentences(flag["reason_parts"], reader_lang(), json.loads(flag["reasons"])) if flag else [])

    @app.route("/posts/<int:post_id>/evidence/<sha>", methods=["GET", "POST"])
    def evidence_page(post_id, sha):
        """The captured page as escaped text, never as live HTML, identity numbers masked.

        Reading it is audited (chain of custody); an admin may ask (POST, with the CSRF token)
        to see it unmasked, audited as `evidence.reveal`.
        """
        post = g.db.post(post_id)
        versions = {v.get("evidence_sha") for v in g.db.post_versions(post_id)} if post else set()
        if post is None or (sha != post.get("evidence_sha") and sha not in versions):
            abort(404)
        meta = g.db.evidence(sha)
        body = g.db.evidence_bytes(sha)
        if meta is None or body is None:
            abort(404)
        reveal = request.method == "POST"
        if reveal and g.user["role"] != "admin":
            abort(403)
        g.db.audit(g.user["name"], "evidence.reveal" if reveal else "evidence.read", f"post:{post_id}", None, {"sha256": sha})
        text = body[:EVIDENCE_SHOWN].decode("utf-8", errors="replace")
        return render_template("evidence.html", post=post, meta=meta, text=masked(text, reveal), reveal=reveal,
                               cut=len(body) > EVIDENCE_SHOWN)

    @app.route("/audit")
    @requires("admin")
    def audit():
        return render_template("audit.html", rows=g.db.audit_log(500))

    @app.route("/audit.csv")
    @requires("admin")
    def audit_csv():
        buf = io.StringIO()
        write_csv(buf, ["id", "at", "user", "action", "target", "before", "after"], reversed(g.db.audit_log(None)))
        g.db.audit(g.user["name"], "audit.export", "audit.csv")
        return Response(buf.getvalue(), mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=audit.csv"})

    @app.route("/users", methods=["GET", "POST"])
    @requires("admin")
    def users():
        error = None
        if request.method == "POST":
            try:
                if request.form.get("action") == "add":
                    add_user(g.db, request.form.get("name", ""), request.form.get("role", ""), request.form.get("password", ""), by=g.user["name"])
                elif request.form.get("action") in ("disable", "enable"):
                    set_disabled(g.db, request.form.get("name", ""), request.form["action"] == "disable", by=g.user["name"])
                else:
                    abort(400)
            except AccountError as exc:
                error = str(exc)
        return render_template("users.html", users=g.db.users(), roles=ROLES, error=error)

    @app.route("/rules/stats")
    def rule_stats():
        since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)).isoformat(timespec="seconds")
        return render_template("rules.html", rows=g.db.rule_stats(since))

    @app.errorhandler(403)
    def forbidden(exc):
        if wants_json():
            return jsonify({"error": exc.description or "forbidden"}), 403
        return render_template("error.html", message="forbidden"), 403

    @app.errorhandler(404)
    def not_found(exc):
        """In the reader's language, like every other page (Werkzeug's own page is English)."""
        if wants_json():
            return jsonify({"error": "not found"}), 404
        return render_template("error.html", message="not_found"), 404

    @app.errorhandler(400)
    @app.errorhandler(405)
    @app.errorhandler(413)
    @app.errorhandler(500)
    def other_error(exc):
        """Every other error page in the reader's language too; a 400's own reason (a bad date, a missing
        CSRF token) is kept beside it."""
        code = getattr(exc, "code", None) or 500
        if wants_json():
            return jsonify({"error": getattr(exc, "description", None) or "error"}), code
        detail = exc.description if code == 400 and isinstance(getattr(exc, "description", None), str) else None
        return render_template("error.html", message=f"error_{code}", detail=detail), code
