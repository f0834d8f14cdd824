"""Post images on the review page: blurred copies with captions, the audited unblur and reveal, the queue's thumbnails.

The images are the synthetic KTP and selfie photos of tests/imagegen.py, analysed by the real
analysis and rendered by the real renderer; the KTP carries EXIF with GPS and a payload after the
end of the JPEG, which no copy the page serves may keep. Most tests use Flask's test client on a
real database file; one drives Debian's Chromium against the page served by waitress.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import lxml.html
import numpy as np
import pytest
from imagegen import make_sample
from PIL import Image, ImageFilter
from webfixtures import PASSWORD, login, screenshot_path, served

from monitor.images.render import renders
from monitor.ingest import ingest_post
from monitor.store import Database
from monitor.store.keys import secret_key
from monitor.web import create_app
from monitor.web import post_images
from monitor.web.accounts import add_user
from monitor.web.i18n import STRINGS
from rules import Detector
from rules.images.analysis import analyse_image

SALE = "Jual foto selfie e-KTP dan scan KTP 15rb/foto, stok banyak, telegram @foto_ktp_demo"
BASE = "http://img.example/u/"
HOSTILE_URL = 'http://127.0.0.2:9/x.jpg?a="><script>alert(1)</script><img src=x onerror=alert(2)>'
SECRET = b"SECRETCAM-MAKE"
PAYLOAD = b"PAYLOAD-AFTER-EOI<script>alert(3)</script>"
COPIES = ("blurred", "thumb", "redacted", "revealed")


def with_exif_and_payload(data: bytes) -> bytes:
    """`data` (a JPEG) saved again with EXIF (camera make, GPS position) and bytes appended after its end."""
    exif = Image.Exif()
    exif[0x010F] = SECRET.decode()
    exif[0x8825] = {1: "S", 2: (6.0, 10.0, 30.0), 3: "E", 4: (106.0, 49.0, 12.0)}  # GPS: central Jakarta
    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buf, "JPEG", quality=90, exif=exif.tobytes())
    out = buf.getvalue() + PAYLOAD
    assert Image.open(io.BytesIO(out)).getexif().get_ifd(0x8825), "the test image carries GPS"
    return out


def store_image(db: Database, data: bytes, url: str) -> tuple[str, dict]:
    sha = hashlib.sha256(data).hexdigest()
    analysis = analyse_image(data)
    db.save_evidence({"sha256": sha, "url": url, "body": data, "fetched_at": "2026-01-05T10:00:00+00:00", "status": 200,
                      "headers": {}})
    db.save_image(sha, "analysed", analysis=analysis.to_dict(), renders=renders(data, analysis.id_regions))
    return sha, analysis.to_dict()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A flagged post with a KTP photo (EXIF, GPS, payload), a selfie with a KTP, a meme given as a file, and
    images in every other state; a second flagged post without images; one user per role."""
    db_path = str(tmp_path_factory.mktemp("images") / "m.db")
    key = secret_key(db_path)
    ktp = with_exif_and_payload(make_sample("ktp", 0, level=0).data)
    selfie = make_sample("selfie", 0).data
    meme = make_sample("meme", 0).data
    urls = {name: BASE + name for name in ("ktp.jpg", "selfie.jpg", "gone.jpg", "cut.jpg", "later.jpg")}
    urls["hostile"] = HOSTILE_URL
    with Database(db_path) as db:
        for name, role in (("ana", "admin"), ("rina", "reviewer"), ("vito", "viewer")):
            add_user(db, name, role, PASSWORD)
        detector = Detector()
        post_id = ingest_post(db, detector, {"source": "tg", "kind": "telegram", "post_id": "7", "url": "https://t.me/jualktp/7",
                                             "text": SALE, "images": list(urls.values())}, key).post_id
        other = ingest_post(db, detector, {"source": "tg", "kind": "telegram", "post_id": "8", "url": "https://t.me/jualktp/8",
                                           "text": "Jual data NIK + KK valid 5rb per nomor, minat japri telegram @data_demo"},
                            key).post_id
        db.queue_post_images(post_id, list(urls.values()), wanted=True)
        ktp_sha, ktp_analysis = store_image(db, ktp, urls["ktp.jpg"])
        selfie_sha, _ = store_image(db, selfie, urls["selfie.jpg"])
        meme_sha, _ = store_image(db, meme, "meme.jpg")
        db.record_image_fetch("tg", urls["ktp.jpg"], sha256=ktp_sha)
        db.record_image_fetch("tg", urls["selfie.jpg"], sha256=selfie_sha)
        db.record_image_fetch("tg", urls["gone.jpg"], reason="http_404")
        cut = ktp[:6000]
        cut_sha = hashlib.sha256(cut).hexdigest()
        db.save_evidence({"sha256": cut_sha, "url": urls["cut.jpg"], "body": cut, "fetched_at": "2026-01-05T10:00:00+00:00",
                          "status": 200, "headers": {}})
        db.save_image(cut_sha, "refused", reason="truncated")
        db.record_image_fetch("tg", urls["cut.jpg"], sha256=cut_sha)
        db.store_local_image(post_id, "meme.jpg", 20, meme_sha)
    con = sqlite3.connect(db_path)  # a URL the post lists but nobody queued (a post stored before images were fetched)
    listed = [*urls.values(), BASE + "old.jpg"]
    con.execute("UPDATE posts SET images = ? WHERE id = ?", [json.dumps(listed), post_id])
    con.commit()
    con.close()
    return SimpleNamespace(db_path=db_path, post_id=post_id, other=other, ktp=ktp, ktp_sha=ktp_sha, ktp_analysis=ktp_analysis,
                           selfie=selfie, selfie_sha=selfie_sha, meme_sha=meme_sha, cut_sha=cut_sha, urls=urls,
                           app=create_app(db_path))


def signed_in(site, name: str, lang: str | None = None):
    """A Flask test client logged in as `name` (its CSRF token in `.csrf`)."""
    client = site.app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token}).status_code == 302
    client.csrf = re.search(r'name="csrf-token" content="([^"]*)"', client.get("/rules/stats").text).group(1)
    client.post("/lang", data={"lang": lang or "id", "csrf_token": client.csrf})
    return client


def audit_rows(site, action: str) -> list[tuple]:
    con = sqlite3.connect(site.db_path)
    try:
        return con.execute("SELECT user, target, after FROM audit WHERE action = ? ORDER BY id", [action]).fetchall()
    finally:
        con.close()


def action(site, client, what: str, sha: str, post_id: int | None = None, token: str | None = "csrf"):
    data = {} if token is None else {"csrf_token": client.csrf}
    return client.post(f"/posts/{post_id or site.post_id}/images/{sha}/{what}", data=data)


def image_items(html: str):
    return lxml.html.fromstring(html).cssselect("ul.images li.image")


# ---------------------------------------------------------------- the post page

def test_post_page_shows_blurred_copies_with_captions_and_states(site):
    page = signed_in(site, "vito").get(f"/posts/{site.post_id}")
    assert page.status_code == 200
    items = image_items(page.text)
    by_state = {}
    for li in items:
        by_state.setdefault(li.get("data-state"), []).append(li)
    assert sorted(by_state) == ["analysed", "failed", "not_queued", "queued", "refused"]
    assert len(by_state["analysed"]) == 3 and len(by_state["queued"]) == 2  # later.jpg and the hostile URL
    srcs = [img.get("src") for img in lxml.html.fromstring(page.text).cssselect("img")]
    assert sorted(srcs) == sorted(f"/image/{sha}/blurred" for sha in (site.ktp_sha, site.selfie_sha, site.meme_sha))
    ktp = next(li for li in items if li.get("data-sha") == site.ktp_sha)
    caption = ktp.cssselect("figcaption")[0].text_content()
    masked_nik = site.ktp_analysis["identifiers"][0]["masked"]
    assert "KTP" in caption and "Wajah: tidak" in caption and f"NIK {masked_nik} (valid)" in " ".join(caption.split())
    assert ktp.cssselect("details.text-read summary")[0].text_content() == STRINGS["text_read"][0]
    assert "NIK" in ktp.cssselect("details.text-read pre")[0].text_content()
    selfie = next(li for li in items if li.get("data-sha") == site.selfie_sha)
    assert "Wajah: ya" in selfie.text_content() and STRINGS["selfie_with_id"][0] in selfie.text_content()
    meme = next(li for li in items if li.get("data-sha") == site.meme_sha)
    assert STRINGS["doc_none"][0] in meme.text_content() and STRINGS["selfie_with_id"][0] not in meme.text_content()
    failed = by_state["failed"][0].text_content()
    assert f"{STRINGS['image_failed'][0]}: http_404" in failed and site.urls["gone.jpg"] in failed
    assert f"{STRINGS['image_refused'][0]}: truncated" in by_state["refused"][0].text_content()
    assert STRINGS["image_not_queued"][0] in by_state["not_queued"][0].text_content()
    # URLs are text: no link, no image, nothing loaded from the post's hosts
    assert "img.example" not in " ".join(a.get("href", "") for a in lxml.html.fromstring(page.text).cssselect("a"))
    assert HOSTILE_URL in [c.text_content() for c in lxml.html.fromstring(page.text).cssselect("code.image-url")]
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert not lxml.html.fromstring(page.text).cssselect("ul.images script, ul.images img[onerror]")
    assert "button class=\"unblur\"" not in page.text and "reveal-numbers" not in page.text, "a viewer has nothing to press"


def test_captions_follow_the_readers_language(site):
    page = signed_in(site, "vito", lang="en").get(f"/posts/{site.post_id}").text
    assert "Face: no" in page and "Face: yes" in page and "selfie with ID" in page and "no identity document" in page
    assert "not fetched: <code>http_404</code>" in page and "refused, not opened: <code>truncated</code>" in page
    assert "Text read (masked)" in page and "Wajah" not in page
    assert STRINGS["image_alt_blurred"][1] in page


def test_every_image_word_has_both_languages():
    templates = Path(__file__).resolve().parents[1] / "monitor" / "web" / "templates"
    keys = set()
    for name in ("post.html", "queue.html"):
        keys |= set(re.findall(r"t\('([a-z_]+)'\)", (templates / name).read_text(encoding="utf-8")))
    keys |= {f"image_{s}" for s in ("not_queued", "queued", "skipped", "failed", "stored", "refused")}
    keys |= {f"doc_{d}" for d in ("ktp", "kk", "npwp", "passport", "sim", "none")}
    keys |= {f"image_alt_{v}" for v in ("blurred", "redacted", "revealed", "thumb")} | {"image_view_redacted", "image_view_revealed"}
    for key in sorted(keys):
        indonesian, english = STRINGS[key]
        assert indonesian and english, key


def test_the_page_keeps_its_csp(site):
    page = signed_in(site, "vito").get(f"/posts/{site.post_id}")
    csp = page.headers["Content-Security-Policy"]
    assert "img-src 'self'" in csp and "data:" not in csp and "http" not in csp and "*" not in csp


# ---------------------------------------------------------------- the image routes

def test_every_copy_needs_a_login(site):
    anonymous = site.app.test_client()
    for copy in COPIES:
        response = anonymous.get(f"/image/{site.ktp_sha}/{copy}")
        assert response.status_code == 302 and "/login" in response.headers["Location"], copy
    for what in ("unblur", "reveal", "blur"):
        assert anonymous.post(f"/posts/{site.post_id}/images/{site.ktp_sha}/{what}").status_code == 401


def test_malformed_or_unknown_sha_and_unknown_copies_are_404(site):
    client = signed_in(site, "ana")
    for sha in (site.ktp_sha.upper(), site.ktp_sha[:63], site.ktp_sha + "0", "g" * 64, "../" + site.ktp_sha[3:], "x",
                "0" * 64, site.ktp_sha[:40] + "%00" + site.ktp_sha[43:]):
        assert client.get(f"/image/{sha}/blurred").status_code == 404, sha
        assert action(site, client, "unblur", sha).status_code == 404, sha
    for copy in ("original", "evidence", "raw", "BLURRED", "blurred.jpg"):
        assert client.get(f"/image/{site.ktp_sha}/{copy}").status_code == 404, copy
    assert client.get(f"/image/{site.cut_sha}/blurred").status_code == 404, "a refused image has no copy"
    assert action(site, client, "unblur", site.cut_sha).status_code == 404
    assert action(site, client, "unblur", site.ktp_sha, post_id=site.other).status_code == 404, "not an image of that post"
    assert action(site, client, "reveal", site.ktp_sha, post_id=999999).status_code == 404


def test_blurred_copies_and_their_headers(site):
    client = signed_in(site, "vito")
    for copy in ("blurred", "thumb"):
        response = client.get(f"/image/{site.ktp_sha}/{copy}")
        assert response.status_code == 200, copy
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"].startswith("inline")
        assert response.headers["Cache-Control"].startswith("private, max-age=") and "public" not in response.headers["Cache-Control"]
        with Database(site.db_path) as db:
            assert response.data == db.image_render(site.ktp_sha, copy), "the stored re-encoded copy"
    assert Image.open(io.BytesIO(client.get(f"/image/{site.ktp_sha}/thumb").data)).width <= 160


def test_viewer_cannot_unblur_reveal_or_fetch_sharp_copies(site):
    viewer = signed_in(site, "vito")
    for copy in ("redacted", "revealed"):
        assert viewer.get(f"/image/{site.ktp_sha}/{copy}").status_code == 403, copy
    assert action(site, viewer, "unblur", site.ktp_sha).status_code == 403
    assert action(site, viewer, "reveal", site.ktp_sha).status_code == 403
    for copy in ("redacted", "revealed"):
        assert viewer.get(f"/image/{site.ktp_sha}/{copy}").status_code == 403, f"{copy} after the refused requests"
    assert not [r for r in audit_rows(site, "image.unblur") + audit_rows(site, "image.reveal") if r[0] == "vito"]


def test_reviewer_unblurs_one_image_audited_and_only_for_a_while(site, monkeypatch):
    reviewer = signed_in(site, "rina")
    assert reviewer.get(f"/image/{site.ktp_sha}/redacted").status_code == 403, "no sharp copy before the unblur"
    assert action(site, reviewer, "unblur", site.ktp_sha, token=None).status_code == 400, "the unblur needs the CSRF token"
    assert reviewer.get(f"/image/{site.ktp_sha}/redacted").status_code == 403
    before = len(audit_rows(site, "image.unblur"))
    done = action(site, reviewer, "unblur", site.ktp_sha)
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/posts/{site.post_id}#images")
    rows = audit_rows(site, "image.unblur")
    assert len(rows) == before + 1 and rows[-1][:2] == ("rina", f"post:{site.post_id}") and site.ktp_sha in rows[-1][2]
    sharp = reviewer.get(f"/image/{site.ktp_sha}/redacted")
    assert sharp.status_code == 200 and sharp.headers["Content-Type"] == "image/jpeg"
    assert sharp.headers["Cache-Control"] == "no-store" and sharp.headers["X-Content-Type-Options"] == "nosniff"
    assert sharp.headers["Content-Disposition"].startswith("inline")
    with Database(site.db_path) as db:
        assert sharp.data == db.image_render(site.ktp_sha, "redacted")
    assert reviewer.get(f"/image/{site.selfie_sha}/redacted").status_code == 403, "one image, not the post's others"
    assert reviewer.get(f"/image/{site.ktp_sha}/revealed").status_code == 403, "numbers are for admins"
    assert action(site, reviewer, "reveal", site.ktp_sha).status_code == 403
    page = reviewer.get(f"/posts/{site.post_id}").text
    ktp = next(li for li in image_items(page) if li.get("data-sha") == site.ktp_sha)
    assert ktp.cssselect("img")[0].get("src") == f"/image/{site.ktp_sha}/redacted" and ktp.cssselect("button.blur-again")
    selfie = next(li for li in image_items(page) if li.get("data-sha") == site.selfie_sha)
    assert selfie.cssselect("img")[0].get("src") == f"/image/{site.selfie_sha}/blurred" and selfie.cssselect("button.unblur")
    other_browser = signed_in(site, "rina")  # the grant is this session's: another browser of the same user has none
    assert other_browser.get(f"/image/{site.ktp_sha}/redacted").status_code == 403
    real = post_images.time.time
    monkeypatch.setattr(post_images, "time", SimpleNamespace(time=lambda: real() + post_images.GRANT_SECONDS + 5))
    assert reviewer.get(f"/image/{site.ktp_sha}/redacted").status_code == 403, "the grant expires"
    monkeypatch.undo()
    assert reviewer.get(f"/image/{site.ktp_sha}/redacted").status_code == 200
    assert action(site, reviewer, "blur", site.ktp_sha).status_code == 302
    assert reviewer.get(f"/image/{site.ktp_sha}/redacted").status_code == 403, "blurred again"


def test_a_session_keeps_its_newest_grants_only(site):
    """The grants live in the session cookie: at most MAX_GRANTS, the oldest dropped (not whichever sorts first)."""
    with site.app.test_request_context():
        from flask import g, session

        g.user = {"name": "rina", "role": "reviewer"}
        shas = [f"{n:064x}" for n in range(post_images.MAX_GRANTS + 5, 0, -1)]  # the newest sort first
        for n, sha in enumerate(shas):
            post_images.grant(sha, "redacted", now=1_000_000 + n)
            session["image_grants"] = dict(sorted(session["image_grants"].items()))  # as the cookie brings them back
        kept = set(session["image_grants"])
        assert kept == set(shas[-post_images.MAX_GRANTS:])


def test_grants_end_with_the_session(site):
    reviewer = signed_in(site, "rina")
    assert action(site, reviewer, "unblur", site.selfie_sha).status_code == 302
    assert reviewer.get(f"/image/{site.selfie_sha}/redacted").status_code == 200
    reviewer.post("/logout", data={"csrf_token": reviewer.csrf})
    assert reviewer.get(f"/image/{site.selfie_sha}/redacted").status_code == 302, "logged out: to the login page"


def test_the_role_is_checked_again_on_every_sharp_copy(site):
    """A grant does not outlive the role it was given under, even if the session did (a role changed
    without the session ending: accounts.set_role ends it, a hand-edited database might not)."""
    reviewer = signed_in(site, "rina")
    admin = signed_in(site, "ana")
    assert action(site, reviewer, "unblur", site.meme_sha).status_code == 302
    assert action(site, admin, "reveal", site.meme_sha).status_code == 302
    assert reviewer.get(f"/image/{site.meme_sha}/redacted").status_code == 200
    assert admin.get(f"/image/{site.meme_sha}/revealed").status_code == 200
    with Database(site.db_path) as db:
        db.update_user("rina", role="viewer")
        db.update_user("ana", role="reviewer")
    try:
        assert reviewer.get(f"/image/{site.meme_sha}/redacted").status_code == 403
        assert admin.get(f"/image/{site.meme_sha}/revealed").status_code == 403
        assert admin.get(f"/image/{site.meme_sha}/redacted").status_code == 200, "a reviewer may still see it sharp"
    finally:
        with Database(site.db_path) as db:
            db.update_user("rina", role="reviewer")
            db.update_user("ana", role="admin")


def test_admin_reveal_is_audited_and_shows_the_numbers(site):
    admin = signed_in(site, "ana")
    assert admin.get(f"/image/{site.ktp_sha}/revealed").status_code == 403, "an admin too asks first"
    assert action(site, admin, "reveal", site.ktp_sha, token=None).status_code == 400
    before = len(audit_rows(site, "image.reveal"))
    assert action(site, admin, "reveal", site.ktp_sha).status_code == 302
    rows = audit_rows(site, "image.reveal")
    assert len(rows) == before + 1 and rows[-1][:2] == ("ana", f"post:{site.post_id}") and site.ktp_sha in rows[-1][2]
    shown = admin.get(f"/image/{site.ktp_sha}/revealed")
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/jpeg"
    assert shown.headers["Cache-Control"] == "no-store" and shown.headers["Content-Disposition"].startswith("inline")
    assert admin.get(f"/image/{site.ktp_sha}/redacted").status_code == 200, "a reveal includes the sharp copy"
    # the number line is readable in the revealed copy, black in the redacted one
    x0, y0, x1, y1 = site.ktp_analysis["id_regions"][0]
    revealed = Image.open(io.BytesIO(shown.data)).convert("L")
    redacted = Image.open(io.BytesIO(admin.get(f"/image/{site.ktp_sha}/redacted").data)).convert("L")
    assert revealed.size == redacted.size == (site.ktp_analysis["width"], site.ktp_analysis["height"])
    assert _mean(redacted, (x0, y0, x1, y1)) < 10 and _mean(revealed, (x0, y0, x1, y1)) > 80
    page = admin.get(f"/posts/{site.post_id}").text
    ktp = next(li for li in image_items(page) if li.get("data-sha") == site.ktp_sha)
    assert ktp.cssselect("img")[0].get("src") == f"/image/{site.ktp_sha}/revealed" and not ktp.cssselect("button.reveal-numbers")
    assert "identity numbers visible" in STRINGS["image_alt_revealed"][1]


def _mean(img: Image.Image, box) -> float:
    return float(np.asarray(img.crop(tuple(int(round(v)) for v in box)), dtype=np.float64).mean())


def test_served_copies_are_reencoded_without_exif_and_never_the_original(site):
    admin = signed_in(site, "ana")
    assert action(site, admin, "reveal", site.ktp_sha).status_code == 302
    assert SECRET in site.ktp and PAYLOAD in site.ktp and b"Exif" in site.ktp, "the original carries all three"
    for copy in COPIES:
        data = admin.get(f"/image/{site.ktp_sha}/{copy}").data
        assert data[:3] == b"\xff\xd8\xff" and data.endswith(b"\xff\xd9"), copy
        assert data != site.ktp and hashlib.sha256(data).hexdigest() != site.ktp_sha, copy
        assert SECRET not in data and PAYLOAD not in data and b"Exif" not in data, copy
        exif = Image.open(io.BytesIO(data)).getexif()
        assert len(exif) == 0 and not exif.get_ifd(0x8825), f"{copy} keeps EXIF"
    with Database(site.db_path) as db:
        assert db.evidence_bytes(site.ktp_sha) == site.ktp, "the original is kept as evidence, only never sent"


def test_blurred_copy_blacks_out_the_number_lines(site):
    """The number line is painted black before the blur: the blurred copy is much darker there than a
    blur of the photo itself, and the sharp copy a reviewer may unblur to is black there."""
    client = signed_in(site, "vito")
    blurred = Image.open(io.BytesIO(client.get(f"/image/{site.ktp_sha}/blurred").data)).convert("L")
    scale = blurred.width / site.ktp_analysis["width"]
    x0, y0, x1, y1 = (v * scale for v in site.ktp_analysis["id_regions"][0])
    plain = Image.open(io.BytesIO(site.ktp)).convert("L").resize(blurred.size).filter(ImageFilter.GaussianBlur(20))
    cx, cy = int((x0 + x1) / 2), int((y0 + y1) / 2)
    assert blurred.getpixel((cx, cy)) < 100, "the centre of the number line"
    assert blurred.getpixel((cx, cy)) < plain.getpixel((cx, cy)) - 60
    assert _mean(blurred, (x0, y0, x1, y1)) < _mean(plain, (x0, y0, x1, y1)) - 50
    thumb = Image.open(io.BytesIO(client.get(f"/image/{site.ktp_sha}/thumb").data)).convert("L")
    ts = thumb.width / site.ktp_analysis["width"]
    assert thumb.getpixel((int((x0 + x1) / 2 / scale * ts), int((y0 + y1) / 2 / scale * ts))) < 110


# ---------------------------------------------------------------- the queue

def test_queue_shows_thumbnails_with_one_query_a_page(site, monkeypatch):
    calls = []
    real = Database.thumbnails

    def counting(self, post_ids, *args, **kwargs):
        calls.append(list(post_ids))
        return real(self, post_ids, *args, **kwargs)

    monkeypatch.setattr(Database, "thumbnails", counting)
    page = signed_in(site, "vito").get("/queue?from=2000-01-01")
    assert page.status_code == 200
    assert len(calls) == 1 and set(calls[0]) == {site.post_id, site.other}, "one look-up for the page's items"
    tree = lxml.html.fromstring(page.text)
    items = tree.cssselect("#queue .item")
    assert len(items) == 2
    thumbs = {item.get("data-flag"): [img.get("src") for img in item.cssselect(".thumbs img")] for item in items}
    srcs = sorted(src for shown in thumbs.values() for src in shown)
    assert srcs == sorted(f"/image/{sha}/thumb" for sha in (site.ktp_sha, site.selfie_sha, site.meme_sha))
    assert sorted(len(shown) for shown in thumbs.values()) == [0, 3], "only the post with images has thumbnails"


# ---------------------------------------------------------------- in a browser

def test_post_images_in_a_browser(site, browser, tmp_path):
    """The blurred copies load under the page's CSP, unblur works through its form, the queue shows thumbnails.
    Its screenshot is docs/post-images.png when `bash scripts/screenshot` runs it."""
    from playwright.sync_api import expect

    with served(site.db_path) as url:
        context, page = login(browser, url, "rina")
        console, outside, dialogs = [], [], []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.set_viewport_size({"width": 1280, "height": 1000})
        page.goto(f"{url}/posts/{site.post_id}")
        page.wait_for_load_state("networkidle")
        shot = page.locator(f'li.image[data-sha="{site.ktp_sha}"] img.shot')
        expect(shot).to_have_attribute("src", f"/image/{site.ktp_sha}/blurred")
        for img in page.locator("ul.images img.shot").all():
            assert img.evaluate("i => i.complete && i.naturalWidth") > 0, img.get_attribute("src")
        blurred_width = shot.evaluate("i => i.naturalWidth")
        assert 0 < blurred_width <= 800
        page.locator("#images").evaluate("e => e.scrollIntoView()")
        screenshot = screenshot_path(tmp_path, "post-images.png")
        page.screenshot(path=str(screenshot))
        assert screenshot.stat().st_size > 10_000
        details = page.locator(f'li.image[data-sha="{site.ktp_sha}"] details.text-read')
        details.locator("summary").click()
        expect(details.locator("pre")).to_be_visible()
        page.locator(f'li.image[data-sha="{site.ktp_sha}"] button.unblur').click()
        expect(shot).to_have_attribute("src", f"/image/{site.ktp_sha}/redacted")
        page.wait_for_load_state("networkidle")
        assert shot.evaluate("i => i.complete && i.naturalWidth") == site.ktp_analysis["width"] > blurred_width
        assert page.locator(f'li.image[data-sha="{site.selfie_sha}"] img.shot').get_attribute("src").endswith("/blurred")
        assert any(r[0] == "rina" and site.ktp_sha in r[2] for r in audit_rows(site, "image.unblur"))
        page.goto(f"{url}/queue?from=2000-01-01")
        page.wait_for_load_state("networkidle")
        thumbs = page.locator("#queue .thumbs img.thumb")
        assert thumbs.count() == 3
        for i in range(3):
            assert thumbs.nth(i).evaluate("i => i.complete && i.naturalWidth") > 0
        context.close()
    assert not [m for m in console if "Content Security Policy" in m or "Refused to" in m], console
    assert not [m for m in console if m.startswith(("error", "pageerror"))], console
    assert outside == [] and dialogs == []


def test_an_unblur_never_stretches_a_reveal(site):
    """A reveal's audit entry covers GRANT_SECONDS; unblurring the same image later must not extend it."""
    with site.app.test_request_context():
        from flask import g, session

        g.user = {"name": "ana", "role": "admin"}
        sha = "ab" * 32
        post_images.grant(sha, "revealed", now=1_000_000)
        post_images.grant(sha, "redacted", now=1_000_000 + 540)  # nine minutes later
        level, expires = session["image_grants"][sha]
        assert (level, expires) == (2, 1_000_000 + post_images.GRANT_SECONDS)


def test_states_the_page_names():
    assert post_images.image_state({"status": "purged"}) == "purged"
    assert post_images.image_state({"status": "something new"}) == "unknown"
    assert post_images.image_state({"status": "queued"}) == "queued"
    from monitor.web.i18n import STRINGS

    assert all(STRINGS[f"image_{s}"][0] and STRINGS[f"image_{s}"][1] for s in ("purged", "unknown"))
