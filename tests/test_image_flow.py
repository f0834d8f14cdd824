"""Images from post to flag: what a photo adds to a post's analysis, a crawl's image phase, image files
beside imported posts, and what retention, rescoring, takedown lists and CTI exports do with them.

Crawls are real (`scrapy crawl` subprocesses against the demo site on 127.0.0.1, whose posts show
photos drawn by tests/imagegen.py); hostile images come from a demo site whose attachments are
broken on purpose (hand-written bytes only for faults). OCR is the real engine.
"""

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from conftest import run_monitor

from imagegen import make_sample
from monitor.config import Source
from monitor.crawl.runner import crawl_source
from monitor.demo import DemoServer, DemoSite
from monitor.demo.site import IMAGES_DIR, load_site_data
from monitor.ingest import reanalyse_post
from monitor.store import Database
from rules import Detector
from rules.reasons import sentences

KTP_SELFIE = {"document": "ktp", "face": True, "selfie_with_id": True,
              "identifiers": [{"kind": "nik", "masked": "3171********0003", "valid": True}]}
MEME = {"document": "none", "face": False, "selfie_with_id": False, "identifiers": []}


@pytest.fixture(scope="module")
def detector():
    return Detector()


# ------------------------------------------------------------------ a photo in the post's analysis

@pytest.mark.parametrize("caption", ["sampel", "sample nya gan", "minat WA 081234567890", "ready", "jual, harga 25rb"])
def test_an_id_photo_with_a_caption_that_offers_it_is_a_sale(detector, caption):
    alone = detector.analyze(caption)
    assert alone.label == "not_sale"
    with_photo = detector.analyze(caption, images=[KTP_SELFIE])
    assert with_photo.label == "sale"
    assert "ektp_selfie" in with_photo.categories and with_photo.severity in ("high", "critical")
    assert "photo: KTP, NIK valid, held by a person (selfie with ID)" in with_photo.reasons
    assert "a photo of an identity document with a caption that offers it: read as a sale" in with_photo.reasons


@pytest.mark.parametrize("caption", [
    "ini foto ktp saya hilang, ada yang lihat?",  # a question
    "Polisi menemukan foto KTP yang dijual di grup Facebook, warga diminta waspada",  # news
    "jual dompet ktp kulit asli harga 50rb",  # lawful goods
    "",  # a photo alone
    "Bagi yang merasa kehilangan KTP ini, DM saya",  # a found ID: a contact is no offer
    "Admin, ini KTP saya sudah upload untuk verifikasi akun, WA 081234567890",  # one's own ID
    "ini bukti + KTP saya untuk COD",  # a buyer's proof
    "harga 25rb",  # a price for nothing the text names
])
def test_an_id_photo_without_an_offer_is_not_a_sale(detector, caption):
    analysis = detector.analyze(caption, images=[KTP_SELFIE])
    assert analysis.label == "not_sale", analysis.reasons
    assert any(r.startswith("photo: KTP") for r in analysis.reasons)  # the reviewer still sees what the photo shows


def test_photos_that_show_no_document_change_nothing(detector):
    for text in ("sampel", "Jual foto SELFIE pegang e-KTP, harga Rp 15rb, WA 081234567890", "lucu banget"):
        assert detector.analyze(text, images=[MEME]).to_dict() == detector.analyze(text).to_dict()
        assert detector.analyze(text, images=[]).to_dict() == detector.analyze(text).to_dict()


def test_a_kk_photo_in_a_sale_adds_its_category_and_valid_numbers(detector):
    kk = {"document": "kk", "face": False, "selfie_with_id": False,
          "identifiers": [{"kind": "kk", "masked": "3171********0001", "valid": True},
                          {"kind": "nik", "masked": "3171********0002", "valid": True},
                          {"kind": "nik", "masked": "3171********0003", "valid": True}]}
    analysis = detector.analyze("Jual data KK lengkap, harga 10rb per data, WA 081234567890", images=[kk])
    assert analysis.label == "sale" and "id_documents" in analysis.categories
    assert analysis.severity == "critical"  # three valid numbers on offer
    said = sentences(analysis.reason_parts, "id")
    assert "foto: KK (Kartu Keluarga), KK valid, NIK valid" in said


def test_damaged_photo_findings_never_break_an_analysis(detector):
    damaged = [None, "ktp", {"document": None}, {"document": "ktp", "identifiers": "3171"},
               {"document": "ktp", "identifiers": [None, {"kind": ["nik"]}]}, {"document": {"a": 1}}]
    analysis = detector.analyze("sampel", images=damaged)
    assert analysis.label in ("sale", "not_sale")
    assert all(isinstance(r, str) for r in analysis.reasons)


# ------------------------------------------------------------------ a crawl's image phase

class BrokenAttachments(DemoSite):
    """The demo site, whose selfie post also shows hostile files (faults: hand-written on purpose)."""

    FILES = {
        "cut.jpg": (lambda: (IMAGES_DIR / "sample-selfie-blur.jpg").read_bytes()[:5000]),  # truncated JPEG
        "script.jpg": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        "huge.png": (lambda: _png_header(20000, 20000)),  # declares 400 megapixels
        "polyglot.jpg": (lambda: b"GIF89a/*" + b"\x00" * 10 + b"*/=1;alert(1)//"),
    }

    def attachment(self, name):
        if name in self.FILES:
            return 200, "image/jpeg", self.FILES[name]()
        if name == "missing.jpg":
            return 404, "text/html", b"not here"
        return super().attachment(name)


def _png_header(width: int, height: int) -> bytes:
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _site_with(images: list[str]) -> dict:
    data = load_site_data()
    post = next(p for t in data["forum"]["threads"] for p in t["posts"] if p["pid"] == 1101)
    post["images"] = images
    return data


def _forum(server, **options) -> Source:
    return Source("forum", "forum", {"base_url": f"{server.url}/forum/", "engine": "mybb", **options})


def _rows(db_path, sql, params=()):
    con = sqlite3.connect(db_path)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One crawl of the demo forum whose selfie ad shows the real photo and five broken files."""
    folder = tmp_path_factory.mktemp("images-crawl")
    db_path = folder / "monitor.db"
    images = ["attachments/sample-selfie-blur.jpg", "attachments/cut.jpg", "attachments/script.jpg",
              "attachments/huge.png", "attachments/polyglot.jpg", "attachments/missing.jpg"]
    with DemoServer(BrokenAttachments(_site_with(images))) as server:
        run = crawl_source(_forum(server), db_path, time_limit=300)
    return db_path, run


def test_a_crawl_fetches_and_reads_the_photos_of_flagged_posts(crawled):
    db_path, run = crawled
    assert run["status"] == "ok", run
    post = _rows(db_path, "SELECT id FROM posts WHERE post_key = '1101'")[0]["id"]
    shown = {r["url"].rsplit("/", 1)[-1]: r for r in _rows(
        db_path, "SELECT pi.url, pi.status, pi.reason, i.status AS image_status, i.reason AS image_reason, i.document, "
                 "i.selfie_with_id FROM post_images pi LEFT JOIN images i ON i.sha256 = pi.sha256 WHERE pi.post_id = ?", [post])}
    selfie = shown["sample-selfie-blur.jpg"]
    assert (selfie["status"], selfie["image_status"], selfie["document"], selfie["selfie_with_id"]) == ("stored", "analysed", "ktp", 1)
    flag = _rows(db_path, "SELECT categories, reasons, reason_parts FROM flags WHERE post_id = ? AND active = 1", [post])[0]
    assert "ektp_selfie" in json.loads(flag["categories"])
    assert any(r.startswith("photo: KTP, NIK valid") for r in json.loads(flag["reasons"]))
    assert any(s.startswith("foto: KTP, NIK valid") for s in sentences(flag["reason_parts"], "id"))
    # The original bytes are evidence, under their own hash.
    with Database(db_path) as db:
        sha = hashlib.sha256((IMAGES_DIR / "sample-selfie-blur.jpg").read_bytes()).hexdigest()
        assert db.evidence_bytes(sha) == (IMAGES_DIR / "sample-selfie-blur.jpg").read_bytes()


def test_hostile_images_are_errors_on_the_run_and_nothing_is_kept_to_show(crawled):
    db_path, run = crawled
    post = _rows(db_path, "SELECT id FROM posts WHERE post_key = '1101'")[0]["id"]
    shown = {r["url"].rsplit("/", 1)[-1]: r for r in _rows(
        db_path, "SELECT pi.url, pi.status, pi.reason, i.status AS image_status, i.reason AS image_reason, "
                 "i.blurred IS NULL AND i.redacted IS NULL AND i.thumb IS NULL AS no_copies "
                 "FROM post_images pi LEFT JOIN images i ON i.sha256 = pi.sha256 WHERE pi.post_id = ?", [post])}
    assert shown["cut.jpg"]["image_reason"] == "truncated"
    assert shown["script.jpg"]["image_reason"] == "not_an_image"
    assert shown["huge.png"]["image_reason"] in ("too_many_pixels", "corrupt")
    assert shown["polyglot.jpg"]["image_reason"] in ("corrupt", "truncated")
    for name in ("cut.jpg", "script.jpg", "huge.png", "polyglot.jpg"):
        assert shown[name]["image_status"] == "refused" and shown[name]["no_copies"] == 1
    assert (shown["missing.jpg"]["status"], shown["missing.jpg"]["reason"]) == ("failed", "http_404")
    errors = run["errors"] if isinstance(run["errors"], dict) else json.loads(run["errors"])
    assert errors.get("image: truncated") == 1 and errors.get("image: not_an_image") == 1 and errors.get("image: http_404") == 1
    assert run["images_fetched"] == 5 and run["images_failed"] == 1 and run["images_analysed"] == 1


def test_only_flagged_posts_or_posts_that_speak_of_photos_have_images_fetched(crawled):
    db_path, _ = crawled
    rows = _rows(db_path, "SELECT p.post_key, pi.status, f.label FROM post_images pi JOIN posts p ON p.id = pi.post_id "
                          "LEFT JOIN flags f ON f.post_id = p.id AND f.active = 1")
    for row in rows:
        if row["status"] in ("stored", "failed"):
            assert row["label"] == "sale" or row["post_key"] == "1101"
    skipped = [r for r in rows if r["status"] == "skipped"]
    assert all(r["label"] != "sale" for r in skipped)


def test_the_budget_leaves_images_for_the_next_run(tmp_path):
    db_path = tmp_path / "monitor.db"
    images = ["attachments/sample-selfie-blur.jpg", "attachments/tg-43.jpg", "attachments/missing.jpg"]
    with DemoServer(BrokenAttachments(_site_with(images))) as server:
        first = crawl_source(_forum(server, images_per_run=1), db_path, time_limit=300)
        assert first["status"] == "ok" and (first["images_fetched"] or 0) + (first["images_failed"] or 0) == 1
        with Database(db_path) as db:
            assert db.images_waiting("forum") == 2
        second = crawl_source(_forum(server, images_per_run=5), db_path, time_limit=300)
        assert (second["images_fetched"] or 0) + (second["images_failed"] or 0) == 2
        off = crawl_source(_forum(server, images=False), db_path, time_limit=300)
        assert not off["images_fetched"] and not off["images_failed"]
        queued = _rows(db_path, "SELECT count(*) AS n FROM post_images WHERE status = 'queued'")[0]["n"]
        assert queued == 0  # turned off: the queued ones say skipped, not "queued" forever
    statuses = {r["url"].rsplit("/", 1)[-1]: r["status"] for r in _rows(db_path, "SELECT url, status FROM post_images")}
    assert statuses["sample-selfie-blur.jpg"] == statuses["tg-43.jpg"] == "stored"


def test_the_demo_reads_its_photos(tmp_path):
    result = run_monitor("demo", "--db", str(tmp_path / "demo.db"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "images read   : 2" in result.stdout
    docs = {r["document"] for r in _rows(tmp_path / "demo.db", "SELECT document FROM images WHERE status = 'analysed'")}
    assert docs == {"ktp", "kk"}


# ------------------------------------------------------------------ image files beside imported posts

@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("import")
    selfie = make_sample("selfie", 0, seed=11, level=0)
    (folder / "outside.jpg").write_bytes(selfie.data)
    sub = folder / "rows"
    (sub / "photos").mkdir(parents=True)
    (sub / "photos" / "a.jpg").write_bytes(selfie.data)
    (sub / "cut.jpg").write_bytes(selfie.data[:3000])
    (sub / "link.jpg").symlink_to(folder / "outside.jpg")  # a link out of the folder is outside it too
    rows = [
        {"url": "https://facebook.com/groups/x/posts/1", "text": "sampel ya, minat japri", "image_files": ["photos/a.jpg"]},
        {"url": "https://facebook.com/groups/x/posts/2", "text": "cek dulu", "image_files": "cut.jpg"},
        {"url": "https://facebook.com/groups/x/posts/3", "text": "x", "image_files": ["../outside.jpg"]},
        {"url": "https://facebook.com/groups/x/posts/4", "text": "x", "image_files": ["nothere.jpg"]},
        {"url": "https://facebook.com/groups/x/posts/5", "text": "x", "image_files": {"a": 1}},
        {"url": "https://facebook.com/groups/x/posts/6", "text": "x", "image_files": ["link.jpg"]},
    ]
    (sub / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    db_path = folder / "monitor.db"
    result = run_monitor("ingest", str(sub / "rows.jsonl"), "--source", "fb", "--db", str(db_path))
    return db_path, result, selfie


def test_ingest_reads_image_files_beside_the_rows(imported):
    db_path, result, selfie = imported
    assert "2 new" in result.stderr + result.stdout
    flag = _rows(db_path, "SELECT f.categories, f.reasons FROM flags f JOIN posts p ON p.id = f.post_id "
                          "WHERE p.url LIKE '%/posts/1' AND f.active = 1")[0]
    assert "ektp_selfie" in json.loads(flag["categories"])
    refused = _rows(db_path, "SELECT i.status, i.reason FROM post_images pi JOIN images i ON i.sha256 = pi.sha256 "
                             "JOIN posts p ON p.id = pi.post_id WHERE p.url LIKE '%/posts/2'")
    assert refused == [{"status": "refused", "reason": "truncated"}]


def test_ingest_refuses_image_files_outside_the_folder_or_missing(imported):
    _, result, _ = imported
    out = result.stdout + result.stderr
    assert "rows.jsonl:3: image_files: '../outside.jpg' is outside the imported file's folder" in out
    assert "rows.jsonl:4: image_files: 'nothere.jpg': no such file beside the imported file" in out
    assert "rows.jsonl:5: image_files: must be a list of file names" in out
    assert "rows.jsonl:6: image_files: 'link.jpg' is outside the imported file's folder" in out


def test_no_full_number_read_from_a_photo_is_stored_in_the_database(imported):
    db_path, _, selfie = imported
    nik = selfie.truth["nik"]
    dump = "\n".join(sqlite3.connect(db_path).iterdump())
    assert nik not in dump
    assert nik[:6] + " " not in dump  # not even split at the region code


# ------------------------------------------------------------------ rescore, retention, takedown, CTI

def test_rescore_keeps_what_the_photos_showed(imported, tmp_path):
    db_path, _, _ = imported
    result = run_monitor("rescore", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    flag = _rows(db_path, "SELECT f.categories FROM flags f JOIN posts p ON p.id = f.post_id "
                          "WHERE p.url LIKE '%/posts/1' AND f.active = 1")[0]
    assert "ektp_selfie" in json.loads(flag["categories"])


def test_takedown_lists_and_exports_cite_the_image_hashes(tmp_path):
    db_path = tmp_path / "monitor.db"
    data = make_sample("selfie", 0, seed=11, level=0).data
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "a.jpg").write_bytes(data)
    (tmp_path / "rows.jsonl").write_text(json.dumps(
        {"url": "https://www.facebook.com/groups/x/posts/9", "text": "sampel, minat japri", "image_files": ["a.jpg"]}) + "\n")
    assert run_monitor("ingest", str(tmp_path / "rows.jsonl"), "--source", "fb", "--db", str(db_path)).returncode == 0
    con = sqlite3.connect(db_path)
    with con:
        con.execute("UPDATE flags SET status = 'confirmed' WHERE active = 1")
    con.close()
    out = tmp_path / "takedown"
    made = run_monitor("takedown", "--format", "json", "--out", str(out), "--db", str(db_path), "--as", "tester")
    assert made.returncode == 0, made.stderr
    listed = json.loads(next(out.rglob("requests.json")).read_text())
    assert listed[0]["image_sha256"] == sha
    assert sha in next(out.rglob("letter_id.md")).read_text()
    audit = _rows(db_path, "SELECT after FROM audit WHERE action = 'evidence.export'")
    assert sha in json.loads(audit[0]["after"])["images"]
    misp = tmp_path / "event.json"
    assert run_monitor("export", "misp", "--out", str(misp), "--db", str(db_path), "--status", "requested").returncode == 0
    assert sha in misp.read_text()
    stix = tmp_path / "bundle.json"
    assert run_monitor("export", "stix", "--out", str(stix), "--db", str(db_path), "--status", "requested").returncode == 0
    assert sha in stix.read_text()


def test_purge_takes_images_of_purged_posts_and_keeps_those_of_open_cases(tmp_path, detector):
    db_path = tmp_path / "monitor.db"
    data = make_sample("selfie", 0, seed=11, level=0).data
    other = make_sample("ktp", 0, seed=12, level=0).data
    from monitor.images.reading import read_image, save_read_image

    with Database(db_path) as db:
        ids = []
        for n, (raw, status) in enumerate(((data, "dismissed"), (other, "confirmed"))):
            with db.transaction():
                stored = db.upsert_post({"source": "fb", "kind": "import", "url": f"https://x.test/{n}", "text": "sampel",
                                         "post_id": str(n)})
                read = read_image(raw)
                save_read_image(db, read, raw, url=f"file:{n}.jpg", fetched_at="2020-01-01T00:00:00+00:00")
                db.store_local_image(stored.id, f"file:{n}.jpg", 0, read.sha256)
                assert reanalyse_post(db, detector, stored.id) == "new"
            db.db.execute("UPDATE flags SET status = ? WHERE post_id = ?", [status, stored.id])
            db.db.execute("UPDATE posts SET last_seen = '2020-01-01T00:00:00+00:00' WHERE id = ?", [stored.id])
            db.db.execute("UPDATE evidence SET last_fetched_at = '2020-01-01T00:00:00+00:00'")
            ids.append((stored.id, read.sha256))
    result = run_monitor("purge", "--older-than", "30", "--yes", "--db", str(db_path))
    assert result.returncode == 0, result.stdout + result.stderr
    (gone_post, gone_sha), (kept_post, kept_sha) = ids
    with Database(db_path) as db:
        assert db.post_images(gone_post) == [] and db.image(gone_sha) is None and db.evidence_bytes(gone_sha) is None
        assert db.image(kept_sha)["status"] == "analysed" and db.evidence_bytes(kept_sha) is not None
        assert db.image_render(kept_sha, "blurred")


# ------------------------------------------------------------------ found by attacking it

def test_every_line_with_a_number_is_blacked_out_on_a_document():
    from rules.images.documents import read_document

    # A KTP whose NIK the OCR read in three pieces on three lines, and its birth date.
    lines = ["PROVINSI DKI JAKARTA", "KOTA JAKARTA SELATAN", "NIK", "3171", "0145", "0890 0003", "Nama : SITI AMINAH",
             "Tempat/Tgl Lahir : JAKARTA, 05-08-1990", "Jenis Kelamin : PEREMPUAN", "Alamat : JL. MAWAR 1",
             "Agama : ISLAM", "Berlaku Hingga : SEUMUR HIDUP"]
    reading = read_document(lines)
    assert reading.document == "ktp"
    assert {3, 4, 5, 7} <= set(reading.number_lines)  # the pieces and the birth date
    assert 0 not in reading.number_lines and 6 not in reading.number_lines
    # Not a document: a NIK across two lines and one with a misread letter are still blacked out.
    other = read_document(["DATA CUSTOMER", "nik 31710145", "08900003", "2105101A05900607", "terima kasih"])
    assert {1, 2, 3} <= set(other.number_lines) and 4 not in other.number_lines


def test_a_photo_added_to_an_unchanged_post_and_an_offer_without_photo_words_are_fetched(tmp_path, detector):
    from monitor.ingest import ingest_post

    with Database(tmp_path / "m.db") as db:
        item = {"source": "tg", "kind": "telegram", "url": "https://t.me/x/1", "post_id": "1", "text": "ready, harga 25rb",
                "images": ["https://cdn4.telesco.pe/a.jpg"]}
        ingest_post(db, detector, item)  # a price: a photo may show what it is for
        assert db.images_to_fetch("tg", 10) == ["https://cdn4.telesco.pe/a.jpg"]
        plain = {"source": "tg", "kind": "telegram", "url": "https://t.me/x/2", "post_id": "2", "text": "selamat pagi semua"}
        ingest_post(db, detector, plain)
        ingest_post(db, detector, {**plain, "images": ["https://cdn4.telesco.pe/b.jpg"]})  # same words, a photo added
        rows = {r["url"]: r["status"] for r in db.post_images(db.db.execute("SELECT id FROM posts WHERE post_id = '2'").fetchone()[0])}
        assert rows == {"https://cdn4.telesco.pe/b.jpg": "skipped"}  # noted; fetched once the post is wanted
        ingest_post(db, detector, {**item, "images": [f"https://cdn4.telesco.pe/{n}.jpg" for n in range(500)]})
        assert len(db.images_to_fetch("tg", 1000)) <= 51  # one post cannot fill a run's budget


def test_a_damaged_analysis_in_the_database_breaks_nothing(imported):
    db_path, _, _ = imported
    import shutil

    copy = db_path.with_name("damaged.db")
    shutil.copy(db_path, copy)
    con = sqlite3.connect(copy)
    with con:
        rows = [r[0] for r in con.execute("SELECT sha256 FROM images WHERE status = 'analysed'")]
        con.execute("UPDATE images SET analysis = ? WHERE sha256 = ?", ['{"identifiers": 5, "document": {"a": 1}}', rows[0]])
    con.close()
    result = run_monitor("rescore", "--db", str(copy))
    assert result.returncode == 0, result.stderr
    con = sqlite3.connect(copy)
    with con:
        con.execute("UPDATE images SET analysis = 'not json' WHERE sha256 = ?", [rows[0]])
    con.close()
    assert run_monitor("rescore", "--db", str(copy)).returncode == 0


def test_an_unreadable_image_file_name_is_a_bad_row_not_a_failed_import(tmp_path):
    (tmp_path / "loop.jpg").symlink_to(tmp_path / "loop.jpg")
    rows = [{"url": "https://x.test/1", "text": "ok", "image_files": ["loop.jpg"]},
            {"url": "https://x.test/2", "text": "ok", "image_files": ["a" * 300 + ".jpg"]},
            {"url": "https://x.test/3", "text": "good row"}]
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = run_monitor("ingest", str(tmp_path / "rows.jsonl"), "--source", "x", "--db", str(tmp_path / "m.db"))
    assert "1 new" in result.stdout and "2 bad rows" in result.stdout, result.stdout + result.stderr


def test_a_dead_image_worker_ends_the_image_phase_and_says_so(tmp_path):
    """The worker killed in the middle: the run ends at once (not at its time limit), degraded with the reason,
    the lock is freed, and the images not read wait for the next run."""
    import os
    import signal
    import threading
    import time

    class SlowImages(BrokenAttachments):
        def attachment(self, name):
            time.sleep(0.7)
            return super().attachment(name)

    db_path = tmp_path / "monitor.db"
    images = [f"attachments/x{n}.jpg" for n in range(20)]
    killed = []

    def kill_worker():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    cmd = open(f"/proc/{pid}/cmdline", "rb").read()
                    parent = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]
                    parent_cmd = open(f"/proc/{parent}/cmdline", "rb").read()
                except OSError:
                    continue
                try:  # only this test's own crawl (the image crawl is a child of this process)
                    grandparent = int(open(f"/proc/{parent}/stat").read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
                if b"spawn_main" in cmd and b"crawl\x00images" in parent_cmd and grandparent == os.getpid():
                    while time.monotonic() < deadline:  # a couple of images in, most still to come
                        if db_path.exists() and _rows(db_path, "SELECT count(*) AS n FROM post_images WHERE status = 'stored'")[0]["n"] >= 2:
                            break
                        time.sleep(0.05)
                    os.kill(int(pid), signal.SIGKILL)
                    killed.append(pid)
                    break
            time.sleep(0.1)

    with DemoServer(SlowImages(_site_with(images))) as server:
        killer = threading.Thread(target=kill_worker)
        killer.start()
        started = time.monotonic()
        run = crawl_source(_forum(server, images_per_run=20, concurrency=1, delay=0.3), db_path, time_limit=300)
        took = time.monotonic() - started
        killer.join()
    assert killed, "the image worker was found and killed"
    assert took < 60, f"the run waited {took:.0f}s after its worker died"
    assert run["status"] == "degraded" and "image worker died" in run["reason"], run
    with Database(db_path) as db:
        assert db.images_waiting("forum") > 0
        assert not db.db.execute("SELECT count(*) FROM locks").fetchone()[0]
    log = Path(run["log"]).read_bytes()
    assert b"\xff\xd8\xff" not in log and b"JFIF" not in log  # no image bytes in the log
