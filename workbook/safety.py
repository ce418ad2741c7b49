"""Checks made before any parser sees an input file: what it is, and whether it is safe to open."""

from __future__ import annotations

import os
from pathlib import Path

from workbook.errors import UnreadableFile


def preflight(path: Path) -> None:
    """Raise a UnreadableFile or UnsafeFile error unless path looks like a workbook that is safe
    to hand to openpyxl. Reads at most the zip directory, never the whole file."""
    if not path.exists():
        raise UnreadableFile("input.not_found", path=path)
    if path.is_dir():
        raise UnreadableFile("input.is_dir", path=path)
    if not os.access(path, os.R_OK):
        raise UnreadableFile("input.no_permission", path=path)
