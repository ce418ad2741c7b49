"""Spec -> workbook: write the guided Excel workbook, with live KPI formulas and cached results."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Sequence
from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell

from generator.figures import role_value
from generator.preview import preview_text
from generator.typeset import typeset
from generator.xlsx_cover import CoverWriter
from generator.xlsx_dashboard import DashboardWriter, ExtraCell, ExtraSheet
from generator.xlsx_formats import (
    COLOR_BREACH,
    COLOR_KPI,
    COLOR_KPI_FONT,
    COLOR_MISSING,
    COLOR_TEXT_NUMBER,
    NUMBER_FORMATS,
    Addon,
    Values,
    ref,
)
from workbook.layout import (
    COL_HINT,
    COL_LABEL,
    COL_UNIT,
    COL_VALUE,
    KPI_MARK,
    META_NAMES,
    META_SHEET,
    REQUIRED_MARK,
    TABLE_DATA_OFFSET,
    normalize_label,
)
from workbook.report import CHOICES
from workbook.safety import quiet_openpyxl
from workbook.spec import NUMERIC_TYPES, Field, Kpi, Section, Sentence, Spec, Table, placeholders
from workbook.values import clean_text

# Fixed document dates keep the output byte-identical from run to run.
FIXED_CREATED = dt.datetime(2026, 1, 1, 0, 0, 0)

BASE_WIDTHS = (34.0, 18.0, 10.0, 60.0)
FIRST_ROW = 3  # 0-based: rows 0-1 title and hint, row 2 the header


class _Writer(CoverWriter, DashboardWriter):
    """The whole workbook: cover, section sheets, add-ons, dashboard, extra sheets, names."""

    def __init__(
        self,
        spec: Spec,
        lang: str,
        values: Values,
        extra_sheets: Sequence[ExtraSheet] = (),
        addons: Sequence[Addon] = (),
        convert_url: str | None = None,
    ) -> None:
        super().__init__(spec, lang, values, convert_url)
        self.extra_sheets = tuple(extra_sheets)
        self.addons = tuple(addons)

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
            row = self.write_review_sentence(ws, sheet, row, sentence, choices, last_col)
        return row

    def write_review_sentence(
        self, ws: Any, sheet: str, row: int, sentence: Sentence, choices: list[str], last_col: int
    ) -> int:
        """The drop-down and wording of one sentence, the row for the person's own sentence,
        then the live preview."""
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
        return self.write_preview(ws, sheet, row, sentence, last_col)

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
        label = f.label(self.lang) + (REQUIRED_MARK if f.required else "")
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
        self.flag_field(ws, row, f)
        self.layout.cells[f.id] = (sheet, row, COL_VALUE)
        return row + 1

    def flag_field(self, ws: Any, row: int, f: Field) -> None:
        """Colour the value cell while it needs a look: required and blank, a number typed as
        text, a check of the spec that fails."""
        if f.required:
            missing = self.fmt(bg_color=COLOR_MISSING)
            ws.conditional_format(
                row, COL_VALUE, row, COL_VALUE, {"type": "blanks", "format": missing}
            )
        flags = [(f"=ISTEXT({xl_rowcol_to_cell(row, COL_VALUE)})", COLOR_TEXT_NUMBER)]
        flags = flags if f.type in NUMERIC_TYPES else []
        checks = [c for c in self.spec.checks if c.part == f.id]
        flags += [(f"={c.excel}", COLOR_BREACH[c.severity]) for c in checks]
        for criteria, (fill, font) in flags:
            cell_format = self.fmt(bg_color=fill, font_color=font)
            ws.conditional_format(
                row,
                COL_VALUE,
                row,
                COL_VALUE,
                {"type": "formula", "criteria": criteria, "format": cell_format},
            )

    def write_kpi_row(self, ws: Any, sheet: str, row: int, k: Kpi) -> int:
        ws.write_string(row, COL_LABEL, KPI_MARK + k.label(self.lang), self.label_fmt)
        value = self.kpi_values[k.id]
        ws.write_formula(
            row, COL_VALUE, k.formula, self.kpi_fmt(k.format), "" if value is None else value
        )
        unit = self.kpi_unit(k)
        ws.write_string(row, COL_UNIT, unit, self.unit_fmt)
        ws.write_string(row, COL_HINT, self.explain(k), self.note_fmt)
        self.layout.cells[k.id] = (sheet, row, COL_VALUE)
        return row + 1

    def write_table(self, ws: Any, sheet: str, row: int, table: Table) -> int:
        # workbook/layout.py: the label row, the header row, then the data from column A
        ws.write_string(row, COL_LABEL, table.label(self.lang), self.fmt(bold=True))
        ws.write_string(row, COL_VALUE, self.t("sheet.table_hint"), self.hint_fmt)
        for col, column in enumerate(table.columns):
            ws.write_string(row + 1, COL_LABEL + col, column.label(self.lang), self.header_fmt)
        row += TABLE_DATA_OFFSET
        rows = list(self.values.get(table.id) or [])
        first = row
        # The spec's rows are what a person gets to fill; more rows given (a team roll-up's
        # lists) make the table longer, its defined name covering them all.
        for i in range(max(table.rows, len(rows))):
            data = rows[i] if i < len(rows) else {}
            for col, column in enumerate(table.columns):
                self.write_input(ws, row, COL_LABEL + col, column.type, data.get(column.id))
                self.validate(
                    ws,
                    row,
                    COL_LABEL + col,
                    column.type,
                    column.label(self.lang),
                    table.label(self.lang),
                    None,
                    500,
                )
            ws.set_row(row, 30)
            row += 1
        last = COL_LABEL + len(table.columns) - 1
        self.layout.ranges[table.id] = (sheet, first, COL_LABEL, row - 1, last)
        return row

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
                "author": clean_text(
                    str(role_value(self.spec, self.values, "author") or "opsbook")
                )[0],
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


# Shared by the threads of a process, filled under _STATIC_LOCK. Each entry keeps its spec alive,
# so that the id in its key is never reused by another spec.
_STATIC: dict[tuple[int, str], tuple[Spec, frozenset[str]]] = {}
_STATIC_LOCK = threading.Lock()


def static_values(spec: Spec, lang: str) -> frozenset[str]:
    """What the generator itself writes into a blank workbook of this language: every text and
    number outside formulas, normalized as labels. A filled cell holding one of them was not
    typed by a person (workbook.reader's unread check)."""
    key = (id(spec), lang)
    with _STATIC_LOCK:
        if key not in _STATIC:
            _STATIC[key] = (spec, _static_values(spec, lang))
        return _STATIC[key][1]


def _static_values(spec: Spec, lang: str) -> frozenset[str]:
    from openpyxl import load_workbook

    with quiet_openpyxl():  # extensions openpyxl does not model (data bars)
        wb = load_workbook(io.BytesIO(build_workbook(spec, lang)))
    values = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None and cell.data_type != "f":
                    values.add(normalize_label(str(cell.value)))
    wb.close()
    return frozenset(values)


__all__ = [
    "NUMBER_FORMATS",
    "Addon",
    "ExtraCell",
    "ExtraSheet",
    "build_workbook",
    "ref",
    "static_values",
]
