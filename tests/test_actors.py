"""Sellers across sources: posts grouped transitively by shared contacts and wallets, named in a real browser, audited."""

import json
import sqlite3

import pytest
from webfixtures import PASSWORD, Client, login, screenshot_path, served

from monitor.ingest import ingest_post
from monitor.report.actors import group_actors, rebuild_members
from monitor.store import Database
from monitor.store.keys import secret_key
from monitor.web.accounts import add_user
from rules import Detector

POSTS = [  # A and B share a phone, B and C a Telegram handle: one seller across two sources
    ("forum", "Jual data KTP 5rb per nomor, WA 081234567890"),
    ("tg", "Ready selfie KTP, WA 0812-3456-7890 atau telegram @toko_ktp_demo"),
    ("tg", "Stok NIK + KK valid, order via telegram @toko_ktp_demo"),
    ("forum", "Dijual database 1 juta baris, bayar BTC 1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
    ("forum", "Jual data KTP murah, minat japri"),
]


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    db_path = str(tmp_path_factory.mktemp("actors") / "m.db")
    with Database(db_path) as db:
        for name, role in (("rina", "reviewer"), ("vito", "viewer")):
            add_user(db, name, role, PASSWORD)
        detector = Detector()
        for i, (source, text) in enumerate(POSTS):
            ingest_post(db, detector, {"source": source, "kind": "import", "post_id": str(i), "url": f"https://x.example/{i}",
                                       "text": text}, secret_key(db_path))
    return db_path


def test_posts_group_by_shared_contacts_transitively(linked):
    with Database(linked) as db:
        actors = group_actors(db.seller_identifiers())
    sizes = sorted(len(a.posts) for a in actors)
    assert sizes == [1, 3], [a.as_dict() for a in actors]
    seller = next(a for a in actors if len(a.posts) == 3)
    assert seller.sources == {"forum", "tg"}
    kinds = {k for k, _ in seller.identifiers.values()}
    assert kinds == {"phone", "telegram"} and all("7890" not in m or "*" in m for _, m in seller.identifiers.values())


def test_a_seller_of_10000_posts_is_grouped_in_one_pass():
    rows = [{"post_id": i, "kind": "phone", "fingerprint": "same-phone", "masked": "0812****90", "source": "tg",
             "first_seen": "2026-12-01T00:00:00+00:00", "last_seen": "2026-12-02T00:00:00+00:00"} for i in range(10_000)]
    (actor,) = group_actors(rows)
    assert len(actor.posts) == 10_000 and actor.as_dict()["posts"] == 10_000


def test_actor_pages_and_naming_in_a_browser(linked, browser, tmp_path):
    with served(linked) as url:
        context, page = login(browser, url, "rina")
        page.goto(f"{url}/actors")
        rows = page.locator("#actors tr")
        assert rows.count() == 3  # header + two sellers
        page.locator("#actors a").first.click()
        assert page.locator("#actor-posts tr").count() == 4
        assert page.locator("#links tr").count() == 3  # the phone and the handle, each with its posts
        page.fill('input[name="name"]', "Toko KTP <b>demo</b>")
        page.fill('textarea[name="note"]', "same seller on the forum and Telegram")
        page.click("form.actor-name button")
        assert "Toko KTP <b>demo</b>" in page.locator("h1").inner_text()  # escaped, shown as text
        assert page.locator("#actor-note").inner_text() == "same seller on the forum and Telegram"
        page.screenshot(path=str(screenshot_path(tmp_path, "actor.png")), full_page=True)
        context.close()
        actor_path = page.url.split(url, 1)[1]
        viewer = Client(url)
        viewer.login("vito")
        assert viewer.get(actor_path).status_code == 200
        token = viewer.csrf()
        assert viewer.post(actor_path, {"name": "x", "note": "", "csrf_token": token}).status_code == 403
        assert Client(url).get("/actors").status_code in (302, 401)
    con = sqlite3.connect(linked)
    (who, action, after), = con.execute("SELECT user, action, after FROM audit WHERE action = 'actor.name'").fetchall()
    assert who == "rina" and "Toko KTP" in after


def test_the_queue_shows_each_posts_seller_after_an_import(tmp_path):
    import json

    from conftest import run_monitor

    rows = tmp_path / "posts.jsonl"
    rows.write_text("\n".join(json.dumps({"url": f"https://x.example/{i}", "post_id": str(i), "text": text})
                              for i, (_, text) in enumerate(POSTS)), encoding="utf-8")
    db_path = tmp_path / "m.db"
    assert run_monitor("ingest", str(rows), "--source", "imp", "--db", str(db_path)).returncode == 0
    with Database(db_path) as db:
        add_user(db, "rina", "reviewer", PASSWORD)
        members = dict(db.db.execute("SELECT post_id, actor_posts FROM actor_members").fetchall())
    assert sorted(members.values()) == [1, 3, 3, 3]  # recorded by the import itself
    with served(str(db_path)) as url:
        client = Client(url)
        client.login("rina")
        page = client.get("/queue?from=2000-01-01").text
    assert page.count("2 pos lain") == 3  # each of the seller's three flagged posts points at the two others


def test_victims_numbers_in_samples_do_not_join_two_sellers_and_ids_stay(tmp_path):
    from monitor.report.actors import current_actors, rebuild_members

    sample = "Sample: Andi;andi@mail.com;0812-0000-0001;Bandung"
    db_path = str(tmp_path / "m.db")
    with Database(db_path) as db:
        detector, key = Detector(), secret_key(db_path)
        for i, text in enumerate([f"Jual DB e-commerce 1 juta baris. {sample}. Order telegram @toko_alpha",
                                  f"Dijual data pelanggan 500rb baris. {sample}. DM telegram @beta_store99"]):
            ingest_post(db, detector, {"source": "tg", "kind": "import", "post_id": str(i), "url": f"https://x.example/{i}",
                                       "text": text}, key)
        rebuild_members(db)
        actors = current_actors(db)
        assert sorted(len(a.posts) for a in actors) == [1, 1], "the same leaked row in two ads is not one seller"
        alpha = next(a for a in actors if any("toko_alpha" in m for _, m in a.identifiers.values()))
        db.name_actor(alpha.id, "Alpha", "", "rina")
        ingest_post(db, detector, {"source": "tg", "kind": "import", "post_id": "2", "url": "https://x.example/2",
                                   "text": "Stok baru! telegram @toko_alpha atau @aaa_alpha_backup"}, key)
        rebuild_members(db)
        grown = next(a for a in current_actors(db) if len(a.posts) == 2)
        assert grown.id == alpha.id, "a seller keeps its id, and with it its name, when it posts a new contact"


def _state(db) -> tuple[dict, dict]:
    """Each post's recorded seller and each seller's summary, as the sellers' page and the queue read them."""
    members = {post: (actor, n) for post, actor, n in db.db.execute("SELECT post_id, actor_id, actor_posts FROM actor_members")}
    summaries = {row[0]: row[1:] for row in db.db.execute(
        "SELECT actor_id, posts, sources, first_seen, last_seen, identifiers FROM actor_summaries")}
    return members, summaries


def test_regrouping_what_changed_gives_what_regrouping_everything_gives(tmp_path):
    """After each change (new posts, a contact dropped, a number found to be a sample, a seller named), regrouping
    only the changed posts and the sellers they touch records exactly what regrouping every post would, ids included."""
    import random

    from monitor.report.actors import rebuild_members

    rng = random.Random(3)
    numbers = [f"{n:032x}" for n in range(1, 40)]  # fingerprints; few, so that posts share them and chains form

    def contacts():
        return [("phone" if fp < numbers[20] else "telegram", fp, f"masked {fp[-3:]}", rng.random() > 0.1)
                for fp in rng.sample(numbers, rng.choice([1, 1, 1, 2, 3]))]

    with Database(tmp_path / "m.db") as db:
        def post(i: int, edit: str = "") -> int:
            stored = db.upsert_post({"source": f"src{i % 3}", "kind": "forum", "post_id": str(i), "url": f"https://x.example/{i}",
                                     "text": f"post {i} {edit}"})
            return stored.id

        ids = [post(i) for i in range(120)]
        for pid in ids:
            db.save_identifiers(pid, contacts())
        rebuild_members(db)
        partial = 0
        for step in range(40):
            change = step % 4
            for pid in rng.sample(ids, rng.randint(1, 3)):
                if change == 0:
                    db.save_identifiers(pid, contacts())  # new contacts: groups merge
                elif change == 1:
                    db.save_identifiers(pid, [])  # contacts gone: groups split
                elif change == 2:
                    db.db.execute("UPDATE identifiers SET is_contact = 0 WHERE post_id = ? AND kind = 'phone'", [pid])
                else:
                    ids.append(new := post(1000 + step))
                    db.save_identifiers(new, contacts())
            if step % 7 == 3:
                actor = db.db.execute("SELECT actor_id FROM actor_members ORDER BY actor_posts DESC LIMIT 1").fetchone()[0]
                db.name_actor(actor, f"seller {step}", "", "rina")
            db.begin()
            rebuild_members(db, full=True)
            everything = _state(db)
            db.rollback()
            regrouped = rebuild_members(db)
            assert _state(db) == everything, f"step {step}"
            db.begin()
            db.refresh_actor_summaries({a for a, _ in everything[0].values()}, set())  # every summary afresh
            assert _state(db) == everything, f"step {step}: a summary was not refreshed"
            db.rollback()
            partial += regrouped < len(everything[0])
        assert partial > 20, "most steps regrouped only part of the posts"
        assert len(set(everything[1])) == len(everything[1])


def test_a_split_seller_keeps_its_id_in_its_bigger_part_and_a_new_seller_never_takes_a_held_id(tmp_path):
    from monitor.report.actors import rebuild_members

    x, y, z = "a" * 32, "b" * 32, "c" * 32
    with Database(tmp_path / "m.db") as db:
        posts = [db.upsert_post({"source": "tg", "kind": "import", "post_id": str(i), "url": f"https://x.example/{i}",
                                 "text": f"post {i}"}).id for i in range(5)]
        db.save_identifiers(posts[0], [("phone", x, "0812****01", True), ("telegram", y, "@b***", True)])
        db.save_identifiers(posts[1], [("telegram", y, "@b***", True)])
        db.save_identifiers(posts[2], [("telegram", y, "@b***", True), ("telegram", z, "@c***", True)])
        db.save_identifiers(posts[3], [("telegram", z, "@c***", True)])
        rebuild_members(db)
        (seller,) = set(a for a, _ in _state(db)[0].values())
        assert seller == "A-" + x[:10]
        db.save_identifiers(posts[2], [("telegram", z, "@c***", True)])  # the post that joined the two halves drops @b
        assert rebuild_members(db) == 4
        members, summaries = _state(db)
        assert members[posts[0]] == members[posts[1]] == (seller, 2) and members[posts[2]][0] == members[posts[3]][0] != seller
        db.save_identifiers(posts[0], [("telegram", y, "@b***", True)])  # the seller stops giving its phone but keeps its id
        db.save_identifiers(posts[4], [("phone", x, "0812****01", True)])  # and someone else gives it
        rebuild_members(db)
        members, summaries = _state(db)
        assert members[posts[0]][0] == seller and members[posts[4]][0] not in (seller, members[posts[2]][0])
        assert set(summaries) == {a for a, _ in members.values()}
        assert json.loads(summaries[seller][4]) == [{"kind": "telegram", "masked": "@b***"}]


def test_a_seller_is_last_seen_when_any_of_its_posts_is_seen_again(tmp_path):
    from monitor.report.actors import rebuild_members

    item = {"source": "tg", "kind": "import", "post_id": "1", "url": "https://x.example/1", "text": "WA 0812"}
    with Database(tmp_path / "m.db") as db:
        db.save_identifiers(db.upsert_post(item).id, [("phone", "f" * 32, "0812****01", True)])
        rebuild_members(db)
        db.db.execute("UPDATE posts SET last_seen = '2000-01-01T00:00:00+00:00'")  # as if seen long ago
        db.db.execute("UPDATE actor_summaries SET last_seen = '2000-01-01T00:00:00+00:00'")
        db.upsert_post(item)  # the same text, seen again: no regrouping needed
        (row,) = db.actor_page(10, 0)
        assert row["last_seen"] == db.db.execute("SELECT last_seen FROM posts").fetchone()[0] > "2000"
        assert db.seller_changes() == []


def test_a_purge_takes_its_posts_out_of_the_sellers(tmp_path):
    """`monitor purge` removes a dismissed post that linked two sellers: they part, and the sellers' pages count
    only what is left (the summaries are regrouped, not left from before)."""
    from conftest import run_monitor

    db_path = str(tmp_path / "m.db")
    posts = [("forum", "Jual data KTP 5rb per nomor, WA 081234567890"),
             ("tg", "Ready selfie KTP, WA 0812-3456-7890 atau telegram @toko_ktp_demo"),  # the bridge
             ("tg2", "Stok NIK + KK valid, order via telegram @toko_ktp_demo")]
    with Database(db_path) as db:
        ids = [ingest_post(db, Detector(), {"source": s, "post_id": str(i), "url": f"https://x.example/{i}", "text": t},
                           secret_key(db_path)).post_id for i, (s, t) in enumerate(posts)]
        rebuild_members(db)
        assert [r["posts"] for r in db.actor_page(10, 0)] == [3]
        db.db.execute("UPDATE flags SET status = 'dismissed' WHERE post_id = ?", [ids[1]])
        db.db.execute("UPDATE posts SET last_seen = '2000-01-01T00:00:00+00:00' WHERE id = ?", [ids[1]])
    result = run_monitor("purge", "--older-than", "365", "--yes", "--db", db_path, cwd=tmp_path, env={"MONITOR_CONFIG": ""})
    assert result.returncode == 0 and "removed 1 posts" in result.stdout, result.stderr
    with Database(db_path) as db:
        listed = db.actor_page(10, 0)
        assert sorted((r["posts"], tuple(r["sources"])) for r in listed) == [(1, ("forum",)), (1, ("tg2",))]
        assert all(db.actor_detail(r["id"])["posts"] == r["posts"] for r in listed)
