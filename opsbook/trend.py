"""The trend: one person's or store's workbooks over several periods (or, with team=True, the
roll-ups of a team's workbooks period by period), in period order, with each KPI per period,
the change between periods and native charts of the main KPIs.

This module is the trend's model and how it is built from workbooks; opsbook/trend_xlsx.py and
opsbook/trend_docx.py write it. The fields it needs (the period, its report date, the store)
are the spec's roles, never named here.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generator.figures import role_value
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

    @property
    def in_points(self) -> bool:
        """Its changes are in percentage points (a rate), not relative."""
        return self.kind in POINTS


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

    def xlsx(self) -> bytes:
        """The trend as an Excel workbook (opsbook/trend_xlsx.py)."""
        from opsbook.trend_xlsx import trend_xlsx

        return trend_xlsx(self)

    def docx(self, *, charts: bool = True) -> bytes:
        """The trend as a Word document (opsbook/trend_docx.py); charts=False: no charts."""
        from opsbook.trend_docx import trend_docx

        return trend_docx(self, charts=charts)

    def charts(self) -> list[ChartBlock]:
        """The Word trend's line charts, one per main KPI with a figure."""
        from opsbook.trend_docx import trend_charts

        return trend_charts(self)


# ----------------------------------------------------------------------------------------------
# Building a trend


def _period_of(spec: Spec, report: Report, source: str) -> Period:
    text = role_value(spec, report.fields, "period")
    date = role_value(spec, report.fields, "report_date")
    year = date.year if isinstance(date, dt.date) else None
    period = parse_period(text, default_year=year)
    if period is None:
        raise TrendError("trend.no_period", path=source, period=text or "")
    return period


def _identity(report: Report, spec: Spec) -> tuple[str, str]:
    def text(id_: str | None) -> str:
        value = report.fields.get(id_) if id_ else None
        return value.strip() if isinstance(value, str) else ""

    return text(spec.rollup.person), text(spec.role("store"))


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


def _one_subject(
    identities: set[tuple[str, str]],
    by_period: dict[Period, list[tuple[Report, str]]],
    language: str,
) -> None:
    """A person's or store's trend: one person or one store, one workbook a period."""
    people = {p for p, _ in identities}
    stores = {s for _, s in identities}
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
        by_period.setdefault(_period_of(spec, report, source), []).append((report, source))
    identities = {_identity(r, spec) for r, _ in pairs}
    people = {p for p, _ in identities}
    stores = {s for _, s in identities}
    if not team:
        _one_subject(identities, by_period, language)
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
