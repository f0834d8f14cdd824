"""A source's page crawl as a job on a Scrapyd node, stored here as a local crawl would be.

The job gets every argument the local `scrapy crawl` subprocess gets (runner.spider_arguments and
source_settings), the threads already read (packed into one argument), and the FeedItems pipeline
instead of the ingest pipeline: the node writes what the crawl yields to its items feed
(Scrapyd's `items_dir`), bytes in base64, Scrapy's stats last. This process follows the job with
listjobs.json and reads the feed and the log while the job runs (HTTP ranges of the files Scrapyd
serves), handing each record to the same IngestPipeline a local crawl uses; so there is one
writer, here, and a node needs neither the database nor its key. The run is judged by the stats
and log, not by Scrapyd's "finished": a feed without its stats record is a crawl that died.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from scrapy.exceptions import CloseSpider, DropItem

from ..config import Source
from ..store import Database
from .arguments import INCREMENTAL_KINDS, last_error_line, source_settings, spider_arguments
from .feed import BadRecord, LineBuffer, decode_record
from .pipelines import IngestPipeline
from .scrapyd import Cluster, Node, NodeClient, NodeError, job_state

NODE_PIPELINE = {"spiders.pipelines.FeedItems": 300}
KNOWN_ARG_LIMIT = 100_000  # characters: one command-line argument on the node is capped at 128 KiB
LOG_CAP = 50 * 1024 * 1024  # bytes of a node's job log copied here at most
_SCRAPED = re.compile(rb"scraped (\d+) items|'item_scraped_count': (\d+)")
NO_FEED_AFTER = 30.0  # seconds a running job may go without a feed before the node counts as misconfigured


class FeedStats:
    """The stats object IngestPipeline writes to, filled from the node's RunStats record."""

    def __init__(self):
        self.values: dict = {}

    def get_stats(self) -> dict:
        return dict(self.values)

    def get_value(self, key, default=None):
        return self.values.get(key, default)

    def set_value(self, key, value) -> None:
        self.values[key] = value

    def inc_value(self, key, count: int = 1, start: int = 0) -> None:
        self.values[key] = self.values.get(key, start) + count


class NodeRunFailed(Exception):
    """The node's job did not deliver a crawl: the reason is the run's; `status` is failed or interrupted."""

    def __init__(self, reason: str, status: str = "failed"):
        super().__init__(reason)
        self.status = status


_placing = threading.Lock()  # choosing a node and scheduling on it, one run of this process at a time
_in_flight: Counter = Counter()  # node name -> jobs this process placed there that have not ended


def choose_node(cluster: Cluster, source: Source) -> list[tuple[int, int, Node]]:
    """(jobs the node reports, its place in the configuration, node) for the nodes to offer the job to:
    the pinned one, or every node that answers. Raises NodeRunFailed naming each node's problem when none answers."""
    pinned = source.options.get("node")
    if pinned:
        return [(0, 0, cluster.nodes[pinned])]
    loads, problems = [], []
    for index, node in enumerate(cluster.nodes.values()):
        try:
            status = NodeClient(node).status()
        except NodeError as exc:
            problems.append(f"{node.name}: {exc.reason}")
            continue
        loads.append((status["running"] + status["pending"], index, node))
    if not loads:
        raise NodeRunFailed("no Scrapyd node answers: " + "; ".join(problems))
    return loads


def page_job(cluster: Cluster, source: Source, db_path: Path, run_id: int) -> NodeJob:
    """The run's page crawl as a node job: the local command's arguments and settings, plus the threads
    already read (packed into one argument; those left out are only read again in full)."""
    from spiders.incremental import pack_known


    stats = FeedStats()
    args = spider_arguments(source)
    if source.kind in INCREMENTAL_KINDS:
        args["state_dir"] = f"monitor-state/{source.name}"  # a login's cookies stay on the node (pin such sources)
        with Database(db_path) as db:
            known = db.known_threads(source.name)
        if known:
            args["known_threads"], sent = pack_known(known, KNOWN_ARG_LIMIT)
            if sent < len(known):
                stats.set_value("monitor/known_threads_left_out", len(known) - sent)
    pipeline = IngestPipeline(str(db_path), run_id, stats, source.options.get("listing") or None)
    return NodeJob(cluster, source, db_path, run_id, source.kind, args, source_settings(source), pipeline, stats)


class NodeJob:
    """One Scrapyd job of a run (its page crawl or its image crawl): dispatch, follow, store, say how it ended.

    `pipeline` is the store's pipeline for the job's items (IngestPipeline, ImagePipeline), driven
    here with the records of the node's feed instead of by Scrapy.
    """

    def __init__(self, cluster: Cluster, source: Source, db_path: Path, run_id: int, spider: str, args: dict,
                 settings: dict, pipeline, stats: FeedStats, nodes: list[Node] | None = None):
        self.cluster = cluster
        self.source = source
        self.db_path = db_path
        self.run_id = run_id
        self.spider = spider
        self.args = args
        self.settings = {**settings, "ITEM_PIPELINES": json.dumps(NODE_PIPELINE)}
        self.pipeline = pipeline
        self.stats = stats
        self.nodes = nodes
        self.node: Node | None = None
        self.client: NodeClient | None = None
        self.job = f"{source.name}-{run_id}-{spider}-{secrets.token_hex(4)}"
        self.finished_stats = False
        self.bad_records = 0
        self.feed = LineBuffer()
        self.log_offset = 0
        self.log_path: Path | None = None
        self.items_scraped = False  # the node's log says the crawl scraped items (so a missing feed is the node's setting)

    # ------------------------------------------------------------------ dispatch
    def dispatch(self) -> None:
        """Offer the job to the least busy node first (counting the jobs this process placed that may not show
        yet, so crawls dispatched at the same moment spread out); the node taking it is reserved at once."""
        candidates = [(0, 0, node) for node in self.nodes] if self.nodes else choose_node(self.cluster, self.source)
        refusals = []
        while candidates:
            with _placing:
                candidates.sort(key=lambda c: (max(c[0], _in_flight[c[2].name]), c[1]))
                _, _, node = candidates.pop(0)
                _in_flight[node.name] += 1
            client = NodeClient(node)
            try:
                client.schedule(self.cluster.project, self.spider, self.job, self.settings, self.args)
            except NodeError as exc:
                with _placing:
                    _in_flight[node.name] -= 1
                refusals.append(str(exc))
                if not exc.refused:  # the answer was lost, not the job, perhaps: it must not run there unwatched
                    try:
                        client.cancel(self.cluster.project, self.job)
                    except NodeError:
                        pass
                continue
            self.node, self.client = node, client
            with Database(self.db_path) as db:
                db.set_lock_job(self.source.name, node.name, self.job, self.run_id)
            return
        raise NodeRunFailed("the job was not accepted: " + "; ".join(refusals))

    # ------------------------------------------------------------------ following
    def run(self, log, log_path: Path, time_limit: float, progress=None, stop: threading.Event | None = None,
            grace: float = 30.0) -> None:
        """Dispatch and follow the job to its end, storing its feed; raises NodeRunFailed when it did not deliver.

        `log` (a binary file open on `log_path`) receives the node's job log as it grows.
        """
        self.log_path = log_path
        self.pipeline.open_spider()
        try:
            self.dispatch()
            log.write(f"dispatched to Scrapyd node {self.node.name} ({self.node.url}) as job {self.job}\n".encode())
            self._follow(log, time_limit, progress, stop, grace)
        finally:
            if self.node is not None:
                with _placing:
                    _in_flight[self.node.name] -= 1
            self.pipeline.close_spider()  # what arrived is stored and counted, however the job ended
        if self.bad_records or self.feed.too_long:
            raise NodeRunFailed(f"{self.bad_records + self.feed.too_long} records of the node's feed could not be read "
                                "(does the node run the same version of the project?)")
        if self.stats.get_value("monitor/ingest_worker_died") or self.stats.get_value("monitor/image_worker_died"):
            return  # the runner fails the run with its own reason
        if not self.finished_stats:
            log.flush()
            raise NodeRunFailed(f"the crawl on node {self.node.name} ended without finishing (killed?): "
                                f"{last_error_line(self.log_path)}")

    def _follow(self, log, time_limit: float, progress, stop, grace: float) -> None:
        started = time.monotonic()
        deadline = started + time_limit
        last_answer = started
        stop_deadline = None
        while True:
            now = time.monotonic()
            try:
                state, entry = job_state(self.client.jobs(self.cluster.project), self.job)
                self._pull(log)
                last_answer = now
            except NodeError as exc:
                stopping = stop is not None and stop.is_set()
                if stopping:
                    stop_deadline = stop_deadline or now + grace
                if now - last_answer >= self.cluster.lost_after_seconds:
                    why = f"node {self.node.name} stopped answering for {now - last_answer:.0f}s"
                elif now >= deadline:
                    why = f"time limit of {time_limit:g}s reached while node {self.node.name} answered errors"
                elif stopping and now >= stop_deadline:
                    why = f"the scheduler stopped while node {self.node.name} answered errors"
                else:
                    why = None
                if why:
                    self._cancel(attempts=2)  # it may still take a cancel: the freed lock must not let a second crawl start beside it
                    raise NodeRunFailed(f"{why} ({exc.reason}); job {self.job} abandoned",
                                        status="interrupted" if stopping else "failed") from None
                time.sleep(min(self.cluster.poll_seconds, 1.0))
                continue
            if state is None:
                raise NodeRunFailed(f"job {self.job} vanished from node {self.node.name} (did the node restart?)")
            if state == "finished":
                self._drain(log, deadline)
                if not entry.get("items_url") and not self.feed.offset:
                    raise NodeRunFailed(f"node {self.node.name} keeps no items feed for its jobs: "
                                        "set items_dir = items in its scrapyd.conf")
                return
            if state == "running" and not entry.get("items_url") and self.items_scraped and now - started > NO_FEED_AFTER:
                self._cancel()
                raise NodeRunFailed(f"node {self.node.name} keeps no items feed for its jobs: "
                                    "set items_dir = items in its scrapyd.conf")
            if now >= deadline:
                self._cancel()
                raise NodeRunFailed(f"time limit of {time_limit:g}s reached; job {self.job} on node {self.node.name} cancelled")
            if stop is not None and stop.is_set():
                stop_deadline = stop_deadline or now + grace
                if now >= stop_deadline:
                    self._cancel()
                    raise NodeRunFailed(f"the scheduler stopped; job {self.job} on node {self.node.name} outlived "
                                        f"the {grace:g}s grace period and was cancelled", status="interrupted")
            if progress is not None:
                with Database(self.db_path) as db:
                    progress(db.run(self.run_id))
            time.sleep(self.cluster.poll_seconds)

    def _paths(self) -> tuple[str, str]:
        return f"items/{self.cluster.project}/{self.spider}/{self.job}.jl", f"logs/{self.cluster.project}/{self.spider}/{self.job}.log"

    def _pull(self, log, max_chunks: int = 4) -> bool:
        """Read what the feed and log gained since the last look (at most `max_chunks` reads of the feed, so a
        feed that keeps growing does not keep the time limit from being looked at); True when something was new."""
        items_path, log_path = self._paths()
        grew = False
        for _ in range(max_chunks):
            try:
                data = self.client.read(items_path, self.feed.offset)
            except NodeError as exc:
                if exc.refused:  # not created yet (404): the job is starting
                    break
                raise
            if not data:
                break
            grew = True
            for line in self.feed.add(data):
                self._store(line)
        if self.log_offset < LOG_CAP:
            try:
                data = self.client.read(log_path, self.log_offset, LOG_CAP - self.log_offset)
            except NodeError as exc:
                if not exc.refused:
                    raise
                data = b""
            if data:
                log.write(data)
                log.flush()
                self.log_offset += len(data)
                grew = True
                if not self.items_scraped and any(int(a or b) for a, b in _SCRAPED.findall(data)):
                    self.items_scraped = True
        return grew

    def _drain(self, log, deadline: float) -> None:
        """After the job finished: read to the end (the last writes may land just after Scrapyd saw the exit),
        up to the run's deadline."""
        idle = 0
        while idle < 5 and time.monotonic() < deadline:
            if self._pull(log):
                idle = 0
            elif self.finished_stats:
                return
            else:
                idle += 1
                time.sleep(0.2)

    def _store(self, line: bytes) -> None:
        try:
            record = decode_record(line)
        except BadRecord as exc:
            self.bad_records += 1
            if self.bad_records <= 3:
                print(f"bad feed record from node {self.node.name}: {exc}", file=sys.stderr, flush=True)
            return
        if isinstance(record, dict):  # RunStats: Scrapy's counters, the crawl finished
            own = {k: v for k, v in self.stats.values.items() if k.startswith("monitor/")}
            self.stats.values = {**record["stats"], **own}
            self.finished_stats = True
            return
        if "source" in record.fields:
            record["source"] = self.source.name  # the node's word is not taken for which source it crawled
        try:
            self.pipeline.process_item(record)
        except (CloseSpider, DropItem):  # the store's worker died: what the node sends now would go nowhere
            self._cancel()
            raise NodeRunFailed(f"the {'image' if self.spider == 'images' else 'ingest'} worker died; "
                                "what the node sent after that point was not stored") from None

    def _cancel(self, attempts: int = 20) -> None:
        """Stop the node's job (TERM; KILL if it is still there after a few seconds); best effort."""
        try:
            self.client.cancel(self.cluster.project, self.job)
            for _ in range(attempts):
                time.sleep(0.5)
                state, _ = job_state(self.client.jobs(self.cluster.project), self.job)
                if state in (None, "finished"):
                    return
            self.client.cancel(self.cluster.project, self.job, signal="KILL")
        except NodeError:
            pass


def crawl_on_node(cluster: Cluster, source: Source, db_path: Path, run_id: int, log, log_path: Path, time_limit: float,
                  progress=None, stop: threading.Event | None = None, grace: float = 30.0) -> tuple[int | None, str, str | None]:
    """The page crawl of a run on a node, as (returncode, status, reason) for the runner: (0, "ok", None)
    when the node delivered a finished crawl, which judge() then weighs like a local one."""
    crawl = page_job(cluster, source, db_path, run_id)
    try:
        crawl.run(log, log_path, time_limit, progress, stop, grace)
    except NodeRunFailed as exc:
        log.write(f"\n{exc}\n".encode("utf-8", "replace"))
        return None, exc.status, str(exc)
    except NodeError as exc:
        return None, "failed", str(exc)
    except KeyboardInterrupt:
        if crawl.client is not None:
            crawl._cancel()
        with Database(db_path) as db:
            db.finish_run(run_id, "interrupted", "interrupted by the user")
        raise
    except Exception as exc:  # an answer of a shape no node gives, a bug: the run ends, the job with it
        if crawl.client is not None:
            crawl._cancel(attempts=2)
        return None, "failed", f"dispatch to node failed: {type(exc).__name__}: {str(exc)[:200]}"
    except BaseException:
        if crawl.client is not None:
            crawl._cancel(attempts=2)
        with Database(db_path) as db:
            db.finish_run(run_id, "interrupted", "interrupted by the user")
        raise
    return 0, "ok", None


def images_on_node(cluster: Cluster, source: Source, db_path: Path, run_id: int, urls: list[str], log_path: Path,
                   seconds: float, progress=None, stop: threading.Event | None = None, grace: float = 30.0) -> str | None:
    """The run's image phase on the node that crawled its pages (its network, its proxy); returns what went
    wrong, or None. The images are read here, by the same image worker as after a local crawl."""
    from ..images.phase import image_job
    from ..images.pipeline import ImagePipeline

    with Database(db_path) as db:
        node = cluster.nodes.get(db.run(run_id).get("node") or "")
    args, settings = image_job(source)
    while len(json.dumps(urls)) > KNOWN_ARG_LIMIT:  # one command-line argument on the node: the rest wait, queued
        urls = urls[: len(urls) * 9 // 10]
    args["urls"] = json.dumps(urls)
    stats = FeedStats()
    job = NodeJob(cluster, source, db_path, run_id, "images", args, settings, ImagePipeline(str(db_path), run_id, stats),
                  stats, [node] if node else None)
    with open(log_path, "ab") as log:
        try:
            job.run(log, log_path, seconds, progress, stop, grace)
        except NodeRunFailed as exc:
            return f"images: {exc}; the images not read wait for the next run"
        except NodeError as exc:
            return f"images: {exc}; the images not read wait for the next run"
        except KeyboardInterrupt:
            if job.client is not None:
                job._cancel()
            raise
        except Exception as exc:  # see crawl_on_node
            if job.client is not None:
                job._cancel(attempts=2)
            return f"images: dispatch to node failed: {type(exc).__name__}: {str(exc)[:200]}; the images wait for the next run"
    if stats.get_value("monitor/image_worker_died"):
        return "images: the image worker died; the images not read wait for the next run (see the log)"
    return None


def cancel_abandoned(cluster: Cluster, node_name: str | None, job: str) -> bool:
    """Cancel a job whose follower died (its lock was taken over); True when the node took the cancel."""
    node = cluster.nodes.get(node_name or "")
    if node is None:
        return False
    try:
        NodeClient(node, timeout=5).cancel(cluster.project, job)
    except NodeError as exc:
        print(f"abandoned job {job} on node {node_name} not cancelled: {exc.reason}", file=sys.stderr, flush=True)
        return False
    return True
