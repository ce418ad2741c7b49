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
`openpyxl.load_workbook` of the untouched package gives; only the merged cells' borders,
`ws.merged_cells` (plain CellRange objects) and `ws.data_validations` (empty: the lean copy has
no `<dataValidations>` either, the drop-down lists and input rules the reader never looks at)
differ. tests/test_fastload.py compares reports and
summaries both ways over the samples and the test corpus.

The original bytes are untouched: preflight has checked them, and the caller keeps them. An
element is taken out of a part only when openpyxl would read it without error (so a file
openpyxl refuses is still refused): one `<mergeCells>`, a child of the worksheet root, each
range a plain A1:B2 reference inside Excel's grid; `<dataValidations>` children of the root
with only the attributes and values openpyxl's descriptors take. Otherwise the element stays
and openpyxl reads it (and binds those merges) itself. Anything
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
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_WORKSHEET = f"{_MAIN}worksheet"
_MERGE_CELLS = f"{_MAIN}mergeCells"
_MERGE_CELL = f"{_MAIN}mergeCell"
#: A plain reference openpyxl's CellRange accepts: A1 or A1:C3 (no $, no sheet name).
_REF = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})(?::([A-Z]{1,3})([1-9][0-9]{0,6}))?")
_MAX_COL, _MAX_ROW = 16384, 1048576

_VALIDATIONS = f"{_MAIN}dataValidations"
_VALIDATION = f"{_MAIN}dataValidation"
_FORMULAS = (f"{_MAIN}formula1", f"{_MAIN}formula2")
_INT = frozenset({"int"})


def _choices(descriptor: object) -> frozenset[str]:
    """The texts a NoneSet descriptor of openpyxl takes ("none" reads as None)."""
    values: set[object] = getattr(descriptor, "values")  # noqa: B009 - not in the type stubs
    return frozenset({str(v) for v in values if v is not None} | {"none"})


_LIST_ATTRS: dict[str, frozenset[str] | None] = {
    "disablePrompts": None, "xWindow": _INT, "yWindow": _INT, "count": _INT,
}  # fmt: skip
_VALIDATION_ATTRS: dict[str, frozenset[str] | None] = {
    "sqref": None, "showDropDown": None, "showInputMessage": None, "showErrorMessage": None,
    "allowBlank": None, "errorTitle": None, "error": None, "promptTitle": None, "prompt": None,
    **{k: _choices(getattr(DataValidation, k)) for k in ("type", "errorStyle", "imeMode",
                                                          "operator")},
}  # fmt: skip

#: Bounds of a merged range: (min_col, min_row, max_col, max_row).
Bounds = tuple[int, int, int, int]


class _Fallback(Exception):
    """The lean path cannot vouch for this package: load the original instead."""


@dataclass(frozen=True)
class Lean:
    """A lean copy of a package: its bytes and the merged ranges taken out of each part."""

    data: bytes
    merges: dict[str, tuple[Bounds, ...]]
    changed: bool  # False: no part was made lean (the plain load is as cheap)


def load(data: bytes, *, data_only: bool) -> Workbook:
    """openpyxl's workbook of a package, as `openpyxl.load_workbook(BytesIO(data), data_only=...,
    keep_links=False, keep_vba=False)` gives it except for merged cells' borders; exceptions are
    the plain load's."""
    try:
        lean = lean_copy(data)
        if not lean.changed:
            raise _Fallback
        return _load_lean(lean, data_only=data_only)
    except Exception:  # the plain load below decides, and raises what it raises
        return openpyxl.load_workbook(
            io.BytesIO(data), data_only=data_only, keep_links=False, keep_vba=False
        )


def lean_copy(data: bytes) -> Lean:
    """The package with `<mergeCells>` and `<dataValidations>` taken out of every worksheet
    part where that is safe, and the merged ranges taken out, by part name (as openpyxl names
    parts: no leading slash)."""
    merges: dict[str, tuple[Bounds, ...]] = {}
    changed = False
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout,
    ):
        for info in zin.infolist():
            raw = zin.read(info)
            if (b"mergeCells" in raw or b"dataValidations" in raw) and not info.is_dir():
                lean = _lean_part(raw)
                if lean is not None:
                    changed = True
                    raw, bounds = lean
                    if bounds is not None:
                        merges[info.filename] = bounds
            zout.writestr(info.filename, raw)
    return Lean(out.getvalue(), merges, changed)


def _lean_part(raw: bytes) -> tuple[bytes, tuple[Bounds, ...] | None] | None:
    """A worksheet part without its `<mergeCells>` (and the ranges it held, else None) and
    its `<dataValidations>`, each taken out only when openpyxl would read it without error;
    None when nothing is taken out (the part then goes to openpyxl unchanged). A part declaring
    a DTD goes unchanged: it must reach openpyxl's defusedxml as it is (the second line of
    defence behind preflight), not lose its declaration on the way through lxml."""
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
    remove: list[etree._Element] = []
    bounds = None
    merges = list(root.iter(_MERGE_CELLS))
    if len(merges) == 1 and merges[0].getparent() is root:
        bounds = _ranges(merges[0])
        if bounds is not None:
            remove.append(merges[0])
    validations = list(root.iter(_VALIDATIONS))
    if validations and all(v.getparent() is root and _valid_list(v) for v in validations):
        remove += validations
    if not remove:
        return None
    for element in remove:
        # Keep the text after the element with its predecessor, so no whitespace moves.
        tail = element.tail
        previous = element.getprevious()
        root.remove(element)
        if tail:
            if previous is not None:
                previous.tail = (previous.tail or "") + tail
            else:
                root.text = (root.text or "") + tail
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True), bounds


def _valid_list(element: etree._Element) -> bool:
    """True when openpyxl reads this `<dataValidations>` without error (DataValidationList and
    DataValidation.from_tree): known attributes with values their descriptors take, each range
    a plain reference, no child but `<dataValidation>` with `<formula1>`/`<formula2>`."""
    if not _attributes_ok(element, _LIST_ATTRS):
        return False
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag != _VALIDATION or not _attributes_ok(child, _VALIDATION_ATTRS):
            return False
        refs = str(child.get("sqref", "")).split()
        if not all(_ranges_ok(ref) for ref in refs):
            return False
        for formula in child:
            if isinstance(formula.tag, str) and formula.tag not in _FORMULAS:
                return False
    return True


def _attributes_ok(element: etree._Element, known: dict[str, frozenset[str] | None]) -> bool:
    """Every attribute known, and one of its allowed values where the descriptor has a set
    (None: any text; "int": digits)."""
    for name, value in element.attrib.items():
        if name not in known:
            return False
        allowed = known[name]
        if allowed == _INT:
            if not str(value).isdigit() or not str(value).isascii():
                return False
        elif allowed is not None and value not in allowed:
            return False
    return True


def _ranges_ok(ref: str) -> bool:
    m = _REF.fullmatch(ref)
    if m is None:
        return False
    min_col, min_row = _column(m[1]), int(m[2])
    max_col, max_row = (_column(m[3]), int(m[4])) if m[3] else (min_col, min_row)
    return min_col <= max_col <= _MAX_COL and min_row <= max_row <= _MAX_ROW


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
