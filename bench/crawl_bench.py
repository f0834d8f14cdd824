"""Crawl benchmark: full pipeline (parse + rules + store) against a pipeline that drops items.

Generates a local MyBB-style forum of at least 2,000 thread pages from the
demo site's posts, serves it on 127.0.0.1, crawls it once with each pipeline
in a real `scrapy crawl` subprocess, and prints pages/s and their ratio.
Target: ratio >= 0.8.

With --images, one post in ten shows a photo (the demo's KTP selfie and KK, each URL a distinct
image): the full pipeline also queues the images of flagged posts, and after each full crawl the
run's image phase (`scrapy crawl images` and the image worker, as `monitor crawl` runs it) fetches
and reads up to --images-per-run of them; its images/s is printed beside the page crawl's ratio.

    .venv/bin/python bench/crawl_bench.py [--threads 1000] [--pages-per-thread 2] [--images]
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


class ImageSite(DemoSite):
    """The generated forum, whose attachments are distinct copies of the demo's photos."""

    def __init__(self, data: dict, variants: int):
        super().__init__(data)
        import io

        from PIL import Image

        from monitor.demo.site import IMAGES_DIR
        self.images = []
        for n in range(variants):
            name = ("sample-selfie-blur.jpg", "tg-43.jpg")[n % 2]
            img = Image.open(IMAGES_DIR / name).convert("RGB")
            img.putpixel((n % img.width, 0), (n % 256, 7, 7))  # another image, by its hash
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=80)
            self.images.append(buf.getvalue())

    def attachment(self, name: str):
        if name.startswith("bench-"):
            return 200, "image/jpeg", self.images[int(name[6:].split(".")[0]) // 10 % len(self.images)]  # one post in ten has one
        return super().attachment(name)


def generate_site(threads: int, pages_per_thread: int, posts_per_page: int, seed: int = 7, images: bool = False) -> dict:
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
            post = {"pid": pid, "author": f"user{rng.randint(1, 5000)}", "date": "11-20-2026, 09:14 AM", "body": f"{body}\n#{pid}"}
            if images and pid % 10 == 0:
                post["images"] = [f"attachments/bench-{pid}.jpg"]
            posts.append(post)
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


def image_phase(source: Source, db_path: Path, run_id: int, crawl_seconds: float, pages: int) -> dict:
    """Run the image phase of a full crawl's run as `monitor crawl` does; print and return its figures."""
    from monitor.crawl.runner import run_image_phase

    with Database(db_path) as db:
        waiting = db.images_waiting(source.name)
    log = db_path.with_suffix(".log")
    start = time.perf_counter()
    problem = run_image_phase(source, db_path, run_id, log, 3600)
    seconds = time.perf_counter() - start
    with Database(db_path) as db:
        run = db.run(run_id)
        left = db.images_waiting(source.name)
    fetched, read = run["images_fetched"] or 0, run["images_analysed"] or 0
    out = {"queued": waiting, "fetched": fetched, "read": read, "failed": run["images_failed"] or 0, "seconds": round(seconds, 1),
           "images_per_s": round(fetched / seconds, 2) if seconds else 0, "left_for_next_run": left,
           "run_pages_per_s": round(pages / (crawl_seconds + seconds), 1), "problem": problem}
    print(f"      image phase: {waiting} queued, {fetched} fetched, {read} read in {seconds:.1f}s = {out['images_per_s']} images/s; "
          f"{left} left for the next run; whole run {out['run_pages_per_s']} pages/s{'; ' + problem if problem else ''}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--pages-per-thread", type=int, default=2)
    parser.add_argument("--posts-per-page", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of (drop, full); the median ratio is reported")
    parser.add_argument("--images", action="store_true", help="posts show photos; each full crawl is followed by its image phase")
    parser.add_argument("--images-per-run", type=int, default=50)
    args = parser.parse_args()

    data = generate_site(args.threads, args.pages_per_thread, args.posts_per_page, images=args.images)
    site = ImageSite(data, args.images_per_run * 2) if args.images else DemoSite(data)
    thread_pages = args.threads * args.pages_per_thread
    print(f"forum: {args.threads} threads, {thread_pages} thread pages, {thread_pages * args.posts_per_page} posts")
    rounds = []
    with DemoServer(site) as server, tempfile.TemporaryDirectory() as tmp:
        source = Source("bench", "forum", {"base_url": f"{server.url}/forum/", "engine": "mybb",
                                           "images": args.images, "images_per_run": args.images_per_run})
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
                if name == "full" and args.images:
                    results["images"] = image_phase(source, db_path, run["id"], elapsed, pages)
            results["ratio"] = round(results["full"]["pages_per_s"] / results["drop"]["pages_per_s"], 3)
            rounds.append(results)
    median = statistics.median(r["ratio"] for r in rounds)
    print(f"ratio full/drop per round: {[r['ratio'] for r in rounds]}; median {median:.2f} (target >= 0.8)")
    print(json.dumps({"rounds": rounds, "median_ratio": median}))


if __name__ == "__main__":
    main()
