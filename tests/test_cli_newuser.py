"""The CLI as a new user meets it: wrong paths, values and missing options are named, not silently accepted."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_monitor

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [["flags"], ["runs"], ["takedown", "report"], ["status", "--config", "data/sources.example.toml"]])
def test_read_only_commands_refuse_a_database_that_does_not_exist(tmp_path, command):
    missing = tmp_path / "typo.db"
    result = run_monitor(*command, "--db", str(missing), cwd=ROOT)
    assert result.returncode == 1 and f"no database at {missing}" in result.stderr, result.stderr
    assert not missing.exists(), "a read-only command never creates an empty database"


def test_bad_status_and_missing_as_are_named(tmp_path):
    bad = run_monitor("flags", "--status", "bogus", "--db", str(tmp_path / "m.db"))
    assert bad.returncode == 2 and "'bogus' is not one of 'new', 'confirmed', 'dismissed'" in bad.stderr
    run_monitor("users", "list", "--db", str(tmp_path / "m.db"))
    no_user = run_monitor("review", "confirm", "1", "--db", str(tmp_path / "m.db"))
    assert no_user.returncode == 2 and "--as USER is needed" in no_user.stderr


def test_sources_shows_what_each_source_reads():
    result = run_monitor("sources", "--config", "data/sources.example.toml", cwd=ROOT)
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert rows["example-channel"].rstrip().endswith("stokdata_example")
    assert rows["example-mastodon"].rstrip().endswith("#datapribadi")
    assert rows["example-discourse"].rstrip().endswith("marketplace/5")


def test_explain_says_it_reads_standard_input_on_a_terminal(tmp_path):
    script = ("import pty, os, sys\n"
              "pid, fd = pty.fork()\n"
              "if pid == 0:\n"
              "    os.execv(sys.executable, [sys.executable, '-m', 'monitor', 'explain', '--db', sys.argv[1]])\n"
              "out = b''\n"
              "while b'Ctrl-D' not in out:\n"
              "    out += os.read(fd, 1024)\n"
              "os.write(fd, b'jual data ktp\\n\\x04')\n"
              "while True:\n"
              "    try:\n"
              "        chunk = os.read(fd, 4096)\n"
              "    except OSError:\n"
              "        break\n"
              "    if not chunk:\n"
              "        break\n"
              "    out += chunk\n"
              "os.waitpid(pid, 0)\n"
              "print(out.decode(errors='replace'))\n")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "m.db")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "reading the text from standard input" in result.stdout, result.stdout + result.stderr


def test_state_folder_is_ignored_by_git():
    assert "data/state/" in (ROOT / ".gitignore").read_text().splitlines()
