"""Where each item of the spec is in a workbook: by its defined name first, else by its label
in column A (the sheet layout contract, workbook/layout.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from openpyxl.utils.cell import column_index_from_string, get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from workbook.i18n import LANGS
from workbook.layout import COL_LABEL, COL_VALUE, META_NAMES, TABLE_DATA_OFFSET, normalize_label
from workbook.spec import Field, Kpi, Spec, Table

# A reference in a defined name: optional sheet (quoted or not), a cell or a range.
_REF = re.compile(
    r"^=?(?:(?:'(?P<quoted>(?:[^']|'')+)'|(?P<plain>[^'!:]+))!)?"
    r"\$?(?P<c1>[A-Za-z]{1,3})\$?(?P<r1>\d+)(?::\$?(?P<c2>[A-Za-z]{1,3})\$?(?P<r2>\d+))?$"
)


@dataclass(frozen=True)
class Where:
    """A cell or range found in the workbook, and how it was found."""

    sheet: str
    row: int
    col: int
    row2: int
    col2: int
    how: Literal["name", "label"]

    @property
    def address(self) -> str:
        return cell_address(self.sheet, self.row, self.col)

    @property
    def coordinate(self) -> str:
        return f"{get_column_letter(self.col)}{self.row}"

    @property
    def range_address(self) -> str:
        if (self.row2, self.col2) == (self.row, self.col):
            return self.address
        return f"{self.address}:{get_column_letter(self.col2)}{self.row2}"


@dataclass(frozen=True)
class Missing:
    """An item that could not be found: no name and no label, or a name pointing at #REF!."""

    broken: bool  # the name exists but points at a deleted sheet or cell
    target: str = ""


MAX_ROW, MAX_COL = 1_048_576, 16_384  # Excel's last row and column (XFD)


def cell_address(sheet: str, row: int, col: int) -> str:
    """ "sheet!B12", as a user finds it in Excel."""
    return f"{sheet}!{get_column_letter(col)}{row}"


def parse_reference(text: str) -> tuple[str | None, int, int, int, int] | None:
    """(sheet or None, row, col, row2, col2) of a defined name's reference; None if it is not a
    plain cell or range (a constant, a formula, an error such as #REF!)."""
    m = _REF.match(text.strip())
    if m is None:
        return None
    sheet = m.group("quoted")
    sheet = sheet.replace("''", "'") if sheet is not None else m.group("plain")
    try:
        r1, c1 = int(m.group("r1")), column_index_from_string(m.group("c1").upper())
        if m.group("c2"):
            r2, c2 = int(m.group("r2")), column_index_from_string(m.group("c2").upper())
        else:
            r2, c2 = r1, c1
    except ValueError:  # a column past XFD
        return None
    # Excel's grid: a name pointing outside it (row 0, row 1048577) is as broken as #REF!
    if not all(1 <= r <= MAX_ROW for r in (r1, r2)) or not all(1 <= c <= MAX_COL for c in (c1, c2)):
        return None
    return sheet, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


class Locator:
    """An opened workbook's defined names, sheets and labels, and the cells they lead to."""

    def __init__(self, spec: Spec, wb: Workbook) -> None:
        self.spec = spec
        self.wb = wb
        self.names = self._collect_names()
        self.worksheets = {ws.title: ws for ws in wb.worksheets if isinstance(ws, Worksheet)}
        self._labels: dict[str, list[tuple[int, str, int]]] | None = None
        self._template_labels: tuple[frozenset[str], frozenset[str]] | None = None

    def _collect_names(self) -> dict[str, tuple[str, str | None]]:
        """Lower-case name -> (reference text, scope sheet); workbook names win over sheet ones."""
        names: dict[str, tuple[str, str | None]] = {}
        for ws in self.wb.worksheets:
            for name, dn in ws.defined_names.items():
                names.setdefault(name.lower(), (dn.attr_text or "", ws.title))
        for name, dn in self.wb.defined_names.items():
            names[name.lower()] = (dn.attr_text or "", None)
        return names

    def by_name(self, name: str) -> Where | Missing | None:
        """The cell or range a defined name points at; Missing(broken) for #REF! or a sheet that
        no longer exists; None when there is no such name."""
        entry = self.names.get(name.lower())
        if entry is None:
            return None
        text, scope = entry
        if "#REF!" in text.upper():
            return Missing(broken=True, target=text)
        ref = parse_reference(text)
        if ref is None:
            return Missing(broken=True, target=text)
        sheet, r1, c1, r2, c2 = ref
        sheet = sheet if sheet is not None else scope
        if sheet is None or sheet not in self.worksheets:
            return Missing(broken=True, target=text)
        return Where(sheet, r1, c1, r2, c2, "name")

    def _label_index(self) -> dict[str, list[tuple[int, str, int]]]:
        """Normalized column-A text -> [(sheet index, sheet, row)], built on first need."""
        if self._labels is None:
            self._labels = {}
            for index, ws in enumerate(self.worksheets.values()):
                for (cell,) in ws.iter_rows(min_col=1, max_col=1):
                    if isinstance(cell.value, str) and cell.value.strip():
                        key = normalize_label(cell.value)
                        self._labels.setdefault(key, []).append((index, ws.title, cell.row))
            for hits in self._labels.values():
                hits.sort()
        return self._labels

    def by_label(self, item: Field | Kpi | Table) -> tuple[str, int] | None:
        """(sheet, row) of the row labelled like the item, preferring the item's own sheet and,
        for inputs, rows whose column B is not a formula."""
        index = self._label_index()
        hits = {h for text in (item.label.zh_cn, item.label.en)
                for h in index.get(normalize_label(text), [])}  # fmt: skip
        if not hits:
            return None
        section = self.spec.section_of(item.id)
        own = {section.sheet.zh_cn, section.sheet.en}

        def rank(hit: tuple[int, str, int]) -> tuple[int, int, int, int]:
            sheet_index, sheet, row = hit
            value = self.sheet(sheet).cell(row, COL_VALUE + 1)
            formula = isinstance(item, Field) and value.data_type == "f"
            return (sheet not in own, formula, sheet_index, row)

        _, sheet, row = min(hits, key=rank)
        return sheet, row

    def locate(self, item: Field | Kpi | Table) -> Where | Missing:
        found = self.by_name(item.id)
        if isinstance(found, Where) or (found is not None and "#REF!" in found.target.upper()):
            return found
        # No name, or a name pointing at a sheet that is gone: look for the row's label.
        hit = self.by_label(item)
        if hit is None:
            return found if found is not None else Missing(broken=False)
        sheet, row = hit
        if isinstance(item, Table):
            first = row + TABLE_DATA_OFFSET
            last = first + item.rows - 1
            # A table may be longer than the spec's rows (a team roll-up's merged list): read
            # on while the next row holds something.
            ws, width = self.sheet(sheet), len(item.columns)
            while last < ws.max_row and any(
                ws.cell(last + 1, c).value not in (None, "") for c in range(1, width + 1)
            ):
                last += 1
            return Where(sheet, first, COL_LABEL + 1, last, width, "label")
        return Where(sheet, row, COL_VALUE + 1, row, COL_VALUE + 1, "label")

    def sheet(self, name: str) -> Worksheet:
        return self.worksheets[name]

    def raw(self, where: Where, row: int | None = None, col: int | None = None) -> tuple[Any, bool]:
        """(value, is formula) of a cell: formula text for formulas, as openpyxl gives them."""
        cell = self.sheet(where.sheet).cell(row or where.row, col or where.col)
        value = cell.value
        if cell.data_type == "f" and not isinstance(value, str):
            value = str(getattr(value, "text", value))  # array or data-table formulas
        return value, cell.data_type == "f"

    def number_format(self, where: Where, row: int | None = None, col: int | None = None) -> str:
        """The cell's number format ("0%", "General", ...)."""
        cell = self.sheet(where.sheet).cell(row or where.row, col or where.col)
        return str(cell.number_format or "General")

    def typed_below(self, t: Table, found: Where) -> int:
        """The last row of the table as typed: rows typed right below its range (where the
        sheet has no input cells) belong to it, up to the first empty row or template row."""
        ws = self.sheet(found.sheet)
        last = found.row2
        width = len(t.columns)
        while last < ws.max_row:
            cells = [ws.cell(last + 1, found.col + c) for c in range(width)]
            if not any(c.value not in (None, "") and str(c.value).strip() for c in cells):
                break
            if any(c.data_type == "f" for c in cells) or self.is_template_row(cells[0].value):
                break
            last += 1
        return last

    def is_template_row(self, first: object) -> bool:
        """Column A holds what the generator writes: a label, a heading, a table's title."""
        if not isinstance(first, str) or not first.strip():
            return False
        text = normalize_label(first)
        if self._template_labels is None:
            spec = self.spec
            items: list[Field | Kpi | Table] = [*spec.fields, *spec.kpis, *spec.tables]
            labels = frozenset(normalize_label(x.label(lang)) for lang in LANGS for x in items)
            texts = [s.title for s in spec.sections] + [s.title for s in spec.subsections]
            titles = frozenset(
                normalize_label(title(lang))
                for lang in LANGS
                for title in texts
                if title is not None
            )
            self._template_labels = (labels, titles)
        known, titles = self._template_labels
        return text in known or any(title and title in text for title in titles)

    def meta(self) -> dict[str, object]:
        found: dict[str, object] = {}
        for name in META_NAMES:
            where = self.by_name(name)
            if isinstance(where, Where):
                value = self.sheet(where.sheet).cell(where.row, where.col).value
                if value not in (None, ""):
                    found[name] = value
        if len(found) < len(META_NAMES):
            props = getattr(self.wb, "custom_doc_props", None)  # not in the type stubs
            for prop in getattr(props, "props", ()):
                if prop.name in META_NAMES and prop.name not in found:
                    found[prop.name] = prop.value
        return found
