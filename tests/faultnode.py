"""A misbehaving Scrapyd node for fault tests: its answers scripted per endpoint.

A real Scrapyd (tests/scrapyd_nodes.py) cannot be made to trickle its answers, give counts that are
not numbers, redirect elsewhere or answer schedule.json too late; these faults are what this serves.
Endpoints answer as Scrapyd 1.6 does unless a hook (endpoint -> callable(handler, form) -> True when
it answered) says otherwise.
"""
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sitesrv import send


class FaultNode:
    def __init__(self):
        self.jobs = {}  # job id -> state
        self.spiders = {}
        self.scheduled = []
        self.cancelled = []
        self.requests = []  # (path, headers)
        self.feed = {}  # job -> bytes
        self.log = {}
        self.hooks = {}  # endpoint -> callable(handler) returning True if handled
        self.status = {"status": "ok", "running": 0, "pending": 0, "finished": 0, "node_name": "fake"}
        self.schedule_sleep = 0
        self.ignore_range = False

    def start(self):
        fake = self
        # (the handler class below serves the node's state)

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def send(self, code, body: bytes, ctype="application/json", extra=None):
                send(self, code, body, ctype, extra)

            def do_GET(self):
                self.handle_any(None)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.handle_any(parse_qs(self.rfile.read(n).decode()))

            def handle_any(self, form):
                path = urlsplit(self.path).path.lstrip("/")
                fake.requests.append((self.path, dict(self.headers)))
                hook = fake.hooks.get(path.split("/")[0])
                if hook and hook(self, form):
                    return
                if path == "daemonstatus.json":
                    return self.send(200, json.dumps(fake.status).encode())
                if path == "schedule.json":
                    job = form["jobid"][0]
                    fake.scheduled.append((job, form))
                    if fake.schedule_sleep:
                        fake.jobs[job] = "running"
                        fake.spiders[job] = form["spider"][0]
                        time.sleep(fake.schedule_sleep)
                    fake.jobs[job] = "running"
                    fake.spiders[job] = form["spider"][0]
                    return self.send(200, json.dumps({"status": "ok", "jobid": job}).encode())
                if path == "listjobs.json":
                    out = {"status": "ok", "pending": [], "running": [], "finished": []}
                    for job, state in fake.jobs.items():
                        sp = fake.spiders[job]
                        out[state].append({"id": job, "spider": sp, "start_time": "2020-01-01 00:00:00",
                                           "log_url": f"/logs/p/{sp}/{job}.log", "items_url": f"/items/p/{sp}/{job}.jl"})
                    return self.send(200, json.dumps(out).encode())
                if path == "cancel.json":
                    job = form["job"][0]
                    fake.cancelled.append(job)
                    prev = fake.jobs.get(job)
                    if job in fake.jobs:
                        fake.jobs[job] = "finished"
                    return self.send(200, json.dumps({"status": "ok", "prevstate": prev}).encode())
                m = re.fullmatch(r"(items|logs)/[^/]+/[^/]+/(.+)\.(jl|log)", path)
                if m:
                    store = fake.feed if m.group(1) == "items" else fake.log
                    data = store.get(m.group(2))
                    if data is None:
                        return self.send(404, b"no")
                    if callable(data):
                        data = data()
                    rng = self.headers.get("Range")
                    if rng and not fake.ignore_range:
                        a, b = rng.split("=")[1].split("-")
                        a, b = int(a), int(b)
                        if a >= len(data):
                            return self.send(416, b"")
                        chunk = data[a:b + 1]
                        return self.send(206, chunk, "text/plain",
                                         {"Content-Range": f"bytes {a}-{a + len(chunk) - 1}/{len(data)}"})
                    return self.send(200, data, "text/plain")
                return self.send(404, b"not found")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()


def trickle(handler, body=b'{"status": "ok", ', every=2.0):
    """Headers then one byte every `every` seconds, forever (never trips a per-read socket timeout)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "100000000")
    handler.end_headers()
    try:
        handler.wfile.write(body)
        handler.wfile.flush()
        while True:
            time.sleep(every)
            handler.wfile.write(b" ")
            handler.wfile.flush()
    except OSError:
        pass
    return True
