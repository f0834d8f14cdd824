import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

# Accounts hash at scrypt N=2**17 in production (0.3 s, 128 MiB each); tests use the old cost so that
# creating users stays quick. Only the tests set this (monitor/web/accounts.py reads it).
os.environ.setdefault("MONITOR_TEST_SCRYPT_N", str(2**14))

PAGES = Path(__file__).parent / "sites"
ROOT = Path(__file__).resolve().parent.parent


def saved_response(name: str, url: str) -> HtmlResponse:
    """A real Scrapy response over a saved page, as the spider would get it from `url`."""
    return HtmlResponse(url=url, body=(PAGES / name).read_bytes(), encoding="utf-8")


def run_monitor(*args, cwd=None, timeout=300, env=None) -> subprocess.CompletedProcess:
    """Run the installed `monitor` CLI in a real subprocess, as a user would."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("MONITOR_DB", None) if env is None or "MONITOR_DB" not in env else None
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def detector():
    from rules import Detector

    return Detector()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright, one per test module (see webfixtures.launch_browser)."""
    from webfixtures import launch_browser

    yield from launch_browser()


@pytest.fixture
def tinyproxy(tmp_path):
    """A real tinyproxy on loopback that logs every request it carries (scripts/test installs it)."""
    binary = shutil.which("tinyproxy")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("tinyproxy is not installed: scripts/test installs it with apt-get")
        pytest.skip("tinyproxy not installed (apt-get install tinyproxy)")
    port = free_port()
    log = tmp_path / "tinyproxy.log"
    conf = tmp_path / "tinyproxy.conf"
    conf.write_text(
        f'Port {port}\nListen 127.0.0.1\nTimeout 10\nLogFile "{log}"\nLogLevel Connect\nMaxClients 20\n'
        "Allow 127.0.0.1\nDisableViaHeader Yes\n",  # run as the test's own user: it can write the log
        encoding="utf-8",
    )
    proc = subprocess.Popen([binary, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"tinyproxy did not start: {proc.stderr.read().decode(errors='replace')}")
    yield f"http://127.0.0.1:{port}", log
    proc.terminate()
    proc.wait(timeout=10)
