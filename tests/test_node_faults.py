"""A node that misbehaves must end the run in its time, with the reason, its lock freed and its job
cancelled where it still listens; and never get the node's credentials sent elsewhere. Served by
tests/faultnode.py (faults a real Scrapyd cannot be made to show); the crawls through real nodes
are in test_scrapyd.py."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import tomllib

import pytest
from faultnode import FaultNode, trickle

from monitor.config import parse_config
from monitor.crawl import scrapyd
from monitor.crawl.runner import crawl_source


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(scrapyd, "REQUEST_TIMEOUT", 2.0)
    monkeypatch.setattr(scrapyd.NodeClient.__init__, "__defaults__", (2.0,))
    monkeypatch.setenv("MONITOR_SECRET_KEY", "0123456789abcdef" * 4)


def nodes_config(*nodes, lost_after: float = 60, extra_node: str = ""):
    text = f"[scrapyd]\npoll_seconds = 0.2\nlost_after_seconds = {lost_after}\n"
    for i, node in enumerate(nodes):
        text += f'[scrapyd.nodes.n{i}]\nurl = "{node.url}"\n{extra_node}'
    text += '[sources.mb]\nkind = "forum"\nengine = "mybb"\nbase_url = "http://127.0.0.1:9/index.php"\nimages = false\n'
    return parse_config(tomllib.loads(text), "t.toml")


def left_behind(db) -> dict:
    with sqlite3.connect(db) as con:
        return {"locks": con.execute("SELECT count(*) FROM locks").fetchone()[0],
                "running": con.execute("SELECT count(*) FROM crawl_runs WHERE status = 'running'").fetchone()[0]}


def crawl_within(cfg, db, time_limit: float, wait: float) -> dict:
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("run", crawl_source(cfg.sources["mb"], db, time_limit=time_limit,
                                                                                  cluster=cfg.cluster)), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(wait)
    assert not thread.is_alive(), f"the run was still going after {wait:g}s (time limit {time_limit:g}s)"
    out["seconds"] = time.monotonic() - started
    return out["run"]


def test_a_node_that_trickles_its_answers_does_not_hold_the_run_past_its_time(tmp_path):
    node = FaultNode().start()
    node.hooks["listjobs.json"] = lambda handler, form: trickle(handler)
    db = tmp_path / "m.db"
    run = crawl_within(nodes_config(node), db, time_limit=3, wait=30)
    assert run["status"] == "failed" and "no complete answer within 2s for listjobs.json" in run["reason"], run
    assert node.cancelled == [run["job_id"]], "the job is cancelled: the node still takes a cancel"
    assert left_behind(db) == {"locks": 0, "running": 0}


@pytest.mark.parametrize("endpoint, answer, reason", [
    ("daemonstatus.json", {"status": "ok", "running": "many", "pending": 0}, "counts that are not numbers"),
    ("listjobs.json", {"status": "ok", "pending": [], "running": [1, 2], "finished": []}, "not a list of jobs"),
    ("listjobs.json", "[" * 100_000, "not JSON"),
])
def test_answers_of_a_shape_no_node_gives_fail_the_run_and_free_the_lock(tmp_path, endpoint, answer, reason):
    node = FaultNode().start()
    body = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
    node.hooks[endpoint] = lambda handler, form: handler.send(200, body) or True
    db = tmp_path / "m.db"
    run = crawl_within(nodes_config(node, lost_after=1), db, time_limit=20, wait=40)
    assert run["status"] == "failed" and reason in run["reason"], run
    assert left_behind(db) == {"locks": 0, "running": 0}


def test_a_growing_feed_does_not_keep_the_time_limit_from_being_seen(tmp_path):
    node = FaultNode().start()
    line = json.dumps({"_type": "ImageFailed", "source": "mb", "url": "http://x/a.jpg", "reason": "http_404"}).encode() + b"\n"
    grown = {"n": 0}

    def feed():
        grown["n"] += 2000
        return line * grown["n"]

    def schedule(handler, form):
        job = form["jobid"][0]
        node.feed[job] = feed
        return False  # the node's own schedule answer follows

    node.hooks["schedule.json"] = schedule
    db = tmp_path / "m.db"
    run = crawl_within(nodes_config(node), db, time_limit=3, wait=30)
    assert run["status"] == "failed" and "time limit of 3s reached" in run["reason"], run
    assert node.cancelled == [run["job_id"]]
    assert left_behind(db) == {"locks": 0, "running": 0}


def test_a_schedule_answer_that_comes_too_late_does_not_leave_the_job_running_there_unwatched(tmp_path):
    slow, fast = FaultNode().start(), FaultNode().start()
    slow.schedule_sleep = 5  # takes the job, answers after the client gave up
    slow.status["running"] = 0
    fast.status["running"] = 1  # so the slow node is offered the job first
    db = tmp_path / "m.db"
    crawl_within(nodes_config(slow, fast), db, time_limit=5, wait=40)
    (job, _), = slow.scheduled
    assert slow.cancelled and slow.cancelled[0] == job, "the late job is cancelled where it may have started"
    assert [j for j, _ in fast.scheduled] == [job], "the run went on on the next node"


def test_the_nodes_credentials_never_follow_a_redirect(tmp_path, monkeypatch):
    elsewhere = FaultNode().start()
    node = FaultNode().start()
    node.hooks["daemonstatus.json"] = lambda handler, form: handler.send(
        302, b"", extra={"Location": f"{elsewhere.url}/daemonstatus.json"}) or True
    monkeypatch.setenv("NODE_USER", "central")
    monkeypatch.setenv("NODE_PASSWORD", "s3cret-pw")
    cfg = nodes_config(node, extra_node='username_env = "NODE_USER"\npassword_env = "NODE_PASSWORD"\n')
    db = tmp_path / "m.db"
    run = crawl_within(cfg, db, time_limit=10, wait=30)
    assert run["status"] == "failed" and "HTTP 302" in run["reason"], run
    assert not elsewhere.requests, "the redirect was not followed"
    assert any(headers.get("Authorization") for _, headers in node.requests), "the node itself got its credentials"
    assert "s3cret" not in json.dumps(run)
