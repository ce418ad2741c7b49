"""Which workbooks are the same, and which are not a person's at all: byte-identical inputs,
and team roll-ups written by opsbook (spotted from their small parts, before any parser runs)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from workbook.i18n import LANGS, catalog

if TYPE_CHECKING:  # intake loads the email package: not for a single render
    from opsbook.intake import Source

MAX_WORKBOOK_PART = 4 * 1024 * 1024  # xl/workbook.xml, read to spot an earlier roll-up


def content_key(source: Source) -> bytes:
    """What makes two inputs the same workbook: the same bytes (saved from a mail and
    forwarded again). An unreadable one is only itself: the reader reports it."""
    try:
        return hashlib.sha256(source.path.read_bytes()).digest()
    except OSError:
        return source.label.encode()


def _archive(workbook: Path | bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(workbook) if isinstance(workbook, bytes) else workbook)


def is_rollup_workbook(workbook: Path | bytes) -> bool:
    """Whether a workbook (a path or its bytes) is a roll-up written by opsbook: it has the
    per-person sheet (by its name in either language). Reads only the small workbook part; any
    doubt means no."""
    names = {f'name="{catalog(lang)("rollup.sheet")}"'.encode() for lang in LANGS}
    try:
        with _archive(workbook) as archive:
            info = archive.getinfo("xl/workbook.xml")
            if info.file_size > MAX_WORKBOOK_PART:
                return False
            part = archive.read(info)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, RuntimeError):
        return False
    return any(name in part for name in names)


def rollup_partial(workbook: Path | bytes) -> str | None:
    """For a roll-up workbook whose totals cover fewer than everyone: the name of its per-person
    sheet (whose notes say whom they cover); else None. Reads only the small parts."""
    if not is_rollup_workbook(workbook):
        return None
    marks = {catalog(lang)(key, n=0, m=0, fields="", kpis="").split("0")[0].encode(): lang
             for lang in LANGS for key in ("team.partial_total", "teamkpi.kpi_line")}  # fmt: skip
    try:
        with _archive(workbook) as archive:
            names = archive.namelist()
            parts = [n for n in names if n == "xl/sharedStrings.xml" or n.startswith("xl/work")]
            for name in parts:
                info = archive.getinfo(name)
                if info.file_size > MAX_WORKBOOK_PART:
                    continue
                data = archive.read(info)
                for mark, lang in marks.items():
                    if mark in data:
                        return catalog(lang)("rollup.sheet")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, RuntimeError):
        return None
    return None
