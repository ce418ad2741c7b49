"""Charts of the Word summary as plain data: what each chart shows (categories, series, values,
number format, size, what is missing), from the spec's `[[charts]]` and a report's figures.
No Word here: generator/docx_charts.py writes these as native chart parts.

Values are what the text says: rates as fractions (shown 0.0%), money scaled to the unit the
text uses (zh-CN: 万元 or 亿元 by the largest figure; en: whole yuan). A figure that is missing
is left out of the chart (a category with no figure at all is dropped) and named in the note
under the caption; a chart with no figure at all is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from workbook.spec import Chart, Metric

if TYPE_CHECKING:
    from generator.figures import Figures

# Heights in cm: a frame (title, legend, axis) plus room per bar. Width: the text width.
FRAME_CM = 3.2
BAR_CM = 0.42
COLUMN_CHART_CM = 7.5
LINE_CHART_CM = 6.5
MAX_HEIGHT_CM = 20.0
# More people than this and a bar per person no longer fits a page legibly (0.42 cm a bar).
MAX_PEOPLE_CHARTED = 40

# Kinds whose values are fractions (percent) or plain numbers, and their Excel number formats.
_PERCENT_KINDS = frozenset({"percent", "change", "growth", "rise", "above"})
_FORMATS = {"ratio": "0.00", "number": "#,##0.0", "count": "#,##0", "pp": "0.0"}


@dataclass(frozen=True)
class ChartSeries:
    """One series: its name and a value per category (None: missing, a gap)."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class ChartBlock:
    """A chart of the summary. direction "bar": horizontal bars, first category on top;
    "col": vertical columns; "line": a line per series over the categories (the trend's
    periods). by_point: one series whose bars each get their own shade."""

    caption: str  # 图1　核心比率：上期与本期
    title: str
    direction: Literal["bar", "col", "line"]
    categories: tuple[str, ...]
    series: tuple[ChartSeries, ...]
    number_format: str  # Excel's, for the embedded workbook and the data labels
    axis_format: str  # the value axis's: whole units (0%, #,##0"万元")
    height_cm: float
    note: str | None = None  # what is missing
    by_point: bool = False


@dataclass(frozen=True)
class Scale:
    """How a kind of figure is shown in a chart: divide by `divisor`, format with `code` (the
    value axis: `axis`)."""

    divisor: float
    code: str
    axis: str


def scale_for(figures: Figures, kind: str, values: Sequence[float]) -> Scale:
    """The unit the summary's text would use for these figures, as an Excel number format."""
    t = figures.t
    if kind in _PERCENT_KINDS:
        # Whole percents on the axis, unless the figures are small (2.3%, 2.5%: 0.0%).
        small = max((abs(v) for v in values), default=0.0) < 0.1
        code = t("charts.format_percent")
        return Scale(1.0, code, code if small else t("charts.format_percent_axis"))
    if kind != "money":
        code = _FORMATS.get(kind, "#,##0.0")
        return Scale(1.0, code, code)
    largest = max((abs(v) for v in values), default=0.0)
    units = sorted(
        ((int(p), w) for p, w in (i.split(":", 1) for i in t("numfmt.large_units").split())),
        reverse=True,
    )
    for power, word in units:
        if largest >= 10**power:
            decimals = ".0" if largest >= 10 ** (power + 2) else ".00"
            return Scale(
                10.0**power,
                t("charts.format_money", decimals=decimals, unit=word),
                t("charts.format_money", decimals="", unit=word),
            )
    code = t("charts.format_money", decimals="", unit="")
    return Scale(1.0, code, code)


def _ts(figures: Figures, text: str) -> str:
    from generator.typeset import typeset

    return typeset(text, figures.lang)


def _height(categories: int, series: int) -> float:
    return min(MAX_HEIGHT_CM, FRAME_CM + BAR_CM * categories * max(series, 1) + 0.3 * categories)


def _scaled(values: Sequence[float | None], scale: Scale) -> tuple[float | None, ...]:
    return tuple(None if v is None else v / scale.divisor for v in values)


def _note(figures: Figures, missing: Sequence[str]) -> str | None:
    if not missing:
        return None
    return figures.t("charts.missing_note", items=figures.t("charts.list_sep").join(missing))


def rates_chart(figures: Figures, chart: Chart, metrics: Sequence[Metric]) -> ChartBlock | None:
    """Previous vs current of the chart's metrics; the caption is filled in by the caller."""
    by_current = {m.current: m for m in metrics if m.prev}
    categories: list[str] = []
    prev: list[float | None] = []
    current: list[float | None] = []
    missing: list[str] = []
    for id_ in chart.metrics:
        metric = by_current[id_]
        assert metric.prev is not None  # by_current holds metrics with a previous value
        before, now = figures.number(metric.prev), figures.number(id_)
        missing.extend(
            figures.label(i) for i, v in ((metric.prev, before), (id_, now)) if v is None
        )
        if before is None and now is None:
            continue
        categories.append(_ts(figures, metric.label(figures.lang)))
        prev.append(before)
        current.append(now)
    if not categories:
        return None
    t = figures.t
    kind = figures.kind(chart.metrics[0])
    scale = scale_for(figures, kind, [v for v in (*prev, *current) if v is not None])
    return ChartBlock(
        caption="",
        title=_ts(figures, chart.title(figures.lang)),
        direction="bar",
        categories=tuple(categories),
        series=(
            ChartSeries(t("charts.previous"), _scaled(prev, scale)),
            ChartSeries(t("charts.current"), _scaled(current, scale)),
        ),
        number_format=scale.code,
        axis_format=scale.axis,
        height_cm=_height(len(categories), 2),
        note=_note(figures, missing),
    )


def points_chart(figures: Figures, chart: Chart) -> ChartBlock | None:
    """One column per id that has a figure (last year, previous, current, target ...)."""
    shown = [(p, figures.number(p.id)) for p in chart.points]
    present = [(p, v) for p, v in shown if v is not None]
    if not present:
        return None
    kind = figures.kind(present[0][0].id)
    scale = scale_for(figures, kind, [v for _, v in present])
    title = _ts(figures, chart.title(figures.lang))
    return ChartBlock(
        caption="",
        title=title,
        direction="col",
        categories=tuple(_ts(figures, p.label(figures.lang)) for p, _ in present),
        series=(ChartSeries(title, tuple(v / scale.divisor for _, v in present)),),
        number_format=scale.code,
        axis_format=scale.axis,
        height_cm=COLUMN_CHART_CM,
        note=_note(figures, [figures.label(p.id) for p, v in shown if v is None]),
        by_point=True,
    )


def spec_chart(figures: Figures, chart: Chart, metrics: Sequence[Metric]) -> ChartBlock | None:
    """The chart of a `[[charts]]` entry with the report's figures; None when all are missing."""
    if chart.kind == "rates":
        return rates_chart(figures, chart, metrics)
    return points_chart(figures, chart)


def people_chart(
    figures: Figures, id_: str, names: Sequence[str], values: Sequence[float | None]
) -> ChartBlock | None:
    """One KPI per person (the team summary): a horizontal bar per person, in their order."""
    pairs = [(n, v) for n, v in zip(names, values, strict=True) if v is not None]
    if not pairs:
        return None
    label = figures.label(id_)
    scale = scale_for(figures, figures.kind(id_), [v for _, v in pairs])
    missing = [n for n, v in zip(names, values, strict=True) if v is None]
    return ChartBlock(
        caption="",
        title=figures.t("charts.people_title", label=label),
        direction="bar",
        categories=tuple(n for n, _ in pairs),
        series=(ChartSeries(label, tuple(v / scale.divisor for _, v in pairs)),),
        number_format=scale.code,
        axis_format=scale.axis,
        height_cm=_height(len(pairs), 1),
        note=_note(figures, missing),
    )


def trend_chart(
    figures: Figures, id_: str, periods: Sequence[str], values: Sequence[float | None]
) -> ChartBlock | None:
    """One KPI over the periods (the trend): a line through every period in order, a gap
    where the period has no figure (named in the note); None when no period has one."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    label = figures.label(id_)
    scale = scale_for(figures, figures.kind(id_), present)
    missing = [p for p, v in zip(periods, values, strict=True) if v is None]
    return ChartBlock(
        caption="",
        title=figures.t("trend_charts.title", label=label),
        direction="line",
        categories=tuple(periods),
        series=(ChartSeries(label, _scaled(values, scale)),),
        number_format=scale.code,
        axis_format=scale.axis,
        height_cm=LINE_CHART_CM,
        note=_note(figures, missing),
    )
