"""The pieces of dispatching to Scrapyd nodes that need no node: the [scrapyd] configuration, the
feed records a node's job writes and the central side decodes, and the known threads packed into
one job argument. The crawls through real nodes are in test_scrapyd.py."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.exporters import JsonLinesItemExporter

from monitor.config import ConfigError, parse_config
from monitor.crawl.feed import MAX_RECORD, BadRecord, LineBuffer, decode_record
from monitor.crawl.scrapyd import Node, NodeError
from spiders.incremental import pack_known, unpack_known
from spiders.items import Evidence, ImageCapture, Post, ThreadComplete
from spiders.pipelines import feed_record

SOURCE = {"kind": "forum", "engine": "mybb", "base_url": "http://127.0.0.1:1/"}


def _config(scrapyd, **source):
    return parse_config({"scrapyd": scrapyd, "sources": {"f": {**SOURCE, **source}}}, "x.toml")


def test_nodes_are_read_with_their_credentials_named_not_given():
    config = _config({"poll_seconds": 0.5, "nodes": {"a": {"url": "http://10.0.0.5:6800", "username_env": "NODE_A_USER",
                                                           "password_env": "NODE_A_PASSWORD"}, "b": {"url": "https://b:6800"}}},
                     node="b")
    assert config.cluster.nodes["a"] == Node("a", "http://10.0.0.5:6800", "NODE_A_USER", "NODE_A_PASSWORD")
    assert config.cluster.poll_seconds == 0.5 and config.cluster.project == "datasale_monitor"
    assert config.sources["f"].options["node"] == "b"
    assert _config({"nodes": {"a": {"url": "http://a:6800"}}}).sources["f"].options.get("node") is None


@pytest.mark.parametrize("scrapyd, source, expected", [
    ({"nodes": {"a": {"url": "http://a:6800"}}}, {"node": "c"}, "sources.f.node: unknown node 'c'; known: a"),
    (None, {"node": "a"}, "unknown node 'a'; known: none: there is no [scrapyd] table"),
    ({"nodes": {}}, {}, "scrapyd.nodes: add at least one"),
    ({"nodes": {"a": {}}}, {}, "scrapyd.nodes.a.url: required"),
    ({"nodes": {"a": {"url": "ftp://a"}}}, {}, "scrapyd.nodes.a.url: must be an http:// or https:// URL"),
    ({"nodes": {"a": {"url": "http://u:secret@a:6800"}}}, {}, "no credentials in the URL"),
    ({"nodes": {"a": {"url": "http://a:6800", "password": "secret"}}}, {}, "scrapyd.nodes.a.password: unknown field"),
    ({"nodes": {"a": {"url": "http://a:6800", "password_env": "not a name"}}}, {}, "must be the name of an environment variable"),
    ({"nodes": {"A b": {"url": "http://a:6800"}}}, {}, "node names are lower-case"),
    ({"nodes": {"a": {"url": "http://a:6800"}}, "poll_seconds": 0}, {}, "scrapyd.poll_seconds: must be a number"),
    ({"nodes": {"a": {"url": "http://a:6800"}}, "project": "../x"}, {}, "scrapyd.project"),
    ({"nodes": {"a": {"url": "http://a:6800"}}, "nodez": 1}, {}, "scrapyd.nodez: unknown field"),
])
def test_a_bad_scrapyd_table_is_refused_naming_the_field(scrapyd, source, expected):
    doc = {"sources": {"f": {**SOURCE, **source}}}
    if scrapyd is not None:
        doc["scrapyd"] = scrapyd
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        parse_config(doc, "x.toml")


def test_a_credential_variable_that_is_not_set_is_an_error_not_an_anonymous_request(monkeypatch):
    monkeypatch.delenv("NODE_A_PASSWORD", raising=False)
    monkeypatch.setenv("NODE_A_USER", "crawler")
    with pytest.raises(NodeError, match="environment variable NODE_A_PASSWORD is not set"):
        Node("a", "http://a:6800", "NODE_A_USER", "NODE_A_PASSWORD").auth_header()
    monkeypatch.setenv("NODE_A_PASSWORD", "pässword:x")
    header = Node("a", "http://a:6800", "NODE_A_USER", "NODE_A_PASSWORD").auth_header()
    assert base64.b64decode(header.split()[1]).decode() == "crawler:pässword:x"


def _through_the_feed(item) -> bytes:
    """An item as the node writes it: FeedItems' record through Scrapy's own JSON-lines exporter (Scrapyd's feed)."""
    import io

    out = io.BytesIO()
    exporter = JsonLinesItemExporter(out)
    exporter.start_exporting()
    exporter.export_item(feed_record(item))
    exporter.finish_exporting()
    return out.getvalue()


def test_every_item_a_crawl_yields_comes_back_whole_from_the_feed():
    body = b"\x00\xff<html>KTP \xe2\x80\x94 3201\x00</html>"
    items = [
        Post(source="f", kind="forum", post_id="7", url="http://h/t?tid=1#pid7", thread_url="http://h/t?tid=1", text="jual\nKTP",
             images=["http://h/a.jpg"], opens_thread=True, posted_at="2026-12-01T00:00:00+00:00"),
        Evidence(url="http://h/t?tid=1", status=200, headers={"Content-Type": "text/html"}, body=body,
                 sha256=hashlib.sha256(body).hexdigest(), fetched_at="2026-12-06T00:00:00+00:00"),
        ThreadComplete(source="f", thread_url="http://h/t?tid=1", marker="3|x", post_keys=["7", "8"]),
        ImageCapture(source="f", url="http://h/a.jpg", final_url="http://h/a.jpg", status=200, headers={}, body=b"\xff\xd8jpeg",
                     sha256=hashlib.sha256(b"\xff\xd8jpeg").hexdigest(), fetched_at="2026-12-06T00:00:00+00:00"),
    ]
    for item in items:
        line = _through_the_feed(item)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        back = decode_record(line.rstrip(b"\n"))
        assert type(back) is type(item) and dict(back) == dict(item)


@pytest.mark.parametrize("line, expected", [
    (b"not json", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"_type": "Spider", "x": 1}', "unknown record type"),
    (b'{"text": "no type"}', "unknown record type"),
    (b'{"_type": "Post", "textt": "typo"}', "Post:"),
    (b'{"_type": "Evidence", "url": "u", "sha256": "00"}', "without its bytes"),
    (b'{"_type": "Evidence", "url": "u", "sha256": "00", "body_base64": "@@@"}', "not base64"),
    (json.dumps({"_type": "Evidence", "url": "u", "sha256": "0" * 64, "body_base64": base64.b64encode(b"x").decode()}).encode(),
     "does not match its sha256"),
    (b'{"_type": "RunStats", "stats": 3}', "RunStats without stats"),
])
def test_a_record_that_does_not_decode_is_refused_not_guessed_at(line, expected):
    with pytest.raises(BadRecord, match=expected):
        decode_record(line)


def test_the_feed_is_read_in_whole_lines_as_it_grows_and_an_endless_line_is_dropped():
    buffer = LineBuffer()
    assert buffer.add(b'{"a": 1}\n{"b"') == [b'{"a": 1}']
    assert buffer.add(b': 2}\n\n') == [b'{"b": 2}']
    assert buffer.offset == len(b'{"a": 1}\n{"b": 2}\n\n')
    chunk = b"x" * (MAX_RECORD // 2)
    assert buffer.add(chunk) == [] and buffer.add(chunk + b"x") == [] and buffer.too_long == 1
    assert buffer.add(b"still the long line") == []
    assert buffer.add(b'end\n{"c": 3}\n') == [b'{"c": 3}']  # reading goes on after the dropped line


def test_known_threads_fit_one_argument_keeping_the_most_recently_read():
    known = {f"http://h/showthread.php?tid={i}": {"marker": f"{i}|{i * 7}", "completed_at": f"2026-{1 + i % 12:02d}-01T00:00:00",
                                                   "last_post_at": None} for i in range(40_000)}
    packed, sent = pack_known(known, 100_000)
    assert len(packed) <= 100_000 and 0 < sent < len(known)
    back = unpack_known(packed)
    assert len(back) == sent and all(known[url] == state for url, state in back.items())
    oldest_kept = min(state["completed_at"] for state in back.values())
    assert all(state["completed_at"] <= oldest_kept for url, state in known.items() if url not in back)
    small = dict(list(known.items())[:5])
    assert unpack_known(pack_known(small, 100_000)[0]) == small
    assert unpack_known(json.dumps(small)) == small  # plain JSON is taken too
    with pytest.raises(ValueError):
        unpack_known("[1]")


def _table(db: Path, sql: str) -> list:
    with sqlite3.connect(db) as con:
        return sorted(con.execute(sql).fetchall(), key=repr)


def test_a_feed_file_ingested_is_stored_as_the_crawl_itself_would_have_stored_it(tmp_path):
    """A node's feed copied by hand (`monitor ingest FEED`) against a local crawl of the same saved real MyBB board."""
    from conftest import run_monitor
    from sitesrv import SavedSite, SiteServer

    from monitor.crawl.runner import crawl_env, crawl_source
    from monitor.config import Source

    feed = tmp_path / "job.jl"
    with SiteServer(SavedSite("mybb18-default")) as srv:
        subprocess.run([sys.executable, "-m", "scrapy", "crawl", "forum", "-a", "source=elsewhere", "-a", f"base_url={srv.url}",
                        "-a", "engine=mybb", "-s", 'ITEM_PIPELINES={"spiders.pipelines.FeedItems": 300}', "-s", "LOG_LEVEL=WARNING",
                        "-O", str(feed)], env=crawl_env(), cwd=tmp_path, check=True, timeout=120)
        local = crawl_source(Source("mb", "forum", {"base_url": srv.url, "engine": "mybb", "images": False}), tmp_path / "local" / "m.db",
                             time_limit=120)
    assert local["status"] == "ok"
    central = tmp_path / "central" / "m.db"
    result = run_monitor("ingest", str(feed), "--source", "mb", "--db", str(central))
    assert result.returncode == 0, result.stderr
    assert "mb: ok:" in result.stdout and "54 new" in result.stdout
    for sql in ("SELECT source, kind, post_key, thread_url, thread_title, board, author, posted_at, text, version, missing_since IS NULL FROM posts",
                "SELECT source, thread_url, marker, posts FROM threads",
                "SELECT sha256, url, status, size FROM evidence",
                "SELECT p.post_key, f.label, f.score, f.severity, f.categories, f.reasons FROM flags f JOIN posts p ON p.id = f.post_id"):
        assert _table(central, sql) == _table(tmp_path / "local" / "m.db", sql), sql
    runs = _table(central, "SELECT kind, status, pages, posts_new FROM crawl_runs")
    assert runs == [("forum", "ok", local["pages"], local["posts_new"])]
    again = run_monitor("ingest", str(feed), "--source", "mb", "--db", str(central))  # the same feed twice adds nothing
    assert again.returncode == 0 and "0 new" in again.stdout and "54 unchanged" in again.stdout

    broken = tmp_path / "broken.jl"
    lines = feed.read_bytes().splitlines(keepends=True)
    broken.write_bytes(b"".join(lines[:3]) + b'{"_type": "Post", "textt": 1}\n' + b"".join(lines[3:-1]))  # no stats at the end
    cut = run_monitor("ingest", str(broken), "--source", "cut", "--db", str(central))
    assert cut.returncode == 1 and "record 4: Post:" in cut.stderr and "cut: partial" in cut.stdout


def test_a_log_line_given_as_a_runs_reason_cannot_steer_the_terminal(tmp_path):
    """A node's job log (or a site's text in a log line) reaches `monitor crawl`'s output as the run's reason."""
    from monitor.crawl.arguments import last_error_line

    log = tmp_path / "run.log"
    log.write_text("started\n2026-12-06 [scrapy] ERROR: page \x1b]0;owned\x07 \x1b[2J\u202egnp.exe\nSpider closed\n", encoding="utf-8")
    line = last_error_line(log)
    assert line.startswith("2026-12-06 [scrapy] ERROR: page") and "\\x1b]0;owned\\x07" in line and "\\u202e" in line
    assert not any(ch in line for ch in "\x1b\x07\u202e")
