"""The Word summary: structure, typography, honesty about missing figures, determinism."""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.shared import Cm, Pt
from lxml import etree

from generator.docx_writer import build_summary
from generator.narrative import outline, typeset
from generator.xlsx_writer import build_workbook
from opsbook.sample import sample_values
from tests.helpers import iter_text_parts, summary_text
from tests.lo import LibreOffice, pdf_page_count, pdf_text
from workbook import spec as spec_mod
from workbook.calc import compute_kpis
from workbook.errors import ExitCode, OpsbookError, UnreadableFile
from workbook.reader import read_workbook
from workbook.report import Report, SentenceChoice

GOLDEN = Path(__file__).parent / "golden"
LANGS = ("zh-CN", "en")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
SPEC = spec_mod.load()

# What must never reach a reader: Python's and Excel's ways of saying "no value", the
# template's blank marker, and an unfilled placeholder.
FORBIDDEN = re.compile(
    r"\bNone\b|\bnan\b|\binf\b|\[X\]|[{}]|#DIV/0!|#N/A|#VALUE!|#REF!|#NAME\?|#NUM!|#NULL!",
    re.IGNORECASE,
)


def sample_report(lang: str, drop: Iterable[str] = (), **overrides: Any) -> Report:
    """The built-in sample as a Report, without the reader: fields, tables, KPIs."""
    values = sample_values(lang)
    for id_ in drop:
        values.pop(id_, None)
    values.update(overrides)
    tables = {t.id: values.pop(t.id, []) for t in SPEC.tables}
    return Report(
        template_id=SPEC.id,
        template_version=SPEC.version,
        lang=lang,
        source=f"sample-{lang}.xlsx",
        fields=values,
        kpis=compute_kpis(SPEC, values),
        tables=tables,
    )


@pytest.fixture(scope="module")
def sample_docx() -> dict[str, bytes]:
    return {lang: build_summary(SPEC, sample_report(lang), lang=lang) for lang in LANGS}


def open_docx(data: bytes) -> Any:
    return docx.Document(io.BytesIO(data))


def part(data: bytes, name: str) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return etree.fromstring(zf.read(name))


def headings(document: Any) -> list[tuple[str, str]]:
    return [
        (p.style.name, p.text)
        for p in document.paragraphs
        if p.style.name in ("Title", "Heading 1", "Heading 2")
    ]


# ----------------------------------------------------------------------------------------------
# Structure


def test_headings_follow_the_spec_sections_in_order(sample_docx: dict[str, bytes]) -> None:
    for lang, data in sample_docx.items():
        found = headings(open_docx(data))
        assert found[0] == ("Title", SPEC.title(lang))
        sections = [h for style, h in found if style == "Heading 1"]
        expected = [typeset(s.title(lang), lang) for s in SPEC.sections if s.kind != "cover"]
        assert [s.split("、")[-1].split(". ", 1)[-1] for s in sections] == expected
    zh = [h for s, h in headings(open_docx(sample_docx["zh-CN"])) if s == "Heading 1"]
    assert zh[0] == "一、工作周期与业务范畴界定" and zh[5] == "六、下一阶段工作规划与目标"
    assert zh[-1] == "结语"
    en = [h for s, h in headings(open_docx(sample_docx["en"])) if s == "Heading 1"]
    assert en[0] == "1. Period and Scope of Work" and en[-1] == "Conclusion"


def test_subsections_are_heading_2_numbered_within_their_section(
    sample_docx: dict[str, bytes],
) -> None:
    found = headings(open_docx(sample_docx["zh-CN"]))
    section_two = found[found.index(("Heading 1", "二、核心工作内容执行情况")) + 1 :][:4]
    assert section_two == [
        ("Heading 2", "（一）运营策略执行：从商品到店铺的全链路优化"),
        ("Heading 2", "（二）营销活动推进：从策划到落地的全流程管控"),
        ("Heading 2", "（三）用户运营管理：从拉新到留存的全周期深耕"),
        ("Heading 2", "（四）数据驱动优化：从监测到迭代的全链路闭环"),
    ]
    en = headings(open_docx(sample_docx["en"]))
    assert ("Heading 2", "(4) Action plan") in en
    # "list" subsections of section 三 are bold-lead paragraphs, not headings.
    assert not any("业绩增长" in text for _, text in found)


def test_leads_are_bold_runs_starting_their_paragraph(sample_docx: dict[str, bytes]) -> None:
    document = open_docx(sample_docx["zh-CN"])
    leads = {p.runs[0].text: p for p in document.paragraphs if p.runs and p.runs[0].bold}
    for lead in ("商品运营：", "推广投放：", "1.业绩增长：", "3.运营效率：", "团队层面："):
        paragraph = leads[lead]
        assert paragraph.style.name == "Normal"
        assert not paragraph.runs[1].bold and paragraph.runs[1].text
    assert leads["1.业绩增长："].runs[1].text.startswith("周期内GMV为1,286.5万元，同比增长18.2%。")
    en = open_docx(sample_docx["en"])
    assert any(p.runs and p.runs[0].text == "1. Sales growth: " for p in en.paragraphs)


def test_tables_with_repeated_header_rows(sample_docx: dict[str, bytes]) -> None:
    document = open_docx(sample_docx["zh-CN"])
    tables = document.tables
    # KPI tables of 二、三、四、六, the problems table of 四, the action plan of 五.
    assert len(tables) == 6
    for table in tables:
        first = table.rows[0]._tr
        assert first.find(f"{W}trPr/{W}tblHeader") is not None
        assert table.style.name == "Table Grid"
        assert all(r._tr.find(f"{W}trPr/{W}tblHeader") is None for r in table.rows[1:])
    kpi = [c.text for c in tables[0].rows[0].cells]
    assert kpi == ["指标", "上期/基准", "本期", "变化", "目标"]
    # A rate changes in percentage points, labelled as such.
    assert [c.text for c in tables[0].rows[2].cells] == [
        "转化率",
        "2.3%",
        "2.5%",
        "+0.2个百分点",
        "—",
    ]
    problems = [c.text for c in tables[3].rows[0].cells]
    assert problems == ["问题", "具体表现", "深层原因"] and len(tables[3].rows) == 4
    actions = tables[4]
    assert [c.text for c in actions.rows[1].cells][1:3] == ["王磊", "2026-11-30"]
    assert len(actions.rows) == 1 + len(sample_values("zh-CN")["actions"])
    # Short tables are kept on one page: every row but the last keeps with the next.
    for table in tables:
        keeps = [all(p.paragraph_format.keep_with_next for c in r.cells for p in c.paragraphs)
                 for r in table.rows]  # fmt: skip
        assert keeps == [True] * (len(keeps) - 1) + [False]
    # Captions are numbered in reading order.
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    numbers = [c.split("　")[0] for c in captions]
    assert [n for n in numbers if n.startswith("表")] == [f"表{n}" for n in range(1, 7)]
    assert [n for n in numbers if n.startswith("图")] == ["图1", "图2"]


def test_kpi_table_fits_the_text_width(sample_docx: dict[str, bytes]) -> None:
    document = open_docx(sample_docx["zh-CN"])
    section = document.sections[0]
    text_width = section.page_width - section.left_margin - section.right_margin
    for table in document.tables:
        widths = [c.width for c in table.rows[0].cells]
        assert abs(sum(widths) - text_width) < Cm(0.05)


def test_user_notes_are_their_own_paragraphs(sample_docx: dict[str, bytes]) -> None:
    texts = [p.text for p in open_docx(sample_docx["zh-CN"]).paragraphs]
    note = texts.index(
        "本季度首次将直播间排班与大促节奏打通，晚间场次的成交占比由两成提升到三成以上；"
        "同时完成了客服话术库的梳理，售前咨询转化明显改善。"
    )
    # It closes 二(四), right after the data paragraph.
    assert texts[note - 1].startswith("输出26份数据报告。")
    assert texts[-1].startswith("下一阶段将以“数据驱动+精细化运营”为主线")


def test_meta_block_under_the_title(sample_docx: dict[str, bytes]) -> None:
    texts = [p.text for p in open_docx(sample_docx["zh-CN"]).paragraphs][1:4]
    assert texts == [
        "店铺：山岚家居天猫旗舰店　　周期：2026年Q3",
        "部门：电商运营部　　填写人：林晓雨",
        "日期：2026年10月10日",
    ]
    en = [p.text for p in open_docx(sample_docx["en"]).paragraphs][1:4]
    assert en[2] == "Date: 10 October 2026"


# ----------------------------------------------------------------------------------------------
# Typography


def _style_chain(styles: etree._Element, style_id: str) -> Iterator[etree._Element]:
    by_id = {s.get(f"{W}styleId"): s for s in styles.iter(f"{W}style")}
    seen: set[str] = set()
    while style_id in by_id and style_id not in seen:
        seen.add(style_id)
        style = by_id[style_id]
        yield style
        based = style.find(f"{W}basedOn")
        style_id = (based.get(f"{W}val") or "") if based is not None else ""


def _used_styles(data: bytes) -> set[str]:
    used = {"Normal"}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", name):
                root = etree.fromstring(zf.read(name))
                for tag in ("pStyle", "rStyle", "tblStyle"):
                    used.update(e.get(f"{W}val") or "" for e in root.iter(f"{W}{tag}"))
    return used


@pytest.mark.parametrize("lang", LANGS)
def test_every_style_used_names_an_east_asian_font(
    sample_docx: dict[str, bytes], lang: str
) -> None:
    data = sample_docx[lang]
    styles = part(data, "word/styles.xml")
    defaults = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}rFonts")
    assert defaults is not None and defaults.get(f"{W}eastAsia")
    used = _used_styles(data)
    assert {"Normal", "Title", "Heading1", "Heading2", "TableGrid", "Header", "Footer"} <= used
    for style_id in used:
        chain = list(_style_chain(styles, style_id))
        assert chain, f"style {style_id} is used but not defined"
        fonts = chain[0].find(f"{W}rPr/{W}rFonts")
        assert fonts is not None and fonts.get(f"{W}eastAsia"), f"{style_id}: no w:eastAsia"
        theme = [str(a) for a in fonts.attrib if str(a).lower().endswith("theme")]
        assert not theme, f"{style_id}: theme fonts {theme} override the names"
    # No run overrides a font without saying which East Asian one.
    body = part(data, "word/document.xml")
    for fonts in body.iter(f"{W}rFonts"):
        assert fonts.get(f"{W}eastAsia")


def test_chinese_office_sizes_and_black_headings(sample_docx: dict[str, bytes]) -> None:
    document = open_docx(sample_docx["zh-CN"])
    styles = document.styles
    sizes = {n: styles[n].font.size for n in ("Title", "Heading 1", "Heading 2", "Normal")}
    assert sizes == {"Title": Pt(22), "Heading 1": Pt(16), "Heading 2": Pt(14), "Normal": Pt(12)}
    assert styles["Title"].font.bold
    fonts = part(sample_docx["zh-CN"], "word/styles.xml")
    for style_id in ("Title", "Heading1", "Heading2"):
        style = next(_style_chain(fonts, style_id))
        color = style.find(f"{W}rPr/{W}color")
        assert color is not None and color.get(f"{W}val") == "000000"
        assert color.get(f"{W}themeColor") is None
        assert style.find(f"{W}pPr/{W}pBdr") is None
    normal = styles["Normal"].paragraph_format
    assert normal.line_spacing == 1.5
    ind = next(_style_chain(fonts, "Normal")).find(f"{W}pPr/{W}ind")
    assert ind is not None and ind.get(f"{W}firstLineChars") == "200"
    level = next(_style_chain(fonts, "Heading1")).find(f"{W}pPr/{W}outlineLvl")
    assert level is not None and level.get(f"{W}val") == "0"


def test_a4_page_and_page_number_fields(sample_docx: dict[str, bytes]) -> None:
    for lang, data in sample_docx.items():
        section = open_docx(data).sections[0]
        # A4 as Word writes it, in twips.
        assert (section.page_width.twips, section.page_height.twips) == (11906, 16838)
        footer = part(data, "word/footer1.xml")
        instructions = [(t.text or "").strip() for t in footer.iter(f"{W}instrText")]
        assert instructions == ["PAGE", "NUMPAGES"]
        text = summary_text(data).splitlines()[1]
        assert text == ("[footer] 第 1 页 / 共 1 页" if lang == "zh-CN" else "[footer] Page 1 of 1")


# Children that Word requires in schema order (ECMA-376), for the elements we write into.
_ORDER = {
    "pPr": [
        "pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
        "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku",
        "wordWrap", "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi",
        "adjustRightInd", "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents",
        "suppressOverlap", "jc", "textDirection", "textAlignment", "textboxTightWrap",
        "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange",
    ],
    "tblPr": [
        "tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize",
        "tblStyleColBandSize", "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd",
        "tblLayout", "tblCellMar", "tblLook", "tblCaption", "tblDescription", "tblPrChange",
    ],
    "tcPr": [
        "cnfStyle", "tcW", "gridSpan", "hMerge", "vMerge", "tcBorders", "shd", "noWrap", "tcMar",
        "textDirection", "tcFitText", "vAlign", "hideMark", "headers", "cellIns", "cellDel",
        "cellMerge", "tcPrChange",
    ],
}  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_property_elements_are_in_schema_order(sample_docx: dict[str, bytes], lang: str) -> None:
    data = sample_docx[lang]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = [n for n in zf.namelist() if n.startswith("word/") and n.endswith(".xml")]
    for name in names:
        root = part(data, name)
        for tag, order in _ORDER.items():
            for element in root.iter(f"{W}{tag}"):
                seen = [etree.QName(c).localname for c in element]
                ranks = [order.index(s) for s in seen if s in order]
                assert ranks == sorted(ranks), f"{name}: <w:{tag}> children {seen}"


# ----------------------------------------------------------------------------------------------
# Honesty about what is missing, and nothing that is not a figure


def _all_text(data: bytes) -> str:
    return "\n".join(iter_text_parts(data))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("missing", ["omit", "mark"])
def test_no_forbidden_strings_in_partial_or_full_reports(lang: str, missing: str) -> None:
    full = sample_report(lang)
    partial = sample_report(lang, drop=[f.id for f in SPEC.fields][::2])
    for report in (full, partial):
        text = _all_text(build_summary(SPEC, report, lang=lang, missing=missing))  # type: ignore[arg-type]
        assert not FORBIDDEN.findall(text)


def test_hostile_values_never_reach_the_document() -> None:
    report = sample_report(
        "zh-CN",
        gmv=math.nan,
        members=math.inf,
        new_users="#DIV/0!",
        store_name="山岚{gmv}\x0b家居",
        period="None",
        s2_notes="第一行\r\n第二行 [X]",
        conclusion="#N/A",
    )
    report.kpis["roi"] = math.nan
    report.kpis["aov"] = -math.inf
    data = build_summary(SPEC, report, lang="zh-CN", missing="mark")
    text = _all_text(data)
    assert not FORBIDDEN.findall(text)
    assert "山岚(gmv)家居" in text  # user braces are text, never a placeholder
    assert "【待补充：周期GMV（本期）】" in text
    paragraphs = [p.text for p in open_docx(data).paragraphs]
    assert "第一行" in paragraphs and "第二行" in paragraphs


def test_omit_leaves_out_sentences_and_mark_shows_them() -> None:
    report = sample_report("zh-CN", drop=["repeat_buyers_prev", "buyers_prev"])
    omit = summary_text(build_summary(SPEC, report, lang="zh-CN", missing="omit"))
    mark = summary_text(build_summary(SPEC, report, lang="zh-CN", missing="mark"))
    assert "复购率从" not in omit
    assert "复购率从【待补充：复购率（上期）】变为28%。" in mark
    # The other sentences of the paragraph stay, in both modes.
    for text in (omit, mark):
        assert "完成3,200名高价值用户的专属权益触达" in text
        assert "新用户30日留存率提升2.0个百分点。" in text
    # In the KPI table the row keeps its current value; the blank shows as a dash or a mark.
    assert "| 复购率 | — | 28% | — | — |" in omit
    assert "| 复购率 | 待补充 | 28% | 待补充 | — |" in mark
    en = summary_text(
        build_summary(SPEC, sample_report("en", drop=["gmv"]), lang="en", missing="mark")
    )
    assert "GMV for the period was [missing: GMV (this period)]" in en


def test_a_template_diagnosis_appears_only_when_the_person_keeps_it() -> None:
    fixed = "活动后链路（如支付环节）缺乏分层引导，新老用户转化策略同质化。"
    empty = Report(SPEC.id, SPEC.version, "zh-CN", "empty.xlsx")
    text = summary_text(build_summary(SPEC, empty, lang="zh-CN", missing="omit"))
    assert fixed not in text  # a blank workbook makes no claims the user never made
    assert "PowerBI" not in text and "本周期电商运营工作围绕" not in text
    values = {"campaign_clicks": 1000, "campaign_buyers": 240, "funnel_loss_expected": 0.7}
    filled = Report(SPEC.id, SPEC.version, "zh-CN", "x.xlsx", fields=dict(values),
                    kpis=compute_kpis(SPEC, values))  # fmt: skip
    text = summary_text(build_summary(SPEC, filled, lang="zh-CN", missing="omit"))
    # 76% against 70% is 6 points, and says so; the diagnosis beside it is not the data's.
    assert "活动点击-转化漏斗流失率为76%，较预期高出6.0个百分点。" in text
    assert fixed not in text
    filled.choices["post_campaign_path"] = SentenceChoice("keep")
    text = summary_text(build_summary(SPEC, filled, lang="zh-CN", missing="omit"))
    assert "较预期高出6.0个百分点。" + fixed in text


@pytest.mark.parametrize("lang", LANGS)
def test_an_empty_section_keeps_its_heading_and_says_so(lang: str) -> None:
    empty = Report(SPEC.id, SPEC.version, lang, "empty.xlsx")
    data = build_summary(SPEC, empty, lang=lang)
    document = open_docx(data)
    found = [h for s, h in headings(document) if s == "Heading 1"]
    assert len(found) == len([s for s in SPEC.sections if s.kind != "cover"])
    texts = [p.text for p in document.paragraphs]
    line = {
        "zh-CN": "本部分暂无可用数据，待补充。",
        "en": "No figures have been provided for this section yet.",
    }[lang]
    after_first = texts[texts.index(found[0]) + 1]
    assert after_first == line
    assert not document.tables  # no table of blanks
    assert not FORBIDDEN.findall(_all_text(data))


def test_outline_rejects_an_unknown_missing_mode() -> None:
    with pytest.raises(OpsbookError) as caught:
        outline(SPEC, sample_report("en"), lang="en", missing="hide")  # type: ignore[arg-type]
    assert caught.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("运营策略执行:从商品到店铺", "运营策略执行：从商品到店铺"),
        ("GMV(环比)", "GMV（环比）"),
        (
            "用户生命周期价值(LTV){ltv_change:change}。",
            "用户生命周期价值（LTV）{ltv_change:change}。",
        ),
        ("GMV达{gmv},同比{gmv_yoy:growth}。", "GMV达{gmv}，同比{gmv_yoy:growth}。"),
        ("开展A/B测试, SOP 1,234 (v2)", "开展A/B测试，SOP 1,234 (v2)"),  # ASCII stays ASCII
        ("Q3 2026: growth (GMV), retention", "Q3 2026: growth (GMV), retention"),
    ],
)
def test_chinese_text_gets_full_width_punctuation(text: str, expected: str) -> None:
    assert typeset(text, "zh-CN") == expected
    assert typeset(text, "en") == text


def test_user_text_is_cleaned_not_dropped() -> None:
    report = sample_report(
        "zh-CN",
        s4_notes="部分问题与平台规则调整有关_x000B_,需要持续观察\t投放成本。\x07",
        highlights="  ",
    )
    text = summary_text(build_summary(SPEC, report, lang="zh-CN"))
    assert "部分问题与平台规则调整有关，需要持续观察 投放成本。\n" in text
    assert "秋日焕新" not in text  # a blank note leaves no empty paragraph


# ----------------------------------------------------------------------------------------------
# Determinism and properties


def test_same_input_gives_the_same_bytes(sample_docx: dict[str, bytes]) -> None:
    for lang, data in sample_docx.items():
        assert build_summary(SPEC, sample_report(lang), lang=lang) == data
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            stamps = {i.date_time for i in zf.infolist()}
            assert stamps == {(2026, 10, 10, 0, 0, 0)}  # the report's own date
            assert "docProps/thumbnail.jpeg" not in zf.namelist()
    undated = sample_report("zh-CN", drop=["report_date"])
    first = build_summary(SPEC, undated, lang="zh-CN")
    assert build_summary(SPEC, undated, lang="zh-CN") == first


@pytest.mark.parametrize("lang", LANGS)
def test_set_up_from_scratch_or_from_the_saved_template_gives_the_same_bytes(
    lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh process: the first summary of a locale sets it up, the second also saves the
    # set-up as a template, the third reloads the template. A batch mixes all three.
    from generator import docx_writer

    monkeypatch.setattr(docx_writer, "_TEMPLATES", {})
    monkeypatch.setattr(docx_writer, "_BUILT", set())
    report = sample_report(lang)
    scratch = build_summary(SPEC, report, lang=lang)
    assert lang not in docx_writer._TEMPLATES
    saving = build_summary(SPEC, report, lang=lang)
    assert lang in docx_writer._TEMPLATES
    reloaded = build_summary(SPEC, report, lang=lang)
    assert scratch == saving == reloaded


def test_core_properties(sample_docx: dict[str, bytes]) -> None:
    props = open_docx(sample_docx["zh-CN"]).core_properties
    assert props.title == "电子商务运营实务工作总结"
    assert props.author == props.last_modified_by == "林晓雨"
    assert props.subject == "山岚家居天猫旗舰店 · 2026年Q3"
    when = dt.datetime(2026, 10, 10, tzinfo=dt.timezone.utc)
    assert props.created == props.modified == when
    assert props.language == "zh-CN"
    assert open_docx(sample_docx["en"]).core_properties.subject == (
        "Shanlan Home Tmall flagship store · Q3 2026"
    )


# ----------------------------------------------------------------------------------------------
# A company's reference document


def _corporate(path: Path) -> Path:
    document = docx.Document()
    section = document.sections[0]
    section.left_margin = section.right_margin = Cm(2.0)
    document.styles["Normal"].font.name = "Georgia"
    document.styles["Heading 1"].font.size = Pt(20)
    for name in ("Heading 2", "Caption"):
        element = document.styles[name].element
        element.getparent().remove(element)
    document.add_paragraph("COMPANY BOILERPLATE")
    section.header.paragraphs[0].add_run("ACME letterhead")
    document.save(str(path))
    return path


def test_reference_docx_keeps_the_company_styles(tmp_path: Path) -> None:
    reference = _corporate(tmp_path / "corp.docx")
    before = reference.read_bytes()
    data = build_summary(SPEC, sample_report("zh-CN"), lang="zh-CN", reference_docx=reference)
    assert reference.read_bytes() == before
    document = open_docx(data)
    text = summary_text(data)
    assert "COMPANY BOILERPLATE" not in text
    assert text.startswith("[header] ACME letterhead\n[footer] 第 1 页 / 共 1 页")
    assert abs(document.sections[0].left_margin - Cm(2.0)) < Cm(0.01)  # their page setup
    styles = document.styles
    assert styles["Normal"].font.name == "Georgia"  # their Latin font
    assert styles["Heading 1"].font.size == Pt(20)  # their heading size
    assert styles["Heading 2"].font.size == Pt(14)  # ours, where they had none
    assert headings(document)[1] == ("Heading 1", "一、工作周期与业务范畴界定")
    # Their theme has no East Asian font, so Chinese text gets ours on every style used.
    xml = part(data, "word/styles.xml")
    for style_id in _used_styles(data):
        chain = list(_style_chain(xml, style_id))
        names = [c.find(f"{W}rPr/{W}rFonts") for c in chain]
        assert any(f is not None and f.get(f"{W}eastAsia") for f in names), style_id
    again = build_summary(SPEC, sample_report("zh-CN"), lang="zh-CN", reference_docx=reference)
    assert again == data


def test_reference_docx_that_is_not_a_document(tmp_path: Path) -> None:
    workbook = tmp_path / "corp.docx"
    workbook.write_bytes(build_workbook(SPEC, "zh-CN"))
    for path in (tmp_path / "absent.docx", workbook, tmp_path):
        with pytest.raises(UnreadableFile) as caught:
            build_summary(SPEC, sample_report("en"), lang="en", reference_docx=path)
        assert caught.value.exit_code == ExitCode.UNREADABLE
        assert str(path) in caught.value.message("en")


# ----------------------------------------------------------------------------------------------
# Golden text of the sample, and the reader's path to the same document


@pytest.mark.parametrize("lang", LANGS)
def test_sample_golden_text(sample_docx: dict[str, bytes], lang: str) -> None:
    golden = GOLDEN / f"sample-{lang}.txt"
    text = summary_text(sample_docx[lang])
    if os.environ.get("OPSBOOK_UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), "run with OPSBOOK_UPDATE_GOLDEN=1 to write the golden text"
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", LANGS)
def test_the_reader_path_gives_the_golden_document(tmp_path: Path, lang: str) -> None:
    workbook = tmp_path / f"sample-{lang}.xlsx"
    workbook.write_bytes(build_workbook(SPEC, lang, sample_values(lang)))
    report = read_workbook(workbook, SPEC)
    text = summary_text(build_summary(SPEC, report, lang=lang))
    assert text == (GOLDEN / f"sample-{lang}.txt").read_text(encoding="utf-8")


@pytest.mark.libreoffice
def test_libreoffice_prints_the_page_numbers(
    libreoffice: LibreOffice, poppler: None, tmp_path: Path, sample_docx: dict[str, bytes]
) -> None:
    source = tmp_path / "sample-zh-CN.docx"
    source.write_bytes(sample_docx["zh-CN"])
    (pdf,) = libreoffice.convert([source], "pdf", tmp_path)
    pages = pdf_page_count(pdf)
    assert pages >= 3
    first = pdf_text(pdf, 1, 1)
    assert "电子商务运营实务工作总结" in first
    assert re.search(rf"第\s*1\s*页\s*/\s*共\s*{pages}\s*页", first)
    assert re.search(rf"第\s*{pages}\s*页\s*/\s*共\s*{pages}\s*页", pdf_text(pdf, pages, pages))


def test_marked_missing_figures_keep_their_movement_word() -> None:
    empty = Report(SPEC.id, SPEC.version, "zh-CN", "empty.xlsx")
    text = summary_text(build_summary(SPEC, empty, lang="zh-CN", missing="mark"))
    assert "复购率从【待补充：复购率（上期）】变为【待补充：复购率（本期）】。" in text
    assert (
        "其中新品贡献占比从【待补充：新品GMV占比（上期）】变为【待补充：新品GMV占比（本期）】"
        in text
    )


def test_the_writers_find_store_period_author_and_date_by_their_roles() -> None:
    """The spec's [roles] name the fields the header, meta lines and properties show: a spec
    that names none shows only the title and falls back to the fixed date."""
    import dataclasses

    no_roles = dataclasses.replace(SPEC, roles={})
    report = sample_report("zh-CN")
    data = build_summary(no_roles, report, lang="zh-CN")
    document = docx.Document(io.BytesIO(data))
    header = " ".join(p.text for p in document.sections[0].header.paragraphs)
    assert header == typeset(SPEC.title("zh-CN"), "zh-CN")
    text = summary_text(data)
    assert "店铺：" not in text and "填写人：" not in text
    assert document.core_properties.author == "opsbook"  # docx.default_author
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2026, 1, 1, 0, 0, 0)}
    # The same report with the roles: the store in the header, the report's own date.
    with_roles = docx.Document(io.BytesIO(build_summary(SPEC, report, lang="zh-CN")))
    assert str(report.fields["store_name"]) in with_roles.sections[0].header.paragraphs[0].text
