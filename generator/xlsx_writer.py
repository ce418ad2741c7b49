"""Spec -> workbook: write the guided Excel workbook, with live KPI formulas and cached results."""

from __future__ import annotations

import datetime as dt
import io
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from generator.narrative import typeset
from generator.preview import PreviewFormula, preview_text
from workbook import expr
from workbook.calc import NUMERIC_TYPES, compute_kpis
from workbook.i18n import Catalog, catalog
from workbook.report import CHOICES, Report, SentenceChoice
from workbook.spec import Field, Kpi, Section, Sentence, Spec, Table, placeholders
from workbook.values import clean_text

META_SHEET = "_opsbook"
META_NAMES = ("opsbook_template", "opsbook_version", "opsbook_lang")
# Fixed document dates keep the output byte-identical from run to run.
FIXED_CREATED = dt.datetime(2026, 1, 1, 0, 0, 0)

# Column layout of a section sheet: label, value, unit, hint.
COL_LABEL, COL_VALUE, COL_UNIT, COL_HINT = 0, 1, 2, 3
BASE_WIDTHS = (34.0, 18.0, 10.0, 60.0)
FIRST_ROW = 3  # 0-based: rows 0-1 title and hint, row 2 the header

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
class _Layout:
    """Where each id landed: id -> (sheet name, row, col) or a range for tables."""

    cells: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    ranges: dict[str, tuple[str, int, int, int, int]] = field(default_factory=dict)


def ref(sheet: str, row: int, col: int) -> str:
    """An absolute reference with the sheet name quoted, as Excel requires for non-ASCII names."""
    return f"'{sheet}'!{xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)}"


def _fmt_number(value: float, kind: str) -> str:
    if kind == "percent":
        return f"{value * 100:g}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


class _Writer:
    def __init__(
        self,
        spec: Spec,
        lang: str,
        values: Values,
        extra_sheets: Sequence[ExtraSheet] = (),
        addons: Sequence[Addon] = (),
        convert_url: str | None = None,
    ) -> None:
        self.spec = spec
        self.convert_url = convert_url
        self.extra_sheets = tuple(extra_sheets)
        self.addons = tuple(addons)
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
        self.layout = _Layout()
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

    # -- formats ---------------------------------------------------------------------------

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

    # -- common sheet setup ----------------------------------------------------------------

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
                "validation.integer", min=_fmt_number(lo or 0, kind), max=_fmt_number(hi or 0, kind)
            )
        elif kind in ("money", "number", "percent"):
            options.update(validate="decimal", criteria="between", minimum=lo, maximum=hi)
            key = "validation.percent" if kind == "percent" else "validation.decimal"
            message = self.t(key, min=_fmt_number(lo or 0, kind), max=_fmt_number(hi or 0, kind))
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

    # -- section sheets --------------------------------------------------------------------

    def table_widths(self, section: Section) -> list[float]:
        widths = list(BASE_WIDTHS)
        for sub in self.spec.subsections_of(section.id):
            for table in self.spec.tables_of(sub.id):
                for i, column in enumerate(table.columns):
                    if i >= len(widths):
                        widths.append(float(column.width))
                    else:
                        widths[i] = max(widths[i], float(column.width))
        return widths

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

    def write_section(self, section: Section) -> None:
        name = section.sheet(self.lang)
        widths = self.table_widths(section)
        ws = self.new_sheet(name, section.tab_color, widths)
        last_col = max(len(widths) - 1, COL_HINT)
        ws.set_row(0, 28)
        ws.merge_range(0, 0, 0, last_col, self.section_heading(section), self.title_fmt)
        ws.write_string(1, 0, self.t("sheet.hint"), self.hint_fmt)
        headers = self.t.list("sheet.header")
        for col in range(last_col + 1):  # the header band spans any wider table below
            ws.write_string(2, col, headers[col] if col < len(headers) else "", self.header_fmt)
        ws.freeze_panes(FIRST_ROW, 0)
        ws.repeat_rows(2)
        row = FIRST_ROW
        heading_index = 0
        for sub in self.spec.subsections_of(section.id):
            if sub.title is not None:
                heading_index += 1
                text = self.subsection_heading(heading_index, sub.title(self.lang), sub.style)
                ws.merge_range(row, 0, row, last_col, text, self.sub_fmt)
                row += 1
            fields = self.spec.fields_of(sub.id)
            # figures first, then the KPIs computed from them, then free-text notes
            for f in (f for f in fields if not f.note):
                row = self.write_field_row(ws, name, row, f)
            for k in self.spec.kpis_of(sub.id):
                row = self.write_kpi_row(ws, name, row, k)
            for f in (f for f in fields if f.note):
                row = self.write_field_row(ws, name, row, f)
            for table in self.spec.tables_of(sub.id):
                row = self.write_table(ws, name, row, table)
            row += 1  # a blank row between subsections
        # The summary's sentences of this section, below every input: reviewing them moves no
        # input cell (docs/narrative.md).
        for sub in self.spec.subsections_of(section.id):
            row = self.write_review(ws, name, row, sub.id, last_col)

    # -- sentence review rows (docs/narrative.md) ---------------------------------------------

    def sentence_preview(self, sentence: Sentence) -> str:
        """What the summary says for a sentence, its figures shown as 【label】, then the
        template's own wording when there is one."""

        def labelled(text: str) -> str:
            text = typeset(text, self.lang)
            for ph in placeholders(text):
                label = self.spec.item(ph.id).label(self.lang)
                text = text.replace(ph.raw, self.t("narrative.review_figure", label=label), 1)
            return text

        lines = []
        if sentence.variants:
            line = self.t("narrative.review_auto_data", text=labelled(sentence(self.lang)))
            if sentence.conditional:
                line += self.t("narrative.review_variants")
            lines.append(line)
            if sentence.template is not None:
                template = labelled(sentence.template(self.lang))
                lines.append(self.t("narrative.review_template", text=template))
        elif sentence.template is not None:
            template = labelled(sentence.template(self.lang))
            lines.append(self.t("narrative.review_template_only", text=template))
        return "\n".join(lines)

    def write_review(self, ws: Any, sheet: str, row: int, sub_id: str, last_col: int) -> int:
        """One row per summary sentence of the subsection: a drop-down (from the data / template
        wording / drop / rewrite) and the wording, then a row for the person's own sentence.
        Plain cells and data validation only: no macro, the same in Excel, WPS and LibreOffice."""
        sentences = [s for p in self.spec.paragraphs_of(sub_id) for s in p.sentences]
        if not sentences:
            return row
        choices = self.t.list("narrative.choices")
        if sheet not in self._review_hinted:
            self._review_hinted.add(sheet)
            ws.merge_range(row, 0, row, last_col, self.t("narrative.review_title"),
                           self.fmt(bold=True, font_color=COLOR_KPI_FONT))  # fmt: skip
            row += 1
            ws.merge_range(row, 0, row, last_col, self.t("narrative.review_hint"),
                           self.fmt(italic=True, font_color="#595959", text_wrap=True))  # fmt: skip
            ws.set_row(row, 30)
            row += 1
        if sub_title := next(
            (s.title(self.lang) for s in self.spec.subsections if s.id == sub_id and s.title), None
        ):
            ws.merge_range(row, 0, row, last_col, sub_title, self.fmt(bold=True, italic=True))
            row += 1
        for sentence in sentences:
            self.review_count[sheet] = number = self.review_count.get(sheet, 0) + 1
            ws.write_string(
                row, COL_LABEL, self.t("narrative.review_label", n=number),
                self.label_fmt,
            )  # fmt: skip
            chosen = self.values.get(sentence.name)
            index = CHOICES.index(chosen) if chosen in CHOICES else 0
            ws.write_string(row, COL_VALUE, choices[index], self.input_fmt("text"))
            ws.data_validation(
                row, COL_VALUE, row, COL_VALUE,
                {
                    "validate": "list",
                    "source": choices,
                    "input_title": self.t("narrative.choice_prompt_title"),
                    "input_message": self.t("narrative.choice_prompt"),
                    "error_title": self.t("validation.error_title"),
                    "error_message": self.t("narrative.choice_prompt"),
                    "error_type": "stop",
                },
            )  # fmt: skip
            preview = self.sentence_preview(sentence)
            ws.merge_range(row, COL_UNIT, row, last_col, preview, self.note_fmt)
            per_line = 40 if self.lang == "zh-CN" else 80  # characters across unit and hint
            lines = sum(1 + len(line) // per_line for line in preview.split("\n"))
            ws.set_row(row, 12 * max(2, lines))
            self.layout.cells[sentence.name] = (sheet, row, COL_VALUE)
            row += 1
            ws.write_string(row, COL_LABEL, self.t("narrative.review_rewrite"), self.label_fmt)
            ws.merge_range(row, COL_VALUE, row, last_col, "", self.input_fmt("text"))
            self.write_input(ws, row, COL_VALUE, "text", self.values.get(f"{sentence.name}_text"))
            ids: list[str] = []
            for text in sentence.texts("zh-CN"):
                ids.extend(ph.id for ph in placeholders(text) if ph.id not in ids)
            markers = " ".join("{" + i + "}" for i in ids)
            self.validate(ws, row, COL_VALUE, "text", self.t("narrative.review_rewrite"),
                          self.t("narrative.review_rewrite_hint", markers=markers)[:255],
                          None, 500)  # fmt: skip
            ws.set_row(row, 30)
            self.layout.cells[f"{sentence.name}_text"] = (sheet, row, COL_VALUE)
            row += 1
            row = self.write_preview(ws, sheet, row, sentence, last_col)
        return row

    def write_preview(
        self, ws: Any, sheet: str, row: int, sentence: Sentence, last_col: int
    ) -> int:
        """A live preview of the sentence: a formula over the named cells (generator/preview.py)
        whose cached result is the summary's own sentence."""
        choice_cell = xl_rowcol_to_cell(row - 2, COL_VALUE)  # same sheet: no sheet name
        text_cell = xl_rowcol_to_cell(row - 1, COL_VALUE)
        formula = self.previews.formula(sentence, choice_cell, text_cell)
        if formula is None:
            return row
        ws.write_string(row, COL_LABEL, self.t("narrative.review_preview"), self.label_fmt)
        ws.merge_range(row, COL_VALUE, row, last_col, "", self.preview_fmt)
        cached = preview_text(self.spec, self.preview_report, sentence, self.lang)
        ws.write_formula(row, COL_VALUE, formula, self.preview_fmt, cached)
        ws.set_row(row, 15 * max(2, 1 + len(cached) // (60 if self.lang == "zh-CN" else 110)))
        return row + 1

    @property
    def preview_fmt(self) -> Any:
        return self.fmt(text_wrap=True, valign="top", font_color=COLOR_KPI_FONT, bg_color=COLOR_KPI)

    def write_field_row(self, ws: Any, sheet: str, row: int, f: Field) -> int:
        label = f.label(self.lang) + (" *" if f.required else "")
        ws.write_string(row, COL_LABEL, label, self.label_fmt)
        if f.note:
            # Free text gets the width of value, unit and hint; the hint shows as the prompt.
            value = self.values.get(f.id)
            ws.merge_range(row, COL_VALUE, row, COL_HINT, "", self.input_fmt("text"))
            self.write_input(ws, row, COL_VALUE, f.type, value)
            ws.set_row(row, 90)
        elif f.type == "text":
            # Short free text (store, scope, goals) spans value and unit, with room to wrap.
            ws.merge_range(row, COL_VALUE, row, COL_UNIT, "", self.input_fmt("text"))
            self.write_input(ws, row, COL_VALUE, f.type, self.values.get(f.id))
            ws.write_string(row, COL_HINT, f.prompt(self.lang), self.note_fmt)
            limit = f.max or 500
            ws.set_row(row, 15 if limit <= 40 else 30 if limit <= 120 else 60)
        else:
            self.write_input(ws, row, COL_VALUE, f.type, self.values.get(f.id))
            # percentages: the cell shows 12.00%, and the unit column says so too
            unit = self.percent_unit if f.type == "percent" else self.unit_text(f.unit)
            ws.write_string(row, COL_UNIT, unit, self.unit_fmt)
            ws.write_string(row, COL_HINT, f.prompt(self.lang), self.note_fmt)
        self.validate(
            ws, row, COL_VALUE, f.type, f.label(self.lang), f.prompt(self.lang), f.min, f.max
        )
        if f.required:
            ws.conditional_format(
                row,
                COL_VALUE,
                row,
                COL_VALUE,
                {
                    "type": "blanks",
                    "format": self.fmt(bg_color=COLOR_MISSING),
                },
            )
        if f.type in NUMERIC_TYPES:
            fill, font = COLOR_TEXT_NUMBER
            ws.conditional_format(
                row,
                COL_VALUE,
                row,
                COL_VALUE,
                {
                    "type": "formula",
                    "criteria": f"=ISTEXT({xl_rowcol_to_cell(row, COL_VALUE)})",
                    "format": self.fmt(bg_color=fill, font_color=font),
                },
            )
        for c in self.spec.checks:
            if c.part == f.id:
                fill, font = COLOR_BREACH[c.severity]
                ws.conditional_format(
                    row,
                    COL_VALUE,
                    row,
                    COL_VALUE,
                    {
                        "type": "formula",
                        "criteria": f"={c.excel}",
                        "format": self.fmt(bg_color=fill, font_color=font),
                    },
                )
        self.layout.cells[f.id] = (sheet, row, COL_VALUE)
        return row + 1

    def write_kpi_row(self, ws: Any, sheet: str, row: int, k: Kpi) -> int:
        ws.write_string(row, COL_LABEL, "▸ " + k.label(self.lang), self.label_fmt)
        value = self.kpi_values[k.id]
        ws.write_formula(
            row, COL_VALUE, k.formula, self.kpi_fmt(k.format), "" if value is None else value
        )
        unit = self.kpi_unit(k)
        ws.write_string(row, COL_UNIT, unit, self.unit_fmt)
        ws.write_string(row, COL_HINT, self.explain(k), self.note_fmt)
        self.layout.cells[k.id] = (sheet, row, COL_VALUE)
        return row + 1

    @property
    def percent_unit(self) -> str:
        """The unit column of a percentage: the spec's "percent" unit, else "%"."""
        return self.spec.unit_text("percent", self.lang) if "percent" in self.spec.units else "%"

    def unit_text(self, unit: str | None) -> str:
        return self.spec.unit_text(unit, self.lang)

    def kpi_unit(self, k: Kpi) -> str:
        if k.unit is not None:
            return self.spec.unit_text(k.unit, self.lang)
        if k.format in ("percent", "change"):
            return self.percent_unit
        if k.format == "money":
            return self.spec.unit_text("yuan", self.lang)
        if k.format == "ratio":
            return self.spec.unit_text("ratio", self.lang)
        return ""

    def write_table(self, ws: Any, sheet: str, row: int, table: Table) -> int:
        ws.write_string(row, 0, table.label(self.lang), self.fmt(bold=True))
        ws.write_string(row, 1, self.t("sheet.table_hint"), self.hint_fmt)
        row += 1
        for col, column in enumerate(table.columns):
            ws.write_string(row, col, column.label(self.lang), self.header_fmt)
        row += 1
        rows = list(self.values.get(table.id) or [])
        first = row
        # The spec's rows are what a person gets to fill; more rows given (a team roll-up's
        # lists) make the table longer, its defined name covering them all.
        for i in range(max(table.rows, len(rows))):
            data = rows[i] if i < len(rows) else {}
            for col, column in enumerate(table.columns):
                self.write_input(ws, row, col, column.type, data.get(column.id))
                self.validate(
                    ws,
                    row,
                    col,
                    column.type,
                    column.label(self.lang),
                    table.label(self.lang),
                    None,
                    500,
                )
            ws.set_row(row, 30)
            row += 1
        self.layout.ranges[table.id] = (sheet, first, 0, row - 1, len(table.columns) - 1)
        return row

    # -- cover -----------------------------------------------------------------------------

    def filled(self, ids: Sequence[str]) -> int:
        return sum(1 for i in ids if self.values.get(i) not in (None, ""))

    def progress_ids(self, section: Section) -> list[str]:
        return [
            f.id
            for sub in self.spec.subsections_of(section.id)
            for f in self.spec.fields_of(sub.id)
            if not f.note
        ]

    def write_cover_frame(self) -> tuple[Any, int]:
        cover = self.spec.sections[0]
        ws = self.new_sheet(cover.sheet(self.lang), cover.tab_color, (34.0, 22.0, 12.0, 14.0, 40.0))
        ws.set_row(0, 34)
        ws.merge_range(
            0,
            0,
            0,
            4,
            f"{self.spec.title(self.lang)} · {self.t('workbook.suffix')}",
            self.fmt(bold=True, font_size=20, font_color="#1F4E79", valign="vcenter"),
        )
        ws.write_string(
            1,
            0,
            self.t("workbook.subtitle", template=self.spec.id, version=self.spec.version),
            self.hint_fmt,
        )
        row = 3
        ws.write_string(row, 0, self.t("cover.instructions_title"), self.sub_fmt)
        row += 1
        instructions = self.t.list("cover.instructions")
        if self.convert_url:  # the last line names the command; a team server replaces it
            instructions[-1] = self.t("serve.cover_instruction", url=self.convert_url)
        for line in instructions:
            ws.merge_range(row, 0, row, 4, line, self.fmt(text_wrap=True, valign="top"))
            ws.set_row(row, 30 if len(line) > 60 else 18)
            row += 1
        row += 1
        ws.write_string(row, 0, self.t("cover.meta_title"), self.sub_fmt)
        row += 1
        meta = [
            f for sub in self.spec.subsections_of(cover.id) for f in self.spec.fields_of(sub.id)
        ]
        for f in meta:
            ws.write_string(row, 0, f.label(self.lang), self.label_fmt)
            self.write_input(ws, row, 1, f.type, self.values.get(f.id))
            ws.write_string(row, 4, f.prompt(self.lang), self.note_fmt)
            self.validate(ws, row, 1, f.type, f.label(self.lang), f.prompt(self.lang), f.min, f.max)
            self.layout.cells[f.id] = (cover.sheet(self.lang), row, 1)
            row += 1
        return ws, row

    def write_cover_summary(self, ws: Any, row: int) -> None:
        """Store, period and the progress table: formulas over names, written last."""
        for id_ in self.spec.cover_summary:
            ws.write_string(row, 0, self.spec.item(id_).label(self.lang), self.label_fmt)
            value = self.values.get(id_)
            ws.write_formula(
                row,
                1,
                f'=IF({id_}="","",{id_})',
                self.kpi_fmt("text"),
                "" if value in (None, "") else clean_text(str(value))[0],
            )
            row += 1
        row += 1
        ws.write_string(row, 0, self.t("cover.progress_title"), self.sub_fmt)
        row += 1
        for col, text in enumerate(self.t.list("cover.progress_header")):
            ws.write_string(row, col, text, self.header_fmt)
        row += 1
        first = row
        total_filled = total_all = 0
        for section in self.spec.sections:
            ids = self.progress_ids(section)
            if section.kind == "cover" or not ids:
                continue
            filled = self.filled(ids)
            total_filled += filled
            total_all += len(ids)
            ws.write_string(row, 0, self.section_heading(section), self.label_fmt)
            ws.write_formula(row, 1, f"=COUNTA({','.join(ids)})", self.kpi_fmt("count"), filled)
            ws.write_number(row, 2, len(ids), self.fmt(num_format="#,##0"))
            ws.write_formula(
                row,
                3,
                f"=IFERROR(B{row + 1}/C{row + 1},0)",
                self.kpi_fmt("percent"),
                filled / len(ids),
            )
            row += 1
        ws.write_string(row, 0, self.t("cover.progress_total"), self.fmt(bold=True))
        ws.write_formula(row, 1, f"=SUM(B{first + 1}:B{row})", self.kpi_fmt("count"), total_filled)
        ws.write_formula(
            row, 2, f"=SUM(C{first + 1}:C{row})", self.fmt(bold=True, num_format="#,##0"), total_all
        )
        ws.write_formula(
            row,
            3,
            f"=IFERROR(B{row + 1}/C{row + 1},0)",
            self.kpi_fmt("percent"),
            total_filled / total_all if total_all else 0,
        )
        ws.conditional_format(
            first,
            3,
            row,
            3,
            {
                "type": "data_bar",
                "bar_color": "#70AD47",
                "bar_solid": True,
                "min_type": "num",
                "min_value": 0,
                "max_type": "num",
                "max_value": 1,
            },
        )
        row += 2
        required = [f.id for f in self.spec.fields if f.required]
        left = len(required) - self.filled(required)
        ws.write_string(row, 0, self.t("cover.required_left"), self.fmt(bold=True))
        ws.write_formula(
            row, 1, f"={len(required)}-COUNTA({','.join(required)})", self.kpi_fmt("count"), left
        )
        self.flag_above_zero(ws, row, 1, self.fmt(bg_color=COLOR_MISSING))
        errors = [c for c in self.spec.checks if c.severity == "error"]
        if errors:
            row += 1
            breaches = sum(1 for c in errors if c.breached(self.values))
            ws.write_string(
                row, 0, self.t("cover.checks_failed"), self.fmt(bold=True, valign="top")
            )
            # TRUE + FALSE adds up to a number in Excel, WPS and LibreOffice alike.
            count = "+".join(f"({c.excel})" for c in errors)
            ws.write_formula(row, 1, f"={count}", self.kpi_fmt("count"), breaches)
            ws.write_string(row, 4, self.t("cover.checks_hint"), self.note_fmt)
            ws.set_row(row, 48)  # room for the wrapped hint beside the count
            fill, font = COLOR_BREACH["error"]
            self.flag_above_zero(ws, row, 1, self.fmt(bg_color=fill, font_color=font))
        self.write_text_numbers(ws, row + 1)
        ws.activate()

    def write_text_numbers(self, ws: Any, row: int) -> None:
        """How many figures are typed as text, which the workbook's formulas skip: each is
        orange on its sheet; the hint says what to type instead."""
        numeric = [f for f in self.spec.fields if f.type in NUMERIC_TYPES]
        count = sum(1 for f in numeric if isinstance(self.values.get(f.id), str))
        ws.write_string(row, 0, self.t("trust.text_numbers"), self.fmt(bold=True, valign="top"))
        # TRUE + FALSE adds up to a number in Excel, WPS and LibreOffice alike.
        formula = "+".join(f"ISTEXT({f.id})" for f in numeric)
        ws.write_formula(row, 1, f"={formula}", self.kpi_fmt("count"), count)
        ws.write_string(row, 4, self.t("trust.text_numbers_hint"), self.note_fmt)
        ws.set_row(row, 60)
        fill, font = COLOR_TEXT_NUMBER
        self.flag_above_zero(ws, row, 1, self.fmt(bg_color=fill, font_color=font))

    @staticmethod
    def flag_above_zero(ws: Any, row: int, col: int, cell_format: Any) -> None:
        """Colour a count on the cover while it is above zero (something left to fix)."""
        rule = {"type": "cell", "criteria": ">", "value": 0, "format": cell_format}
        ws.conditional_format(row, col, row, col, rule)

    # -- dashboard -------------------------------------------------------------------------

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
                # horizontal bars: long metric names read on the category axis
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
                chart.set_x_axis(
                    {"num_format": "0%", "min": 0, "major_gridlines": {"visible": True}}
                )
                chart.set_y_axis({"reverse": True})  # first metric on top, as in the table
                chart.set_legend({"position": "bottom"})
            else:
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
            chart.set_title({"name": chart_spec.title(self.lang)})
            height = 420 if chart_spec.kind == "rates" else 340
            chart.set_size({"width": 760, "height": height})
            ws.insert_chart(anchor_row, 7, chart)
            anchor_row += height // 20 + 2  # default rows are 20 px high
            row += 1

    # -- extra sheets ----------------------------------------------------------------------

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

    # -- metadata and names ----------------------------------------------------------------

    def write_meta(self) -> None:
        ws = self.wb.add_worksheet(META_SHEET)
        for row, (name, value) in enumerate(
            zip(META_NAMES, (self.spec.id, self.spec.version, self.lang), strict=True)
        ):
            ws.write_string(row, 0, name)
            if isinstance(value, int):
                ws.write_number(row, 1, value)
            else:
                ws.write_string(row, 1, value)
            self.wb.define_name(name, f"={ref(META_SHEET, row, 1)}")
        ws.protect()
        ws.very_hidden()
        for name, value in zip(
            META_NAMES, (self.spec.id, self.spec.version, self.lang), strict=True
        ):
            self.wb.set_custom_property(name, value)

    def define_names(self) -> None:
        for id_, (sheet, row, col) in sorted(self.layout.cells.items()):
            self.wb.define_name(id_, f"={ref(sheet, row, col)}")
        for id_, (sheet, r1, c1, r2, c2) in sorted(self.layout.ranges.items()):
            a = xl_rowcol_to_cell(r1, c1, row_abs=True, col_abs=True)
            b = xl_rowcol_to_cell(r2, c2, row_abs=True, col_abs=True)
            self.wb.define_name(id_, f"='{sheet}'!{a}:{b}")

    def build(self) -> bytes:
        self.wb.set_properties(
            {
                "title": f"{self.spec.title(self.lang)} · {self.t('workbook.suffix')}",
                "subject": self.spec.id,
                "author": clean_text(str(self.values.get("author") or "opsbook"))[0],
                "company": "",
                "comments": self.t(
                    "workbook.subtitle", template=self.spec.id, version=self.spec.version
                ),
                "created": FIXED_CREATED,
            }
        )
        cover_ws, cover_row = self.write_cover_frame()
        for addon in self.addons:
            cover_row = addon.cover(self, cover_ws, cover_row)
        for section in self.spec.sections:
            if section.kind != "cover":
                self.write_section(section)
        for addon in self.addons:
            addon.sheets(self)
        self.write_dashboard()
        for extra in self.extra_sheets:
            self.write_extra(extra)
        self.write_cover_summary(cover_ws, cover_row + 1)
        self.write_meta()
        self.define_names()
        self.wb.close()
        return self.buffer.getvalue()


def build_workbook(
    spec: Spec,
    lang: str,
    values: Values | None = None,
    *,
    extra_sheets: Sequence[ExtraSheet] = (),
    addons: Sequence[Addon] = (),
    convert_url: str | None = None,
) -> bytes:
    """The workbook as bytes: same spec, language and values give the same bytes.

    extra_sheets: read-only tables appended after the dashboard (e.g. the roll-up's per-person
    sheet); the template's own sheets, names and formulas are unchanged by them.
    addons: content on the cover and sheets after the sections (generator/targets.py).
    convert_url: the web page (opsbook serve) the cover names as the way to the summary.
    """
    return _Writer(spec, lang, values or {}, extra_sheets, addons, convert_url).build()


def numeric_field_ids(spec: Spec) -> tuple[str, ...]:
    return tuple(f.id for f in spec.fields if f.type in NUMERIC_TYPES)


# Shared by the threads of a process; filled under _STATIC_LOCK, which also keeps
# warnings.catch_warnings (process-wide state) to one thread at a time here.
_STATIC: dict[tuple[int, str], frozenset[str]] = {}
_STATIC_LOCK = threading.Lock()


def static_values(spec: Spec, lang: str) -> frozenset[str]:
    """What the generator itself writes into a blank workbook of this language: every text and
    number outside formulas, normalized as labels. A filled cell holding one of them was not
    typed by a person (workbook.reader's unread check)."""
    key = (id(spec), lang)  # the spec is read once per process
    with _STATIC_LOCK:
        if key not in _STATIC:
            _STATIC[key] = _static_values(spec, lang)
        return _STATIC[key]


def _static_values(spec: Spec, lang: str) -> frozenset[str]:
    from openpyxl import load_workbook

    from workbook.reader import normalize_label

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # extensions openpyxl does not model (data bars)
        wb = load_workbook(io.BytesIO(build_workbook(spec, lang)))
    values = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None and cell.data_type != "f":
                    values.add(normalize_label(str(cell.value)))
    wb.close()
    return frozenset(values)
