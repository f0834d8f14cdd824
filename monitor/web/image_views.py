"""Post images on the review page: their copies (`/image/<sha>/<copy>`) and the audited unblur and reveal.

Routes and who may use them (every one needs a session, like the rest of the page):

- GET  /image/<sha>/blurred, /image/<sha>/thumb: anyone signed in. Blurred, number lines black.
- POST /posts/<id>/images/<sha>/unblur: reviewers and admins; audited `image.unblur`; then
  GET /image/<sha>/redacted serves the sharp copy (number lines still black) to that session for
  post_images.GRANT_SECONDS, and refuses (403) anyone else, viewers always.
- POST /posts/<id>/images/<sha>/reveal: admins; audited `image.reveal`; then GET
  /image/<sha>/revealed serves the photo with its numbers, re-encoded on demand from the evidence
  store (never stored, never the bytes as fetched), to that session for GRANT_SECONDS.
- POST /posts/<id>/images/<sha>/blur: anyone signed in; ends this session's grant for the image.

What is sent is always a JPEG the monitor re-encoded from the pixels (no EXIF, no comments, nothing
appended), never the original bytes: `Content-Type: image/jpeg`, `Content-Disposition: inline`,
nosniff (app.security_headers), `Cache-Control: no-store` for the sharp copies and private caching
for the blurred ones (they are the same for everyone who may see them and never change: a copy is
named by the SHA-256 of the original). A sha that is not 64 lower-case hex digits is a 404.
"""

from __future__ import annotations

from flask import Response, abort, g, redirect, url_for

from rules.images.safe import ImageRefused

from ..images.render import revealed
from .post_images import LEVELS, allowed, drop_grant, grant, valid_sha
from .views import requires

BLURRED_MAX_AGE = 3600
"""Seconds a browser may keep a blurred copy (private cache only)."""


def _image_of_post(post_id: int, sha: str) -> dict:
    """The post's analysed image `sha`, or 404 (unknown post, malformed sha, an image the post does not show)."""
    if not valid_sha(sha) or g.db.post(post_id) is None:
        abort(404)
    for row in g.db.post_images(post_id):
        if row.get("sha256") == sha and row.get("image_status") == "analysed":
            return row
    abort(404)


def _back(post_id: int):
    return redirect(url_for("post_detail", post_id=post_id, _anchor="images"))


def register(app) -> None:
    @app.route("/image/<sha>/<variant>")
    def image_copy(sha, variant):
        if not valid_sha(sha) or variant not in LEVELS:
            abort(404)
        if not allowed(sha, variant):
            abort(403)
        if variant == "revealed":
            image = g.db.image(sha)
            original = g.db.evidence_bytes(sha) if image and image["status"] == "analysed" else None
            if original is None:
                abort(404)
            try:
                data = revealed(original)
            except ImageRefused:  # the stored bytes no longer decode
                abort(404)
        else:
            data = g.db.image_render(sha, variant)
            if not data:
                abort(404)
        response = Response(data, mimetype="image/jpeg")
        response.headers["Content-Disposition"] = f'inline; filename="{sha[:16]}-{variant}.jpg"'
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if LEVELS[variant] == 0:
            response.headers["X-Private-Cache"] = str(BLURRED_MAX_AGE)  # app.security_headers: private, max-age
        return response

    @app.route("/posts/<int:post_id>/images/<sha>/unblur", methods=["POST"])
    @requires("admin", "reviewer")
    def image_unblur(post_id, sha):
        _image_of_post(post_id, sha)
        g.db.audit(g.user["name"], "image.unblur", f"post:{post_id}", None, {"sha256": sha, "copy": "redacted"})
        grant(sha, "redacted")
        return _back(post_id)

    @app.route("/posts/<int:post_id>/images/<sha>/reveal", methods=["POST"])
    @requires("admin")
    def image_reveal(post_id, sha):
        _image_of_post(post_id, sha)
        if g.db.evidence(sha) is None:
            abort(404)
        g.db.audit(g.user["name"], "image.reveal", f"post:{post_id}", None, {"sha256": sha, "copy": "revealed"})
        grant(sha, "revealed")
        return _back(post_id)

    @app.route("/posts/<int:post_id>/images/<sha>/blur", methods=["POST"])
    def image_blur(post_id, sha):
        if not valid_sha(sha):
            abort(404)
        drop_grant(sha)
        return _back(post_id)
