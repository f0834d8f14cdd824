"""Numbered schema migrations. Never edit an applied one: add the next number.

Part of the database layer: `monitor.store.database` applies them on open.
"""

from sqlite_utils import Migrations

migrations = Migrations("monitor")


@migrations(name="0001_initial")
def m0001_initial(db):
    db["posts"].create(
        {
            "id": int,
            "source": str,
            "post_key": str,  # the site's post id, else the canonical URL
            "kind": str,
            "post_id": str,
            "url": str,
            "page_url": str,
            "thread_url": str,
            "thread_title": str,
            "board": str,
            "author": str,
            "posted_at": str,
            "posted_raw": str,
            "text": str,
            "quoted": str,
            "images": str,  # JSON list of URLs
            "views": int,
            "forwarded_from": str,
            "content_hash": str,
            "version": int,
            "first_seen": str,
            "last_seen": str,
            "updated_at": str,
            "missing_since": str,
        },
        pk="id",
        not_null={"source", "post_key", "url", "content_hash"},
    )
    db["posts"].create_index(["source", "post_key"], unique=True)
    db["posts"].create_index(["last_seen"])
    db["posts"].enable_fts(["thread_title", "text"], create_triggers=True, tokenize="unicode61 remove_diacritics 2")

    db["post_versions"].create(
        {"id": int, "post_id": int, "version": int, "content_hash": str, "thread_title": str, "text": str, "seen_until": str},
        pk="id",
        foreign_keys=[("post_id", "posts", "id")],
    )
    db["post_versions"].create_index(["post_id", "version"], unique=True)

    db["flags"].create(
        {
            "id": int,
            "post_id": int,
            "label": str,
            "score": float,
            "severity": str,
            "categories": str,  # JSON list
            "reasons": str,  # JSON list of sentences
            "matches": str,  # JSON: rule id, label, span, matched text
            "context": str,  # JSON: context modifiers with their trigger and scope
            "identifiers": str,  # JSON: kind, masked value, validity (never the full number)
            "lang": str,
            "status": str,  # new -> confirmed / dismissed / escalated -> requested -> removed
            "active": int,  # 0 when a later analysis no longer calls the post a sale
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        foreign_keys=[("post_id", "posts", "id")],
        defaults={"status": "new", "active": 1},
    )
    db["flags"].create_index(["post_id"], unique=True)
    db["flags"].create_index(["status", "created_at"])

    db["crawl_runs"].create(
        {
            "id": int,
            "source": str,
            "kind": str,
            "started_at": str,
            "finished_at": str,
            "status": str,  # running, ok, failed, interrupted
            "reason": str,
            "pages": int,
            "posts_new": int,
            "posts_updated": int,
            "posts_unchanged": int,
            "flags_new": int,
            "errors": str,  # JSON: error type -> count
            "stats": str,  # JSON: Scrapy's own stats of the run
            "duration_s": float,
            "pid": int,
        },
        pk="id",
    )
    db["crawl_runs"].create_index(["source", "started_at"])


@migrations(name="0002_rescore")
def m0002_rescore(db):
    db["rescore_runs"].create(
        {"id": int, "started_at": str, "finished_at": str, "since": str, "posts": int, "appeared": int, "disappeared": int, "changed": int},
        pk="id",
    )
    db["flag_changes"].create(
        {
            "id": int,
            "rescore_run_id": int,
            "flag_id": int,
            "post_id": int,
            "change": str,  # appeared, disappeared, changed
            "old_score": float,
            "new_score": float,
            "old_categories": str,
            "new_categories": str,
            "at": str,
        },
        pk="id",
        foreign_keys=[("rescore_run_id", "rescore_runs", "id"), ("post_id", "posts", "id")],
    )
    db["flag_changes"].create_index(["rescore_run_id"])


@migrations(name="0003_threads")
def m0003_threads(db):
    db["threads"].create(
        {"id": int, "source": str, "thread_url": str, "marker": str, "posts": int, "completed_at": str},
        pk="id",
    )
    db["threads"].create_index(["source", "thread_url"], unique=True)
    db["posts"].create_index(["source", "thread_url"])
    db["crawl_runs"].add_column("posts_missing", int)


@migrations(name="0004_locks")
def m0004_locks(db):
    db["locks"].create(
        {"source": str, "pid": int, "child_pid": int, "host": str, "run_id": int, "acquired_at": str},
        pk="source",
    )


@migrations(name="0005_review")
def m0005_review(db):
    db["users"].create(
        {"id": int, "name": str, "role": str, "password_hash": str, "disabled": int, "failed_logins": int,
         "locked_until": str, "lang": str, "last_visit": str, "created_at": str},
        pk="id", not_null={"name", "role", "password_hash"}, defaults={"disabled": 0, "failed_logins": 0, "lang": "id"},
    )
    db["users"].create_index(["name"], unique=True)
    db["review_events"].create(
        {"id": int, "flag_id": int, "user": str, "action": str, "reason": str, "note": str,
         "before_status": str, "after_status": str, "at": str},
        pk="id", foreign_keys=[("flag_id", "flags", "id")],
    )
    db["review_events"].create_index(["flag_id"])
    db["review_events"].create_index(["at"])
    db["audit"].create(
        {"id": int, "at": str, "user": str, "action": str, "target": str, "before": str, "after": str},
        pk="id",
    )
    db["audit"].create_index(["at"])
    # Identifiers as keyed fingerprints (HMAC): the same NIK, phone or wallet links posts
    # without this table becoming a copy of the leak.
    db["identifiers"].create(
        {"id": int, "post_id": int, "kind": str, "fingerprint": str, "masked": str},
        pk="id", foreign_keys=[("post_id", "posts", "id")],
    )
    db["identifiers"].create_index(["fingerprint"])
    db["identifiers"].create_index(["post_id", "kind", "fingerprint"], unique=True)


@migrations(name="0006_evidence")
def m0006_evidence(db):
    # Captured pages, addressed by the SHA-256 of their bytes; the bytes live gzipped in
    # evidence/<first two hex digits>/<sha256>.gz beside the database.
    db["evidence"].create(
        {"sha256": str, "url": str, "status": int, "headers": str, "size": int, "first_fetched_at": str, "last_fetched_at": str},
        pk="sha256",
    )
    db["posts"].add_column("evidence_sha", str)
    db["post_versions"].add_column("evidence_sha", str)


@migrations(name="0007_flag_dates")
def m0007_flag_dates(db):
    db["flags"].create_index(["created_at"])


@migrations(name="0008_takedown")
def m0008_takedown(db):
    db["takedown_batches"].create(
        {"id": int, "platform": str, "created_at": str, "created_by": str, "format": str, "out_dir": str, "posts": int},
        pk="id",
    )
    db["takedown_items"].create(
        {"id": int, "batch_id": int, "flag_id": int, "post_id": int, "url": str, "platform": str, "requested_at": str,
         "status": str,  # requested, still_online, removed, unreachable, escalated
         "last_checked_at": str, "removed_at": str, "check_detail": str},
        pk="id", foreign_keys=[("batch_id", "takedown_batches", "id"), ("flag_id", "flags", "id")],
    )
    db["takedown_items"].create_index(["flag_id"], unique=True)  # a post is requested once
    db["takedown_items"].create_index(["batch_id"])


@migrations(name="0009_review_hardening")
def m0009_review_hardening(db):
    # A session carries the epoch it was made under; logout, a new password, a role change or
    # disabling the account bumps it, so every copy of an older cookie stops working.
    db["users"].add_column("session_epoch", int, not_null_default=0)
    # Linked posts: how many posts carry each fingerprint, kept by triggers (whoever writes
    # `identifiers`), and an index that gives a fingerprint's most recent posts without reading
    # them all: one seller repeating a number in 10,000 posts must not slow every queue item.
    db.execute("CREATE TABLE fingerprint_posts (fingerprint TEXT PRIMARY KEY, posts INTEGER NOT NULL) WITHOUT ROWID")
    db.execute("INSERT INTO fingerprint_posts (fingerprint, posts) SELECT fingerprint, count(*) FROM identifiers GROUP BY fingerprint")
    db.execute("""
        CREATE TRIGGER identifiers_count_insert AFTER INSERT ON identifiers BEGIN
            INSERT INTO fingerprint_posts (fingerprint, posts) VALUES (new.fingerprint, 1)
            ON CONFLICT(fingerprint) DO UPDATE SET posts = posts + 1;
        END""")
    db.execute("""
        CREATE TRIGGER identifiers_count_delete AFTER DELETE ON identifiers BEGIN
            UPDATE fingerprint_posts SET posts = posts - 1 WHERE fingerprint = old.fingerprint;
            DELETE FROM fingerprint_posts WHERE fingerprint = old.fingerprint AND posts <= 0;
        END""")
    db.execute("""
        CREATE TRIGGER identifiers_count_update AFTER UPDATE OF fingerprint ON identifiers
        WHEN old.fingerprint IS NOT new.fingerprint BEGIN
            UPDATE fingerprint_posts SET posts = posts - 1 WHERE fingerprint = old.fingerprint;
            DELETE FROM fingerprint_posts WHERE fingerprint = old.fingerprint AND posts <= 0;
            INSERT INTO fingerprint_posts (fingerprint, posts) VALUES (new.fingerprint, 1)
            ON CONFLICT(fingerprint) DO UPDATE SET posts = posts + 1;
        END""")
    db["identifiers"].create_index(["fingerprint", "post_id"])
    db.execute("DROP INDEX IF EXISTS idx_identifiers_fingerprint")  # the new index starts with it


@migrations(name="0010_learned_model")
def m0010_learned_model(db):
    # A post read as a listing title (a marketplace or trading board); the model weighs it.
    db["posts"].add_column("is_listing", int, not_null_default=0)
    # The thread's first post: on a listing board it is read with the thread's title.
    db["posts"].add_column("opens_thread", int, not_null_default=0)
    # Which model scored a flag (NULL: the rules alone), what moved its score, the rules' own
    # decision beside the combined one, and warnings such as "model unavailable, rules only".
    db["flags"].add_column("model", str)
    db["flags"].add_column("model_terms", str)
    db["flags"].add_column("rules_label", str)
    db["flags"].add_column("rules_score", float)
    db["flags"].add_column("warnings", str)


@migrations(name="0011_actor_names")
def m0011_actor_names(db):
    # A reviewer's name and note for a seller (an actor: posts linked by shared contacts and wallets).
    db["actor_names"].create({"actor_id": str, "name": str, "note": str, "updated_by": str, "updated_at": str}, pk="actor_id")


@migrations(name="0012_flag_source")
def m0012_flag_source(db):
    # The dashboard counts flags by day, severity, category, source and status over 90 days: with the
    # post's source on the flag (a post never changes source) and one covering index, that is a scan
    # of the index alone, not 100,000 look-ups in a million posts. A trigger fills it for every writer.
    db["flags"].add_column("source", str)
    db.execute("UPDATE flags SET source = (SELECT source FROM posts WHERE posts.id = flags.post_id)")
    db.execute("CREATE TRIGGER IF NOT EXISTS flags_source AFTER INSERT ON flags BEGIN "
               "UPDATE flags SET source = (SELECT source FROM posts WHERE id = NEW.post_id) WHERE id = NEW.id; END")
    db.execute("CREATE INDEX IF NOT EXISTS idx_flags_dashboard ON flags (created_at, active, severity, status, source, categories)")


@migrations(name="0013_actor_members")
def m0013_actor_members(db):
    # Which seller (actor) each post belongs to and how many posts that seller has, rebuilt after each
    # crawl and import, so the queue shows them with one primary-key look-up per item.
    db["actor_members"].create({"post_id": int, "actor_id": str, "actor_posts": int}, pk="post_id")
    db["actor_members"].create_index(["actor_id"])


@migrations(name="0014_contact_identifiers")
def m0014_contact_identifiers(db):
    # Whether a phone number or e-mail address was given as a way to reach the poster ("WA 0812...")
    # or sits in a data sample (a victim's); only the former links posts into one seller. NULL: not
    # known (stored before this), treated as a contact until the post is analysed again.
    db["identifiers"].add_column("is_contact", int)


@migrations(name="0015_reason_parts")
def m0015_reason_parts(db):
    # The reasons as data (what kind of evidence, which words, how many) beside the English sentences,
    # so the page, letters, digest and alerts say them in their reader's language. NULL (stored
    # before this): the English sentences are shown.
    db["flags"].add_column("reason_parts", str)


@migrations(name="0016_seller_summaries")
def m0016_seller_summaries(db):
    # Posts whose identifiers changed since sellers were last regrouped, noted by triggers (whoever
    # writes `identifiers`), so the regrouping after a crawl reads those posts and the sellers they
    # touch instead of every identifier. Until the first regrouping, every post counts as changed.
    db.execute("CREATE TABLE seller_changes (post_id INTEGER PRIMARY KEY)")
    db.execute("INSERT OR IGNORE INTO seller_changes (post_id) SELECT post_id FROM identifiers UNION SELECT post_id FROM actor_members")
    db.execute("""
        CREATE TRIGGER identifiers_seller_insert AFTER INSERT ON identifiers BEGIN
            INSERT OR IGNORE INTO seller_changes (post_id) VALUES (new.post_id);
        END""")
    db.execute("""
        CREATE TRIGGER identifiers_seller_delete AFTER DELETE ON identifiers BEGIN
            INSERT OR IGNORE INTO seller_changes (post_id) VALUES (old.post_id);
        END""")
    db.execute("""
        CREATE TRIGGER identifiers_seller_update AFTER UPDATE ON identifiers BEGIN
            INSERT OR IGNORE INTO seller_changes (post_id) VALUES (old.post_id);
            INSERT OR IGNORE INTO seller_changes (post_id) VALUES (new.post_id);
        END""")
    # Each seller's posts, sources, first and last sighting and contacts (masked), written by the
    # regrouping for the sellers it changes, so the sellers' page reads one row per seller, not every
    # post of a seller with 10,000. A post seen again moves its seller's last sighting (trigger).
    db.execute("CREATE TABLE actor_summaries (actor_id TEXT PRIMARY KEY, posts INTEGER NOT NULL, sources TEXT, "
               "first_seen TEXT, last_seen TEXT, identifiers TEXT) WITHOUT ROWID")
    db.execute("CREATE INDEX idx_actor_summaries_posts ON actor_summaries (posts DESC, actor_id)")
    db.execute("""
        CREATE TRIGGER posts_seen_actor AFTER UPDATE OF last_seen ON posts WHEN new.last_seen IS NOT old.last_seen BEGIN
            UPDATE actor_summaries SET last_seen = new.last_seen
            WHERE actor_id = (SELECT actor_id FROM actor_members WHERE post_id = new.id) AND coalesce(last_seen, '') < new.last_seen;
        END""")
    # The statuses of a seller's posts, read from the index alone.
    db.execute("CREATE INDEX idx_flags_post_status ON flags (post_id, status)")


@migrations(name="0017_images")
def m0017_images(db):
    # The images posts showed. `post_images`: one row per post and image URL, in the post's order;
    # status: queued (to be fetched: the post is flagged or its text speaks of photos), skipped (not
    # wanted), stored (fetched; `sha256` names the bytes in the evidence store), failed (the fetch
    # failed: `reason`; tried again in later runs up to a limit). A local file given to `monitor
    # ingest` is stored at once.
    db.execute("""CREATE TABLE post_images (
        post_id INTEGER NOT NULL REFERENCES posts(id), url TEXT NOT NULL, position INTEGER NOT NULL,
        status TEXT NOT NULL, sha256 TEXT, reason TEXT, attempts INTEGER NOT NULL DEFAULT 0, updated_at TEXT,
        PRIMARY KEY (post_id, url)) WITHOUT ROWID""")
    db.execute("CREATE INDEX idx_post_images_status ON post_images (status, post_id)")
    db.execute("CREATE INDEX idx_post_images_sha ON post_images (sha256)")
    # One row per distinct image (by SHA-256 of its bytes): what it shows (masked: no full number)
    # or why it was refused, and the copies that may be shown, re-encoded from the pixels with
    # no metadata: blurred with identity numbers blacked out (the default), sharp with the numbers
    # blacked out (a reviewer's audited unblur) and a small blurred thumbnail for the queue.
    db.execute("""CREATE TABLE images (
        sha256 TEXT PRIMARY KEY, status TEXT NOT NULL, reason TEXT, width INTEGER, height INTEGER,
        document TEXT, face INTEGER, selfie_with_id INTEGER, analysis TEXT, analysed_at TEXT,
        blurred BLOB, redacted BLOB, thumb BLOB)""")
    # A run's image phase: images fetched, analysed (new distinct images) and the image errors, in
    # `errors` like the pages' ("image: truncated").
    for column in ("images_fetched", "images_analysed", "images_failed"):
        db["crawl_runs"].add_column(column, int)


@migrations(name="0018_scrapyd_jobs")
def m0018_scrapyd_jobs(db):
    # A crawl dispatched to a Scrapyd node: the node's name and Scrapyd's job id, on the source's
    # lock while it runs (instead of a local child pid) and on the run for the record.
    for table in ("locks", "crawl_runs"):
        db[table].add_column("node", str)
        db[table].add_column("job_id", str)
