"""The command line: a thin click layer over opsbook.api. Only this package imports click.

base: the group, its language and the shared options; commands: new, demo, render, check,
export; batch and table: render over many inputs on a terminal; team: next, trend, rollup;
serve: the team server; words: click's own words in the user's language.
"""

from __future__ import annotations

from opsbook.cli import commands, serve, team  # noqa: F401 - they register the commands
from opsbook.cli.base import main

__all__ = ["main"]
