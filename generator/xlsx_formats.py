"""What every sheet of the workbook shares: cell formats and colours, number formats, input
cells with their validation, where each id landed (the defined names), and the Addon contract."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from generator.numfmt import limit_text
from generator.preview import PreviewFormula
from workbook import expr
from workbook.calc import compute_kpis
from workbook.i18n import Catalog, catalog
from workbook.report import Report, SentenceChoice
from workbook.spec import Kpi, Section, Spec
from workbook.values import clean_text

NUMBER_FORMATS = {
    "count": "#,##0",
    "money": "#,##0.00",
    "number": "#,##0.00",
    "percent": "0.00%",
    "ratio": "0.00",
    "change": "+0.00%;-0.00%;0.00%",
    "pp": "+0.00;-0.00;0.00",
    "date": "yyyy-mm-dd",
    "text": "@",
}

COLOR_INPUT = "#FFF2CC"
COLOR_INPUT_BORDER = "#BF9000"
COLOR_KPI = "#E2EFDA"
COLOR_KPI_FONT = "#375623"
COLOR_HEADER = "#D9E1F2"
COLOR_SUB = "#EDEDED"
COLOR_MISSING = "#F8CBAD"
# A number typed as text ("126.5万", "412,300"): Excel's formulas skip it. Orange, as Excel's
# "good/bad/neutral" styles do not use it, so it reads apart from red (impossible) and yellow.
COLOR_TEXT_NUMBER = ("#F4B084", "#833C0C")
# A figure larger than the whole it is part of: Excel's own "light red fill, dark red text" for
# an error, its "yellow fill, dark yellow text" for a warning.
COLOR_BREACH = {"error": ("#FFC7CE", "#9C0006"), "warning": ("#FFEB9C", "#9C5700")}

Values = Mapping[str, Any]


class Addon(Protocol):
    """Extra content written into the template's workbook (next period's carried commitments):
    lines on the cover below its meta block, and sheets after the sections. Names it adds to
    `writer.layout` become defined names like the template's own."""

    def cover(self, writer: Any, ws: Any, row: int) -> int:
        """Write on the cover from row; return the next free row."""
        ...

    def sheets(self, writer: Any) -> None:
        """Add sheets after the template's sections (before the dashboard)."""
        ...


@dataclass
class Placements:
    """Where each id landed: id -> (sheet name, row, col) or a range for tables."""

    cells: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    ranges: dict[str, tuple[str, int, int, int, int]] = field(default_factory=dict)


def ref(sheet: str, row: int, col: int) -> str:
    """An absolute reference with the sheet name quoted, as Excel requires for non-ASCII names."""
    return f"'{sheet}'!{xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)}"


class SheetWriter:
    """One workbook being written: its state and the formats and cells every sheet uses."""

    def __init__(
        self,
        spec: Spec,
        lang: str,
        values: Values,
        convert_url: str | None = None,
    ) -> None:
        self.spec = spec
        self.convert_url = convert_url
        self.lang = lang
        self.t: Catalog = catalog(lang)
        self.values = dict(values)
        self.kpi_values = compute_kpis(spec, self.values)
        self.buffer = io.BytesIO()
        self.wb = xlsxwriter.Workbook(
            self.buffer,
            {
                "in_memory": True,
                "default_format_properties": {"font_name": self.t("font.body"), "font_size": 11},
            },
        )
        self.layout = Placements()
        self._review_hinted: set[str] = set()
        self.review_count: dict[str, int] = {}
        self.previews = PreviewFormula(spec, lang)
        self.preview_report = Report(
            spec.id,
            spec.version,
            lang,
            "",
            fields={f.id: self.values.get(f.id) for f in spec.fields},
            kpis=dict(self.kpi_values),
            choices={
                s.id: SentenceChoice(
                    str(self.values.get(s.name) or "auto"), self.values.get(f"{s.name}_text")
                )
                for p in spec.paragraphs
                for s in p.sentences
                if self.values.get(s.name) or self.values.get(f"{s.name}_text")
            },
        )
        self._formats: dict[tuple[tuple[str, Any], ...], Any] = {}

    def fmt(self, **props: Any) -> Any:
        key = tuple(sorted(props.items()))
        if key not in self._formats:
            self._formats[key] = self.wb.add_format(props)
        return self._formats[key]

    def input_fmt(self, kind: str) -> Any:
        return self.fmt(
            bg_color=COLOR_INPUT,
            border=1,
            border_color=COLOR_INPUT_BORDER,
            locked=False,
            num_format=NUMBER_FORMATS[kind],
            valign="top",
            text_wrap=kind == "text",
        )

    def kpi_fmt(self, kind: str) -> Any:
        return self.fmt(
            bg_color=COLOR_KPI,
            font_color=COLOR_KPI_FONT,
            bold=True,
            border=1,
            border_color="#A9D08E",
            num_format=NUMBER_FORMATS[kind],
            valign="top",
        )

    @property
    def title_fmt(self) -> Any:
        return self.fmt(bold=True, font_size=16, font_name=self.t("font.heading"), valign="vcenter")

    @property
    def hint_fmt(self) -> Any:
        return self.fmt(italic=True, font_color="#595959", text_wrap=False)

    @property
    def header_fmt(self) -> Any:
        return self.fmt(bold=True, bg_color=COLOR_HEADER, border=1, valign="vcenter")

    @property
    def sub_fmt(self) -> Any:
        return self.fmt(bold=True, bg_color=COLOR_SUB, font_size=12)

    @property
    def label_fmt(self) -> Any:
        return self.fmt(text_wrap=True, valign="top")

    @property
    def unit_fmt(self) -> Any:
        return self.fmt(valign="top", indent=1)

    @property
    def note_fmt(self) -> Any:
        return self.fmt(text_wrap=True, valign="top", font_color="#595959", font_size=9)

    def new_sheet(self, name: str, color: str, widths: Sequence[float]) -> Any:
        ws = self.wb.add_worksheet(name)
        ws.set_tab_color(color)
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)  # fit the width, as many pages down as needed
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        ws.set_footer("&C&P / &N")
        ws.protect("", {"format_columns": True, "format_rows": True})
        return ws

    def write_input(self, ws: Any, row: int, col: int, kind: str, value: Any) -> None:
        cell_fmt = self.input_fmt(kind)
        if value is None or value == "":
            ws.write_blank(row, col, None, cell_fmt)
        elif kind == "text":
            # XML refuses control characters: a store name pasted with one would corrupt the file
            ws.write_string(row, col, clean_text(str(value))[0], cell_fmt)
        elif kind == "date":
            if isinstance(value, str):
                try:
                    value = dt.date.fromisoformat(value)
                except ValueError:
                    # A deadline kept as typed ("9月底"): the reader keeps such text in a table's
                    # date column, and a team roll-up writes it back as it was read.
                    ws.write_string(row, col, clean_text(value)[0], cell_fmt)
                    return
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                value = dt.datetime(value.year, value.month, value.day)
            ws.write_datetime(row, col, value, cell_fmt)
        elif isinstance(value, str):
            # a number kept as typed ("126.5万"): a text cell, as a person's paste would leave it
            ws.write_string(row, col, clean_text(value)[0], cell_fmt)
        else:
            ws.write_number(row, col, value, cell_fmt)

    def validate(
        self,
        ws: Any,
        row: int,
        col: int,
        kind: str,
        label: str,
        prompt: str,
        lo: float | None,
        hi: float | None,
    ) -> None:
        title = label if len(label) <= 32 else label[:31] + "…"
        options: dict[str, Any] = {
            "input_title": title,
            "input_message": prompt,
            "error_title": self.t("validation.error_title"),
            "error_type": "stop",
        }
        if kind == "count":
            options.update(
                validate="integer", criteria="between", minimum=int(lo or 0), maximum=int(hi or 0)
            )
            message = self.t(
                "validation.integer", min=limit_text(lo or 0, kind), max=limit_text(hi or 0, kind)
            )
        elif kind in ("money", "number", "percent"):
            options.update(validate="decimal", criteria="between", minimum=lo, maximum=hi)
            key = "validation.percent" if kind == "percent" else "validation.decimal"
            message = self.t(key, min=limit_text(lo or 0, kind), max=limit_text(hi or 0, kind))
        elif kind == "date":
            options.update(
                validate="date",
                criteria="between",
                minimum=dt.date(2000, 1, 1),
                maximum=dt.date(2100, 12, 31),
            )
            message = self.t("validation.date")
        else:
            limit = int(hi or 500)
            options.update(validate="length", criteria="<=", value=limit)
            message = self.t("validation.text", max=limit)
        options["error_message"] = message
        ws.data_validation(row, col, row, col, options)

    def section_heading(self, section: Section) -> str:
        if section.kind == "numbered" and section.number is not None:
            numeral = "一二三四五六七八九十"[section.number - 1]
            return (
                f"{numeral}、{section.title(self.lang)}"
                if self.lang == "zh-CN"
                else (f"{section.number}. {section.title(self.lang)}")
            )
        return section.title(self.lang)

    def subsection_heading(self, index: int, title: str, style: str) -> str:
        if style == "list":
            return f"{index}. {title}" if self.lang != "zh-CN" else f"{index}.{title}"
        numeral = "一二三四五六七八九十"[index - 1]
        return f"({numeral}){title}" if self.lang == "zh-CN" else f"({index}) {title}"

    def explain(self, kpi: Kpi) -> str:
        """The KPI's formula in words: field labels with ÷ × + −."""

        def words(node: expr.Node, parent: int = 0, right: bool = False) -> str:
            if isinstance(node, expr.Num):
                return expr.to_excel(node)
            if isinstance(node, expr.Ref):
                return self.spec.item(node.name).label(self.lang)
            if isinstance(node, expr.Neg):
                return "−" + words(node.operand, 3)
            if not isinstance(node, expr.BinOp):  # comparisons and functions: conditions only
                return expr.to_excel(node)
            prec = 1 if node.op in "+-" else 2
            sym = {"+": " + ", "-": " − ", "*": " × ", "/": " ÷ "}[node.op]
            text = words(node.left, prec) + sym + words(node.right, prec, True)
            return f"({text})" if prec < parent or (prec == parent and right) else text

        return self.t("sheet.kpi_note", formula=words(kpi.node))

    @property
    def percent_unit(self) -> str:
        """The unit column of a percentage: the spec's unit for the percent format, else "%"."""
        unit = self.spec.format_units.get("percent")
        return "%" if unit is None else self.spec.unit_text(unit, self.lang)

    def unit_text(self, unit: str | None) -> str:
        return self.spec.unit_text(unit, self.lang)

    def kpi_unit(self, k: Kpi) -> str:
        """The unit column of a KPI: its own unit, else its format's (the spec's format_units);
        a rate shows "%" even when the spec names no unit for it."""
        unit = k.unit or self.spec.format_units.get(k.format)
        if unit is None and k.format in ("percent", "change"):
            return self.percent_unit
        return self.spec.unit_text(unit, self.lang)
