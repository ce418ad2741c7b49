"""The cover sheet: instructions, the meta block (store, period, author...) and, written last,
the summary of store, period and progress over the section sheets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from generator.xlsx_formats import COLOR_BREACH, COLOR_MISSING, COLOR_TEXT_NUMBER, SheetWriter
from workbook.spec import NUMERIC_TYPES, Section
from workbook.values import clean_text


class CoverWriter(SheetWriter):
    """The cover sheet's parts."""

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
        row = self.write_progress(ws, row)
        row = self.write_left_to_do(ws, row)
        self.write_text_numbers(ws, row + 1)
        ws.activate()

    def write_progress(self, ws: Any, row: int) -> int:
        """The progress table: filled and expected figures per section sheet, and in all."""
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
        self.write_progress_total(ws, first, row, total_filled, total_all)
        row += 2
        return row

    def write_progress_total(
        self, ws: Any, first: int, row: int, total_filled: int, total_all: int
    ) -> None:
        """The total row of the progress table and the data bars over its percentages."""
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

    def write_left_to_do(self, ws: Any, row: int) -> int:
        """How many required figures are blank and how many checks fail; the last row used."""
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
        return row

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
