"""The dashboard sheet (the KPIs and the spec's charts over them) and read-only extra sheets
(the team roll-up's per-person table)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from generator.xlsx_formats import (
    NUMBER_FORMATS,
    SheetWriter,
)
from workbook.spec import Chart, Field, Kpi

ExtraCell = str | int | float | dt.date | None


@dataclass(frozen=True)
class ExtraSheet:
    """A read-only table added after the dashboard (the roll-up's per-person sheet).

    kinds: one NUMBER_FORMATS key per column ("text", "count", "money", "percent", ...);
    notes: lines written below the table.
    """

    name: str
    title: str
    header: tuple[str, ...]
    kinds: tuple[str, ...]
    rows: tuple[tuple[ExtraCell, ...], ...]
    notes: tuple[str, ...] = ()
    widths: tuple[float, ...] = ()
    tab_color: str = "#808080"


class DashboardWriter(SheetWriter):
    """The dashboard and extra sheets."""

    def value_of(self, id_: str) -> float | str | None:
        if id_ in self.kpi_values:
            return self.kpi_values[id_]
        v = self.values.get(id_)
        return v if isinstance(v, int | float) else None

    def format_of(self, id_: str) -> str:
        item = self.spec.item(id_)
        if isinstance(item, Kpi):
            return item.format
        assert isinstance(item, Field)
        return item.type

    def dash_cell(self, ws: Any, row: int, col: int, id_: str | None) -> None:
        if id_ is None:
            ws.write_blank(row, col, None, self.fmt(border=1, border_color="#BFBFBF"))
            return
        value = self.value_of(id_)
        ws.write_formula(
            row,
            col,
            f'=IF({id_}="","",{id_})',
            self.kpi_fmt(self.format_of(id_)),
            "" if value is None else value,
        )

    def write_dashboard(self) -> None:
        ws = self.new_sheet(
            self.t("dashboard.sheet"), "#C00000", (16.0, 34.0, 20.0, 16.0, 12.0, 16.0)
        )
        ws.set_landscape()
        ws.set_row(0, 28)
        ws.merge_range(0, 0, 0, 5, self.t("dashboard.title"), self.title_fmt)
        ws.write_string(1, 0, self.t("dashboard.hint"), self.hint_fmt)
        for col, text in enumerate(self.t.list("dashboard.header")):
            ws.write_string(2, col, text, self.header_fmt)
        ws.freeze_panes(3, 2)
        ws.repeat_rows(2)
        row = 3
        shown: set[str] = set()
        for metric in self.spec.metrics:
            ws.write_string(
                row, 0, self.spec.section(metric.section).sheet(self.lang), self.label_fmt
            )
            ws.write_string(row, 1, metric.label(self.lang), self.label_fmt)
            for col, id_ in enumerate(
                (metric.prev, metric.current, metric.change, metric.target), 2
            ):
                self.dash_cell(ws, row, col, id_)
            shown.update(metric.ids)
            row += 1
        for k in self.spec.kpis:
            if k.id in shown:
                continue
            ws.write_string(row, 0, self.spec.section_of(k.id).sheet(self.lang), self.label_fmt)
            ws.write_string(row, 1, k.label(self.lang), self.label_fmt)
            for col in (2, 4, 5):
                self.dash_cell(ws, row, col, None)
            self.dash_cell(ws, row, 3, k.id)
            row += 1
        self.write_charts(ws, row + 1)

    def write_charts(self, ws: Any, row: int) -> None:
        """Each spec chart: a small data block below the KPI table, and a native chart beside it.

        The data block uses the wide metric column for labels (B) and C, D for values.
        """
        sheet = self.t("dashboard.sheet")
        ws.write_string(row, 1, self.t("dashboard.chart_data"), self.sub_fmt)
        row += 1
        anchor_row = 3
        for chart_spec in self.spec.charts:
            if chart_spec.kind == "rates":
                chart, row = self.rates_chart(ws, sheet, row, chart_spec)
            else:
                chart, row = self.points_chart(ws, sheet, row, chart_spec)
            chart.set_title({"name": chart_spec.title(self.lang)})
            height = 420 if chart_spec.kind == "rates" else 340
            chart.set_size({"width": 760, "height": height})
            ws.insert_chart(anchor_row, 7, chart)
            anchor_row += height // 20 + 2  # default rows are 20 px high
            row += 1

    def rates_chart(self, ws: Any, sheet: str, row: int, chart_spec: Chart) -> tuple[Any, int]:
        """Horizontal bars of rates, last period against this one: long metric names read on
        the category axis. Its data block from row; the chart and the next free row."""
        chart = self.wb.add_chart({"type": "bar"})
        ws.write_string(row, 2, self.t("dashboard.prev"), self.header_fmt)
        ws.write_string(row, 3, self.t("dashboard.current"), self.header_fmt)
        row += 1
        first = row
        by_current = {m.current: m for m in self.spec.metrics}
        for current in chart_spec.metrics:
            m = by_current[current]
            ws.write_string(row, 1, m.label(self.lang), self.label_fmt)
            self.dash_cell(ws, row, 2, m.prev)
            self.dash_cell(ws, row, 3, m.current)
            row += 1
        for col, key in ((2, "dashboard.prev"), (3, "dashboard.current")):
            chart.add_series(
                {
                    "name": self.t(key),
                    "categories": [sheet, first, 1, row - 1, 1],
                    "values": [sheet, first, col, row - 1, col],
                }
            )
        chart.set_x_axis({"num_format": "0%", "min": 0, "major_gridlines": {"visible": True}})
        chart.set_y_axis({"reverse": True})  # first metric on top, as in the table
        chart.set_legend({"position": "bottom"})
        return chart, row

    def points_chart(self, ws: Any, sheet: str, row: int, chart_spec: Chart) -> tuple[Any, int]:
        """Columns, one per point of the chart. Its data block from row; the chart and the next
        free row."""
        chart = self.wb.add_chart({"type": "column"})
        first = row
        for point in chart_spec.points:
            ws.write_string(row, 1, point.label(self.lang), self.label_fmt)
            self.dash_cell(ws, row, 2, point.id)
            row += 1
        chart.add_series(
            {
                "name": chart_spec.title(self.lang),
                "categories": [sheet, first, 1, row - 1, 1],
                "values": [sheet, first, 2, row - 1, 2],
                "data_labels": {"value": True, "num_format": "#,##0"},
            }
        )
        chart.set_y_axis({"num_format": "#,##0", "min": 0})
        chart.set_legend({"none": True})
        return chart, row

    def write_extra(self, sheet: ExtraSheet) -> None:
        """A title, a header row and plain values: no inputs, no defined names."""
        widths = sheet.widths or tuple(18.0 for _ in sheet.header)
        ws = self.new_sheet(sheet.name, sheet.tab_color, widths)
        ws.protect("", {"format_columns": True, "format_rows": True, "autofilter": True})
        last_col = max(len(sheet.header) - 1, 1)
        ws.set_row(0, 28)
        ws.merge_range(0, 0, 0, last_col, sheet.title, self.title_fmt)
        for col, text in enumerate(sheet.header):
            ws.write_string(2, col, text, self.header_fmt)
        ws.freeze_panes(3, 1)
        ws.repeat_rows(2)
        row = 3
        for cells in sheet.rows:
            for col, (value, kind) in enumerate(zip(cells, sheet.kinds, strict=True)):
                cell_fmt = self.fmt(
                    border=1,
                    border_color="#BFBFBF",
                    num_format=NUMBER_FORMATS[kind],
                    valign="top",
                    text_wrap=kind == "text",
                )
                if value is None or value == "":
                    ws.write_blank(row, col, None, cell_fmt)
                elif isinstance(value, str):
                    ws.write_string(row, col, value, cell_fmt)
                elif isinstance(value, dt.date):
                    ws.write_datetime(
                        row, col, dt.datetime(value.year, value.month, value.day), cell_fmt
                    )
                else:
                    ws.write_number(row, col, value, cell_fmt)
            row += 1
        if sheet.rows:
            ws.autofilter(2, 0, row - 1, len(sheet.header) - 1)
        row += 1
        for line in sheet.notes:
            if line:
                ws.write_string(row, 0, line)
            row += 1
