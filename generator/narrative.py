"""Narrative: what the summary says, as plain blocks; the spec's sentences with the report's
figures filled in, for one locale. No Word formatting here (that is docx_writer's job).

A sentence is the unit that is left out (`missing="omit"`) or marked (`missing="mark"`) when
one of its figures is missing; a sentence without placeholders stays when its subsection has
some of the user's data (a figure, a table row or a note), and is left out otherwise. Nothing here
writes `None`, `nan`, `inf`, `[X]`, `{` or an Excel error value: unusable values count as
missing, and user text is cleaned before it reaches the document.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from generator.chartdata import ChartBlock, spec_chart
from generator.figures import (
    KPI_WIDTHS,
    RATE_KINDS,
    TABLE_UNITS,
    Figures,
    usable_number,
    usable_text,
)
from generator.sentences import (
    MISSING_MODES,
    MissingMode,
    has_figures,
    note_paragraphs,
    own_metric_rows,
    render_paragraph,
    table_rows,
)
from generator.typeset import typeset
from workbook import expr
from workbook.errors import UsageProblem
from workbook.i18n import Catalog, catalog, normalize_lang
from workbook.report import Report
from workbook.spec import (
    SHOWN_PRECISION,
    Metric,
    Section,
    Spec,
    Subsection,
    Table,
)


@dataclass(frozen=True)
class Heading:
    """A title, section or subsection heading of the summary."""

    level: int  # 0 title, 1 section, 2 subsection
    text: str


@dataclass(frozen=True)
class Para:
    """A paragraph of the summary."""

    text: str
    lead: str | None = None  # bold words starting the paragraph
    # "list": a line of names or notes, set flush left (justified, Word spreads a line of few
    # breakable points letter by letter)
    role: Literal["body", "meta", "note", "missing", "list"] = "body"


@dataclass(frozen=True)
class TableBlock:
    """A table of the summary: caption, header row, body rows, column widths and alignment."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]  # fractions of the text width
    centered: tuple[bool, ...]  # per column: centre (figures) or left (text)


Block = Heading | Para | TableBlock | ChartBlock


class _Outline:
    """Builds the blocks of one summary."""

    def __init__(
        self, spec: Spec, report: Report, lang: str, missing: MissingMode, charts: bool = True
    ) -> None:
        self.spec = spec
        self.report = report
        self.lang = lang
        self.missing = missing
        self.fig = Figures(spec, report, lang)
        self.t: Catalog = catalog(lang)
        self.tables = 0
        self.figures = 0
        self.with_charts = charts

    def ts(self, text: str) -> str:
        return typeset(text, self.lang)

    def numeral(self, n: int) -> str:
        numerals = self.t.list("docx.numerals")
        return numerals[n - 1] if n <= len(numerals) else str(n)

    def section_heading(self, section: Section) -> str:
        title = self.ts(section.title(self.lang))
        if section.kind == "numbered" and section.number is not None:
            return self.t("docx.section_heading", numeral=self.numeral(section.number), title=title)
        return title

    def caption(self, key: str, **params: str) -> str:
        self.tables += 1
        return self.t(key, n=self.tables, **params)

    def charts(self, place: str) -> list[Block]:
        """The spec's charts placed after this section's KPI table or this subsection."""
        out: list[Block] = []
        for chart in self.spec.charts:
            if not self.with_charts or chart.after != place:
                continue
            block = spec_chart(self.fig, chart, self.spec.metrics)
            if block is not None:
                self.figures += 1
                caption = self.t("charts.caption", n=self.figures, title=block.title)
                out.append(dataclasses.replace(block, caption=caption))
        return out

    def blocks(self) -> list[Block]:
        out: list[Block] = [Heading(0, self.ts(self.spec.title(self.lang)))]
        out.extend(self.meta())
        for section in self.spec.sections:
            if section.kind != "cover":
                out.extend(self.section(section))
        return out

    def meta(self) -> list[Block]:
        """Store and period; department and author; date: centred lines under the title."""
        lines = (
            (("docx.meta_store", "store"), ("docx.meta_period", "period")),
            (("docx.meta_department", "department"), ("docx.meta_author", "author")),
            (("docx.meta_date", "report_date"),),
        )
        out: list[Block] = []
        for line in lines:
            items = []
            for key, role in line:
                id_ = self.spec.role(role)
                if id_ is None or not self.spec.has(id_):
                    continue
                value = self.fig.text(id_)
                if value is None and self.missing == "mark":
                    value = self.fig.marker(id_)
                if value is not None:
                    value = " ".join(value.split("\n"))
                    items.append(self.t("docx.meta_item", label=self.t(key), value=value))
            if items:
                out.append(Para(self.t("docx.meta_separator").join(items), role="meta"))
        return out

    def section(self, section: Section) -> list[Block]:
        body: list[Block] = []
        body.extend(self.kpi_table(section))
        body.extend(self.charts(section.id))
        headings = lists = 0
        for sub in self.spec.subsections_of(section.id):
            content = [*self.subsection(sub), *self.charts(sub.id)]
            if not content:
                continue
            if sub.style == "heading" and sub.title is not None:
                headings += 1
                text = self.t(
                    "docx.subsection_heading",
                    numeral=self.numeral(headings),
                    title=self.ts(sub.title(self.lang)),
                )
                body.append(Heading(2, text))
            elif sub.style == "list" and sub.title is not None:
                lists += 1
                lead = self.t("docx.list_lead", number=lists, title=self.ts(sub.title(self.lang)))
                first = content[0]
                if isinstance(first, Para) and first.lead is None and first.role == "body":
                    content[0] = Para(first.text, lead=lead)
                else:
                    content.insert(0, Para("", lead=lead))
            body.extend(content)
        if not body:
            body.append(Para(self.t("docx.section_missing"), role="missing"))
        return [Heading(1, self.section_heading(section)), *body]

    def subsection(self, sub: Subsection) -> list[Block]:
        """The spec's paragraphs, then the user's tables, then the user's notes."""
        out: list[Block] = []
        paragraphs = self.spec.paragraphs_of(sub.id)
        notes = note_paragraphs(self.fig, sub.id)
        # The template's figure-free sentences ("活动后链路缺乏分层引导……") only stand beside
        # the user's own data: a subsection with no figure, table row or note makes no claims.
        has_data = (
            bool(notes)
            or any(table_rows(table, self.fig) for table in self.list_tables(sub.id))
            or any(has_figures(s(self.lang), self.fig) for p in paragraphs for s in p.sentences)
        )
        for paragraph in paragraphs:
            rendered = render_paragraph(paragraph, self.fig, self.missing, keep_fixed=has_data)
            if rendered is not None:
                out.append(Para(rendered.text, lead=rendered.lead))
        for table in self.list_tables(sub.id):
            rows = table_rows(table, self.fig)
            if not rows:
                continue
            # A date (2026-11-30) needs about 18 characters of column to stay on one line.
            units = [max(c.width, 18) if c.type == "date" else c.width for c in table.columns]
            total = sum(units)
            out.append(
                TableBlock(
                    caption=self.caption(
                        "docx.table_caption", title=self.ts(table.label(self.lang))
                    ),
                    header=tuple(self.ts(c.label(self.lang)) for c in table.columns),
                    rows=tuple(tuple(r) for r in rows),
                    widths=tuple(u / total for u in units),
                    centered=tuple(c.type != "text" for c in table.columns),
                )
            )
        out.extend(Para(text, role="note") for text in notes)
        return out

    def list_tables(self, subsection_id: str) -> tuple[Table, ...]:
        """The subsection's tables of its own (a metrics table is part of the KPI table)."""
        return tuple(t for t in self.spec.tables_of(subsection_id) if t.kind == "list")

    def kpi_table(self, section: Section) -> list[Block]:
        """The section's KPI table and, when it shows changes, the note saying how they are
        measured (relative % for amounts and counts, percentage points for rates)."""
        metrics = [m for m in self.spec.metrics if m.section == section.id]
        with_target = any(m.target for m in metrics)
        rows = [row for m in metrics if (row := self.kpi_row(m, with_target)) is not None]
        rows.extend(own_metric_rows(self.spec, section.id, self.fig, with_target))
        if not rows:
            return []
        header = self.t.list("docx.kpi_header")
        if not with_target:
            header = header[:4]
        # Metric, previous, current, change (wider: "+2.0个百分点"), target.
        with_target_widths, without_target_widths = KPI_WIDTHS[self.lang]
        widths = with_target_widths if with_target else without_target_widths
        table = TableBlock(
            caption=self.caption("docx.kpi_caption", section=self.ts(section.title(self.lang))),
            header=tuple(header),
            rows=tuple(rows),
            widths=widths,
            centered=(False, *([True] * (len(header) - 1))),
        )
        dash = {self.t("numfmt.not_applicable"), self.t("numfmt.cell_missing")}
        kinds = {
            self.fig.kind(m.current) in RATE_KINDS
            for m, row in zip(metrics, self._rows_of(metrics, with_target), strict=True)
            if row is not None and row[3] not in dash
        }
        if not kinds:
            return [table]
        key = "narrative.change_note_" + ("both" if len(kinds) == 2 else "pp" if True in kinds
                                          else "relative")  # fmt: skip
        return [table, Para(self.t(key), role="note")]

    def _rows_of(self, metrics: list[Metric], with_target: bool) -> list[tuple[str, ...] | None]:
        return [self.kpi_row(m, with_target) for m in metrics]

    def change_cell(self, metric: Metric) -> str | None:
        """Previous to current: percentage points for rates and shares (+3.0个百分点), the
        relative change for amounts, counts and ratios (+8.7%); None when either is missing."""
        if metric.prev is None:
            return None
        prev, current = self.fig.number(metric.prev), self.fig.number(metric.current)
        if prev is None or current is None:
            return None
        kind = self.fig.kind(metric.current)
        factor, places = SHOWN_PRECISION.get(kind, (1, 2))
        if expr.excel_round(prev * factor, places) == expr.excel_round(current * factor, places):
            return self.t("narrative.change_flat")
        if kind in RATE_KINDS:
            points = (current - prev) * 100
            return self.fig.fmt.pp(points, short=True, signed=True)
        if prev == 0:
            return None
        return self.fig.fmt.change(current / prev - 1)

    def kpi_row(self, metric: Metric, with_target: bool) -> tuple[str, ...] | None:
        current = self.fig.text(metric.current, table=True)
        if current is None and self.missing == "omit":
            return None
        missing_cell = self.t(
            "numfmt.cell_missing" if self.missing == "mark" else "numfmt.not_applicable"
        )
        dash = self.t("numfmt.not_applicable")
        label = metric.label(self.lang)
        cells = [self.ts(label)]
        # A row whose label names the unit ("耗时（小时）") shows bare numbers: the unit once.
        unit = self.fig.unit(metric.current)
        with_unit = not (unit and unit in label)
        if not with_unit:
            current = self.fig.text(metric.current, table=True, with_unit=False)
        prev_text = (
            None
            if metric.prev is None
            else self.fig.text(metric.prev, table=True, with_unit=with_unit)
        )
        prev, now = (
            None if metric.prev is None else self.fig.number(metric.prev),
            self.fig.number(metric.current),
        )
        if prev is not None and now is not None and prev_text == current:
            # two different figures never print the same: 2.65% / 2.56%
            kind = self.fig.kind(metric.current)
            prev_text, current = self.fig.fmt.pair(prev, now, kind)
            if kind in ("count", "number") and TABLE_UNITS[self.lang] and with_unit:
                prev_text = self.fig.fmt.with_unit(prev_text, unit)
                current = self.fig.fmt.with_unit(current, unit)
        cells.append(dash if metric.prev is None else prev_text or missing_cell)
        cells.append(current or missing_cell)
        change = self.change_cell(metric)
        if change is not None:  # a team change over fewer than everyone says so
            change += self.fig.covers(metric.change or metric.current)
        cells.append(change if change is not None else (dash if metric.prev is None else
                                                        missing_cell))  # fmt: skip
        if with_target:
            if metric.target is None:
                cells.append(dash)
            else:
                target = self.fig.text(metric.target, table=True, with_unit=with_unit)
                cells.append(target or missing_cell)
        return tuple(cells)


def outline(
    spec: Spec,
    report: Report,
    *,
    lang: str,
    missing: MissingMode = "omit",
    charts: bool = True,
) -> list[Block]:
    """The summary as plain blocks, in reading order; charts: the spec's Word charts too."""
    if missing not in MISSING_MODES:
        raise UsageProblem("render.bad_missing", value=missing)
    return _Outline(spec, report, normalize_lang(lang), missing, charts).blocks()


__all__ = [
    "MISSING_MODES",
    "Block",
    "Figures",
    "Heading",
    "MissingMode",
    "Para",
    "TableBlock",
    "outline",
    "typeset",
    "usable_number",
    "usable_text",
]
