"""Scale-out benchmark: the same sources crawled here, on one Scrapyd node and on two, stored here.

    .venv/bin/python bench/scaleout_bench.py [--sources 4] [--copies 20] [--parallel 4] [--jobs 5] [--spread pin|any]

Each source is a large MyBB board made of pages a real MyBB 1.8 rendered (tests/sitecopies.py:
`--copies` copies of a saved board, 54 posts and ~30 pages each), served on 127.0.0.1. The sources
are crawled all at once (`--parallel` at a time, as the daemon's max_parallel would) into a new
database per setup: locally (`scrapy crawl` subprocesses), with one node, and with two nodes (the
sources pinned to a and b in turn; `--spread any` leaves the choice to the least-busy rule). The
nodes are real `scrapyd` daemons running the project's egg (tests/scrapyd_nodes.py); one database,
here, takes in every post.

Printed per setup: pages/s (pages / wall time) and central ingest posts/s (posts stored / the time
from the first post stored to the last, from the post count sampled every 0.1 s). Then the central
store alone: the two-node setup's feeds read again into a new database as fast as it takes them;
and Scrapyd's per-job overhead: from schedule.json to the job running, and to the first bytes of
its items feed, for a one-copy board. On one machine the nodes share its cores with the central
store: two nodes there measure the dispatch and ingest path, not added capacity.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from scrapyd_nodes import PROJECT, ScrapydNode, build_egg  # noqa: E402
from sitecopies import CopiedSite  # noqa: E402
from sitesrv import SiteServer  # noqa: E402

from monitor.config import parse_config  # noqa: E402
from monitor.crawl.feed import decode_record  # noqa: E402
from monitor.crawl.pipelines import IngestPipeline  # noqa: E402
from monitor.crawl.remote import NODE_PIPELINE, FeedStats  # noqa: E402
from monitor.crawl.runner import crawl_source  # noqa: E402
from monitor.crawl.scrapyd import Node, NodeClient, NodeError, job_state  # noqa: E402
from monitor.store import Database  # noqa: E402

BOARDS = ("mybb18-default", "mybb18-classic")  # saved from a real MyBB 1.8.37 (sitecopies renumbers query ids only)


def sources_toml(servers: list, pins: list[str | None]) -> str:
    return "".join(
        f'[sources.s{n}]\nkind = "forum"\nengine = "mybb"\nbase_url = "{srv.url}/index.php"\ntimezone = "+07:00"\n'
        f"images = false\n" + (f'node = "{pin}"\n' if pin else "") for n, (srv, pin) in enumerate(zip(servers, pins)))


def cluster_toml(nodes: list[ScrapydNode]) -> str:
    return "[scrapyd]\npoll_seconds = 0.5\n" + "".join(node.config_toml() for node in nodes)


class PostCounter:
    """Counts the posts stored, every 0.1 s while crawls run: when the first arrived and when the last did."""

    def __init__(self, db_path: Path, period: float = 0.1):
        self.db_path = db_path
        self.period = period
        self.samples: list[tuple[float, int]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.done.wait(self.period):
            self.sample()
        self.sample()  # the crawls ended: every post is stored

    def sample(self) -> None:
        try:
            con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=1)
            try:
                self.samples.append((time.monotonic(), con.execute("SELECT count(*) FROM posts").fetchone()[0]))
            finally:
                con.close()
        except sqlite3.Error:  # busy
            pass

    def __enter__(self) -> PostCounter:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()

    def ingest_seconds(self, total: int) -> float:
        """From the first sample with a post to the first with all `total` (to within one period)."""
        first = next((t for t, n in self.samples if n), None)
        last = next((t for t, n in self.samples if n >= total), None)
        if first is None or last is None:
            return 0.0
        return max(self.period, last - first)


def run_setup(name: str, servers: list, nodes: list[ScrapydNode], spread: str, parallel: int, folder: Path) -> dict:
    """Crawl every source at once into a new database; the setup's figures."""
    pins = [nodes[n % len(nodes)].name if nodes and spread == "pin" else None for n in range(len(servers))]
    config = parse_config(tomllib.loads((cluster_toml(nodes) if nodes else "") + sources_toml(servers, pins)), name)
    db_path = folder / name / "monitor.db"
    db_path.parent.mkdir(parents=True)
    Database(db_path).close()  # created (and in WAL mode) before the post counter reads it
    started = time.monotonic()
    with PostCounter(db_path) as counter, ThreadPoolExecutor(parallel) as pool:
        runs = list(pool.map(lambda s: crawl_source(s, db_path, time_limit=3600, cluster=config.cluster),
                             config.sources.values()))
    wall = time.monotonic() - started
    bad = [f"{r['source']}: {r['status']} {r['reason']}" for r in runs if r["status"] != "ok"]
    pages = sum(r["pages"] or 0 for r in runs)
    posts = sum(r["posts_new"] or 0 for r in runs)
    ingest = counter.ingest_seconds(posts)
    placed = {}
    for r in runs:
        placed[r.get("node") or "here"] = placed.get(r.get("node") or "here", 0) + 1
    return {"setup": name, "nodes": len(nodes), "pages": pages, "posts": posts, "wall_s": round(wall, 1),
            "pages_per_s": round(pages / wall, 1), "ingest_posts_per_s": round(posts / ingest, 1) if ingest else 0,
            "placed": ", ".join(f"{k} x{v}" for k, v in sorted(placed.items())), "problems": bad}


def replay_feeds(feeds: dict[str, list[Path]], folder: Path) -> dict:
    """The central store alone: the nodes' finished feeds read into a new database through the same
    IngestPipeline as a node job (one run and one ingest worker per feed, all at once), with no crawl
    to wait for. The most posts/s one store takes in, whatever the number of nodes."""
    db_path = folder / "replay" / "monitor.db"
    db_path.parent.mkdir(parents=True)
    Database(db_path).close()

    def replay(source: str, feed: Path) -> int:
        with Database(db_path) as db:
            run_id = db.start_run(source, "forum")
        pipeline = IngestPipeline(str(db_path), run_id, FeedStats())
        pipeline.open_spider()
        try:
            with open(feed, "rb") as lines:
                for line in lines:
                    record = decode_record(line)
                    if not isinstance(record, dict):  # the last record: RunStats
                        pipeline.process_item(record)
        finally:
            pipeline.close_spider()
        with Database(db_path) as db:
            return db.run(run_id)["posts_new"]

    pairs = [(source, feed) for source, paths in feeds.items() for feed in paths]
    started = time.monotonic()
    with ThreadPoolExecutor(len(pairs)) as pool:
        posts = sum(pool.map(lambda pair: replay(*pair), pairs))
    seconds = time.monotonic() - started
    return {"feeds": len(pairs), "posts": posts, "seconds": round(seconds, 1), "posts_per_s": round(posts / seconds, 1)}


def job_overhead(node: ScrapydNode, site_url: str, jobs: int) -> list[dict]:
    """Scrapyd's cost per job: schedule.json -> running (its poller and process start) -> the first feed bytes
    (the crawler up, the first page read and its first item written)."""
    client = NodeClient(Node(node.name, node.url))
    args = {"source": "overhead", "base_url": f"{site_url}/index.php", "engine": "mybb", "timezone": "+07:00"}
    settings = {"ITEM_PIPELINES": json.dumps(NODE_PIPELINE), "LOG_LEVEL": "INFO"}
    out = []
    for n in range(jobs):
        job = f"overhead-{n}-{secrets.token_hex(3)}"
        started = time.monotonic()
        client.schedule(PROJECT, "forum", job, settings, args)
        running = first_bytes = None
        while first_bytes is None and time.monotonic() - started < 60:
            state, _ = job_state(client.jobs(PROJECT), job)
            if running is None and state in ("running", "finished"):
                running = time.monotonic() - started
            try:
                if client.read(f"items/{PROJECT}/forum/{job}.jl", 0, 1):
                    first_bytes = time.monotonic() - started
            except NodeError:  # the feed is not there yet (404)
                pass
            time.sleep(0.05)
        while job_state(client.jobs(PROJECT), job)[0] in ("pending", "running"):
            time.sleep(0.1)  # one job at a time: each measured on an idle node
        out.append({"to_running_s": running, "to_first_feed_bytes_s": first_bytes})
    return out


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    cells = [[title for _, title in columns]] + [[str(r[key]) for key, _ in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=4, help="sources (boards) crawled at once (default 4)")
    parser.add_argument("--copies", type=int, default=20,
                        help="copies of the saved board per source (default 20: ~600 pages, 1080 posts)")
    parser.add_argument("--parallel", type=int, help="crawls at once (default: --sources)")
    parser.add_argument("--jobs", type=int, default=5, help="jobs timed for Scrapyd's per-job overhead (default 5)")
    parser.add_argument("--spread", choices=("pin", "any"), default="pin",
                        help="two nodes: pin the sources to a and b in turn, or leave each to the least-busy node")
    parser.add_argument("--max-proc", type=int, default=4, help="each node's max_proc (crawls it runs at once)")
    args = parser.parse_args()
    parallel = args.parallel or args.sources

    print(f"{args.sources} sources x {args.copies} copies of a saved MyBB board; {parallel} crawls at once; "
          f"{os.cpu_count()} CPUs shared by the nodes, the crawls and the central store")
    with tempfile.TemporaryDirectory(prefix="scaleout-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        egg = build_egg(folder / "egg")
        sites = [CopiedSite(BOARDS[n % len(BOARDS)], args.copies) for n in range(args.sources)]
        servers = [stack.enter_context(SiteServer(site)) for site in sites]
        a = stack.enter_context(ScrapydNode("a", folder / "a", egg=egg, max_proc=args.max_proc))
        b = stack.enter_context(ScrapydNode("b", folder / "b", egg=egg, max_proc=args.max_proc))
        small = stack.enter_context(SiteServer(CopiedSite(BOARDS[0], 1)))
        results = []
        for name, nodes in (("local", []), ("one node", [a]), ("two nodes", [a, b])):
            result = run_setup(name, servers, nodes, args.spread, parallel, folder)
            results.append(result)
            print(f"  {name}: {result['pages']} pages, {result['posts']} posts in {result['wall_s']}s"
                  + (f"; NOT OK: {'; '.join(result['problems'])}" if result["problems"] else ""), flush=True)
        # The two-node setup's page feeds, as the nodes wrote them (job ids start with the source's name).
        feeds = {}
        for feed in sorted([*(folder / "a" / "items").rglob("*.jl"), *(folder / "b" / "items").rglob("*.jl")]):
            feeds.setdefault(feed.name.split("-", 1)[0], []).append(feed)
        last = {source: [max(paths, key=lambda p: p.stat().st_mtime)] for source, paths in feeds.items()}
        replayed = replay_feeds(last, folder)
        overhead = job_overhead(a, small.url, args.jobs)

    print()
    print(table(results, [("setup", "setup"), ("placed", "runs on"), ("pages", "pages"), ("posts", "posts"),
                          ("wall_s", "wall s"), ("pages_per_s", "pages/s"), ("ingest_posts_per_s", "ingest posts/s")]))
    local = results[0]["pages_per_s"]
    print("pages/s vs local: " + ", ".join(f"{r['setup']} {r['pages_per_s'] / local:.2f}" for r in results[1:]))
    print(f"central ingest alone ({replayed['feeds']} node feeds replayed at once, no crawl to wait for): "
          f"{replayed['posts']} posts in {replayed['seconds']}s = {replayed['posts_per_s']} posts/s")
    print()
    done = [o for o in overhead if o["to_first_feed_bytes_s"] is not None]
    if done:
        running = [o["to_running_s"] for o in done]
        first = [o["to_first_feed_bytes_s"] for o in done]
        print(f"Scrapyd per-job overhead ({len(done)} jobs, one at a time, poll_interval {a.poll_interval}s):")
        print(f"  schedule.json -> running          median {statistics.median(running):.2f}s  "
              f"(min {min(running):.2f}, max {max(running):.2f})")
        print(f"  schedule.json -> first feed bytes median {statistics.median(first):.2f}s  "
              f"(min {min(first):.2f}, max {max(first):.2f})")
    if len(done) < len(overhead):
        print(f"  {len(overhead) - len(done)} jobs wrote no feed within 60 s")
    print(json.dumps({"setups": results, "replay": replayed, "overhead": overhead}))


if __name__ == "__main__":
    main()
