"""Figures a team can trust (issue 10, the workbook and reader half): impossible figures never
reach a summary, typed percentages stay percentages, nothing typed is dropped without a word,
numbers pasted as text are visible in the workbook, and common forms are accepted with a note.

Workbooks are filled the way people do: typed into the generated workbook (openpyxl standing in
for the keyboard) and, where it matters, saved again by real LibreOffice.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from opsbook import api
from opsbook.cli import main
from opsbook.sample import sample_values
from tests.helpers import summary_text
from tests.lo import LibreOffice
from tests.test_reader import build_blank, fill_with_openpyxl, load_wb, where
from workbook.reader import read_workbook
from workbook.spec import load

SPEC = load()


def filled(tmp_path: Path, name: str = "filled.xlsx", lang: str = "zh-CN", **values: Any) -> Path:
    """The sample typed into a blank workbook (no saved results), with `values` changed."""
    path = tmp_path / name
    fill_with_openpyxl(build_blank(tmp_path, lang=lang), path, {**sample_values(lang), **values})
    return path


def through_libreoffice(libreoffice: LibreOffice, path: Path) -> Path:
    """The workbook opened, recalculated and saved again by LibreOffice (as xlsx)."""
    (saved,) = libreoffice.convert([path], "xlsx", path.parent / f"lo-{path.stem}")
    return saved


# -- 1. a part above its whole: left out of every KPI and sentence ----------------------------


@pytest.mark.libreoffice
def test_impossible_figures_never_reach_the_summary(
    tmp_path: Path, libreoffice: LibreOffice
) -> None:
    # 560 unsold SKUs of 420 on sale (133.3%); campaign GMV five times the period's GMV
    gmv = sample_values("zh-CN")["gmv"]
    path = through_libreoffice(libreoffice, filled(tmp_path, sku_unsold=560, campaign_gmv=gmv * 5))
    docx, report = api.render(path, tmp_path / "summary.docx")
    text = summary_text(docx.read_bytes())
    assert "133.3%" not in text and "滞销率控制在" not in text
    assert "4,120,000" not in text and "6,432.5万" not in text  # the campaign GMV
    for id_ in ("sku_unsold", "sku_total", "campaign_gmv", "gmv"):
        assert report.fields[id_] is None, id_
    for k in SPEC.kpis:  # every KPI built on them is blank
        if {"sku_unsold", "campaign_gmv", "gmv"} & set(k.refs):
            assert report.kpis[k.id] is None, k.id
    # the report says which figures and why, with both cells (for the team roll-up)
    unusable = report.unusable["campaign_gmv"]
    assert (unusable.reason, unusable.other) == ("part_exceeds_whole", "gmv")
    assert unusable.cell == report.cells["campaign_gmv"]
    assert unusable.other_cell == report.cells["gmv"]
    # LibreOffice's own results for those KPIs (133.3%) are not reported as stale
    assert not [i for i in report.issues if i.kind == "stale_cache" and i.id == "unsold_rate"]

    marked, _ = api.render(path, tmp_path / "marked.docx", missing="mark")
    marked_text = summary_text(marked.read_bytes())
    assert "滞销率为【待补充：滞销率】。" in marked_text
    assert "133.3%" not in marked_text


def test_check_names_the_impossible_pair_and_exits_1(tmp_path: Path) -> None:
    path = filled(tmp_path, sku_unsold=560)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    report = read_workbook(path)
    line = (
        f"{path}:错误:{report.cells['sku_unsold']}: 滞销SKU数=560,大于在售SKU总数=420"
        f"({report.cells['sku_total']}),而滞销 SKU 是在售 SKU 的一部分;这不可能成立,两个数及"
        "由它们算出的指标都不写入总结与团队汇总,请核对"
    )
    assert line in result.output.splitlines()


# -- 4. values in messages rounded as the summary rounds them ---------------------------------


def test_check_prints_values_rounded_as_the_summary(tmp_path: Path) -> None:
    # a KPI typed over its formula with a long fraction: 0.325928853755 reads 32.6%, as in
    # the summary, and 12,345.678 yuan reads 12,345.68
    wb = load_wb(filled(tmp_path))
    ws, ref = where(wb, "conversion_rate")
    ws[ref] = 0.325928853755
    ws, ref = where(wb, "aov")
    ws[ref] = 12345.678
    path = tmp_path / "typed.xlsx"
    wb.save(path)
    result = CliRunner().invoke(main, ["check", str(path), "--lang", "en"])
    assert "32.5928853755" not in result.output
    assert "replaced by the typed value 32.6%" in result.output
    assert "replaced by the typed value 12,345.68" in result.output
    assert re.search(r"\d\.\d{3,}%", result.output) is None


# -- 2 and 3. typed percentages, the person's own metrics, rows below a table, unread cells ----


def _table_rows(path: Path, id_: str) -> tuple[str, int, int]:
    """(sheet, first row, last row) of a table's named range."""
    wb = load_wb(path)
    ((sheet, rng),) = list(wb.defined_names[id_].destinations)
    first, last = (int(n) for n in re.findall(r"\d+", rng))
    return sheet, first, last


@pytest.mark.libreoffice
def test_nothing_typed_is_dropped(tmp_path: Path, libreoffice: LibreOffice) -> None:
    path = filled(tmp_path)
    sheet2, _, _ = _table_rows(path, "own_metrics_s2")
    sheet3, own3, _ = _table_rows(path, "own_metrics_s3")
    sheet5, _, actions_last = _table_rows(path, "actions")
    wb = load_wb(path)
    # their own metric, in the place the workbook gives for it
    for col, value in enumerate(("短视频条数", "40", "52", "条", "每周四条"), 1):
        wb[sheet3].cell(own3, col, value)
    # an action typed below the action table, its target typed as 12% (a number shown as %)
    below = actions_last + 1
    for col, value in enumerate(("会员日短信召回", "王磊", "2026-12-15", "召回率"), 1):
        wb[sheet5].cell(below, col, value)
    wb[sheet5].cell(below, 5, 0.12).number_format = "0%"
    # and inside the table, a target pasted as a number with a percent format: 28%
    _, actions_first, _ = _table_rows(path, "actions")
    wb[sheet5].cell(actions_first, 5, 0.28).number_format = "0.0%"
    # a figure typed beside the template, in a row someone added at the end of the sheet
    # (unprotected first, as the workbook protects everything but its input cells)
    ws2 = wb[sheet2]
    ws2.protection.sheet = False
    extra = ws2.max_row + 2
    ws2.cell(extra, 1, "小红书笔记数")
    ws2.cell(extra, 2, 35)
    wb.save(path)
    saved = through_libreoffice(libreoffice, path)

    docx, report = api.render(saved, tmp_path / "summary.docx")
    text = summary_text(docx.read_bytes())
    assert "| 短视频条数 | 40条 | 52条 | +30% |" in text
    assert "| 直播场次 | 60场 | 86场 | +43.3% |" in text  # the sample's own metric
    assert "| 会员日短信召回 | 王磊 | 2026-12-15 | 召回率 | 12% |" in text
    assert "| 28% |" in text
    assert "0.12" not in text and "0.28" not in text
    assert report.tables["actions"][-1]["target"] == "12%"

    result = CliRunner().invoke(main, ["check", str(saved)])
    lines = result.output.splitlines()
    assert (
        f"{saved}:警告:{sheet2}!A{extra}: “小红书笔记数”不在任何填写位置,opsbook 没有读取它;"
        "请把它填到对应的黄色单元格,或本页的“其他指标”表中" in lines
    )
    assert any(line.startswith(f"{saved}:警告:{sheet2}!B{extra}: “35”不在") for line in lines)
    assert (
        f"{saved}:提示:{sheet5}!A{below}:E{below}: 改进行动表:表格下方另填了 1 行,已一并读取"
        in lines
    )
    # nothing else is unread: the template's own texts and numbers are not someone's input
    assert len([line for line in lines if "没有读取它" in line]) == 2


# -- 4. numbers pasted as text: visible in the workbook itself --------------------------------


def _cover_count(path: Path, label: str) -> Any:
    """The value LibreOffice (or the generator) saved beside a label on the cover."""
    wb = load_wb_values(path)
    cover = wb.worksheets[0]
    (row,) = [r for r in range(1, cover.max_row + 1) if cover.cell(r, 1).value == label]
    return cover.cell(row, 2).value


def load_wb_values(path: Path) -> Any:
    import warnings

    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path, data_only=True)


@pytest.mark.libreoffice
def test_numbers_pasted_as_text_are_marked_and_counted(
    tmp_path: Path, libreoffice: LibreOffice
) -> None:
    blank = build_blank(tmp_path)
    assert _cover_count(blank, "以文本形式填写的数字") == 0
    path = through_libreoffice(
        libreoffice, filled(tmp_path, gmv="1,286.5万", uv="1,850,000", ad_spend="¥1,560,000")
    )
    # LibreOffice's own recalculation counts the three cells
    assert _cover_count(path, "以文本形式填写的数字") == 3
    wb = load_wb(path)
    ws, ref = where(wb, "gmv")
    rules = [
        rule.formula
        for rng in ws.conditional_formatting
        if ref in str(rng.sqref)
        for rule in rng.rules
    ]
    assert [f"ISTEXT({ref})"] in rules
    # the summary still reads them
    docx, report = api.render(path, tmp_path / "summary.docx")
    assert report.fields["gmv"] == 12_865_000 and report.fields["uv"] == 1_850_000
    assert "1,286.5万元" in summary_text(docx.read_bytes())


# -- 6. words in the workbook ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "days"),
    [("2026年Q1", 90), ("2028年Q1", 91), ("2026年第二季度", 91), ("2026Q3", 92),
     ("2026年Q4", 92), ("2026年度", 365), ("2028年度", 366), ("旺季", None)],
)  # fmt: skip
def test_new_with_a_period_fills_its_days(tmp_path: Path, period: str, days: int | None) -> None:
    out = tmp_path / "new.xlsx"
    result = CliRunner().invoke(main, ["new", str(out), "--period", period])
    assert result.exit_code == 0, result.output
    report = read_workbook(out)
    assert report.fields["period"] == period
    assert report.fields["period_days"] == days


def test_the_workbook_says_what_units_and_days_mean(tmp_path: Path) -> None:
    wb = load_wb(build_blank(tmp_path))
    ws, ref = where(wb, "period_days")
    (prompt,) = [dv.prompt for dv in ws.data_validations.dataValidation if ref in str(dv.sqref)]
    assert "Q1 填 90(闰年 91),Q2 填 91,Q3、Q4 填 92" in str(prompt)
    ws, ref = where(wb, "uv")
    assert ws[ref].offset(0, 1).value == "人"  # UV counts people; visits would be 人次
    ws, ref = where(wb, "funnel_loss_expected")
    assert ws[ref].offset(0, 1).value == "%"
    cover = wb.worksheets[0]
    steps = [c.value for c in cover["A"] if isinstance(c.value, str) and c.value[:2] == "6."]
    (last,) = steps
    assert "opsbook serve" in last and "opsbook render" in last
    assert not last.startswith("6. 填完后运行")  # not a terminal command for an Excel user


# -- 5. common forms, each with a note -------------------------------------------------------


@pytest.mark.libreoffice
def test_common_forms_are_read_with_a_note(tmp_path: Path, libreoffice: LibreOffice) -> None:
    actions = [
        {"action": "年货节预热", "owner": "王磊", "deadline": "12月15日", "target": "20%"},
        {"action": "年后复盘", "owner": "陈思", "deadline": "1月15日", "target": "1份"},
    ]
    path = through_libreoffice(
        libreoffice,
        filled(
            tmp_path, period="2026年Q4", period_days=92, new_users="6.84w", members="18.6W",
            gmv="约1286.5万", report_date="10月10日", actions=actions,
        ),
    )  # fmt: skip
    report = read_workbook(path)
    assert report.fields["new_users"] == 68_400
    assert report.fields["members"] == 186_000
    assert report.fields["gmv"] == 12_865_000
    # the year comes from the period; a January deadline of a fourth quarter is next year's
    assert report.fields["report_date"] == dt.date(2026, 10, 10)
    deadlines = [row["deadline"] for row in report.tables["actions"]]
    assert deadlines == [dt.date(2026, 12, 15), dt.date(2027, 1, 15)]
    notes = [i.message("zh-CN") for i in report.issues if i.severity == "info"]
    cell = report.cells
    assert f"{cell['new_users']}: 新增注册用户:“6.84w”中的 w 按“万”读取:68,400" in notes
    assert f"{cell['gmv']}: 周期GMV(本期):“约1286.5万”是约数,按 12,865,000 读取" in notes
    assert (
        f"{cell['report_date']}: 提交日期:“10月10日”没有年份,按周期(2026-Q4)的年份读作 "
        "2026-10-10" in notes
    )
    assert not report.errors


def test_a_workbook_made_before_the_own_metrics_tables_reads_without_a_word(
    tmp_path: Path,
) -> None:
    path = filled(tmp_path)
    wb = load_wb(path)
    for table in SPEC.tables:
        if table.kind == "metrics":  # the older template had neither the name nor the rows
            ws, ref = where(wb, table.id)
            for row in ws[ref]:
                for cell in row:
                    cell.value = None
            title = ws.cell(ws[ref][0][0].row - 2, 1)
            assert title.value == table.label.zh_cn
            title.value = None
            del wb.defined_names[table.id]
    older = tmp_path / "older.xlsx"
    wb.save(older)
    report = api.check(older)
    assert [i.kind for i in report.issues] == ["kpi_not_saved"]
