"""Native charts in the Word summary: the chart parts read back by python-pptx (an independent
reader of DrawingML charts), their embedded workbooks read by openpyxl, the package's
relationships and content types, what a missing figure does, and LibreOffice's rendering."""

from __future__ import annotations

import io
import posixpath
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from lxml import etree
from PIL import Image
from pptx.chart.chart import Chart
from pptx.enum.chart import XL_CHART_TYPE
from pptx.oxml import parse_xml

from generator.docx_writer import build_summary
from generator.xlsx_writer import build_workbook
from opsbook.cli import main
from opsbook.sample import sample_values
from opsbook.team.rollup import rollup
from tests.helpers import summary_text
from tests.lo import LibreOffice, pdf_page_count, pdf_text, pdf_to_png
from tests.test_docx_writer import SPEC, sample_report
from workbook.report import Report

RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
RT_CHART = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart"
RT_PACKAGE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/package"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
CT_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RATES = ("conversion_rate", "return_rate", "search_share", "paid_share", "repurchase_rate",
         "retention30", "new_product_share")  # fmt: skip
GMV = ("gmv_last_year", "gmv_prev", "gmv", "target_gmv")


def xml(data: bytes) -> Any:
    """A part's root element (Any: the tests walk it freely)."""
    return etree.fromstring(data)


def read_chart(data: bytes) -> Any:
    """python-pptx's Chart over a chart part's c:chartSpace."""
    return Chart(parse_xml(data), None)  # type: ignore[no-untyped-call]


def number(report: Report, id_: str) -> float:
    value = report.value(id_)
    assert isinstance(value, int | float)
    return float(value)


class Package:
    """A docx opened as a zip: parts, relationships and content types, as a reader sees them."""

    def __init__(self, data: bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            self.parts = {name: archive.read(name) for name in archive.namelist()}
        types = xml(self.parts["[Content_Types].xml"])
        self.defaults = {
            e.get("Extension"): e.get("ContentType") for e in types.iter(CT + "Default")
        }
        self.overrides = {
            e.get("PartName"): e.get("ContentType") for e in types.iter(CT + "Override")
        }

    def content_type(self, name: str) -> str | None:
        return self.overrides.get("/" + name) or self.defaults.get(name.rsplit(".", 1)[-1])

    def rels(self, name: str) -> dict[str, tuple[str, str]]:
        """rId -> (type, target part name) of a part."""
        folder, file = posixpath.split(name)
        rels = self.parts.get(posixpath.join(folder, "_rels", file + ".rels"))
        if rels is None:
            return {}
        return {
            r.get("Id"): (
                r.get("Type"),
                posixpath.normpath(posixpath.join(folder, r.get("Target"))),
            )
            for r in xml(rels).iter(RELS)
        }

    def charts(self) -> list[tuple[str, Any, str]]:
        """(chart part, python-pptx's Chart, embedded workbook part) in document order."""
        document = xml(self.parts["word/document.xml"])
        rels = self.rels("word/document.xml")
        out = []
        for ref in document.iter(C + "chart"):
            kind, name = rels[ref.get(R_ID)]
            assert kind == RT_CHART
            space = parse_xml(self.parts[name])
            external = space.find(C + "externalData")
            assert external is not None, f"{name}: no c:externalData (Edit Data would fail)"
            kind, embedded = self.rels(name)[external.get(R_ID)]
            assert kind == RT_PACKAGE
            out.append((name, read_chart(self.parts[name]), embedded))
        return out


def series(chart: Any) -> list[tuple[str, tuple[float | None, ...]]]:
    return [(s.name, tuple(s.values)) for s in chart.plots[0].series]


def categories(chart: Any) -> list[str]:
    return [str(c) for c in chart.plots[0].categories]


def sheet_rows(xlsx: bytes) -> list[tuple[Any, ...]]:
    workbook: Any = openpyxl.load_workbook(io.BytesIO(xlsx))
    return [tuple(row) for row in workbook.active.iter_rows(values_only=True)]


def labels(report: Report, ids: tuple[str, ...], lang: str) -> list[str]:
    return [SPEC.item(i).label(lang) for i in ids]


def test_the_charts_hold_the_reports_figures() -> None:
    report = sample_report("zh-CN")
    package = Package(build_summary(SPEC, report, lang="zh-CN"))
    (rates_part, rates, rates_xlsx), (gmv_part, gmv, gmv_xlsx) = package.charts()
    assert rates.chart_type == XL_CHART_TYPE.BAR_CLUSTERED
    assert rates.chart_title.text_frame.text == "核心比率：上期与本期"
    assert categories(rates) == ["转化率", "退货率", "搜索流量占比", "付费流量占比", "复购率",
                                 "新用户30日留存率", "新品GMV占比"]  # fmt: skip
    prev = {m.current: m.prev for m in SPEC.metrics if m.prev}
    assert series(rates) == [
        ("上期", tuple(report.value(prev[i]) for i in RATES)),
        ("本期", tuple(report.value(i) for i in RATES)),
    ]
    assert (report.value("conversion_rate_prev"), report.value("conversion_rate")) == (0.023, 0.025)
    assert rates.value_axis.tick_labels.number_format == "0%"
    assert rates.category_axis.reverse_order  # first metric on top, as in the KPI table
    assert rates.value_axis.minimum_scale == 0
    assert rates.has_legend

    assert gmv.chart_type == XL_CHART_TYPE.COLUMN_CLUSTERED
    assert categories(gmv) == ["去年同期", "上期", "本期", "下期目标"]
    # The text says 1,286.5万元: the chart counts in 万元 too.
    ((_, values),) = series(gmv)
    assert values == tuple(number(report, i) / 10_000 for i in GMV)
    assert values[2] == 1286.5
    assert gmv.plots[0].series[0].data_labels.number_format == '#,##0.0"万元"'

    # The embedded workbooks ("Edit Data") hold the same numbers, in the same places.
    assert sheet_rows(package.parts[rates_xlsx]) == [
        (None, "上期", "本期"),
        *((c, *v) for c, *v in zip(categories(rates), *(s for _, s in series(rates)), strict=True)),
    ]
    gmv_rows = sheet_rows(package.parts[gmv_xlsx])
    assert [r[1] for r in gmv_rows[1:]] == list(values)
    book: Any = openpyxl.load_workbook(io.BytesIO(package.parts[gmv_xlsx]))
    assert book.active["B2"].number_format == '#,##0.0"万元"'
    for name in (rates_part, gmv_part):
        refs = [f.text for f in xml(package.parts[name]).iter(C + "f")]
        n = len(categories(read_chart(package.parts[name])))
        assert f"Sheet1!$A$2:$A${n + 1}" in refs


def test_relationships_and_content_types_are_complete() -> None:
    package = Package(build_summary(SPEC, sample_report("en"), lang="en"))
    charts = package.charts()
    assert [name for name, _, _ in charts] == ["word/charts/chart1.xml", "word/charts/chart2.xml"]
    for name, _, embedded in charts:
        assert package.content_type(name) == CT_CHART
        assert package.content_type(embedded) == CT_XLSX
        assert embedded.startswith("word/embeddings/") and embedded in package.parts
    # Every relationship of every part points at a part that exists.
    for name in package.parts:
        for kind, target in package.rels(name).values():
            if "hyperlink" not in kind:
                assert target in package.parts, (name, target)
    # Each chart is an inline drawing with a unique docPr id.
    document = xml(package.parts["word/document.xml"])
    wp = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
    ids = [e.get("id") for e in document.iter(wp + "docPr")]
    assert len(ids) == len(set(ids)) == 2
    assert len(list(document.iter(wp + "inline"))) == 2


def test_chinese_fonts_and_black_and_white_fills() -> None:
    package = Package(build_summary(SPEC, sample_report("zh-CN"), lang="zh-CN"))
    for name, _, _ in package.charts():
        root = xml(package.parts[name])
        title = root.find(f"{C}chart/{C}title")
        assert {e.get("typeface") for e in title.iter(A + "ea")} == {"黑体"}
        for where in (f"{C}chart/{C}plotArea/{C}catAx", f"{C}chart/{C}plotArea/{C}valAx", "."):
            fonts = root.find(where).find(f"{C}txPr").iter(A + "ea")
            assert {e.get("typeface") for e in fonts} == {"宋体"}, (name, where)
        # Fills of the bars: greys or a black-on-white pattern, all different, outlined.
        fills = []
        for sp in root.iter(C + "spPr"):
            parent = sp.getparent().tag
            if parent in (C + "ser", C + "dPt"):
                fill = sp[0]
                rgb = [c.get("val") for c in fill.iter(A + "srgbClr")]
                assert all(v[0:2] == v[2:4] == v[4:6] for v in rgb), rgb  # grey levels only
                fills.append(etree.tostring(fill))
                assert sp.find(A + "ln") is not None
        distinct = fills[1:] if len(fills) > 2 else fills  # the series' own fill under its dPt
        assert len(set(distinct)) == len(distinct)


def test_some_figures_missing_the_chart_shows_the_rest_and_says_so() -> None:
    report = sample_report("zh-CN", drop=["gmv_last_year", "orders_prev"])
    data = build_summary(SPEC, report, lang="zh-CN")
    package = Package(data)
    (_, rates, _), (_, gmv, xlsx) = package.charts()
    assert report.value("conversion_rate_prev") is None
    assert series(rates)[0][1][0] is None  # previous conversion rate: a gap, not a zero
    assert series(rates)[1][1][0] == 0.025
    assert categories(gmv) == ["上期", "本期", "下期目标"]
    assert len(sheet_rows(package.parts[xlsx])) == 4
    text = "\n".join(
        "".join(t.text or "" for t in p.iter("{*}t"))
        for p in xml(package.parts["word/document.xml"]).iter("{*}p")
    )
    assert "注：图中未含转化率（上期）、退货率（上期）（未填写）。" in text.splitlines()
    assert "注：图中未含去年同期GMV（未填写）。" in text.splitlines()


def test_a_chart_whose_figures_are_all_missing_is_left_out() -> None:
    report = sample_report("en", drop=GMV)
    package = Package(build_summary(SPEC, report, lang="en"))
    charts = package.charts()
    assert [c.chart_title.text_frame.text for _, c, _ in charts] == [
        "Key rates: previous vs current"
    ]
    assert not any(n.startswith("word/charts/chart2") for n in package.parts)
    text = package.parts["word/document.xml"].decode()
    assert "Figure 1. Key rates" in text and "Figure 2" not in text


def test_no_charts_leaves_them_out_and_output_is_deterministic(tmp_path: Path) -> None:
    workbook = tmp_path / "in.xlsx"
    workbook.write_bytes(build_workbook(SPEC, "zh-CN", sample_values("zh-CN")))
    runner = CliRunner()
    for args, name in ((["--no-charts"], "plain.docx"), ([], "a.docx"), ([], "b.docx")):
        result = runner.invoke(main, ["render", str(workbook), "-o", str(tmp_path / name), *args])
        assert result.exit_code == 0, result.output
    plain = Package((tmp_path / "plain.docx").read_bytes())
    assert not any("chart" in n or "embeddings" in n for n in plain.parts)
    assert "图1" not in plain.parts["word/document.xml"].decode()
    assert (tmp_path / "a.docx").read_bytes() == (tmp_path / "b.docx").read_bytes()
    assert len(Package((tmp_path / "a.docx").read_bytes()).charts()) == 2


def test_reference_docx_styles_still_apply_around_the_charts(tmp_path: Path) -> None:
    import docx

    reference = tmp_path / "corp.docx"
    document = docx.Document()
    document.styles["Caption"].font.size = docx.shared.Pt(13)
    document.save(str(reference))
    data = build_summary(SPEC, sample_report("zh-CN"), lang="zh-CN", reference_docx=reference)
    assert len(Package(data).charts()) == 2
    summary: Any = docx.Document(io.BytesIO(data))
    captions = [p for p in summary.paragraphs if p.text.startswith("图")]
    assert [p.style.name for p in captions] == ["Caption", "Caption"]
    assert summary.styles["Caption"].font.size == docx.shared.Pt(13)


def test_team_summary_charts_each_persons_figures(tmp_path: Path) -> None:
    people = {"王磊": 1.0, "李娜": 1.5, "张伟": 0.8}
    for i, (name, factor) in enumerate(people.items()):
        values = sample_values("zh-CN")
        values["author"] = name
        values["orders"] = round(values["orders"] * factor)
        values["gmv"] = values["gmv"] * factor
        (tmp_path / f"p{i}.xlsx").write_bytes(build_workbook(SPEC, "zh-CN", values))
    team: Any = rollup([tmp_path])
    package = Package(team.docx())
    charts = {c.chart_title.text_frame.text: (c, x) for _, c, x in package.charts()}
    gmv, xlsx = charts["各成员周期GMV（本期）"]
    assert categories(gmv) == list(people)
    expected = [sample_values("zh-CN")["gmv"] * f / 10_000 for f in people.values()]
    assert list(series(gmv)[0][1]) == pytest.approx(expected)
    assert [r[1] for r in sheet_rows(package.parts[xlsx])[1:]] == pytest.approx(expected)
    conversion, _ = charts["各成员转化率（本期）"]
    uv = sample_values("zh-CN")["uv"]
    orders = sample_values("zh-CN")["orders"]
    assert list(series(conversion)[0][1]) == pytest.approx(
        [round(orders * f) / uv for f in people.values()]
    )
    assert not Package(team.docx(charts=False)).charts()


def _dark_pixels(png: Path) -> int:
    """Pixels of the charts' darkest bar fill (#404040), which text never paints in bulk."""
    with Image.open(png) as image:
        return sum(image.convert("L").histogram()[60:69])


@pytest.mark.libreoffice
def test_libreoffice_prints_the_charts(
    libreoffice: LibreOffice, poppler: None, tmp_path: Path
) -> None:
    report = sample_report("zh-CN")
    with_charts = tmp_path / "charts" / "summary.docx"
    without = tmp_path / "plain" / "summary.docx"
    for path, charts in ((with_charts, True), (without, False)):
        path.parent.mkdir()
        path.write_bytes(build_summary(SPEC, report, lang="zh-CN", charts=charts))
    (pdf,) = libreoffice.convert([with_charts], "pdf", with_charts.parent)
    (plain_pdf,) = libreoffice.convert([without], "pdf", without.parent)
    # pdftotext puts a space between Latin and Chinese text drawn apart.
    text = "".join(pdf_text(pdf).split())
    plain_text = "".join(pdf_text(plain_pdf).split())
    # The chart's own text: titles (and captions), categories, legend, data labels.
    for title in ("核心比率：上期与本期", "GMV：去年同期、上期、本期与下期目标"):
        assert text.count(title) == 2 and title not in plain_text
    for label in ("去年同期", "下期目标", "1,543.8万元"):
        assert label in text
    assert "去年同期" not in plain_text
    # The pages with charts carry the bars; the rendering without charts has none.
    pages = [p for p in range(1, pdf_page_count(pdf) + 1) if "图" in pdf_text(pdf, p, p)]
    assert len(pages) == 2
    for page in pages:
        png = pdf_to_png(pdf, page, tmp_path / f"charts-{page}.png", dpi=50)
        assert _dark_pixels(png) > 2000, page
    for page in range(1, pdf_page_count(plain_pdf) + 1):
        png = pdf_to_png(plain_pdf, page, tmp_path / f"plain-{page}.png", dpi=50)
        assert _dark_pixels(png) < 1000, page  # antialiased text only


def test_no_charts_in_batch_render_and_rollup(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i, name in enumerate(("王磊", "李娜")):
        values = sample_values("zh-CN")
        values["author"] = name
        (inbox / f"p{i}.xlsx").write_bytes(build_workbook(SPEC, "zh-CN", values))
    runner = CliRunner()
    for flags, outdir in (([], "with"), (["--no-charts"], "without")):
        args = ["render", str(inbox), "--outdir", str(tmp_path / outdir), "--jobs", "1", *flags]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        args = ["rollup", str(inbox), "-o", str(tmp_path / f"team-{outdir}.docx"), *flags]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    for outdir, count in (("with", 2), ("without", 0)):
        for summary in sorted((tmp_path / outdir).glob("*.docx")):
            assert len(Package(summary.read_bytes()).charts()) == count, summary
    team = Package((tmp_path / "team-with.docx").read_bytes()).charts()
    assert len(team) == 2 + len(SPEC.rollup.charts)
    assert not Package((tmp_path / "team-without.docx").read_bytes()).charts()


def test_a_team_too_large_for_a_bar_each_gets_a_line_instead() -> None:
    reports = [sample_report("zh-CN", author=f"成员{i:02d}") for i in range(41)]
    team: Any = rollup(reports)
    package = Package(team.docx())
    titles = [c.chart_title.text_frame.text for _, c, _ in package.charts()]
    assert titles == ["核心比率：上期与本期", "GMV：去年同期、上期、本期与下期目标"]
    text = summary_text(team.docx())
    assert "\n团队共 41 人，超过 40 人，未绘制各成员图表；各成员数据见上表。\n" in text
