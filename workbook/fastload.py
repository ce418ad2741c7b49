"""A cheaper openpyxl load of a checked package: what the reader never looks at is left out.

openpyxl spends most of a filled workbook's load on what the reader never reads: merged ranges
(a template has about 230; for each, openpyxl rebuilds the border of every edge cell), data
validations, conditional formats, and its pure-Python parse of the cells. The reader reads
values, formula flags, number formats and cell protection, defined names and properties. So
`load` gives openpyxl a lean copy of the worksheet parts (read in place of the originals from
the same zip, `_Package`), without `<mergeCells>`, `<dataValidations>`,
`<conditionalFormatting>` and the rows of `<sheetData>`; then it binds the rows
(workbook/fastcells.py, with openpyxl's own parsers for every cell shape but the plain ones)
and the merged ranges itself, as openpyxl does but without the borders: the top-left cell of
each range is created if missing and every other cell of it becomes an empty `MergedCell` (so
a value typed under a merge is dropped, as openpyxl drops it, and the sheet's extent is the
same). The shared strings are read by lxml too (fastcells.shared_strings). Everything the
reader can see (cells, values, types, number formats, protection, names, properties) is what a
plain `openpyxl.load_workbook` of the untouched package gives; only the merged cells' borders,
`ws.merged_cells` (plain CellRange objects), `ws.data_validations` and
`ws.conditional_formatting` (empty where taken out) and `ws.row_dimensions` (made, to fail
where openpyxl fails, but not bound) differ. tests/test_fastload.py and
tests/test_fastcells.py compare reports, summaries and cells both ways over the samples, the
test corpus and every cell shape.

The original bytes are untouched: preflight has checked them, and the caller keeps them. An
element is taken out of a part only when openpyxl would read it without error (so a file
openpyxl refuses is still refused): one `<mergeCells>`, a child of the worksheet root, each
range a plain A1:B2 reference inside Excel's grid; `<dataValidations>` children of the root
with only the attributes and values openpyxl's descriptors take; each `<conditionalFormatting>`
with plain ranges and rules of known types with only formulas; the rows, when openpyxl would
meet nothing else in them and binds no merge of its own (all within LEAN_BUDGET). Otherwise the
element stays and openpyxl reads it (and binds those merges and cells) itself. Anything
unexpected on the lean path (a part lxml cannot parse or that is not UTF-8, a sheet that cannot
be matched to its part, cells bound before the rows by a comment or a hyperlink, a conditional
format taken out whose differential style openpyxl did not read from the stylesheet) falls back
to the plain load of the original bytes, so the lean path never decides whether a file is
readable.

openpyxl internals used (openpyxl is bound to 3.1.x in pyproject.toml): `ExcelReader` (what
`load_workbook` is made of), its `archive` and `read_strings`, and its
`parser.find_sheets()`, to match worksheets to their parts as openpyxl did, and
`Worksheet._cells`, where openpyxl itself puts its MergedCells.
"""

from __future__ import annotations

import copy
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import IO, Any, Literal

import openpyxl
from lxml import etree
from openpyxl.cell.cell import MergedCell
from openpyxl.formatting.rule import Rule
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.cell_style import StyleArray
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.cell_range import CellRange, MultiCellRange
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.constants import SHARED_STRINGS

from workbook import fastcells

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
_FORMATTING = f"{_MAIN}conditionalFormatting"
_RULE = f"{_MAIN}cfRule"
_RULE_FORMULA = f"{_MAIN}formula"


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

_RULE_ATTRS: dict[str, frozenset[str] | None] = {
    "type": frozenset(str(v) for v in vars(Rule)["type"].values),
    "operator": _choices(vars(Rule)["operator"]), "timePeriod": _choices(vars(Rule)["timePeriod"]),
    "dxfId": _INT, "priority": _INT, "rank": _INT, "stdDev": _INT, "text": None,
    **dict.fromkeys(("stopIfTrue", "aboveAverage", "percent", "bottom", "equalAverage"), None),
}  # fmt: skip

#: The most worksheet XML (bytes, all parts) made lean, parsed into lxml trees (about 20 times
#: the XML in memory) whose rows are held until bound: a template's sheets are about 0.4 MB; a
#: workbook with a huge table pasted in leaves the rest to openpyxl, whose cells take less.
LEAN_BUDGET = 2 << 20

#: Bounds of a merged range: (min_col, min_row, max_col, max_row).
Bounds = tuple[int, int, int, int]


class _Fallback(Exception):
    """The lean path cannot vouch for this package: load the original instead."""


@dataclass(frozen=True)
class Lean:
    """A lean copy of a package: the original bytes, the parts made lean (by part name, as
    openpyxl names parts: no leading slash), and what was taken out of each."""

    data: bytes  # the original package, untouched
    parts: dict[str, bytes]  # the lean worksheet parts, read in place of the originals
    merges: dict[str, tuple[Bounds, ...]]
    rows: dict[str, list[etree._Element]]  # the `<row>` elements taken out, by part name
    #: How many differential styles the conditional formats taken out of each part name (its
    #: rules' dxfId + 1): openpyxl would look them up, and fail without them.
    styles_needed: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """False: no part was made lean (the plain load is as cheap)."""
        return bool(self.parts)


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
    """The worksheet parts of the package with `<mergeCells>`, `<dataValidations>`,
    `<conditionalFormatting>` and the rows taken out where that is safe, and what was taken
    out. Worksheets are found by their part names ("sheet" in them, as every program names
    them): a worksheet part named otherwise is simply read by openpyxl as it is. An lxml tree
    takes about 20 times its XML in memory (openpyxl's cells much less), and the rows taken
    out stay in memory as trees until they are bound: so only parts of at most LEAN_BUDGET
    bytes in all are made lean, and a bigger workbook's other parts (a huge table pasted in)
    are left to openpyxl."""
    lean = Lean(data, {}, {}, {})
    budget = LEAN_BUDGET
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        for info in zin.infolist():
            if info.is_dir() or "sheet" not in info.filename.lower():
                continue
            if info.file_size > budget:
                continue
            raw = zin.read(info)
            if b"sheetData" not in raw:
                continue
            budget -= len(raw)
            part = _lean_part(raw)
            if part is None:
                continue
            name = info.filename
            lean.parts[name] = part.data
            if part.bounds is not None:
                lean.merges[name] = part.bounds
            if part.rows is not None:
                lean.rows[name] = part.rows
            if part.styles_needed:
                lean.styles_needed[name] = part.styles_needed
    return lean


class _Package(zipfile.ZipFile):
    """The package as openpyxl reads it: the original zip, with the lean parts read in place
    of the originals (no second zip is written)."""

    def __init__(self, lean: Lean) -> None:
        super().__init__(io.BytesIO(lean.data))
        self.lean = lean.parts

    def read(self, name: str | zipfile.ZipInfo, pwd: bytes | None = None) -> bytes:
        part = self.lean.get(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return part if part is not None else super().read(name, pwd)

    def open(
        self, name: str | zipfile.ZipInfo, mode: Literal["r", "w"] = "r", pwd: bytes | None = None,
        *, force_zip64: bool = False,
    ) -> IO[bytes]:  # fmt: skip
        part = self.lean.get(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        if part is not None and mode == "r":
            return io.BytesIO(part)
        return super().open(name, mode, pwd, force_zip64=force_zip64)


@dataclass(frozen=True)
class _LeanPart:
    data: bytes
    bounds: tuple[Bounds, ...] | None  # the merged ranges taken out
    rows: list[etree._Element] | None  # the rows taken out
    styles_needed: int  # differential styles the conditional formats taken out look up


def _lean_part(raw: bytes) -> _LeanPart | None:
    """A worksheet part without its `<mergeCells>`, its `<dataValidations>`, its
    `<conditionalFormatting>` and its rows (workbook/fastcells.py), each taken out only when
    openpyxl would read it without error (a conditional format's differential style is
    checked once openpyxl has read the stylesheet: Lean.styles_needed); None when nothing is
    taken out (the part then goes to openpyxl unchanged, as does a part declaring a DTD or
    in an encoding openpyxl's parser does not read: fastcells.tree)."""
    root = fastcells.tree(raw)
    if root is None or root.tag != _WORKSHEET:
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
    # Each conditional format is read on its own: those openpyxl would read without error
    # are taken out, the others stay for openpyxl.
    styles_needed = 0
    for f in root.iter(_FORMATTING):
        needed = _valid_formatting(f) if f.getparent() is root else None
        if needed is not None:
            remove.append(f)
            styles_needed = max(styles_needed, needed)
    # Rows are bound after openpyxl's load and before the merges: only where openpyxl binds
    # no merge of its own.
    own_merges = bool(merges) and bounds is None
    rows = fastcells.take_rows(root) if not own_merges else None
    if not remove and rows is None:
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
    lean = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return _LeanPart(lean, bounds, rows, styles_needed)


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


def _valid_formatting(element: etree._Element) -> int | None:
    """How many differential styles openpyxl will look up for this `<conditionalFormatting>`
    (its rules' highest dxfId + 1, 0 for none), when openpyxl reads it without error
    (ConditionalFormatting.from_tree): plain ranges, rules of known types and operators with
    only `<formula>` children; None otherwise."""
    if set(element.attrib) - {"sqref", "pivot"}:
        return None
    refs = str(element.get("sqref", "")).split()
    if not refs or not all(_ranges_ok(ref) for ref in refs):
        return None
    needed = 0
    for rule in element:
        if not isinstance(rule.tag, str):
            continue
        if rule.tag != _RULE or not _attributes_ok(rule, _RULE_ATTRS):
            return None
        if "type" not in rule.attrib or "priority" not in rule.attrib:
            return None
        if any(isinstance(f.tag, str) and f.tag != _RULE_FORMULA for f in rule):
            return None
        if "dxfId" in rule.attrib:
            needed = max(needed, int(rule.attrib["dxfId"]) + 1)
    return needed


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


class _ExcelReader(ExcelReader):
    """openpyxl's reader of a lean copy: the lean parts read in place of the originals, and
    the shared strings read by lxml where that gives what openpyxl's own reader gives
    (workbook/fastcells.py)."""

    def __init__(self, lean: Lean, *, data_only: bool) -> None:
        super().__init__(io.BytesIO(lean.data), keep_vba=False, data_only=data_only,
                         keep_links=False)  # fmt: skip
        self.archive.close()  # openpyxl's own zip of the same bytes, replaced
        self.archive = _Package(lean)

    def read_strings(self) -> None:
        ct = self.package.find(SHARED_STRINGS)  # type: ignore[no-untyped-call]
        if ct is None:
            return
        strings = fastcells.shared_strings(self.archive.read(ct.PartName[1:]))
        if strings is None:
            super().read_strings()
        else:
            self.shared_strings = strings


def _load_lean(lean: Lean, *, data_only: bool) -> Workbook:
    """openpyxl's load of the lean copy, then its merged ranges bound as openpyxl binds them,
    without borders."""
    reader = _ExcelReader(lean, data_only=data_only)
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
    # openpyxl looks up the differential style of every conditional format it binds (and
    # fails on a missing one): those taken out need as many as it read from the stylesheet.
    styles: Any = wb._differential_styles  # type: ignore[attr-defined]
    if any(lean.styles_needed.get(part, 0) > len(styles.styles) for part in parts):
        raise _Fallback
    for part, ws in zip(parts, sheets, strict=True):
        assert isinstance(ws, Worksheet)
        rows = lean.rows.pop(part, None)  # each sheet's tree freed once bound
        if rows is not None:
            if ws._cells:
                # Something bound cells before the rows (a comment, a hyperlink): only the
                # plain load gives them as openpyxl does.
                raise _Fallback
            fastcells.bind_rows(ws, rows, reader.shared_strings, data_only)
        if part in lean.merges:
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
