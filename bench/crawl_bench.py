"""Crawl benchmark: full pipeline (parse + rules + store) against a pipeline that drops items.

Generates a local MyBB-style forum of at least 2,000 thread pages from the
demo site's posts, serves it on 127.0.0.1, crawls it once with each pipeline
in a real `scrapy crawl` subprocess, and prints pages/s and their ratio.
Target: ratio >= 0.8.

    .venv/bin/python bench/crawl_bench.py [--threads 1000] [--pages-per-thread 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import Source  # noqa: E402
from monitor.crawl.runner import crawl_env, scrapy_command  # noqa: E402
from monitor.store import Database  # noqa: E402
from monitor.demo import DemoServer, DemoSite, load_site_data  # noqa: E402


def generate_site(threads: int, pages_per_thread: int, posts_per_page: int, seed: int = 7) -> dict:
    """A forum of `threads` threads, each `pages_per_thread` pages long, from the demo posts."""
    rng = random.Random(seed)
    demo = load_site_data()
    bodies = [p["body"] for t in demo["forum"]["threads"] for p in t["posts"]]
    bodies += [m["text"] for m in demo["telegram"]["messages"]]
    titles = [t["title"] for t in demo["forum"]["threads"]]
    boards = [{"fid": fid, "name": f"Board {fid}", "description": "generated"} for fid in range(2, 12)]
    thread_list = []
    pid = 1
    for tid in range(1, threads + 1):
        posts = []
        for _ in range(pages_per_thread * posts_per_page):
            body = rng.choice(bodies).replace("5.000", f"{rng.randint(1, 90)}.000").replace("Rp", f"Rp {rng.randint(1, 99)}0rb atau Rp")
            posts.append({"pid": pid, "author": f"user{rng.randint(1, 5000)}", "date": "11-20-2026, 09:14 AM", "body": f"{body}\n#{pid}"})
            pid += 1
        thread_list.append({"tid": tid, "fid": boards[tid % len(boards)]["fid"], "title": f"{rng.choice(titles)} #{tid}", "posts": posts})
    return {"forum": {"name": "Bench Forum", "posts_per_page": posts_per_page, "threads_per_page": 40,
                      "boards": boards, "threads": thread_list}}


def crawl_once(source: Source, db_path: Path, pipeline: dict) -> tuple[int, float, dict]:
    with Database(db_path) as db:
        run_id = db.start_run(source.name, source.kind)
    env = crawl_env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    stats_file = db_path.with_suffix(".stats.json")
    cmd = scrapy_command(source, db_path, run_id, pipeline=pipeline) + ["-s", "LOG_LEVEL=ERROR", "-s", f"BENCH_STATS_FILE={stats_file}"]
    start, cpu_before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    crawler_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    with Database(db_path) as db:
        run = db.run(run_id)
    pages = run["pages"] or json.loads(stats_file.read_text())["pages"]  # the drop pipeline writes a file
    return pages, elapsed, {**run, "crawler_cpu_s": round(crawler_cpu, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--pages-per-thread", type=int, default=2)
    parser.add_argument("--posts-per-page", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of (drop, full); the median ratio is reported")
    args = parser.parse_args()

    site = DemoSite(generate_site(args.threads, args.pages_per_thread, args.posts_per_page))
    thread_pages = args.threads * args.pages_per_thread
    print(f"forum: {args.threads} threads, {thread_pages} thread pages, {thread_pages * args.posts_per_page} posts")
    rounds = []
    with DemoServer(site) as server, tempfile.TemporaryDirectory() as tmp:
        source = Source("bench", "forum", {"base_url": f"{server.url}/forum/", "engine": "mybb"})
        for n in range(args.repeat):
            results = {}
            for name, pipeline in (("drop", {"bench.pipelines.DropPipeline": 300}),
                                   ("full", {"monitor.crawl.pipelines.IngestPipeline": 300})):
                db_path = Path(tmp) / f"{name}-{n}.db"
                pages, elapsed, run = crawl_once(source, db_path, pipeline)
                results[name] = {"pages": pages, "seconds": round(elapsed, 2), "pages_per_s": round(pages / elapsed, 1),
                                 "crawler_cpu_s": run["crawler_cpu_s"]}
                extra = f", posts stored {run['posts_new']}, flags {run['flags_new']}" if name == "full" else ""
                print(f"round {n + 1} {name:>4} pipeline: {pages} pages in {elapsed:.1f}s = {pages / elapsed:.1f} pages/s "
                      f"(crawler CPU incl. ingest worker {run['crawler_cpu_s']}s){extra}")
            results["ratio"] = round(results["full"]["pages_per_s"] / results["drop"]["pages_per_s"], 3)
            rounds.append(results)
    median = statistics.median(r["ratio"] for r in rounds)
    print(f"ratio full/drop per round: {[r['ratio'] for r in rounds]}; median {median:.2f} (target >= 0.8)")
    print(json.dumps({"rounds": rounds, "median_ratio": median}))


if __name__ == "__main__":
    main()
