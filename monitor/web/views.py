"""Routes of the review page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
from functools import wraps
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Response,
    abort,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from rules import find_identifiers
from rules.identifiers import MASKED_KINDS

from ..explain import segments as highlight_segments
from ..takedown.batches import spreadsheet_safe
from .accounts import ROLES, AccountError, add_user, authenticate, set_disabled
from .i18n import LANGS
from .review import DISMISS_REASONS, ReviewError, decide

JAKARTA = ZoneInfo("Asia/Jakarta")
SEVERITIES = ("critical", "high", "medium", "low")
CATEGORIES = ("ektp_selfie", "id_documents", "database_dump", "combolist_credentials", "other_pii")
QUEUE_PAGE = 100  # flags per queue page
EVIDENCE_SHOWN = 500_000  # bytes of a captured page shown at most
STATUSES = ("new", "confirmed", "dismissed", "escalated", "requested", "removed", "still_online")


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
    """`text` cut into (piece, matched), identity numbers masked unless revealed; the template escapes every piece."""
    return highlight_segments(text, [(m["start"], m["end"]) for m in matches], [] if reveal else find_identifiers(text))


def link_of(url: str) -> tuple[str | None, bool]:
    """(href or None, is_onion): only http(s) URLs become links, and .onion ones never do."""
    parts = urlsplit(url or "")
    onion = (parts.hostname or "").endswith(".onion")
    if parts.scheme in ("http", "https") and parts.hostname and not onion:
        return url, False
    return None, onion


def day_range(args, user) -> tuple[dt.date, dt.date]:
    """The queue's dates: the filter's, else since the reviewer's last visit (or yesterday), Jakarta time."""
    today = dt.datetime.now(JAKARTA).date()
    try:
        start = dt.date.fromisoformat(args["from"]) if args.get("from") else None
        end = dt.date.fromisoformat(args["to"]) if args.get("to") else None
    except ValueError:
        abort(400, "dates are YYYY-MM-DD")
    if start is None:
        last = user.get("last_visit")
        start = dt.datetime.fromisoformat(last).astimezone(JAKARTA).date() if last else today - dt.timedelta(days=1)
    return start, end or today


def utc_bounds(start: dt.date, end: dt.date) -> tuple[str, str]:
    since = dt.datetime.combine(start, dt.time(), JAKARTA).astimezone(dt.timezone.utc)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), JAKARTA).astimezone(dt.timezone.utc)
    return since.isoformat(timespec="seconds"), until.isoformat(timespec="seconds")


def register(app) -> None:
    @app.route("/")
    def home():
        return redirect(url_for("queue"))

    @app.route("/login", methods=["GET", "POST"])
    def login():
        error = None
        if request.method == "POST":
            token = request.form.get("csrf_token", "")
            if not token or not secrets.compare_digest(token, session.get("login_csrf", "")):
                abort(400, "missing or wrong CSRF token")
            user, why = authenticate(g.db, request.form.get("username", "")[:64], request.form.get("password", "")[:256])
            if user:
                session.clear()
                session.permanent = True
                session["user"] = user["name"]
                session["csrf"] = secrets.token_urlsafe(32)
                target = request.args.get("next", "")
                local = target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target
                return redirect(target if local else url_for("queue"))
            error = "locked" if why == "locked" else "bad_login"
        session["login_csrf"] = session.get("login_csrf") or secrets.token_urlsafe(32)
        return render_template("login.html", error=error, login_csrf=session["login_csrf"]), (401 if error else 200)

    @app.route("/logout", methods=["POST"])
    def logout():
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
        page = int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1
        items = g.db.queue(since, until, q=args.get("q"), limit=QUEUE_PAGE, offset=(page - 1) * QUEUE_PAGE, **filters)
        for item in items:
            item["segments"] = segments(item["text"] or "", json.loads(item["matches"] or "[]"))
            item["categories"] = json.loads(item["categories"] or "[]")
            item["reasons"] = json.loads(item["reasons"] or "[]")
            item["href"], item["onion"] = link_of(item["url"])
            item["linked"] = g.db.linked_posts(item["post_id"], limit=5)
        if not args:
            g.db.update_user(g.user["name"], last_visit=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        next_args = {**args.to_dict(), "from": start.isoformat(), "to": end.isoformat(), "page": page + 1}
        return render_template("queue.html", items=items, start=start, end=end, args=args, choices=g.db.queue_choices(),
                               next_page=url_for("queue", **next_args) if len(items) == QUEUE_PAGE else None,
                               severities=SEVERITIES, categories=CATEGORIES, statuses=STATUSES, reasons=DISMISS_REASONS)

    @app.route("/flags/<int:flag_id>/decide", methods=["POST"])
    @requires("admin", "reviewer")
    def decide_flag(flag_id):
        try:
            flag = decide(g.db, flag_id, request.form.get("action", ""), g.user,
                          reason=request.form.get("reason") or None, note=request.form.get("note"))
        except ReviewError as exc:
            if request.headers.get("Accept") == "application/json":
                return jsonify({"error": str(exc)}), 400
            abort(400, str(exc))
        if request.headers.get("Accept") == "application/json":
            return jsonify({"id": flag["id"], "status": flag["status"]})
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
        href, onion = link_of(post["url"])
        evidence = g.db.evidence(post.get("evidence_sha"))
        return render_template("post.html", post=post, flag=flag, segments=segments(post["text"] or "", matches, reveal),
                               evidence=evidence,
                               identifiers=shown, reveal=reveal, versions=versions, href=href, onion=onion,
                               images=json.loads(post["images"] or "[]"), linked=g.db.linked_posts(post_id),
                               events=g.db.review_events(flag["id"]) if flag else [],
                               reasons=json.loads(flag["reasons"]) if flag else [])

    @app.route("/posts/<int:post_id>/evidence/<sha>")
    def evidence_page(post_id, sha):
        """The captured page as escaped text, never as live HTML; reading it is audited (chain of custody)."""
        post = g.db.post(post_id)
        versions = {v.get("evidence_sha") for v in g.db.post_versions(post_id)} if post else set()
        if post is None or (sha != post.get("evidence_sha") and sha not in versions):
            abort(404)
        meta = g.db.evidence(sha)
        body = g.db.evidence_bytes(sha)
        if meta is None or body is None:
            abort(404)
        g.db.audit(g.user["name"], "evidence.read", f"post:{post_id}", None, {"sha256": sha})
        text = body[:EVIDENCE_SHOWN].decode("utf-8", errors="replace")
        return render_template("evidence.html", post=post, meta=meta, text=text, cut=len(body) > EVIDENCE_SHOWN)

    @app.route("/audit")
    @requires("admin")
    def audit():
        return render_template("audit.html", rows=g.db.audit_log(500))

    @app.route("/audit.csv")
    @requires("admin")
    def audit_csv():
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["id", "at", "user", "action", "target", "before", "after"])
        for row in reversed(g.db.audit_log(None)):
            writer.writerow([spreadsheet_safe(row[k]) for k in ("id", "at", "user", "action", "target", "before", "after")])
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
        return render_template("error.html", message="forbidden"), 403
