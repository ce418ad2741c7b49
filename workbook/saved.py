"""Formula results saved in the package, read straight from the sheet XML (cheaper than a
second openpyxl load), and compared with the values opsbook computes."""

from __future__ import annotations

import io
import math
import posixpath
import zipfile
from collections.abc import Iterable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from lxml import etree
from openpyxl.xml.functions import fromstring

from workbook.shown import BLANK_SHOWN, show

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


class _NotSaved(Enum):
    """No result was saved with a formula (the file was saved by a program that never calculates,
    such as openpyxl)."""

    NOT_SAVED = "not saved"


NOT_SAVED = _NotSaved.NOT_SAVED
Saved = float | str | bool | _NotSaved


def same_result(saved: Saved, computed: float | None) -> bool:
    """A saved formula result equals the recomputed value (blank = empty text)."""
    if computed is None:
        return saved == ""
    if isinstance(saved, bool) or not isinstance(saved, float | int):
        return False
    return math.isclose(saved, computed, rel_tol=1e-9, abs_tol=1e-12)


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part) of a package part ("" for the package)."""
    folder, name = posixpath.split(part)
    root = fromstring(zf.read(posixpath.join(folder, "_rels", f"{name}.rels")))
    out = {}
    for rel in root.iter(f"{_PKG_REL_NS}Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        full = target[1:] if target.startswith("/") else posixpath.join(folder, target)
        out[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(full))
    return out


def _saved_value(cell: Any) -> Saved:
    value = cell.find(f"{_MAIN_NS}v")
    if value is None:
        return NOT_SAVED
    text = value.text or ""
    kind = cell.get("t", "n")
    if kind == "n":  # an empty number is what openpyxl writes for "never calculated"
        try:
            return float(text) if text else NOT_SAVED
        except ValueError:
            return NOT_SAVED
    if kind == "b":
        return text.strip() == "1"
    if kind in ("str", "e", "inlineStr"):
        return text
    return NOT_SAVED  # a shared-string index: never used for formula results


def saved_results(
    package: Path | bytes, wanted: Mapping[str, Iterable[str]]
) -> dict[tuple[str, str], Saved]:
    """(sheet, "B12") -> the result saved with the formula in that cell, for the wanted cells.

    package: the workbook's bytes as preflight passed them (so no DTD in any part, and the
    same bytes openpyxl parsed, even if the file has changed since), or a path (tests).
    Reads only the workbook part, its relationships and the sheets asked for, stopping in each
    sheet once every wanted cell is seen. Anything unexpected means "nothing saved".
    """
    out: dict[tuple[str, str], Saved] = {}
    source = io.BytesIO(package) if isinstance(package, bytes) else package
    try:
        with zipfile.ZipFile(source) as zf:
            main = next(t for typ, t in _rels(zf, "").values() if typ.endswith("/officeDocument"))
            rels = _rels(zf, main)
            parts = {
                sheet.get("name", ""): rels.get(sheet.get(f"{_REL_NS}id", ""), ("", ""))[1]
                for sheet in fromstring(zf.read(main)).iter(f"{_MAIN_NS}sheet")
            }
            for sheet, coords in wanted.items():
                remaining = set(coords)
                if not remaining or not parts.get(sheet):
                    continue
                with zf.open(parts[sheet]) as fh:
                    # lxml, told to look at <c> only, is ~2x faster than ElementTree here.
                    cells = etree.iterparse(
                        fh, tag=f"{_MAIN_NS}c", resolve_entities=False, no_network=True
                    )
                    for _, element in cells:
                        ref = element.get("r")
                        if ref in remaining:
                            out[(sheet, ref)] = _saved_value(element)
                            remaining.discard(ref)
                            if not remaining:
                                break
                        element.clear()
    except (KeyError, StopIteration, OSError, ValueError, SyntaxError, zipfile.BadZipFile):
        return {}  # lxml's XMLSyntaxError is a SyntaxError
    return out


def show_saved(saved: Saved, kind: str) -> str:
    """A saved result as a message shows it (blank when none was saved)."""
    if saved is NOT_SAVED:
        return BLANK_SHOWN
    return show(saved, kind)
