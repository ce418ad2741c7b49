"""The trend as a Word document: the KPI table (each period's figures and the last change),
where the figures came from, and a native Word line chart per main KPI (generator/docx_charts.py),
periods along the axis."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from workbook.i18n import catalog

if TYPE_CHECKING:
    from generator.chartdata import ChartBlock
    from opsbook.trend_view import TrendView as Trend


def trend_docx(trend: Trend, *, charts: bool = True) -> bytes:
    """The Word trend: the KPI table, then a line chart per main KPI (charts=False: none)."""
    from generator.docx_writer import FIXED_DATE, _new_builder
    from generator.narrative import Block, Heading, Para, TableBlock, typeset

    t = catalog(trend.lang)
    header, body = _table(trend)
    n = len(trend.points)
    widths = (0.24, *([0.58 / n] * n), 0.18)
    sources = t("targets.item_sep").join(
        f"{p.label} {', '.join(Path(s).name for s in p.sources)}" for p in trend.points
    )
    blocks: list[Block] = [
        Heading(0, typeset(t("trend.docx_title", name=trend.name), trend.lang)),
        Para(typeset(t("trend.hint"), trend.lang)),
        TableBlock(
            caption=t("trend.docx_caption", n=1),
            header=header,
            rows=body,
            widths=widths,
            centered=(False, *([True] * (n + 1))),
        ),
        Para(typeset(t("trend.sources") + sources, trend.lang), role="note"),
        *(trend_charts(trend) if charts else ()),
    ]
    builder = _new_builder(trend.lang)
    builder.header_footer(trend.title)
    builder.blocks(blocks)
    builder.properties(
        title=trend.title,
        author="opsbook",
        subject=trend.name,
        comments=", ".join(Path(s).name for p in trend.points for s in p.sources)[:250],
        when=FIXED_DATE,
    )
    return builder.to_bytes(FIXED_DATE)


def _table(trend: Trend) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """The KPI table's header and rows (figures with a value in some period only)."""
    from generator.narrative import typeset
    from generator.numfmt import formatter

    t = catalog(trend.lang)
    fmt = formatter(trend.lang)
    dash = t("numfmt.not_applicable")
    header = (
        t("trend.metric"),
        *(typeset(p.label, trend.lang) for p in trend.points),
        t("trend.change"),
    )
    body = []
    for r in trend.rows:
        if all(v is None for v in r.values):
            continue
        cells = [typeset(r.label, trend.lang)]
        cells += [dash if v is None else fmt.value(v, r.kind, table=True) for v in r.values]
        last = r.changes[-1] if r.changes else None
        if last is None:
            cells.append(dash)
        elif r.in_points:
            cells.append(fmt.pp(last, short=True, signed=True))
        else:
            cells.append(fmt.value(last, "change", table=True))
        body.append(tuple(cells))
    return tuple(header), tuple(body)


def trend_charts(trend: Trend) -> list[ChartBlock]:
    """A line chart per main KPI that has a figure in some period, numbered 图1, 图2 ..."""
    from generator.chartdata import trend_chart
    from generator.narrative import Figures, typeset

    figures = Figures(trend.spec, trend.points[0].report, trend.lang)
    periods = [typeset(p.label, trend.lang) for p in trend.points]
    rows = {r.id: r for r in trend.rows}
    out: list[ChartBlock] = []
    for id_ in trend.main_ids:
        chart = trend_chart(figures, id_, periods, rows[id_].values)
        if chart is not None:
            caption = figures.t("charts.caption", n=len(out) + 1, title=chart.title)
            out.append(dataclasses.replace(chart, caption=caption))
    return out
