"""The trend over periods: four quarters of the sample (scaled figures) checked cell by cell
against hand arithmetic, its charts in LibreOffice's PDF, one person or store unless --team."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from pptx.enum.chart import XL_CHART_TYPE

from generator.xlsx_writer import build_workbook
from opsbook.cli import main
from opsbook.sample import sample_values
from opsbook.trend import figure_ids, trend
from tests.helpers import summary_text
from tests.lo import LibreOffice, pdf_page_count, pdf_text
from tests.test_docx_charts import (
    CT_CHART,
    CT_XLSX,
    A,
    C,
    Package,
    categories,
    read_chart,
    series,
    sheet_rows,
    xml,
)
from workbook.spec import load

SPEC = load()
# The main KPIs the trend charts: figures of one period (no change KPIs).
CHARTED = tuple(i for i in SPEC.rollup.kpis if i in figure_ids(SPEC))
# Quarter -> (scale of every count and money figure, extra scale of orders and their returns):
# figures grow and conversion moves, so every kind of change is exercised.
QUARTERS = {1: (0.8, 0.9), 2: (0.9, 1.0), 3: (1.0, 1.0), 4: (1.15, 1.2)}


def quarter_values(q: int, lang: str = "zh-CN", **extra: Any) -> dict[str, Any]:
    scale, orders = QUARTERS[q]
    values = sample_values(lang)
    for f in SPEC.fields:
        x = values.get(f.id)
        if f.type in ("count", "money") and isinstance(x, int | float) and f.id != "period_days":
            factor = scale * (orders if f.id in ("orders", "returned_orders") else 1)
            values[f.id] = round(x * factor) if f.type == "count" else round(x * factor, 2)
    values["period"] = f"2026年Q{q}" if lang == "zh-CN" else f"Q{q} 2026"
    values.update(extra)
    return values


def write_quarters(folder: Path, lang: str = "zh-CN", **extra: Any) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for q in (3, 1, 4, 2):  # out of order: the trend orders them
        path = folder / f"q{q}-{extra.get('author', 'lin')}.xlsx"
        path.write_bytes(build_workbook(SPEC, lang, quarter_values(q, lang, **extra)))
        paths.append(path)
    return paths


def rows_of(data: bytes) -> dict[str, list[Any]]:
    wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    ws = wb.worksheets[0]
    out = {}
    for row in ws.iter_rows(min_row=3, values_only=True):
        if row[0] is None:
            break
        out[str(row[0])] = list(row[1:8])
    wb.close()
    return out


def by_hand(q: int) -> dict[str, float]:
    v = quarter_values(q)
    return {
        "店铺访客数UV(本期)": v["uv"],
        "转化率(本期)": v["orders"] / v["uv"],
        "客单价(本期)": v["gmv"] / v["orders"],
        "退货率(本期)": v["returned_orders"] / v["orders"],
        "周期GMV(本期)": v["gmv"],
        "会员体系用户规模": v["members"],
    }


def test_four_quarters_cell_by_cell(tmp_path: Path) -> None:
    paths = write_quarters(tmp_path / "in")
    data = trend(paths).xlsx()
    rows = rows_of(data)
    assert rows["指标"] == [
        "2026年Q1",
        "2026年Q2",
        "较上期",
        "2026年Q3",
        "较上期",
        "2026年Q4",
        "较上期",
    ]
    hand = [by_hand(q) for q in (1, 2, 3, 4)]
    for label in hand[0]:
        shown = rows[SPEC.item(_id(label)).label("zh-CN")]
        values = [shown[0], shown[1], shown[3], shown[5]]
        changes = [shown[2], shown[4], shown[6]]
        expected = [h[label] for h in hand]
        assert values == pytest.approx(expected, rel=1e-12), label
        rate = label in ("转化率(本期)", "退货率(本期)")
        for i, got in enumerate(changes):
            a, b = expected[i], expected[i + 1]
            want = (b - a) * 100 if rate else b / a - 1  # percentage points for rates
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (label, i)
    # A native chart per main KPI the trend lists: six, less GMV growth (a change KPI).
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        charts = [n for n in zf.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == len(SPEC.rollup.kpis) - 1 == 5


def _id(label: str) -> str:
    return next(
        i for i in ("uv", "conversion_rate", "aov", "return_rate", "gmv", "members")
        if SPEC.item(i).label("zh-CN") == label
    )  # fmt: skip


@pytest.mark.libreoffice
def test_the_trend_recalculates_and_its_charts_render_in_libreoffice(
    libreoffice: LibreOffice, poppler: None, tmp_path: Path
) -> None:
    paths = write_quarters(tmp_path / "in")
    source = tmp_path / "trend.xlsx"
    trend(paths).write(source)
    (recalculated,) = libreoffice.convert([source], "xlsx", tmp_path / "lo")
    ours, theirs = rows_of(source.read_bytes()), rows_of(recalculated.read_bytes())
    assert ours.keys() == theirs.keys()
    for label, row in ours.items():
        for a, b in zip(row, theirs[label], strict=True):
            if isinstance(a, float) or isinstance(b, float):
                assert a == pytest.approx(b, rel=1e-9, abs=1e-12), label
            else:
                assert (a or None) == (b or None), label
    (pdf,) = libreoffice.convert([source], "pdf", tmp_path / "pdf")
    text = re.sub(r"\s+", "", pdf_text(pdf))  # chart titles are drawn with spaced letters
    for id_ in (i for i in SPEC.rollup.kpis if i in ours_ids(paths)):
        # the table's row, the chart data's row, and the title LibreOffice drew on the chart
        # (twice when the chart crosses a page break)
        assert text.count(SPEC.item(id_).label("zh-CN")) in (3, 4), id_
    assert "2026年Q1" in text and "2026年Q4" in text


def ours_ids(paths: list[Path]) -> set[str]:
    return {r.id for r in trend(paths).rows}


def test_the_word_trend_lists_the_kpis_by_period(tmp_path: Path) -> None:
    paths = write_quarters(tmp_path / "in")
    out = trend(paths).write(tmp_path / "t.docx")
    text = summary_text(out.read_bytes())
    assert "| 指标 | 2026年Q1 | 2026年Q2 | 2026年Q3 | 2026年Q4 | 较上期 |" in text
    assert "| 店铺访客数UV（本期） | 148万 | 166.5万 | 185万 | 212.75万 | +15% |" in text


def test_different_people_and_stores_need_team(tmp_path: Path) -> None:
    lin = write_quarters(tmp_path / "lin")
    wang = write_quarters(tmp_path / "wang", author="王磊", store_name="山岚家居京东店")
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["trend", str(tmp_path / "lin"), str(tmp_path / "wang"), "-o", str(tmp_path / "t.xlsx")],
    )
    assert result.exit_code == 1
    assert result.output.strip() == (
        "错误:趋势只能包含同一人或同一店铺的工作簿,这里却有:林晓雨 / 山岚家居天猫旗舰店, "
        "王磊 / 山岚家居京东店;多人的请加 --team"
    )
    assert not (tmp_path / "t.xlsx").exists()
    team = trend([*lin, *wang], team=True)
    assert [p.label for p in team.points] == ["2026年Q1", "2026年Q2", "2026年Q3", "2026年Q4"]
    uv = next(r for r in team.rows if r.id == "uv")
    assert list(uv.values) == [2 * quarter_values(q)["uv"] for q in (1, 2, 3, 4)]
    ok = runner.invoke(
        main,
        [
            "trend",
            str(tmp_path / "lin"),
            str(tmp_path / "wang"),
            "--team",
            "-o",
            str(tmp_path / "t.xlsx"),
        ],
    )
    assert ok.exit_code == 0, ok.output


def test_the_same_period_twice_is_an_error(tmp_path: Path) -> None:
    paths = write_quarters(tmp_path / "a")
    again = tmp_path / "again.xlsx"
    again.write_bytes(build_workbook(SPEC, "zh-CN", quarter_values(2, gmv=1)))
    result = CliRunner().invoke(
        main, ["trend", *map(str, paths), str(again), "-o", str(tmp_path / "t.xlsx")]
    )
    assert result.exit_code == 1
    assert "2026年Q2 出现了两次" in result.output


# ----------------------------------------------------------------------------------------------
# The Word trend's native line charts (generator/docx_charts.py, c:lineChart)


def test_the_word_trend_has_a_line_chart_per_main_kpi(tmp_path: Path) -> None:
    paths = write_quarters(tmp_path / "in")
    result = trend(paths)
    package = Package(result.docx())
    charts = package.charts()
    quarters = ["2026年Q1", "2026年Q2", "2026年Q3", "2026年Q4"]
    labels = [SPEC.item(i).label("zh-CN") for i in CHARTED]
    assert [c.chart_title.text_frame.text for _, c, _ in charts] == [
        f"{label}：各期走势".replace("(", "（").replace(")", "）") for label in labels
    ]
    rows = {r.id: r for r in result.rows}
    for (name, chart, xlsx), id_ in zip(charts, CHARTED, strict=True):
        assert chart.chart_type == XL_CHART_TYPE.LINE_MARKERS, name
        assert xml(package.parts[name]).find(f"{C}chart/{C}plotArea/{C}lineChart") is not None
        assert categories(chart) == quarters, name
        ((_, values),) = series(chart)
        divisor = 10_000 if id_ == "gmv" else 1  # money in 万元, as the text says it
        assert values == pytest.approx(
            [None if v is None else v / divisor for v in rows[id_].values]
        ), id_
        # "Edit Data": the embedded workbook holds the periods and the same numbers.
        sheet = sheet_rows(package.parts[xlsx])
        assert [r[0] for r in sheet[1:]] == quarters
        assert [r[1] for r in sheet[1:]] == pytest.approx(list(values)), id_
        # Chinese fonts on the chart's own text.
        root = xml(package.parts[name])
        title = root.find(f"{C}chart/{C}title")
        assert {e.get("typeface") for e in title.iter(A + "ea")} == {"黑体"}
    # The figures by hand: GMV in 万元 as the text says it, conversion and order value.
    by_id = {s: series(c)[0][1] for s, (_, c, _) in zip(CHARTED, charts, strict=True)}
    v = {q: quarter_values(q) for q in (1, 2, 3, 4)}
    assert by_id["gmv"] == pytest.approx([v[q]["gmv"] / 10_000 for q in v])
    assert by_id["conversion_rate"] == pytest.approx([v[q]["orders"] / v[q]["uv"] for q in v])
    assert by_id["aov"] == pytest.approx([v[q]["gmv"] / v[q]["orders"] for q in v])
    gmv = charts[0][1]
    assert gmv.plots[0].series[0].data_labels.number_format == '#,##0.0"万元"'
    conversion = charts[CHARTED.index("conversion_rate")][1]
    assert conversion.plots[0].series[0].data_labels.number_format == "0.0%"
    # Captions below each chart, numbered apart from the table.
    text = summary_text(result.docx())
    for n, label in enumerate(labels, start=1):
        assert f"图{n}　{label}".replace("(", "（").replace(")", "）") in text


def test_the_word_trend_charts_relationships_and_content_types(tmp_path: Path) -> None:
    package = Package(trend(write_quarters(tmp_path / "in", lang="en")).docx())
    charts = package.charts()
    assert [name for name, _, _ in charts] == [
        f"word/charts/chart{i}.xml" for i in range(1, len(CHARTED) + 1)
    ]
    assert charts[0][1].chart_title.text_frame.text == "GMV (this period) by period"
    for name, _, embedded in charts:
        assert package.content_type(name) == CT_CHART
        assert package.content_type(embedded) == CT_XLSX
        assert embedded in package.parts
    for name in package.parts:
        for kind, target in package.rels(name).values():
            if "hyperlink" not in kind:
                assert target in package.parts, (name, target)
    document = xml(package.parts["word/document.xml"])
    wp = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
    ids = [e.get("id") for e in document.iter(wp + "docPr")]
    assert len(ids) == len(set(ids)) == len(CHARTED)


def test_a_period_without_the_figure_is_a_gap_named_under_the_chart(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_quarters(folder)
    (folder / "q2-lin.xlsx").write_bytes(
        build_workbook(SPEC, "zh-CN", quarter_values(2, orders=None))
    )
    result = trend([folder])
    package = Package(result.docx())
    charts = {c.chart_title.text_frame.text: (n, c, x) for n, c, x in package.charts()}
    name, conversion, xlsx = charts["转化率（本期）：各期走势"]
    assert categories(conversion) == ["2026年Q1", "2026年Q2", "2026年Q3", "2026年Q4"]
    values = series(conversion)[0][1]
    assert values[1] is None and None not in (values[0], values[2], values[3])
    cache = xml(package.parts[name]).find(f".//{C}val//{C}numCache")
    assert cache.find(f"{C}ptCount").get("val") == "4"
    assert [p.get("idx") for p in cache.iter(C + "pt")] == ["0", "2", "3"]
    assert xml(package.parts[name]).find(f".//{C}dispBlanksAs").get("val") == "gap"
    assert sheet_rows(package.parts[xlsx])[2] == ("2026年Q2", None)  # an empty cell
    assert "注：图中未含2026年Q2（未填写）。" in summary_text(result.docx()).splitlines()
    # GMV was filled in every quarter: no gap, no note under its chart.
    _, gmv, _ = charts["周期GMV（本期）：各期走势"]
    assert None not in series(gmv)[0][1]


def test_lines_differ_in_dash_and_marker_for_black_and_white(tmp_path: Path) -> None:
    from generator.chartdata import ChartBlock, ChartSeries
    from generator.docx_charts import Fonts, chart_xml

    block = ChartBlock(
        caption="",
        title="t",
        direction="line",
        categories=("Q1", "Q2", "Q3"),
        series=tuple(ChartSeries(f"s{i}", (1.0 + i, None, 3.0)) for i in range(3)),
        number_format="0.0",
        axis_format="0",
        height_cm=6.5,
    )
    chart = read_chart(chart_xml(block, Fonts("Arial", "Arial", "宋体", "黑体", "zh-CN")))
    plotted = chart.plots[0].series
    assert [s.values for s in plotted] == [(1.0, None, 3.0), (2.0, None, 3.0), (3.0, None, 3.0)]
    dashes = [s.format.line.dash_style for s in plotted]
    markers = [s.marker.style for s in plotted]
    assert len(set(dashes)) == len(set(markers)) == 3, (dashes, markers)
    assert chart.has_legend  # several lines: the legend says which is which


def test_trend_no_charts_and_deterministic_output(tmp_path: Path) -> None:
    write_quarters(tmp_path / "in")
    runner = CliRunner()
    for flags, name in ((["--no-charts"], "plain.docx"), ([], "a.docx"), ([], "b.docx")):
        args = ["trend", str(tmp_path / "in"), "-o", str(tmp_path / name), *flags]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    plain = Package((tmp_path / "plain.docx").read_bytes())
    assert not any("chart" in n or "embeddings" in n for n in plain.parts)
    assert "图1" not in plain.parts["word/document.xml"].decode()
    assert (tmp_path / "a.docx").read_bytes() == (tmp_path / "b.docx").read_bytes()
    assert len(Package((tmp_path / "a.docx").read_bytes()).charts()) == len(CHARTED)


@pytest.mark.libreoffice
def test_libreoffice_prints_the_word_trends_charts(
    libreoffice: LibreOffice, poppler: None, tmp_path: Path
) -> None:
    write_quarters(tmp_path / "in")
    with_charts = tmp_path / "charts" / "trend.docx"
    without = tmp_path / "plain" / "trend.docx"
    for path, charts in ((with_charts, True), (without, False)):
        path.parent.mkdir()
        trend([tmp_path / "in"]).write(path, charts=charts)
    (pdf,) = libreoffice.convert([with_charts], "pdf", with_charts.parent)
    (plain_pdf,) = libreoffice.convert([without], "pdf", without.parent)
    text = re.sub(r"\s+", "", pdf_text(pdf))
    plain_text = re.sub(r"\s+", "", pdf_text(plain_pdf))
    for id_ in CHARTED:
        title = SPEC.item(id_).label("zh-CN").replace("(", "（").replace(")", "）") + "：各期走势"
        # drawn on the chart and repeated in its caption; neither without charts
        assert text.count(title) == 2, title
        assert title not in plain_text
    # GMV's data labels in 万元, as the text says them (Q1: 0.8 of the sample's 1,286.5万元).
    assert "1,029.2万元" in text and "1,029.2万元" not in plain_text
    assert pdf_page_count(pdf) > pdf_page_count(plain_pdf)


def test_the_line_chart_elements_are_in_python_pptx_writers_order(tmp_path: Path) -> None:
    """python-pptx's ChartXmlWriter (an independent writer of the schema's sequences): every
    element both parts have comes in the same order under the same parent."""
    from pptx.chart.data import CategoryChartData
    from pptx.chart.xmlwriter import ChartXmlWriter

    data = CategoryChartData()  # type: ignore[no-untyped-call]
    data.categories = ["Q1", "Q2", "Q3"]
    data.add_series("s", (1.0, None, 3.0))  # type: ignore[no-untyped-call]
    writer = ChartXmlWriter(XL_CHART_TYPE.LINE_MARKERS, data)  # type: ignore[no-untyped-call]
    theirs = xml(writer.xml.encode())
    package = Package(trend(write_quarters(tmp_path / "in")).docx())
    ours = xml(package.parts[package.charts()[0][0]])
    paths = [".", "c:chart", "c:chart/c:plotArea", "c:chart/c:plotArea/c:lineChart",
             "c:chart/c:plotArea/c:lineChart/c:ser", "c:chart/c:plotArea/c:catAx",
             "c:chart/c:plotArea/c:valAx"]  # fmt: skip
    ns = {"c": C[1:-1]}
    for path in paths:
        mine = [e.tag for e in ours.find(path, ns)]
        pptx = [e.tag for e in theirs.find(path, ns)]
        common = [t for t in pptx if t in mine]
        assert [t for t in mine if t in common] == common, path
        assert len(common) >= 2, path
