"""Proxies and .onion: a real tinyproxy on loopback carries the crawl; .onion never reaches a resolver."""

import os
import sqlite3
import subprocess
import sys

import pytest
from conftest import ROOT, run_monitor

from monitor.config import ConfigError, parse_sources
from monitor.demo import DemoServer

ONION = "http://exampleonionaddressforthetests2vx7q6hzbxk7ba4i6cbwvc7yf6bq3zvid.onion/"


def test_forum_crawl_goes_through_the_configured_proxy(tmp_path, tinyproxy):
    proxy, log = tinyproxy
    with DemoServer() as server:
        config = tmp_path / "sources.toml"
        config.write_text(f'[sources.via-proxy]\nkind = "forum"\nengine = "mybb"\nbase_url = "{server.url}/forum/"\n'
                          f'proxy = "{proxy}"\nmax_pages = 50\n', encoding="utf-8")
        result = run_monitor("crawl", "via-proxy", "--config", str(config), "--db", str(tmp_path / "m.db"))
    assert result.returncode == 0, result.stderr
    proxied = log.read_text(errors="replace")
    assert f"{server.url}/forum/" in proxied or f"127.0.0.1:{server.url.rsplit(':', 1)[1]}" in proxied, proxied[-2000:]
    assert sqlite3.connect(tmp_path / "m.db").execute("SELECT count(*) FROM posts").fetchone()[0] > 0


def test_onion_with_proxy_is_sent_to_the_proxy(tmp_path, tinyproxy):
    proxy, log = tinyproxy
    dns_file = tmp_path / "dns.txt"
    dns_file.touch()
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "forum", "-a", f"base_url={ONION}", "-a", f"proxy={proxy}",
         "-s", "DNS_RESOLVER=dnsrec.RecordingResolver", "-s", "TWISTED_DNS_RESOLVER=dnsrec.RecordingResolver", "-s", "RETRY_TIMES=0"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests"), "DNS_RECORD_FILE": str(dns_file)},
    )
    assert result.returncode == 0
    assert ".onion" in log.read_text(errors="replace"), "the proxy received the .onion request"
    assert ".onion" not in dns_file.read_text(), "the .onion name never reached a local resolver"


def test_onion_without_proxy_is_dropped_before_any_dns_lookup(tmp_path):
    dns_file = tmp_path / "dns.txt"
    dns_file.touch()
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "forum", "-a", f"base_url={ONION}", "-s", "DNS_RESOLVER=dnsrec.RecordingResolver", "-s", "TWISTED_DNS_RESOLVER=dnsrec.RecordingResolver"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests"), "DNS_RECORD_FILE": str(dns_file)},
    )
    assert result.returncode == 0
    assert ".onion needs a proxy" in result.stderr
    assert "'monitor/onion_without_proxy': 1" in result.stderr
    assert dns_file.read_text() == "", "no DNS lookup at all"


def test_configuration_refuses_onion_without_proxy():
    with pytest.raises(ConfigError, match=r"sources.hidden.proxy: required for a .onion base_url"):
        parse_sources({"sources": {"hidden": {"kind": "forum", "engine": "mybb", "base_url": ONION}}}, "x.toml")
    sources = parse_sources({"sources": {"hidden": {"kind": "forum", "engine": "mybb", "base_url": ONION,
                                                    "proxy": "http://127.0.0.1:8118"}}}, "x.toml")
    assert sources["hidden"].options["proxy"] == "http://127.0.0.1:8118"
