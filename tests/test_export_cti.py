"""`monitor export misp|stix`: written with the tools' libraries, read back with them, no full identity number."""

import json
import re

import pytest
from conftest import run_monitor

from monitor.ingest import ingest_post
from monitor.store import Database
from monitor.store.keys import secret_key
from monitor.web.accounts import add_user
from monitor.web.review import decide
from rules import Detector, is_valid_nik

ADS = [
    ("Jual data NIK + KK valid, 5rb per nomor, contoh 3171014508920007, minat japri telegram @seller_demo, "
     "bayar BTC 1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "telegram", "https://t.me/stokdata_demo/45"),
    ("WTS selfie KTP + foto KTP asli 2.000 pcs, sample 3273012306880012, WA 081234567890", "forum",
     "https://forum.example/jual-nik-3171014508920007-murah?wa=081234567890&nik=3273.0123.0688.0012#pid21"),
    ("Jual database pelanggan 1 juta baris (nama, NIK, alamat, no HP), telegram t.me/gudang_leak", "forum",
     "https://forum.example/showthread.php?tid=8&pid=30#pid30"),
]


@pytest.fixture
def reviewed(tmp_path):
    """Two confirmed posts and one still new."""
    db_path = str(tmp_path / "m.db")
    with Database(db_path) as db:
        add_user(db, "rina", "reviewer", "correct horse battery")
        detector = Detector()
        for i, (text, kind, url) in enumerate(ADS):
            result = ingest_post(db, detector, {"source": f"src-{kind}", "kind": kind, "post_id": str(i), "url": url, "text": text,
                                                "author": "seller 3171014508920007"}, secret_key(db_path))
            assert result.flag == "new", text
            if i < 2:
                decide(db, db.flag_of_post(result.post_id)["id"], "confirm", db.user("rina"))
    return db_path, tmp_path


def full_niks(text: str) -> list[str]:
    return [d for d in re.findall(r"(?<!\d)\d{16}(?!\d)", text) if is_valid_nik(d)]


def test_misp_event_read_back_with_pymisp(reviewed):
    from pymisp import MISPEvent

    db_path, tmp = reviewed
    out = tmp / "exports" / "event.json"
    result = run_monitor("export", "misp", "--out", str(out), "--db", db_path)
    assert result.returncode == 0 and "2 confirmed posts" in result.stderr, result.stderr
    text = out.read_text(encoding="utf-8")
    assert full_niks(text) == [] and "081234567890" not in text  # keyed fingerprints and masked forms only
    assert "3273.0123.0688.0012" not in text and "3171014508920007" not in text  # nor in a URL, however written
    event = MISPEvent()
    event.load(json.loads(text))
    posts = [o for o in event.objects if o.name == "microblog"]
    assert len(posts) == 2 and ADS[0][2] in {o.get_attributes_by_relation("url")[0].value for o in posts}
    assert {t.name for t in event.tags} >= {"tlp:amber", 'datasale-monitor:category="id_documents"'}
    handles = {o.get_attributes_by_relation("username")[0].value for o in event.objects if o.name == "telegram-account"}
    assert handles == {"seller_demo"}
    wallets = {o.get_attributes_by_relation("address")[0].value for o in event.objects if o.name == "coin-address"}
    assert wallets == {"1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}
    hashes = [a for a in event.attributes if a.type == "sha256"]
    fingerprints = [a for a in event.attributes if a.type == "text" and "fingerprint" in a.value]
    assert fingerprints and all("3171****" in a.comment or "3273****" in a.comment or "0812" in a.comment for a in fingerprints)
    assert hashes == []  # these posts were ingested without a captured page; crawled ones carry it (below)


def test_stix_bundle_read_back_with_stix2(reviewed):
    import stix2

    db_path, tmp = reviewed
    with Database(db_path) as db:  # give one post the captured page a crawl would have
        db.db.execute("UPDATE posts SET evidence_sha = ?, page_url = url WHERE post_id = '0'", ["ab" * 32])
    out = tmp / "bundle.json"
    assert run_monitor("export", "stix", "--out", str(out), "--db", db_path).returncode == 0
    text = out.read_text(encoding="utf-8")
    assert full_niks(text) == []
    bundle = stix2.parse(text, allow_custom=True)
    reports = [o for o in bundle.objects if o.type == "report"]
    assert len(reports) == 2 and all("id_documents" in r.labels for r in reports)
    patterns = {o.pattern for o in bundle.objects if o.type == "indicator"}
    assert "[user-account:account_login = 'seller_demo' AND user-account:account_type = 'telegram']" in patterns
    assert "[x-cryptocurrency-wallet:address = '1BoatSLRHtKNngkdXEeobR76b53LETtpyT']" in patterns
    artifacts = [o for o in bundle.objects if o.type == "artifact"]
    assert [a.hashes["SHA-256"] for a in artifacts] == ["ab" * 32]
    kinds = {i["kind"] for r in reports for i in r.x_datasale_identifiers}
    assert "nik" in kinds and all(len(i["fingerprint"]) == 32 for r in reports for i in r.x_datasale_identifiers)


def test_export_options_are_checked(reviewed, tmp_path):
    db_path, tmp = reviewed
    assert run_monitor("export", "csv", "--out", str(tmp / "x"), "--db", db_path).returncode == 2
    bad = run_monitor("export", "misp", "--since", "yesterday", "--out", str(tmp / "x"), "--db", db_path)
    assert bad.returncode == 2 and "not a date" in bad.stderr
    new = run_monitor("export", "stix", "--status", "new", "--out", str(tmp / "new.json"), "--db", db_path)
    assert new.returncode == 0 and "1 new posts" in new.stderr
    missing = run_monitor("export", "misp", "--out", str(tmp / "y"), "--db", str(tmp_path / "none.db"))
    assert missing.returncode == 1 and "no database at" in missing.stderr


def test_since_with_an_offset_is_compared_as_a_time(reviewed):
    db_path, tmp = reviewed
    with Database(db_path) as db:
        db.db.execute("UPDATE flags SET created_at = '2026-12-06T06:32:00+00:00'")
    for since, posts in (("2026-12-06T13:00:00+07:00", 2), ("2026-12-06T13:40:00+07:00", 0), ("2026-12-06T06:00:00Z", 2)):
        result = run_monitor("export", "misp", "--since", since, "--out", str(tmp / "e.json"), "--db", db_path)
        assert f"{posts} confirmed posts" in result.stderr, (since, result.stderr)


def test_exporting_twice_gives_the_same_ids(reviewed):
    db_path, tmp = reviewed
    ids = []
    for n in range(2):
        for fmt in ("stix", "misp"):
            assert run_monitor("export", fmt, "--out", str(tmp / f"{fmt}{n}.json"), "--db", db_path).returncode == 0
        bundle = json.loads((tmp / f"stix{n}.json").read_text())
        event = json.loads((tmp / f"misp{n}.json").read_text())
        event = event.get("Event", event)
        ids.append(({o["id"] for o in bundle["objects"]}, event["uuid"], {o["uuid"] for o in event["Object"]}))
    assert ids[0] == ids[1], "a consumer importing again updates what it has, it does not duplicate it"
    assert len({i for i in ids[0][0] if i.startswith("indicator--")}) == 2  # @seller_demo and the wallet, once each
