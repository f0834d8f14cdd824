"""The `monitor` command line: the click group (`app`), one module per family of commands, the output formats.

Importing this package registers every family on the group.
"""

from . import crawl, flags, model, nodes, report, review, rules, schedule, takedown  # noqa: F401  (each registers its commands)
from .app import cli

__all__ = ["cli"]
