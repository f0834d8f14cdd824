"""Sellers across sources (`/actors`): posts grouped by shared contacts and wallets, named and noted by reviewers."""

from __future__ import annotations

import json

from flask import abort, g, redirect, render_template, request, url_for

from rules.identifiers import mask_value

from ..report.actors import rebuild_members

PAGE = 100
MAX_NAME = 120
MAX_NOTE = 2000


def register(app) -> None:
    @app.route("/actors")
    def actors_page():
        """Sellers as the last regrouping (after each crawl and import) left them, a page at a time."""
        page = request.args.get("page", "1")
        page = int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 10_000 else 1
        if page == 1 and not g.db.actor_summaries_exist() and g.db.has_seller_identifiers():
            rebuild_members(g.db, full=True)  # a database never regrouped since sellers were summarised (migration 0016)
        rows = g.db.actor_page(PAGE, (page - 1) * PAGE)
        names = g.db.actor_names()
        for row in rows:
            row["name"] = (names.get(row["id"]) or {}).get("name") or ""
        return render_template("actors.html", actors=rows, page=page,
                               next_page=url_for("actors_page", page=page + 1) if len(rows) == PAGE else None)

    @app.route("/actors/<actor_id>", methods=["GET", "POST"])
    def actor_page(actor_id):
        if len(actor_id) > 40:
            abort(404)
        if not g.db.actor_membership_exists() and g.db.has_seller_identifiers():
            rebuild_members(g.db, full=True)
        actor = g.db.actor_detail(actor_id)  # from the last regrouping: one actor's rows, not every identifier
        if actor is None:
            abort(404)
        names = g.db.actor_names()
        if request.method == "POST":
            if g.user["role"] not in ("admin", "reviewer"):
                abort(403)
            name = " ".join((request.form.get("name") or "").split())[:MAX_NAME]
            note = (request.form.get("note") or "").replace("\x00", "")[:MAX_NOTE]
            g.db.name_actor(actor["id"], name, note, g.user["name"])
            return redirect(url_for("actor_page", actor_id=actor["id"]))
        posts = g.db.posts_of(actor["post_ids"])
        for post in posts:
            post["categories"] = json.loads(post["categories"] or "[]")
            post.update(mask_value({k: post[k] or "" for k in ("author", "thread_title", "url")}))
        return render_template("actor.html", actor=actor, named=names.get(actor["id"]) or {}, posts=posts, links=actor["links"],
                               can_edit=g.user["role"] in ("admin", "reviewer"))
