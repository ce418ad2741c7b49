"""A cheaper openpyxl load of a checked package: merged ranges bound without their borders.

openpyxl spends most of a filled workbook's load on its merged ranges (a template has about
230): for each range it rebuilds the border of every edge cell, adding Border objects to the
workbook's style list one by one. The reader reads values, formula flags, number formats and
cell protection, never a border. So `load` gives openpyxl a lean copy of the package in which
the worksheet parts have no `<mergeCells>` element, then binds the ranges itself, as openpyxl
does but without the borders: the top-left cell of each range is created if missing and every
other cell of it becomes an empty `MergedCell` (so a value typed under a merge is dropped, as
openpyxl drops it, and the sheet's extent is the same). Everything the reader can see (cells,
values, types, number formats, protection, names, properties) is what a plain
`openpyxl.load_workbook` of the untouched package gives; only the merged cells' borders and
`ws.merged_cells` (plain CellRange objects) differ. tests/test_fastload.py compares reports and
summaries both ways over the samples and the test corpus.

The original bytes are untouched: preflight has checked them, and the caller keeps them. A part
is made lean only when its `<mergeCells>` is one openpyxl would accept without error (one such
element, a child of the worksheet root, each range a plain A1:B2 reference inside Excel's grid):
otherwise that part goes to openpyxl as it is, with its merges bound by openpyxl. Anything
unexpected on the lean path (a part lxml cannot parse, a sheet that cannot be matched to its
part) falls back to the plain load of the original bytes, so the lean path never decides
whether a file is readable.

openpyxl internals used (openpyxl is bound to 3.1.x in pyproject.toml): `ExcelReader` (what
`load_workbook` is made of) and its `parser.find_sheets()`, to match worksheets to their parts
as openpyxl did, and `Worksheet._cells`, where openpyxl itself puts its MergedCells.
"""

from __future__ import annotations

import copy
import io
import re
import zipfile
from dataclasses import dataclass

import openpyxl
from lxml import etree
from openpyxl.cell.cell import MergedCell
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.cell_style import StyleArray
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.cell_range import CellRange, MultiCellRange
from openpyxl.worksheet.worksheet import Worksheet

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_WORKSHEET = f"{_MAIN}worksheet"
_MERGE_CELLS = f"{_MAIN}mergeCells"
_MERGE_CELL = f"{_MAIN}mergeCell"
#: A plain reference openpyxl's CellRange accepts: A1 or A1:C3 (no $, no sheet name).
_REF = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})(?::([A-Z]{1,3})([1-9][0-9]{0,6}))?")
_MAX_COL, _MAX_ROW = 16384, 1048576

#: Bounds of a merged range: (min_col, min_row, max_col, max_row).
Bounds = tuple[int, int, int, int]


class _Fallback(Exception):
    """The lean path cannot vouch for this package: load the original instead."""


@dataclass(frozen=True)
class Lean:
    """A lean copy of a package: its bytes and the merged ranges taken out of each part."""

    data: bytes
    merges: dict[str, tuple[Bounds, ...]]


def load(data: bytes, *, data_only: bool) -> Workbook:
    """openpyxl's workbook of a package, as `openpyxl.load_workbook(BytesIO(data), data_only=...,
    keep_links=False, keep_vba=False)` gives it except for merged cells' borders; exceptions are
    the plain load's."""
    try:
        lean = lean_copy(data)
        if not lean.merges:
            raise _Fallback
        return _load_lean(lean, data_only=data_only)
    except Exception:  # the plain load below decides, and raises what it raises
        return openpyxl.load_workbook(
            io.BytesIO(data), data_only=data_only, keep_links=False, keep_vba=False
        )


def lean_copy(data: bytes) -> Lean:
    """The package with `<mergeCells>` taken out of every worksheet part where that is safe,
    and the ranges taken out, by part name (as openpyxl names parts: no leading slash)."""
    merges: dict[str, tuple[Bounds, ...]] = {}
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout,
    ):
        for info in zin.infolist():
            raw = zin.read(info)
            if b"mergeCells" in raw and not info.is_dir():
                stripped = _strip_merges(raw)
                if stripped is not None:
                    raw, merges[info.filename] = stripped
            zout.writestr(info.filename, raw)
    return Lean(out.getvalue(), merges)


def _strip_merges(raw: bytes) -> tuple[bytes, tuple[Bounds, ...]] | None:
    """A worksheet part without its `<mergeCells>`, and the ranges it held; None when the part
    is not one this module vouches for (it then goes to openpyxl unchanged). A part declaring
    a DTD is one: it must reach openpyxl's defusedxml as it is (the second line of defence
    behind preflight), not lose its declaration on the way through lxml."""
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError:
        return None
    docinfo = root.getroottree().docinfo
    if root.tag != _WORKSHEET or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        return None
    found = list(root.iter(_MERGE_CELLS))
    if len(found) != 1 or found[0].getparent() is not root:
        return None
    bounds = _ranges(found[0])
    if bounds is None:
        return None
    # Keep the text after the element with its predecessor, so no whitespace moves.
    element = found[0]
    tail = element.tail
    previous = element.getprevious()
    root.remove(element)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            root.text = (root.text or "") + tail
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True), bounds


def _ranges(element: etree._Element) -> tuple[Bounds, ...] | None:
    """The ranges of a `<mergeCells>` openpyxl reads without error, or None."""
    if set(element.attrib) - {"count"}:
        return None
    bounds: list[Bounds] = []
    for child in element:
        if not isinstance(child.tag, str):
            continue  # a comment or processing instruction: openpyxl's parser drops them
        if child.tag != _MERGE_CELL or set(child.attrib) != {"ref"}:
            return None
        m = _REF.fullmatch(str(child.attrib["ref"]))
        if m is None:
            return None
        min_col, min_row = _column(m[1]), int(m[2])
        max_col, max_row = (_column(m[3]), int(m[4])) if m[3] else (min_col, min_row)
        if not (min_col <= max_col <= _MAX_COL and min_row <= max_row <= _MAX_ROW):
            return None
        bounds.append((min_col, min_row, max_col, max_row))
    return tuple(bounds)


def _column(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index


def _load_lean(lean: Lean, *, data_only: bool) -> Workbook:
    """openpyxl's load of the lean copy, then its merged ranges bound as openpyxl binds them,
    without borders."""
    reader = ExcelReader(io.BytesIO(lean.data), keep_vba=False, data_only=data_only,
                         keep_links=False)  # fmt: skip
    reader.read()
    wb: Workbook = reader.wb
    # The worksheets in the order openpyxl made them (chart sheets and missing parts skipped).
    parts = [
        rel.target
        for _, rel in reader.parser.find_sheets()
        if rel.target in reader.valid_files and "chartsheet" not in rel.Type
    ]
    sheets = wb.worksheets
    if len(parts) != len(sheets) or not all(isinstance(ws, Worksheet) for ws in sheets):
        raise _Fallback
    for part, ws in zip(parts, sheets, strict=True):
        if part in lean.merges:
            assert isinstance(ws, Worksheet)
            _bind_merges(ws, lean.merges[part])
    return wb


def _bind_merges(ws: Worksheet, ranges: tuple[Bounds, ...]) -> None:
    """openpyxl's bind_merged_cells without the borders, range by range: the top-left cell
    created if missing, every other cell of the range a new MergedCell, and every cell of the
    range given the top-left cell's protection (openpyxl's MergedCellRange.format does that: a
    merged input cell is unlocked all over)."""
    cells = ws._cells  # where openpyxl keeps them (see the module docstring)
    protections = ws.parent._protections  # type: ignore[union-attr]
    # The protection index openpyxl's `cell.protection = copy(anchor.protection)` stores, by the
    # anchor's protection index: IndexedList.add of a value it holds (no new entry).
    stored: dict[int, int] = {}
    for min_col, min_row, max_col, max_row in ranges:
        anchor = cells.get((min_row, min_col))
        if anchor is None:
            anchor = ws.cell(row=min_row, column=min_col)
        if anchor._style is None:  # type: ignore[union-attr]
            anchor._style = StyleArray()  # type: ignore[union-attr]
        style: StyleArray = anchor._style  # type: ignore[union-attr]
        index = style.protectionId
        if index not in stored:
            stored[index] = protections.add(copy.copy(protections[index]))
        style.protectionId = stored[index]
        for row in range(min_row, max_row + 1):
            for col in range(min_col, max_col + 1):
                if (row, col) != (min_row, min_col):
                    cell = MergedCell(ws, row=row, column=col)
                    cell._style = StyleArray()  # type: ignore[attr-defined]
                    cell._style.protectionId = stored[index]  # type: ignore[attr-defined]
                    cells[row, col] = cell
    ws.merged_cells = MultiCellRange(
        [CellRange(min_col=a, min_row=b, max_col=c, max_row=d) for a, b, c, d in ranges]
    )
