"""Every command explains itself with an example and is documented in the README."""

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli import cli

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def all_commands(group=cli, prefix=""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from all_commands(command, f"{prefix}{name} ")


@pytest.mark.parametrize("name", [""] + [name for name, _ in all_commands()])
def test_help_has_an_example(name):
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert re.search(r"monitor \w", result.output.split("Example:")[1])


@pytest.mark.parametrize("name", [name for name, _ in all_commands()])
def test_command_is_documented_in_readme(name):
    assert f"monitor {name}" in README, f"`monitor {name}` is not documented in README.md"


def test_readme_starts_with_the_two_commands():
    head = "\n".join(README.splitlines()[:25])
    assert "scripts/demo" in head and "scripts/test" in head
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert "scripts/test" in ci
