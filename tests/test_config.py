"""Configuration errors name the file, the field and the problem; the CLI shows no traceback."""

import csv
import io

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import ConfigError, load_sources, select

GOOD = """
[sources.exforum]
kind = "forum"
engine = "mybb"
base_url = "https://forum.example/"
max_pages = 50

[sources.stok]
kind = "telegram"
channel = "stokdata_demo"
"""


def write(tmp_path, text, name="sources.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads(tmp_path):
    sources = load_sources(write(tmp_path, GOOD))
    assert sorted(sources) == ["exforum", "stok"]
    assert sources["exforum"].options["max_pages"] == 50


def test_example_file_is_valid():
    from pathlib import Path

    sources = load_sources(Path(__file__).parent.parent / "data" / "sources.example.toml")
    assert sources


@pytest.mark.parametrize(
    "text, message",
    [
        ('[sources.a]\nkind = "forum"\nengine = "mybb"\nbase_url = "ftp://x"\n', "sources.a.base_url: must be an http:// or https:// URL"),
        ('[sources.a]\nkind = "forum"\nengine = "mybb"\nbase_url = "http://x/"\nmax_page = 3\n', "sources.a.max_page: unknown field"),
        ('[sources.a]\nkind = "irc"\n', "sources.a.kind: must be one of"),
        ('[sources.a]\nkind = "forum"\nbase_url = "http://x/"\n', "sources.a.engine: required"),
        ('[sources.a]\nkind = "forum"\nengine = "nope"\nbase_url = "http://x/"\n', "sources.a.engine: unknown forum engine 'nope'"),
        ('[sources.a]\nkind = "forum"\nengine = "mybb"\nbase_url = "http://x/"\nmax_pages = -1\n', "sources.a.max_pages: must be a whole number"),
        ('[sources.a]\nkind = "telegram"\nchannel = "x y"\n', "sources.a.channel: must be a public channel name"),
        ("[sources.a\nkind=", "not valid TOML"),
        ("", "no sources"),
    ],
)
def test_errors_name_file_and_field(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_unknown_source_lists_known(tmp_path):
    sources = load_sources(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match="unknown source.*nosuch; known: exforum, stok"):
        select(sources, ["nosuch"])


def test_cli_reports_config_errors_without_traceback(tmp_path):
    path = write(tmp_path, '[sources.a]\nkind = "forum"\nengine = "mybb"\nbase_url = 5\n')
    result = CliRunner().invoke(cli, ["crawl", "a", "--config", str(path), "--db", str(tmp_path / "m.db")])
    assert result.exit_code == 1
    assert f"{path}: sources.a.base_url: must be a string" in result.output
    assert "Traceback" not in result.output


def test_cli_unknown_source_and_missing_file(tmp_path):
    path = write(tmp_path, GOOD)
    result = CliRunner().invoke(cli, ["crawl", "nosuch", "--config", str(path), "--db", str(tmp_path / "m.db")])
    assert result.exit_code == 1 and "known: exforum, stok" in result.output
    result = CliRunner().invoke(cli, ["crawl", "x", "--config", str(tmp_path / "missing.toml")])
    assert result.exit_code == 1 and "configuration file not found" in result.output


def test_config_from_environment(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD)
    monkeypatch.setenv("MONITOR_CONFIG", str(path))
    result = CliRunner().invoke(cli, ["sources", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output, newline="")))
    assert rows[0] == ["name", "kind", "base_url", "reads"]
    assert ["exforum", "forum", "https://forum.example/", "mybb"] in rows and ["stok", "telegram", "https://t.me/", "stokdata_demo"] in rows
