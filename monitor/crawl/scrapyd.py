"""Talking to Scrapyd nodes: their JSON API and the files they serve (a job's feed and log).

Only the standard library: a node is reached over HTTP(S) with optional basic auth, whose
user name and password come from environment variables the configuration names (never from
the configuration itself). Every failure is a NodeError that says which node and what went
wrong, so a run's reason reads "node a: connection refused", not a traceback.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

DEFAULT_PROJECT = "datasale_monitor"
REQUEST_TIMEOUT = 15.0  # seconds for one API call or file read
READ_CHUNK = 8 * 1024 * 1024  # bytes of a feed or log read in one request at most


class NodeError(Exception):
    """A node that cannot be reached or answered with an error."""

    def __init__(self, node: str, reason: str, refused: bool = False):
        super().__init__(f"node {node}: {reason}")
        self.node = node
        self.reason = reason
        self.refused = refused  # the node answered and said no (vs. could not be reached)


@dataclass(frozen=True)
class Node:
    name: str
    url: str
    username_env: str | None = None
    password_env: str | None = None

    def auth_header(self) -> str | None:
        """Basic auth from the environment; a named variable that is not set is an error, not an anonymous request."""
        if not self.username_env and not self.password_env:
            return None
        values = []
        for var in (self.username_env, self.password_env):
            if var and var not in os.environ:
                raise NodeError(self.name, f"environment variable {var} is not set (the node's credentials)", refused=True)
            values.append(os.environ.get(var, "") if var else "")
        return "Basic " + base64.b64encode(":".join(values).encode("utf-8")).decode("ascii")


@dataclass(frozen=True)
class Cluster:
    """The `[scrapyd]` configuration: the nodes, the project deployed on them, how closely to follow jobs."""

    nodes: dict[str, Node] = field(default_factory=dict)
    project: str = DEFAULT_PROJECT
    poll_seconds: float = 2.0
    lost_after_seconds: float = 60.0  # a node that does not answer this long fails its runs


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A node's answer is never followed elsewhere: the basic-auth header would go with it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class NodeClient:
    """One node's API. Every request has one deadline for its whole answer (a node that trickles
    its bytes must not hold a run past its time limit), follows no redirect, and checks shapes."""

    def __init__(self, node: Node, timeout: float = REQUEST_TIMEOUT):
        self.node = node
        self.timeout = timeout

    def _fetch(self, path: str, data=None, headers: dict | None = None, limit: int = READ_CHUNK, skip: int = 0) -> tuple[int, bytes]:
        """(HTTP status, up to `limit` bytes of the body after `skip`), within `timeout` seconds in all."""
        auth = self.node.auth_header()  # before the thread: a missing variable is said as itself
        result: dict = {}

        def fetch() -> None:
            try:
                result["value"] = self._fetch_now(path, data, headers, limit, skip, auth)
            except BaseException as exc:  # handed to the caller's thread
                result["error"] = exc

        worker = threading.Thread(target=fetch, name=f"node-{self.node.name}", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():  # left to end with its socket; the process does not wait for it
            raise NodeError(self.node.name, f"no complete answer within {self.timeout:g}s for {path.split('?')[0]}")
        if "error" in result:
            raise result["error"]
        return result["value"]

    def _fetch_now(self, path, data, headers, limit: int, skip: int, auth: str | None) -> tuple[int, bytes]:
        url = urllib.parse.urljoin(self.node.url.rstrip("/") + "/", path.lstrip("/"))
        body = urllib.parse.urlencode(data).encode("utf-8") if data is not None else None
        request = urllib.request.Request(url, data=body, headers=dict(headers or {}))
        if auth:
            request.add_header("Authorization", auth)
        try:
            with _OPENER.open(request, timeout=self.timeout) as reply:
                if skip:
                    reply.read(skip)
                return reply.status, reply.read(limit)
        except urllib.error.HTTPError as exc:
            if exc.code == 416:  # a range past the end: nothing new yet
                return 416, b""
            detail = exc.read(300).decode("utf-8", "replace").strip()
            refused = exc.code in (400, 401, 403, 404)
            raise NodeError(self.node.name, f"HTTP {exc.code} for {path.split('?')[0]}" + (f": {detail}" if detail else ""),
                            refused=refused) from None
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise NodeError(self.node.name, f"cannot reach {self.node.url}: {reason}") from None

    def call(self, endpoint: str, params: dict | None = None, post: dict | list | None = None) -> dict:
        """An API call; a reply whose status is not "ok" is a refusal with Scrapyd's message."""
        path = endpoint + ("?" + urllib.parse.urlencode(params) if params else "")
        _, raw = self._fetch(path, data=post, limit=16 * 1024 * 1024)
        try:
            answer = json.loads(raw)
        except (ValueError, RecursionError):
            raise NodeError(self.node.name, f"{endpoint} answered something that is not JSON") from None
        if not isinstance(answer, dict) or answer.get("status") != "ok":
            message = answer.get("message") if isinstance(answer, dict) else None
            raise NodeError(self.node.name, f"{endpoint} refused: {str(message or answer)[:300]}", refused=True)
        return answer

    def status(self) -> dict:
        """daemonstatus.json with its counts as numbers (an answer without them is not a node's)."""
        answer = self.call("daemonstatus.json")
        try:
            return {**answer, **{k: int(answer.get(k) or 0) for k in ("running", "pending", "finished")}}
        except (TypeError, ValueError):
            raise NodeError(self.node.name, "daemonstatus.json answered counts that are not numbers") from None

    def schedule(self, project: str, spider: str, job: str, settings: dict, args: dict) -> str:
        form = [("project", project), ("spider", spider), ("jobid", job)]
        form += [("setting", f"{k}={v}") for k, v in settings.items()]
        form += list(args.items())
        return str(self.call("schedule.json", post=form).get("jobid"))

    def jobs(self, project: str) -> dict:
        """listjobs.json: pending, running and finished lists of job entries (dicts with an id)."""
        answer = self.call("listjobs.json", {"project": project})
        for state in ("pending", "running", "finished"):
            entries = answer.get(state) or []
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise NodeError(self.node.name, f"listjobs.json answered a {state} list that is not a list of jobs")
            answer[state] = entries
        return answer

    def cancel(self, project: str, job: str, signal: str | None = None) -> str:
        form = {"project": project, "job": job}
        if signal:
            form["signal"] = signal
        return str(self.call("cancel.json", post=form).get("prevstate"))

    def read(self, path: str, offset: int, limit: int = READ_CHUNK) -> bytes:
        """Bytes of a served file (a job's feed or log) from `offset` on, at most `limit`; b"" when nothing new."""
        status, data = self._fetch(path, headers={"Range": f"bytes={offset}-{offset + limit - 1}"}, limit=limit)
        if status == 200 and offset:  # the server (or a proxy) ignored the range: skip what was read before
            status, data = self._fetch(path, limit=limit, skip=offset)
        return data


def job_state(jobs: dict, job: str) -> tuple[str | None, dict | None]:
    """('pending' | 'running' | 'finished' | None, the job's entry) from a listjobs.json answer."""
    for state in ("pending", "running", "finished"):
        for entry in jobs.get(state) or []:
            if entry.get("id") == job:
                return state, entry
    return None, None
