"""A worksheet's cells bound from its `<sheetData>` as openpyxl binds them, parsed by lxml, and
the shared strings read the same way.

openpyxl reads a worksheet part with the pure-Python tree builder of defusedxml (one Python
call per element) and then parses each cell in Python. workbook/fastload.py takes the `<row>`
elements out of the lean copy it gives openpyxl (so openpyxl reads the rest of the part:
formats, protection, views...), and this module binds them afterwards from the tree lxml has
already built, with openpyxl's own row parser (`WorkSheetParser.parse_row`: row numbers, cells
without a reference) and openpyxl's own cell parser for every cell that is not one of the plain
shapes below. The plain shapes (a number, a shared or formula string, a boolean or an error
value, a plain formula, each with a reference like B12 and an optional style index) are parsed
here with the same steps as openpyxl's `parse_cell`, without its per-cell regular expression
and without a dict per cell. The cells are what `WorksheetReader.bind_cells` gives; the row
dimensions (heights, hidden rows) are made as `bind_row_dimensions` makes them, so that a file
openpyxl refuses for a bad one is refused alike, but not bound (the reader never looks at
them). Only UTF-8 parts are
parsed here (`tree`): expat, under openpyxl, refuses multi-byte encodings such as GBK that lxml
reads. tests/test_fastcells.py compares both ways, cell by cell.

openpyxl internals used (bound to 3.1.x in pyproject.toml): `WorkSheetParser` and its
`parse_row` / `parse_cell` / `_cast_number`, `Worksheet._cells` and `_current_row`, and
`Workbook._cell_styles`, `_date_formats`, `_timedelta_formats`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from lxml import etree
from openpyxl.cell.cell import Cell
from openpyxl.cell.text import Text
from openpyxl.utils.cell import column_index_from_string
from openpyxl.worksheet import _reader as ws_reader
from openpyxl.worksheet.dimensions import RowDimension
from openpyxl.worksheet.worksheet import Worksheet

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
ROW = f"{_MAIN}row"
SHEET_DATA = f"{_MAIN}sheetData"
_CELL = f"{_MAIN}c"
_VALUE = f"{_MAIN}v"
_FORMULA = f"{_MAIN}f"
_STRING = f"{_MAIN}si"
_TEXT = f"{_MAIN}t"
#: Elements openpyxl's worksheet parser acts on wherever they are in the part: a `<sheetData>`
#: holding one of them is left to openpyxl.
_ACTED_ON = frozenset(
    getattr(ws_reader, name)
    for name in dir(ws_reader)
    if name.endswith("_TAG") and name not in ("CELL_TAG", "VALUE_TAG", "FORMULA_TAG")
)
_ACTED_IN_ROWS = tuple(_ACTED_ON - {ROW, SHEET_DATA})
#: The encodings a part is parsed here in: what Excel, WPS and LibreOffice write. A part in
#: any other (one expat refuses, or one where its codec and libxml2's might differ) is left
#: to openpyxl.
_ENCODINGS = frozenset({"utf-8", "utf8"})
_PLAIN_ROW = frozenset({"r", "spans"})  # a row's attributes that make no row dimension
_PLAIN_TYPES = frozenset({"n", "s", "str", "b", "e"})


def take_rows(root: etree._Element) -> list[etree._Element] | None:
    """The `<row>` elements of a worksheet part's one `<sheetData>`, taken out of it, when
    openpyxl would meet them nowhere else; None (the part unchanged) otherwise."""
    data = [child for child in root if child.tag == SHEET_DATA]
    if len(data) != 1 or len(list(root.iter(SHEET_DATA))) != 1:
        return None
    rows = list(data[0])
    if any(row.tag != ROW for row in rows) or len(list(root.iter(ROW))) != len(rows):
        return None
    # A comment or processing instruction (openpyxl's parser never sees them, lxml's tree
    # keeps them among the cells) or an element openpyxl acts on wherever it is; rows and
    # sheetData inside a row are counted above. One pass, in lxml.
    for _ in data[0].iter(etree.Comment, etree.ProcessingInstruction, *_ACTED_IN_ROWS):
        return None
    data[0][:] = []
    data[0].text = None
    return rows


def bind_rows(
    ws: Worksheet, rows: Sequence[etree._Element], shared_strings: Sequence[Any], data_only: bool
) -> None:
    """Bind the cells of the rows taken out of a worksheet part to ws, as openpyxl's
    WorksheetReader binds the cells it parses; ws holds no cell yet."""
    wb: Any = ws.parent  # openpyxl's private attributes are not in its type stubs
    parser: Any = ws_reader.WorkSheetParser(
        None,  # type: ignore[arg-type] # no source: the rows come parsed
        shared_strings, data_only, wb.epoch, wb._date_formats, wb._timedelta_formats, False,
    )  # fmt: skip
    parser.parse_cell = _fast_cell(parser)
    styles = wb._cell_styles
    cells: dict[tuple[int, int], Any] = ws._cells
    parse_cell = parser.parse_cell
    for element in rows:
        number = element.get("r")
        if number is not None and number.isdigit() and number.isascii() \
                and set(element.attrib) <= _PLAIN_ROW:  # fmt: skip
            # parse_row's steps for a row with a plain number and no dimensions
            parser.row_counter, parser.col_counter = int(number), 0
            parsed = [parse_cell(c) for c in element]
        else:
            parsed = parser.parse_row(element)[1]
        for row, column, value, data_type, style_id in parsed:
            cell: Any = Cell(ws, row=row, column=column, style_array=styles[style_id])
            cell._value = value
            cell.data_type = data_type
            cells[(row, column)] = cell
    if cells:
        ws._current_row = ws.max_row  # type: ignore[attr-defined]
    # WorksheetReader.bind_row_dimensions makes a RowDimension of each row with heights, a
    # style, hidden or outline flags. The reader never looks at them, but openpyxl fails on a
    # bad one (a missing style, a height that is not a number), and so must this: each set of
    # attributes is made once (a plain row number cannot fail), none is bound.
    seen: set[frozenset[tuple[str, str]]] = set()
    for attrs in parser.row_dimensions.values():
        number = attrs.get("r", "")
        key = frozenset((k, v) for k, v in attrs.items() if k != "r")
        plain = number.isdigit() and number.isascii()
        if plain and key in seen:
            continue
        if "s" in attrs:
            attrs["s"] = styles[int(attrs["s"])]
        RowDimension(ws, **attrs)
        if plain:
            seen.add(key)


def tree(raw: bytes) -> etree._Element | None:
    """A part's XML parsed by lxml, or None: not well-formed, or declaring a DTD or entities
    (such a part must reach openpyxl's defusedxml as it is, the second line of defence behind
    preflight, not lose its declaration on the way through lxml)."""
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError:
        return None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        return None
    if (docinfo.encoding or "").lower().replace("_", "-") not in _ENCODINGS:
        return None  # openpyxl's expat parser refuses GBK, Shift_JIS and the like
    return root


def shared_strings(raw: bytes) -> list[str] | None:
    """The shared strings table as openpyxl's `read_string_table` reads it (each string's text
    runs joined, phonetic runs left out, "x005F_" escapes dropped); None when the part is not
    one whose every string this can vouch for (openpyxl's reader then reads it)."""
    root = tree(raw)
    if root is None:
        return None
    for _ in root.iter(etree.Comment, etree.ProcessingInstruction):
        return None  # expat drops them and joins the text around them; lxml keeps them
    if len(list(root.iter(_STRING))) != len(root) or any(si.tag != _STRING for si in root):
        return None
    strings: list[str] = []
    for si in root:
        if len(si) == 1 and si[0].tag == _TEXT:
            text = si[0].text or ""
        else:
            found: Any = Text.from_tree(si)  # type: ignore[arg-type] # lxml's element
            text = found.content
        strings.append(text.replace("x005F_", ""))
    return strings


Parsed = tuple[int, int, Any, str, Any]


def _fast_cell(parser: Any) -> Callable[[etree._Element], Parsed]:
    """parser.parse_cell for the plain shapes, openpyxl's own for the rest; a tuple, not a
    dict, either way."""
    slow = ws_reader.WorkSheetParser.parse_cell.__get__(parser)
    data_only = parser.data_only
    date_formats = parser.date_formats
    strings = parser.shared_strings
    cast = ws_reader._cast_number  # type: ignore[attr-defined]

    def parse_cell(element: etree._Element) -> Parsed:
        attrs = element.attrib
        coordinate = attrs.get("r")
        data_type = attrs.get("t", "n")
        style = attrs.get("s")
        split = _split(coordinate) if coordinate is not None else None
        if (
            split is None
            or element.tag != _CELL
            or data_type not in _PLAIN_TYPES
            or (style is not None and not (style.isdigit() and style.isascii()))
        ):
            return _as_tuple(slow(element))
        style_id: Any = int(style) if style else 0
        row, column = split
        value: Any = None
        seen = False  # the first <v> counts, as for findtext, even when empty
        formula = None
        for child in element:
            tag = child.tag
            if tag == _VALUE:
                if not seen:
                    value, seen = child.text, True
            elif tag == _FORMULA:
                if formula is None:
                    formula = child
            else:
                return _as_tuple(slow(element))
        if formula is not None and formula.attrib:
            return _as_tuple(slow(element))  # shared, array or data-table formulas
        parser.col_counter = column
        value = value or None
        if not data_only and formula is not None:
            text = formula.text
            return row, column, "=" if text is None else "=" + text, "f", style_id
        if value is not None:
            if data_type == "n":
                if style_id in date_formats:
                    return _as_tuple(slow(element))  # a date or a time
                value = cast(value)
            elif data_type == "s":
                value = strings[int(value)]
            elif data_type == "b":
                value = bool(int(value))
            elif data_type == "str":
                data_type = "s"
        return row, column, value, data_type, style_id

    return parse_cell


def _as_tuple(cell: dict[str, Any]) -> Parsed:
    return cell["row"], cell["column"], cell["value"], cell["data_type"], cell["style_id"]


_PLAIN_REFERENCE = re.compile(r"([A-Z]{1,3})([1-9][0-9]*)")
#: Coordinates already split: the same few thousand recur in every workbook of a template.
_SPLIT: dict[str, tuple[int, int]] = {}
_SPLIT_MAX = 1 << 16


def _split(coordinate: str) -> tuple[int, int] | None:
    """(row, column) of a plain reference (B12: capital letters, then a row without leading
    zeros), as openpyxl's coordinate_to_tuple gives it; None for anything else."""
    found = _SPLIT.get(coordinate)
    if found is not None:
        return found
    m = _PLAIN_REFERENCE.fullmatch(coordinate)
    if m is None:
        return None
    found = int(m[2]), column_index_from_string(m[1])
    if len(_SPLIT) < _SPLIT_MAX:
        _SPLIT[coordinate] = found
    return found
