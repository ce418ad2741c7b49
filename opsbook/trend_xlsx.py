"""The trend as an Excel workbook: a table (figures as numbers, changes as live formulas with
their results cached), where each period's figures came from, and an XlsxWriter line chart per
main KPI (the spec's roll-up KPIs) over a block of chart data."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from generator.xlsx_writer import NUMBER_FORMATS
from workbook.i18n import Catalog, catalog

if TYPE_CHECKING:
    from opsbook.trend_view import RowView as Row
    from opsbook.trend_view import TrendView as Trend

FIXED_CREATED = dt.datetime(2026, 1, 1, 0, 0, 0)


@dataclass
class _Sheet:
    """The worksheet being written, its formats and its columns: metric, then each period
    followed by its change on the one before (B, C, E, G, ... and D, F, H, ...)."""

    wb: Any  # xlsxwriter.Workbook
    ws: Any  # its one worksheet
    name: str
    t: Catalog
    n: int
    formats: dict[str, Any]

    @property
    def value_col(self) -> list[int]:
        return [1] + [2 * i for i in range(1, self.n)]

    @property
    def change_col(self) -> list[int]:
        return [c + 1 for c in self.value_col[1:]]


def trend_xlsx(trend: Trend) -> bytes:
    """The trend's workbook, in the trend's language."""
    import xlsxwriter

    t = catalog(trend.lang)
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "default_format_properties": {"font_name": t("font.body"), "font_size": 11},
        },
    )
    wb.set_properties({"title": trend.title, "author": "opsbook", "created": FIXED_CREATED})
    name = t("trend.sheet")
    ws = wb.add_worksheet(name)
    n = len(trend.points)
    ws.set_column(0, 0, 34)
    ws.set_column(1, 2 * n, 15)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    sheet = _Sheet(wb, ws, name, t, n, _formats(wb, t))
    row = _table(sheet, trend)
    row = _sources(sheet, trend, row + 1)
    _charts(sheet, trend, row + 1)
    wb.close()
    return buffer.getvalue()


def _formats(wb: Any, t: Catalog) -> dict[str, Any]:
    """Every cell format, by name (numbers by the workbook writer's own formats)."""
    out = {
        "title": wb.add_format({"bold": True, "font_size": 16, "font_name": t("font.heading")}),
        "hint": wb.add_format({"italic": True, "font_color": "#595959"}),
        "header": wb.add_format(
            {"bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center", "text_wrap": True}
        ),
        "label": wb.add_format({"border": 1, "border_color": "#BFBFBF"}),
    }
    for k, f in NUMBER_FORMATS.items():
        out[f"number:{k}"] = wb.add_format(
            {"num_format": f, "border": 1, "border_color": "#BFBFBF"}
        )
    out["change:pp"] = wb.add_format(
        {"num_format": '+0.00"pp";-0.00"pp";0.00"pp"', "border": 1, "font_color": "#595959"}
    )
    out["change:change"] = wb.add_format(
        {"num_format": NUMBER_FORMATS["change"], "border": 1, "font_color": "#595959"}
    )
    return out


def _table(sheet: _Sheet, trend: Trend) -> int:
    """Title, hint, header and one row per figure; the row after the last."""
    ws, t, f = sheet.ws, sheet.t, sheet.formats
    ws.write_string(0, 0, trend.title, f["title"])
    ws.write_string(1, 0, t("trend.hint"), f["hint"])
    ws.write_string(2, 0, t("trend.metric"), f["header"])
    for i, point in enumerate(trend.points):
        ws.write_string(2, sheet.value_col[i], point.label, f["header"])
        if i:
            ws.write_string(2, sheet.change_col[i - 1], t("trend.change"), f["header"])
    ws.freeze_panes(3, 1)
    row = 3
    for r in trend.rows:
        ws.write_string(row, 0, r.label, f["label"])
        _numbers(sheet, row, sheet.value_col, r)
        _changes(sheet, row, r)
        row += 1
    return row


def _numbers(sheet: _Sheet, row: int, cols: list[int], r: Row) -> None:
    number = sheet.formats[f"number:{r.kind}"]
    for i, value in enumerate(r.values):
        if value is None:
            sheet.ws.write_blank(row, cols[i], None, number)
        else:
            sheet.ws.write_number(row, cols[i], value, number)


def _changes(sheet: _Sheet, row: int, r: Row) -> None:
    """Each change as a live formula, its result cached ("" where it cannot be said)."""
    from xlsxwriter.utility import xl_rowcol_to_cell

    value_col = sheet.value_col
    for i, delta in enumerate(r.changes):
        a = xl_rowcol_to_cell(row, value_col[i])
        b = xl_rowcol_to_cell(row, value_col[i + 1])
        both = f"AND(ISNUMBER({a}),ISNUMBER({b}))"
        if r.in_points:
            formula = f'=IF({both},({b}-{a})*100,"")'
            cell_fmt = sheet.formats["change:pp"]
        else:
            formula = f'=IF({both},IF({a}>0,{b}/{a}-1,""),"")'
            cell_fmt = sheet.formats["change:change"]
        cached = "" if delta is None else delta
        sheet.ws.write_formula(row, sheet.change_col[i], formula, cell_fmt, cached)


def _sources(sheet: _Sheet, trend: Trend, row: int) -> int:
    """Which files each period came from; the row after the last."""
    ws, f = sheet.ws, sheet.formats
    ws.write_string(row, 0, sheet.t("trend.sources"), f["header"])
    row += 1
    for point in trend.points:
        ws.write_string(row, 0, point.label, f["label"])
        ws.write_string(row, 1, ", ".join(point.sources))
        row += 1
    return row


def _charts(sheet: _Sheet, trend: Trend, row: int) -> None:
    """The main KPIs in one contiguous block of chart data, then one line chart per KPI, two
    to a row, below it."""
    ws, f, n = sheet.ws, sheet.formats, sheet.n
    ws.write_string(row, 0, sheet.t("trend.chart_data"), f["header"])
    for i, point in enumerate(trend.points):
        ws.write_string(row, 1 + i, point.label, f["header"])
    labels_row = row
    row += 1
    rows = {r.id: r for r in trend.rows}
    main = trend.main_ids
    data_rows: dict[str, int] = {}
    for id_ in main:
        ws.write_string(row, 0, rows[id_].label, f["label"])
        _numbers(sheet, row, [1 + i for i in range(n)], rows[id_])
        data_rows[id_] = row
        row += 1
    anchor = row + 1
    for index, id_ in enumerate(main):
        r = rows[id_]
        chart = sheet.wb.add_chart({"type": "line"})
        chart.add_series(
            {
                "name": r.label,
                "categories": [sheet.name, labels_row, 1, labels_row, n],
                "values": [sheet.name, data_rows[id_], 1, data_rows[id_], n],
                "marker": {"type": "circle", "size": 6},
                "data_labels": {"value": True, "num_format": _chart_format(r.kind)},
            }
        )
        chart.set_title({"name": r.label, "name_font": {"size": 11}})
        chart.set_legend({"none": True})
        chart.set_y_axis({"num_format": _chart_format(r.kind)})
        chart.set_size({"width": 480, "height": 260})
        ws.insert_chart(anchor + (index // 2) * 14, (index % 2) * 4, chart)


def _chart_format(kind: str) -> str:
    return {"percent": "0.0%", "change": "0.0%", "money": "#,##0", "count": "#,##0"}.get(
        kind, "0.00"
    )
