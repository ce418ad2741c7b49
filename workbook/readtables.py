"""The tables of a workbook (problems, action plan, own metrics), row by row, with the rows
people type right below a table."""

from __future__ import annotations

from typing import Any

from workbook import values as v
from workbook.locate import Missing, Where, cell_address
from workbook.readcells import Cells
from workbook.report import (
    FieldValue,
    Report,
    TableRow,
)
from workbook.shown import TableCell, show
from workbook.spec import FieldType, Table


def read_table(cells: Cells, t: Table, found: Where | Missing, report: Report) -> list[TableRow]:
    if isinstance(found, Missing):
        # Workbooks made before the own-metrics tables existed simply have none.
        if t.kind != "metrics" or found.broken:
            cells.not_found(t, found, False)
        return []
    if found.how == "label":
        cells.note_found_by_label(t, found)
    report.cells[t.id] = found.range_address
    last = cells.typed_below(t, found)
    if last > found.row2:
        below = Where(found.sheet, found.row2 + 1, found.col, last, found.col2, found.how)
        cells.issue(
            "rows_below_table", "info", "trust.rows_below_table", t.id, below.range_address,
            label=t.label, count=last - found.row2,
        )  # fmt: skip
    rows: list[TableRow] = []
    for number, row in enumerate(range(found.row, last + 1), 1):
        values: TableRow = {}
        addresses: dict[str, str] = {}
        for offset, column in enumerate(t.columns):
            col = found.col + offset
            address = cell_address(found.sheet, row, col)
            raw, formula = cells.raw(found, row, col)
            cells.read_cells.add((found.sheet, row, col))
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                values[column.id] = None
                continue
            label = TableCell(t.label, number, column.label)
            values[column.id] = table_cell(
                cells, address, raw, formula, column.type, label, t.id,
                cells.number_format(found, row, col),
            )  # fmt: skip
            addresses[column.id] = address
        if any(x is not None for x in values.values()):
            rows.append(values)
            for column_id, address in addresses.items():
                report.cells[f"{t.id}.{len(rows)}.{column_id}"] = address
    return rows


def table_cell(
    cells: Cells,
    address: str,
    raw: Any,
    formula: bool,
    kind: FieldType,
    label: TableCell,
    id_: str,
    number_format: str = "General",
) -> FieldValue:
    """A table cell: like an input, but a date column keeps text that is not a date."""
    if kind == "date" and not formula:
        period = cells.period()
        parsed = v.parse_date(raw, period.start if period is not None else None)
        if parsed.problem == "not_date" and isinstance(raw, str):
            text = v.parse_value(raw, "text")
            if text.value is not None:
                cells.issue("kept_as_text", "info", "kept_as_text", id_, address, label=label,
                           raw=show(text.value, "text"))  # fmt: skip
                return text.value
    parsed = cells.read_cell(address, raw, formula, kind, label, id_, number_format=number_format)
    return parsed.value
