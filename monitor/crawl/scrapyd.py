"""Talking to Scrapyd nodes: their JSON API and the files they serve (a job's feed and log).

Only the standard library: a node is reached over HTTP(S) with optional basic auth, whose
user name and password come from environment variables the configuration names (never from
the configuration itself). Every failure is a NodeError that says which node and what went
wrong, so a run's reason reads "node a: connection refused", not a traceback.
"""

from __future__ import annotations

import base64
import json
import os
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


class NodeClient:
    """One node's API."""

    def __init__(self, node: Node, timeout: float = REQUEST_TIMEOUT):
        self.node = node
        self.timeout = timeout

    def _open(self, path: str, data: dict | list | None = None, headers: dict | None = None):
        url = urllib.parse.urljoin(self.node.url.rstrip("/") + "/", path.lstrip("/"))
        body = urllib.parse.urlencode(data).encode("utf-8") if data is not None else None
        request = urllib.request.Request(url, data=body, headers=dict(headers or {}))
        auth = self.node.auth_header()
        if auth:
            request.add_header("Authorization", auth)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416:  # a range past the end: nothing new yet
                return exc
            detail = exc.read(300).decode("utf-8", "replace").strip()
            refused = exc.code in (400, 401, 403, 404)
            raise NodeError(self.node.name, f"HTTP {exc.code} for {path.split('?')[0]}" + (f": {detail}" if detail else ""),
                            refused=refused) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise NodeError(self.node.name, f"cannot reach {self.node.url}: {reason}") from None

    def call(self, endpoint: str, params: dict | None = None, post: dict | list | None = None) -> dict:
        """An API call; a reply whose status is not "ok" is a refusal with Scrapyd's message."""
        path = endpoint + ("?" + urllib.parse.urlencode(params) if params else "")
        with self._open(path, data=post) as reply:
            raw = reply.read(16 * 1024 * 1024)
        try:
            answer = json.loads(raw)
        except ValueError:
            raise NodeError(self.node.name, f"{endpoint} answered something that is not JSON") from None
        if not isinstance(answer, dict) or answer.get("status") != "ok":
            message = answer.get("message") if isinstance(answer, dict) else None
            raise NodeError(self.node.name, f"{endpoint} refused: {str(message or answer)[:300]}", refused=True)
        return answer

    def status(self) -> dict:
        return self.call("daemonstatus.json")

    def schedule(self, project: str, spider: str, job: str, settings: dict, args: dict) -> str:
        form = [("project", project), ("spider", spider), ("jobid", job)]
        form += [("setting", f"{k}={v}") for k, v in settings.items()]
        form += list(args.items())
        return self.call("schedule.json", post=form)["jobid"]

    def jobs(self, project: str) -> dict:
        return self.call("listjobs.json", {"project": project})

    def cancel(self, project: str, job: str, signal: str | None = None) -> str:
        form = {"project": project, "job": job}
        if signal:
            form["signal"] = signal
        return str(self.call("cancel.json", post=form).get("prevstate"))

    def read(self, path: str, offset: int, limit: int = READ_CHUNK) -> bytes:
        """Bytes of a served file (a job's feed or log) from `offset` on, at most `limit`; b"" when nothing new."""
        with self._open(path, headers={"Range": f"bytes={offset}-{offset + limit - 1}"}) as reply:
            status = reply.status if hasattr(reply, "status") else reply.code
            if status == 416:
                return b""
            if status == 200 and offset:  # the server (or a proxy) ignored the range: skip what was read before
                return reply.read(offset + limit)[offset:]
            return reply.read(limit)


def job_state(jobs: dict, job: str) -> tuple[str | None, dict | None]:
    """('pending' | 'running' | 'finished' | None, the job's entry) from a listjobs.json answer."""
    for state in ("pending", "running", "finished"):
        for entry in jobs.get(state) or []:
            if entry.get("id") == job:
                return state, entry
    return None, None
