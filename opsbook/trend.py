"""The trend: one person's or store's workbooks over several periods (or, with team=True, the
roll-ups of a team's workbooks period by period), in period order, with each KPI per period,
the change between periods and native charts of the main KPIs.

xlsx: a table (figures as numbers, changes as live formulas with their results cached) and an
XlsxWriter line chart per main KPI (the spec's roll-up KPIs). docx: the KPI table and a native
Word line chart per main KPI (generator/docx_charts.py), periods along the axis.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generator.xlsx_writer import NUMBER_FORMATS
from opsbook.files import check_output, write_atomic
from workbook import spec as spec_mod
from workbook.errors import OpsbookError, UsageProblem
from workbook.i18n import catalog, normalize_lang
from workbook.period import Period, parse_period
from workbook.reader import read_workbook
from workbook.report import Report
from workbook.spec import Field, Kpi, Spec

if TYPE_CHECKING:
    from generator.chartdata import ChartBlock

FIXED_CREATED = dt.datetime(2026, 1, 1, 0, 0, 0)
# A change of a rate is in percentage points; of anything else, relative.
POINTS = ("percent", "change")


class TrendError(OpsbookError):
    """Workbooks that do not make one trend (exit 1: the inputs were read; their data is wrong)."""


@dataclass(frozen=True)
class Point:
    """One period of the trend: its period, the report (a person's, or a team's roll-up) and
    the files it came from."""

    period: Period
    label: str
    report: Report
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """One figure over the periods: values in period order and the change between neighbours
    (relative, or percentage points for rates; None where it cannot be said)."""

    id: str
    label: str
    kind: str
    values: tuple[float | None, ...]
    changes: tuple[float | None, ...]


def change(a: float | None, b: float | None, kind: str) -> float | None:
    """From a to b: percentage points for rates, else relative (None from zero or below)."""
    if a is None or b is None:
        return None
    if kind in POINTS:
        return (b - a) * 100
    if a <= 0:
        return None
    return b / a - 1


def figure_ids(spec: Spec) -> tuple[str, ...]:
    """What the trend shows: the KPI tables' current figures first, then every other KPI; only
    figures of one period each. Left out: a change or percentage-point KPI (the trend computes
    the change between periods itself: no change of a change), and a previous-period or
    last-year figure or a KPI resting on one (the period before is a column of its own)."""
    earlier = {m.prev for m in spec.metrics if m.prev and m.compare != "expected"}
    earlier.update(f.id for f in spec.fields if f.id.endswith("_prev"))
    for k in spec.kpi_order:  # dependencies first
        if k.id.endswith("_prev") or earlier.intersection(k.refs):
            earlier.add(k.id)
    ids = dict.fromkeys(m.current for m in spec.metrics)
    ids.update(dict.fromkeys(k.id for k in spec.kpis))
    return tuple(i for i in ids if i not in earlier and kind_of(spec, i) not in ("change", "pp"))


def kind_of(spec: Spec, id_: str) -> str:
    item = spec.item(id_)
    if isinstance(item, Kpi):
        return item.format
    assert isinstance(item, Field)
    return item.type


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass(frozen=True)
class Trend:
    """The periods, the rows and the words around them, in one language."""

    spec: Spec
    lang: str
    name: str
    team: bool
    points: tuple[Point, ...]

    @property
    def rows(self) -> tuple[Row, ...]:
        out = []
        for id_ in figure_ids(self.spec):
            kind = kind_of(self.spec, id_)
            values = tuple(_number(p.report.value(id_)) for p in self.points)
            changes = tuple(change(values[i - 1], values[i], kind) for i in range(1, len(values)))
            label = self.spec.item(id_).label(self.lang)
            out.append(Row(id_, label, kind, values, changes))
        return tuple(out)

    @property
    def title(self) -> str:
        t = catalog(self.lang)
        return t("trend.title_team" if self.team else "trend.title", name=self.name)

    @property
    def main_ids(self) -> tuple[str, ...]:
        """The KPIs charted: the spec's roll-up KPIs (else the first six rows)."""
        shown = {r.id for r in self.rows}
        return tuple(i for i in (self.spec.rollup.kpis or figure_ids(self.spec)[:6]) if i in shown)

    def write(
        self,
        out: Path,
        *,
        force: bool = False,
        inputs: Sequence[Path] = (),
        charts: bool = True,
    ) -> Path:
        """TREND.xlsx or TREND.docx by its suffix; charts=False leaves the Word charts out."""
        suffix = out.suffix.lower()
        if suffix not in (".xlsx", ".docx"):
            raise UsageProblem("trend.suffix", path=out)
        check_output(out, force=force, inputs=tuple(inputs))
        data = self.xlsx() if suffix == ".xlsx" else self.docx(charts=charts)
        write_atomic(out, data, force=force, inputs=tuple(inputs))
        return out

    # -- xlsx ----------------------------------------------------------------------------------

    def xlsx(self) -> bytes:
        import xlsxwriter
        from xlsxwriter.utility import xl_rowcol_to_cell

        t = catalog(self.lang)
        buffer = io.BytesIO()
        wb = xlsxwriter.Workbook(
            buffer,
            {
                "in_memory": True,
                "default_format_properties": {"font_name": t("font.body"), "font_size": 11},
            },
        )
        wb.set_properties({"title": self.title, "author": "opsbook", "created": FIXED_CREATED})
        sheet = t("trend.sheet")
        ws = wb.add_worksheet(sheet)
        n = len(self.points)
        # Columns: metric, then each period followed by its change on the one before.
        value_col = [1] + [2 * i for i in range(1, n)]  # B, C, E, G, ...
        change_col = [c + 1 for c in value_col[1:]]  # D, F, H, ...
        ws.set_column(0, 0, 34)
        ws.set_column(1, 2 * n, 15)
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        title = wb.add_format({"bold": True, "font_size": 16, "font_name": t("font.heading")})
        hint = wb.add_format({"italic": True, "font_color": "#595959"})
        header = wb.add_format(
            {"bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center", "text_wrap": True}
        )
        label = wb.add_format({"border": 1, "border_color": "#BFBFBF"})
        formats = {
            k: wb.add_format({"num_format": f, "border": 1, "border_color": "#BFBFBF"})
            for k, f in NUMBER_FORMATS.items()
        }
        change_fmt = {
            "pp": wb.add_format(
                {"num_format": '+0.00"pp";-0.00"pp";0.00"pp"', "border": 1, "font_color": "#595959"}
            ),
            "change": wb.add_format(
                {"num_format": NUMBER_FORMATS["change"], "border": 1, "font_color": "#595959"}
            ),
        }
        ws.write_string(0, 0, self.title, title)
        ws.write_string(1, 0, t("trend.hint"), hint)
        ws.write_string(2, 0, t("trend.metric"), header)
        for i, point in enumerate(self.points):
            ws.write_string(2, value_col[i], point.label, header)
            if i:
                ws.write_string(2, change_col[i - 1], t("trend.change"), header)
        ws.freeze_panes(3, 1)
        row = 3
        for r in self.rows:
            ws.write_string(row, 0, r.label, label)
            for i, value in enumerate(r.values):
                if value is None:
                    ws.write_blank(row, value_col[i], None, formats[r.kind])
                else:
                    ws.write_number(row, value_col[i], value, formats[r.kind])
            for i, delta in enumerate(r.changes):
                a = xl_rowcol_to_cell(row, value_col[i])
                b = xl_rowcol_to_cell(row, value_col[i + 1])
                both = f"AND(ISNUMBER({a}),ISNUMBER({b}))"
                if r.kind in POINTS:
                    formula = f'=IF({both},({b}-{a})*100,"")'
                    cell_fmt = change_fmt["pp"]
                else:
                    formula = f'=IF({both},IF({a}>0,{b}/{a}-1,""),"")'
                    cell_fmt = change_fmt["change"]
                ws.write_formula(
                    row, change_col[i], formula, cell_fmt, "" if delta is None else delta
                )
            row += 1
        row += 1
        ws.write_string(row, 0, t("trend.sources"), header)
        row += 1
        for point in self.points:
            ws.write_string(row, 0, point.label, label)
            ws.write_string(row, 1, ", ".join(point.sources))
            row += 1
        # Chart data: the main KPIs (the spec's roll-up KPIs) in one contiguous block, then one
        # line chart per KPI, two to a row, below it.
        row += 1
        ws.write_string(row, 0, t("trend.chart_data"), header)
        for i, point in enumerate(self.points):
            ws.write_string(row, 1 + i, point.label, header)
        labels_row = row
        row += 1
        rows = {r.id: r for r in self.rows}
        main = self.main_ids
        data_rows: dict[str, int] = {}
        for id_ in main:
            r = rows[id_]
            ws.write_string(row, 0, r.label, label)
            for i, value in enumerate(r.values):
                if value is None:
                    ws.write_blank(row, 1 + i, None, formats[r.kind])
                else:
                    ws.write_number(row, 1 + i, value, formats[r.kind])
            data_rows[id_] = row
            row += 1
        anchor = row + 1
        for index, id_ in enumerate(main):
            r = rows[id_]
            chart = wb.add_chart({"type": "line"})
            chart.add_series(
                {
                    "name": r.label,
                    "categories": [sheet, labels_row, 1, labels_row, n],
                    "values": [sheet, data_rows[id_], 1, data_rows[id_], n],
                    "marker": {"type": "circle", "size": 6},
                    "data_labels": {"value": True, "num_format": _chart_format(r.kind)},
                }
            )
            chart.set_title({"name": r.label, "name_font": {"size": 11}})
            chart.set_legend({"none": True})
            chart.set_y_axis({"num_format": _chart_format(r.kind)})
            chart.set_size({"width": 480, "height": 260})
            ws.insert_chart(anchor + (index // 2) * 14, (index % 2) * 4, chart)
        wb.close()
        return buffer.getvalue()

    # -- docx ----------------------------------------------------------------------------------

    def docx(self, *, charts: bool = True) -> bytes:
        """The Word trend: the KPI table, then a line chart per main KPI (charts=False: none)."""
        from generator.docx_writer import FIXED_DATE, _new_builder
        from generator.narrative import Block, Heading, Para, TableBlock, typeset
        from generator.numfmt import formatter

        t = catalog(self.lang)
        fmt = formatter(self.lang)
        dash = t("numfmt.not_applicable")
        header = (
            t("trend.metric"),
            *(typeset(p.label, self.lang) for p in self.points),
            t("trend.change"),
        )
        body = []
        for r in self.rows:
            if all(v is None for v in r.values):
                continue
            cells = [typeset(r.label, self.lang)]
            cells += [dash if v is None else fmt.value(v, r.kind, table=True) for v in r.values]
            last = r.changes[-1] if r.changes else None
            if last is None:
                cells.append(dash)
            elif r.kind in POINTS:
                cells.append(fmt.pp(last, short=True, signed=True))
            else:
                cells.append(fmt.value(last, "change", table=True))
            body.append(tuple(cells))
        n = len(self.points)
        widths = (0.24, *([0.58 / n] * n), 0.18)
        blocks: list[Block] = [
            Heading(0, typeset(t("trend.docx_title", name=self.name), self.lang)),
            Para(typeset(t("trend.hint"), self.lang)),
            TableBlock(
                caption=t("trend.docx_caption", n=1),
                header=tuple(header),
                rows=tuple(body),
                widths=widths,
                centered=(False, *([True] * (n + 1))),
            ),
            Para(
                typeset(
                    t("trend.sources")
                    + t("targets.item_sep").join(
                        f"{p.label} {', '.join(Path(s).name for s in p.sources)}"
                        for p in self.points
                    ),
                    self.lang,
                ),
                role="note",
            ),
            *(self.charts() if charts else ()),
        ]
        builder = _new_builder(self.lang)
        builder.header_footer(self.title)
        builder.blocks(blocks)
        builder.properties(
            title=self.title,
            author="opsbook",
            subject=self.name,
            comments=", ".join(Path(s).name for p in self.points for s in p.sources)[:250],
            when=FIXED_DATE,
        )
        return builder.to_bytes(FIXED_DATE)

    def charts(self) -> list[ChartBlock]:
        """A line chart per main KPI that has a figure in some period, numbered 图1, 图2 ..."""
        from generator.chartdata import trend_chart
        from generator.narrative import Figures, typeset

        figures = Figures(self.spec, self.points[0].report, self.lang)
        periods = [typeset(p.label, self.lang) for p in self.points]
        rows = {r.id: r for r in self.rows}
        out: list[ChartBlock] = []
        for id_ in self.main_ids:
            chart = trend_chart(figures, id_, periods, rows[id_].values)
            if chart is not None:
                caption = figures.t("charts.caption", n=len(out) + 1, title=chart.title)
                out.append(dataclasses.replace(chart, caption=caption))
        return out


def _chart_format(kind: str) -> str:
    return {"percent": "0.0%", "change": "0.0%", "money": "#,##0", "count": "#,##0"}.get(
        kind, "0.00"
    )


# ----------------------------------------------------------------------------------------------
# Building a trend


def _period_of(report: Report, source: str) -> Period:
    text = report.fields.get("period")
    date = report.fields.get("report_date")
    year = date.year if isinstance(date, dt.date) else None
    period = parse_period(text, default_year=year)
    if period is None:
        raise TrendError("trend.no_period", path=source, period=text or "")
    return period


def _identity(report: Report, spec: Spec) -> tuple[str, str]:
    def text(id_: str | None) -> str:
        value = report.fields.get(id_) if id_ else None
        return value.strip() if isinstance(value, str) else ""

    return text(spec.rollup.person), text("store_name" if spec.has("store_name") else None)


def read_reports(
    paths: Iterable[Path], spec: Spec, skip: Path | None = None
) -> list[tuple[Report, str]]:
    """Every workbook named by paths (files, folders, .eml attachments), read; the first that
    cannot be read stops the trend (a trend with a hole would mislead). skip: the trend's own
    output, found again when it is written into a folder of inputs."""
    from opsbook.intake import InputProblem, discover

    out: list[tuple[Report, str]] = []
    skipped = os.path.realpath(skip) if skip is not None else None
    with tempfile.TemporaryDirectory(prefix="opsbook-trend-") as work:
        for found in discover(list(paths), Path(work)):
            if isinstance(found, InputProblem):
                raise found.error
            if skipped is not None and os.path.realpath(found.origin) == skipped:
                continue
            try:
                report = read_workbook(found.path, spec)
            except OpsbookError as exc:
                if found.attachment is None:
                    raise
                # name the attachment as the user knows it, not its extracted copy
                params = {
                    k: found.label if v in (found.path, str(found.path)) else v
                    for k, v in exc.params.items()
                }
                raise type(exc)(exc.key, **params) from exc
            out.append((report, found.label))
    return out


def trend(
    reports_or_paths: Iterable[Report | Path],
    *,
    team: bool = False,
    lang: str | None = None,
    spec: Spec | None = None,
    out: Path | None = None,
) -> Trend:
    """The trend of workbooks of one person or store over periods; with team=True, the team's
    roll-up of each period (opsbook.rollup) over the periods."""
    spec = spec if spec is not None else spec_mod.load()
    items = list(reports_or_paths)
    pairs = [(r, r.source) for r in items if isinstance(r, Report)]
    pairs += read_reports([p for p in items if isinstance(p, Path)], spec, skip=out)
    if not pairs:
        raise TrendError("trend.too_few", n=0)
    language = normalize_lang(lang or pairs[0][0].lang)
    by_period: dict[Period, list[tuple[Report, str]]] = {}
    for report, source in pairs:
        by_period.setdefault(_period_of(report, source), []).append((report, source))
    identities = {_identity(r, spec) for r, _ in pairs}
    people = {p for p, _ in identities}
    stores = {s for _, s in identities}
    if not team:
        if len(people) > 1 and len(stores) > 1:
            names = sorted({" / ".join(x for x in i if x) or "?" for i in identities})
            raise TrendError("trend.mixed", names=", ".join(names))
        for period, group in by_period.items():
            if len(group) > 1:
                raise TrendError(
                    "trend.duplicate_period",
                    period=period.label(language),
                    first=group[0][1],
                    second=group[1][1],
                )
    if len(by_period) < 2:
        raise TrendError("trend.too_few", n=len(by_period))
    points = []
    for period in sorted(by_period):
        group = by_period[period]
        if team:
            from opsbook.team.rollup import rollup

            combined = rollup([r for r, _ in group], lang=language, spec=spec).report
            report = combined
        else:
            report = group[0][0]
        points.append(Point(period, period.label(language), report, tuple(s for _, s in group)))
    if len(stores) == 1 and next(iter(stores)):
        name = next(iter(stores))
    elif len(people) == 1 and next(iter(people)):
        name = next(iter(people))
    else:
        name = catalog(language)("trend.sheet")
    return Trend(spec, language, name, team, tuple(points))
