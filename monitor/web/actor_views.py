"""Sellers across sources (`/actors`): posts grouped by shared contacts and wallets, named and noted by reviewers."""

from __future__ import annotations

import json

from flask import abort, g, redirect, render_template, request, url_for

from rules.identifiers import mask_value

from ..report.actors import current_actors

MAX_NAME = 120
MAX_NOTE = 2000


def _actors(db):
    return current_actors(db), db.actor_names()


def register(app) -> None:
    @app.route("/actors")
    def actors_page():
        actors, names = _actors(g.db)
        statuses = g.db.flag_statuses()
        rows = []
        for actor in actors:
            counts: dict[str, int] = {}
            for post in actor.posts:
                status = statuses.get(post, "unflagged")
                counts[status] = counts.get(status, 0) + 1
            rows.append({**actor.as_dict(), "name": (names.get(actor.id) or {}).get("name") or "", "statuses": counts})
        return render_template("actors.html", actors=rows)

    @app.route("/actors/<actor_id>", methods=["GET", "POST"])
    def actor_page(actor_id):
        actors, names = _actors(g.db)
        actor = next((a for a in actors if a.id == actor_id), None)
        if actor is None:
            abort(404)
        if request.method == "POST":
            if g.user["role"] not in ("admin", "reviewer"):
                abort(403)
            name = " ".join((request.form.get("name") or "").split())[:MAX_NAME]
            note = (request.form.get("note") or "").replace("\x00", "")[:MAX_NOTE]
            g.db.name_actor(actor.id, name, note, g.user["name"])
            return redirect(url_for("actor_page", actor_id=actor.id))
        posts = g.db.posts_of(sorted(actor.posts))
        for post in posts:
            post["categories"] = json.loads(post["categories"] or "[]")
            post.update(mask_value({k: post[k] or "" for k in ("author", "thread_title", "url")}))
        links = [{"kind": kind, "masked": masked, "posts": sorted(actor.links[fp])}
                 for fp, (kind, masked) in sorted(actor.identifiers.items(), key=lambda item: item[1])]
        return render_template("actor.html", actor=actor.as_dict(), named=names.get(actor.id) or {}, posts=posts, links=links,
                               can_edit=g.user["role"] in ("admin", "reviewer"))
