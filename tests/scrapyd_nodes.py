"""Real Scrapyd nodes on 127.0.0.1 for tests and benchmarks, running the project as deployed: its egg.

`ScrapydNode` starts `python -m scrapyd` in a folder of its own (its scrapyd.conf, eggs, logs,
items and dbs), with nothing of the checkout on its path or in its environment but the venv: the
job runner puts the deployed egg first on sys.path, ahead of the venv's editable install. The node
runs in its own session, so `kill()` takes the crawls it started with it (Scrapyd's children stay in
its process group), as a machine that goes down would. `build_egg` builds the egg as a user deploys
it (`scrapyd-deploy --build-egg`, in a copy of the checkout, as tests/test_egg.py does).
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from conftest import free_port
from test_egg import ROOT, left_out

PROJECT = "datasale_monitor"


def build_egg(folder: Path) -> Path:
    """The project's egg, built by `scrapyd-deploy --build-egg` in a copy of the checkout under `folder`
    (the command leaves setup.py, build/ and an egg-info where it runs, and its temporary folder in TMPDIR)."""
    folder = Path(folder)
    project = folder / "project"
    shutil.copytree(ROOT, project, ignore=left_out)
    egg = folder / f"{PROJECT}.egg"
    deploy = Path(sys.executable).with_name("scrapyd-deploy")
    result = subprocess.run([str(deploy), "--build-egg", str(egg)], cwd=project, env={**os.environ, "TMPDIR": str(folder)},
                            capture_output=True, text=True, timeout=180)
    if result.returncode != 0 or not egg.is_file():
        raise RuntimeError(f"scrapyd-deploy --build-egg failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return egg


def node_env() -> dict:
    """The environment a node starts with: ours without Scrapy's, Scrapyd's or Python's path variables,
    so the project's settings come from the egg's entry point, not from the test run."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("SCRAPY", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"))}


class NodeFailed(RuntimeError):
    """A node that did not start, or an API call the test expected to succeed that did not."""


class ScrapydNode:
    """One Scrapyd daemon: `with ScrapydNode("a", tmp / "a", egg=egg) as node: node.url`.

    `items=False` leaves out `items_dir` (a misconfigured node: no feed); `username`/`password`
    turn on Scrapyd's basic auth; `egg` is deployed as project PROJECT once the node answers.
    """

    def __init__(self, name: str, folder: Path, egg: Path | None = None, username: str | None = None,
                 password: str | None = None, items: bool = True, max_proc: int = 4, poll_interval: float = 0.5):
        self.name = name
        self.folder = Path(folder)
        self.egg = egg
        self.username = username
        self.password = password
        self.items = items
        self.max_proc = max_proc
        self.poll_interval = poll_interval
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config_toml(self, username_env: str | None = None, password_env: str | None = None) -> str:
        """This node's `[scrapyd.nodes.NAME]` table for a monitor configuration."""
        lines = [f"[scrapyd.nodes.{self.name}]", f'url = "{self.url}"']
        lines += [f'{key} = "{var}"' for key, var in (("username_env", username_env), ("password_env", password_env)) if var]
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ life
    def start(self) -> ScrapydNode:
        """Start the daemon (retrying on another port if the free one was taken meanwhile) and deploy the egg."""
        self.folder.mkdir(parents=True, exist_ok=True)
        problem = ""
        for _ in range(3):
            self.port = free_port()
            self._write_conf()
            log = open(self.folder / "scrapyd.out", "ab")
            self.proc = subprocess.Popen([sys.executable, "-m", "scrapyd"], cwd=self.folder, env=node_env(),
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            atexit.register(self.stop)
            try:
                self._wait_ready()
                break
            except NodeFailed as exc:
                problem = str(exc)
                self.stop()
        else:
            raise NodeFailed(problem)
        if self.egg is not None:
            try:
                self.deploy(self.egg)
            except BaseException:
                self.stop()  # `with` does not exit what did not enter
                raise
        return self

    def _write_conf(self) -> None:
        conf = {"bind_address": "127.0.0.1", "http_port": self.port, "eggs_dir": "eggs", "logs_dir": "logs",
                "dbs_dir": "dbs", "jobs_to_keep": 1000, "finished_to_keep": 1000, "poll_interval": self.poll_interval,
                "max_proc": self.max_proc}
        if self.items:
            conf["items_dir"] = "items"
        if self.username:
            conf.update(username=self.username, password=self.password or "")
        text = "[scrapyd]\n" + "".join(f"{k} = {v}\n" for k, v in conf.items())
        (self.folder / "scrapyd.conf").write_text(text, encoding="utf-8")

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise NodeFailed(f"scrapyd {self.name} exited with code {self.proc.returncode}: {self.output()[-2000:]}")
            try:
                self.api("daemonstatus.json")
                return
            except (OSError, NodeFailed):
                time.sleep(0.1)
        raise NodeFailed(f"scrapyd {self.name} did not answer on {self.url} within {timeout:g}s: {self.output()[-2000:]}")

    def output(self) -> str:
        """What the daemon printed (its own log: twistd's, not the jobs')."""
        try:
            return (self.folder / "scrapyd.out").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the daemon and every crawl it started: a node that goes down mid-job."""
        self._signal_group(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop the daemon and its crawls: TERM to the group, KILL for whatever is left after a few seconds."""
        atexit.unregister(self.stop)
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGKILL)  # the daemon's crawls, still shutting down, or the daemon itself
        self.proc.wait(timeout=10)

    def _signal_group(self, sig: int) -> None:
        """Signal the daemon's process group (start_new_session: its id is the daemon's pid). Once the daemon
        is reaped its pid may be reused, so only while the daemon or one of its crawls still holds the id."""
        if self.proc is None or (self.proc.returncode is not None and not self._group_members()):
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def _group_members(self) -> list[int]:
        members = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.proc.pid:  # pgrp
                members.append(int(stat.parent.name))
        return members

    def __enter__(self) -> ScrapydNode:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ API
    def api(self, endpoint: str, params: dict | None = None, body: bytes | None = None,
            content_type: str | None = None) -> dict:
        """A JSON API call as the node's own user; NodeFailed unless Scrapyd answers status ok."""
        url = f"{self.url}/{endpoint}" + ("?" + urllib.parse.urlencode(params) if params else "")
        request = urllib.request.Request(url, data=body)
        if content_type:
            request.add_header("Content-Type", content_type)
        if self.username:
            token = base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                answer = json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            raise NodeFailed(f"{endpoint} on {self.name}: HTTP {exc.code}: {exc.read(500)!r}") from None
        if answer.get("status") != "ok":
            raise NodeFailed(f"{endpoint} on {self.name}: {answer}")
        return answer

    def deploy(self, egg: Path, version: str | None = None, project: str = PROJECT) -> dict:
        """POST the egg to addversion.json, as scrapyd-deploy does; the answer lists the egg's spiders."""
        boundary = uuid.uuid4().hex
        fields = {"project": project.encode(), "version": (version or str(int(time.time() * 1000))).encode()}
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode() + v + b"\r\n"
                 for k, v in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="egg"; filename="{project}.egg"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + Path(egg).read_bytes() + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.api("addversion.json", body=body, content_type=f"multipart/form-data; boundary={boundary}")

    def jobs(self, project: str = PROJECT) -> dict:
        return self.api("listjobs.json", {"project": project})

    def crawl_pids(self) -> list[int]:
        """The pids of the crawls the node runs now (listjobs.json's running jobs)."""
        return [entry["pid"] for entry in self.jobs().get("running", []) if entry.get("pid")]
