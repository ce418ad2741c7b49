"""Filled workbook -> Report, with the workbook changed the way people and programs change it.

Workbooks are generated with the real generator, then edited with openpyxl (which saves no
formula results, like any program that does not calculate) or patched at the XML level where a
file must keep its saved results. Each test asserts what a user would see: the value used in
the summary, and the message `opsbook check` prints for the cell.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from generator.xlsx_writer import build_workbook
from opsbook.sample import sample_values
from tests.lo import LibreOffice
from workbook.calc import compute_kpis
from workbook.errors import ExitCode, UnreadableFile
from workbook.reader import read_workbook, read_workbook_bytes
from workbook.report import Report
from workbook.saved import NOT_SAVED, saved_results
from workbook.spec import load

SPEC = load()
S1, S2, S3, S4 = "一、周期与范畴", "二、核心工作", "三、阶段成果", "四、问题剖析"


# -- helpers (also used by tests/test_check_export.py) ---------------------------------------


def build(folder: Path, name: str = "filled.xlsx", lang: str = "zh-CN", **values: Any) -> Path:
    """A workbook written by the generator (with saved results): the sample plus `values`."""
    data = {**sample_values(lang), **values}
    path = folder / name
    path.write_bytes(build_workbook(SPEC, lang, data))
    return path


def build_blank(folder: Path, name: str = "blank.xlsx", lang: str = "zh-CN") -> Path:
    path = folder / name
    path.write_bytes(build_workbook(SPEC, lang))
    return path


def load_wb(path: Path) -> Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # extensions openpyxl does not model (data bars)
        return openpyxl.load_workbook(path)


def edit(src: Path, name: str, change: Callable[[Workbook], None]) -> Path:
    """A copy of src changed with openpyxl and saved (which drops every saved formula result)."""
    wb = load_wb(src)
    change(wb)
    dst = src.with_name(name)
    wb.save(dst)
    return dst


def where(wb: Workbook, id_: str) -> tuple[Worksheet, str]:
    """The worksheet and cell a workbook-level name points at."""
    ((sheet, ref),) = list(wb.defined_names[id_].destinations)
    ws = wb[sheet]
    assert isinstance(ws, Worksheet)
    return ws, ref.replace("$", "")


def setter(**values: Any) -> Callable[[Workbook], None]:
    """Type values into the cells of the named inputs (or over a KPI's formula)."""

    def change(wb: Workbook) -> None:
        for id_, value in values.items():
            ws, ref = where(wb, id_)
            ws[ref] = value

    return change


def address(path: Path, id_: str) -> str:
    ws, ref = where(load_wb(path), id_)
    return f"{ws.title}!{ref}"


def patch_xml(src: Path, name: str, sheet: str, cells: dict[str, str]) -> Path:
    """Rewrite cells in the XML of a generator-written file, keeping every other saved result:
    what a program that writes values without recalculating leaves behind. Each new text may
    start with {open}, the cell's original opening tag without its ">"."""
    index = [s.sheet("zh-CN") for s in SPEC.sections].index(sheet)
    part = f"xl/worksheets/sheet{index + 1}.xml"  # the generator writes sheets in order
    dst = src.with_name(name)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == part:
                text = data.decode("utf-8")
                for cell, new in cells.items():
                    match = re.search(rf'(<c r="{cell}"[^>]*?)(/>|>.*?</c>)', text)
                    assert match is not None, cell
                    replacement = new.replace("{open}", match.group(1))
                    text = text[: match.start()] + replacement + text[match.end() :]
                data = text.encode("utf-8")
            zout.writestr(info, data)
    return dst


def coordinate(path: Path, id_: str) -> str:
    return address(path, id_).split("!")[1]


def messages(report: Report, lang: str = "zh-CN", kind: str | None = None) -> list[str]:
    return [i.message(lang) for i in report.issues if kind is None or i.kind == kind]


def label(id_: str, lang: str = "zh-CN") -> str:
    return SPEC.item(id_).label(lang)


def expected_fields(lang: str) -> dict[str, Any]:
    sample = sample_values(lang)
    return {f.id: sample.get(f.id) for f in SPEC.fields}


# -- the sample, both languages --------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_sample_reads_back_exactly(tmp_path: Path, lang: str) -> None:
    path = build(tmp_path, lang=lang)
    report = read_workbook(path)
    assert (report.template_id, report.template_version) == (SPEC.id, SPEC.version)
    assert report.lang == lang
    assert report.source == "filled.xlsx"
    assert report.fields == expected_fields(lang)
    assert report.fields["report_date"] == dt.date(2026, 10, 10)
    assert report.kpis == compute_kpis(SPEC, sample_values(lang))
    sample = sample_values(lang)
    assert report.tables == {t.id: sample.get(t.id, []) for t in SPEC.tables}
    assert report.issues == []
    assert not report.blocking
    wb = load_wb(path)
    for id_ in [*(f.id for f in SPEC.fields), *(k.id for k in SPEC.kpis)]:
        ws, ref = where(wb, id_)
        assert report.cells[id_] == f"{ws.title}!{ref}"
    assert report.cells["actions.1.owner"] == report.cells["actions"].split(":")[0].replace(
        "!A", "!B"
    )


def test_a_blank_workbook_lists_every_required_field(tmp_path: Path) -> None:
    path = build_blank(tmp_path)
    report = read_workbook(path)
    required = [f for f in SPEC.fields if f.required]
    assert [(i.kind, i.severity, i.id) for i in report.issues] == [
        ("missing_required", "error", f.id) for f in required
    ]
    assert messages(report)[0] == f"{S1}!B4: 时间周期为必填项,但未填写"
    assert messages(report, "en")[0] == f"{S1}!B4: Period: required, but empty"
    assert report.blocking
    assert set(report.kpis.values()) == {None}
    assert report.tables == {t.id: [] for t in SPEC.tables}


# -- values as people type them --------------------------------------------------------------


def test_numbers_typed_as_text_are_read_and_noted(tmp_path: Path) -> None:
    src = build(tmp_path)
    path = edit(
        src,
        "typed.xlsx",
        setter(
            gmv="¥1,286.5万",
            uv="１，８５０，０００",
            orders=" 46250 ",
            sku_unsold="21 个",
            report_date="2026年10月10日",
            plan_cut_channel_share="10%",
        ),
    )
    report = read_workbook(path)
    assert report.fields == expected_fields("zh-CN")
    expected_kpis = compute_kpis(SPEC, sample_values("zh-CN"))
    for id_, value in expected_kpis.items():
        assert report.kpis[id_] == pytest.approx(value), id_
    coerced = [i for i in report.issues if i.kind == "coerced"]
    assert {i.id for i in coerced} == {
        "gmv", "uv", "orders", "sku_unsold", "report_date", "plan_cut_channel_share"
    }  # fmt: skip
    assert {i.severity for i in coerced} == {"info"}
    assert f"{address(path, 'gmv')}: {label('gmv')}:“¥1,286.5万”按 12,865,000 读取" in messages(
        report
    )
    assert (
        f"{address(path, 'uv')}: {label('uv', 'en')}: “１，８５０，０００” read as 1,850,000"
        in (messages(report, "en"))
    )
    assert not report.blocking


def test_percent_fields_a_number_is_a_fraction_text_reads_as_shown(tmp_path: Path) -> None:
    path = edit(
        build(tmp_path),
        "percent.xlsx",
        setter(plan_retention30=22, target_high_value_share="8.5", target_gmv_growth="20%"),
    )
    report = read_workbook(path)
    # 22 in a percent cell is 2200%: refused, with the fix in the message
    assert report.fields["plan_retention30"] is None
    cell = address(path, "plan_retention30")
    assert (
        f"{cell}: {label('plan_retention30')}:2,200% 超出允许范围 0% 至 100%;未采用。"
        "如果想填 22%,请带上 % 号" in messages(report)
    )
    assert report.blocking
    # "8.5" typed as text beside the % unit reads as 8.5%, as a warning to check
    assert report.fields["target_high_value_share"] == pytest.approx(0.085)
    cell = address(path, "target_high_value_share")
    assert (
        f"{cell}: {label('target_high_value_share', 'en')}: “8.5” has no % sign; read as 8.5%"
        in messages(report, "en")
    )
    assert report.fields["target_gmv_growth"] == pytest.approx(0.2)
    assert report.kpis["target_gmv"] == pytest.approx(12865000 * 1.2)


def test_ranges_lengths_and_whole_numbers(tmp_path: Path) -> None:
    path = edit(
        build(tmp_path),
        "ranges.xlsx",
        setter(gmv=-5, new_products_listed=12.5, period="Q" * 41, period_days=400),
    )
    report = read_workbook(path)
    errors = {(i.id, i.key) for i in report.errors}
    assert errors == {("gmv", "out_of_range"), ("period_days", "out_of_range")}
    assert report.fields["gmv"] is None and report.kpis["aov"] is None
    assert (
        f"{address(path, 'period_days')}: Days in period: 400 is outside the allowed range "
        "1 to 366; not used" in messages(report, "en")
    )
    warnings_ = {(i.id, i.key) for i in report.warnings}
    assert warnings_ == {("new_products_listed", "not_whole"), ("period", "too_long")}
    assert report.fields["new_products_listed"] == 12.5  # kept, but flagged
    assert report.fields["period"] == "Q" * 41


def test_excel_errors_and_formulas_typed_into_inputs(tmp_path: Path) -> None:
    path = edit(
        build(tmp_path),
        "errors.xlsx",
        setter(
            uv="#DIV/0!",
            new_users="#N/A",
            gmv="=12000000+865000",
            sku_total="=SUM(B5:B6)",
            data_reports=True,
        ),
    )
    report = read_workbook(path)
    assert report.fields["uv"] is None and report.fields["new_users"] is None
    assert report.kpis["conversion_rate"] is None and report.kpis["referral_share"] is None
    uv = next(i for i in report.issues if i.id == "uv")
    assert (uv.severity, uv.message("zh-CN")) == (
        "error", f"{address(path, 'uv')}: {label('uv')}:单元格显示 Excel 错误 #DIV/0!;按空白处理"
    )  # fmt: skip
    assert next(i for i in report.issues if i.id == "new_users").severity == "warning"
    assert (
        f"{address(path, 'data_reports')}: Data reports produced: TRUE is not a number; "
        "treated as blank" in messages(report, "en")
    )
    # plain arithmetic is evaluated; a formula over cells has no saved result here: blank
    assert report.fields["gmv"] == 12865000
    assert report.fields["sku_total"] is None
    assert (
        f"{address(path, 'sku_total')}: SKUs on sale: holds a formula (=SUM(B5:B6)) with no "
        "saved result; type the value instead; treated as blank" in messages(report, "en")
    )


def test_a_formula_in_an_input_uses_its_saved_result(tmp_path: Path) -> None:
    src = build(tmp_path)
    ref = coordinate(src, "sku_total")
    path = patch_xml(src, "formula.xlsx", S2, {ref: "{open}><f>SUM(B5:B6)</f><v>420</v></c>"})
    report = read_workbook(path)
    assert report.fields["sku_total"] == 420
    assert report.kpis["unsold_rate"] == pytest.approx(0.05)
    (issue,) = report.issues
    assert (issue.kind, issue.severity) == ("formula_in_input", "warning")
    assert issue.message("en") == (
        f"{S2}!{ref}: SKUs on sale: holds a formula (=SUM(B5:B6)); used its last calculated "
        "result, 420"
    )


def test_control_characters_are_cleaned_with_a_warning(tmp_path: Path) -> None:
    # Excel stores control characters as _x0001_-style escapes, which openpyxl hands back as
    # they are: the same bytes a file from Excel has.
    def change(wb: Workbook) -> None:
        setter(store_name="山岚_x0001_家居_x000B_旗舰店", s2_notes="ok_x001F_")(wb)
        ((sheet, rng),) = list(wb.defined_names["problems"].destinations)
        wb[sheet][rng.split(":")[0].replace("$", "")] = "付费_x0007_流量"

    path = edit(build(tmp_path), "control.xlsx", change)
    report = read_workbook(path)
    assert report.fields["store_name"] == "山岚家居\n旗舰店"
    assert report.fields["s2_notes"] == "ok"
    assert report.tables["problems"][0]["problem"] == "付费流量"
    cleaned = [(i.severity, i.id) for i in report.issues if i.kind == "cleaned_text"]
    assert cleaned == [("warning", "store_name"), ("warning", "s2_notes"), ("warning", "problems")]
    assert messages(report)[1] == (
        f"{address(path, 'store_name')}: {label('store_name')}:已删除文本中不可见的控制字符"
    )
    assert messages(report, "en")[-1] == (
        f"{report.cells['problems.1.problem']}: Problems and causes, row 1 · Problem: invisible "
        "control characters were removed from the text"
    )


def test_dates_and_tables(tmp_path: Path) -> None:
    def change(wb: Workbook) -> None:
        ws, ref = where(wb, "report_date")
        ws[ref] = "2026/10/10"
        ((sheet, rng),) = list(wb.defined_names["actions"].destinations)
        first = int(re.findall(r"\d+", rng)[0])
        wb[sheet][f"C{first + 1}"] = "12月中旬"  # a deadline that is not a date
        ((sheet, rng),) = list(wb.defined_names["problems"].destinations)
        first = int(re.findall(r"\d+", rng)[0])
        for col in "ABC":
            wb[sheet][f"{col}{first}"] = None  # the first problem row emptied

    path = edit(build(tmp_path), "tables.xlsx", change)
    report = read_workbook(path)
    assert report.fields["report_date"] == dt.date(2026, 10, 10)
    sample = sample_values("zh-CN")
    assert report.tables["problems"] == sample["problems"][1:]
    assert report.tables["actions"][1]["deadline"] == "12月中旬"
    assert report.tables["actions"][0]["deadline"] == dt.date(2026, 11, 30)
    kept = next(i for i in report.issues if i.kind == "kept_as_text")
    assert kept.severity == "info"
    assert kept.message("en") == (
        f"{report.cells['actions.2.deadline']}: Improvement actions, row 2 · Deadline: "
        "“12月中旬” is not a date; kept as text"
    )
    # rows are numbered as read: the second problem is now the first
    ws_name, first_cell = report.cells["problems"].split(":")[0].split("!")
    row = int(first_cell[1:])
    assert report.cells["problems.1.problem"] == f"{ws_name}!A{row + 1}"


# -- KPIs: recomputed, compared with what the file saved --------------------------------------


def test_a_file_saved_without_results_is_calculated(tmp_path: Path) -> None:
    path = edit(build(tmp_path), "resaved.xlsx", lambda wb: None)
    assert saved_results(path, {S2: ["B15"]}) == {(S2, "B15"): NOT_SAVED}
    report = read_workbook(path)
    assert report.kpis == compute_kpis(SPEC, sample_values("zh-CN"))
    (issue,) = report.issues
    assert (issue.kind, issue.severity, issue.cell) == ("kpi_not_saved", "info", None)
    with_values = [k for k, x in report.kpis.items() if x is not None]
    assert len(with_values) == len(SPEC.kpis)  # the sample fills every KPI
    assert issue.message("zh-CN") == (
        f"文件中有 {len(SPEC.kpis)} 个指标没有保存计算结果(最后保存它的程序不做计算);"
        "已由 opsbook 计算"
    )


def test_a_stale_saved_result_is_recalculated(tmp_path: Path) -> None:
    src = build(tmp_path)
    path = patch_xml(src, "stale.xlsx", S2, {coordinate(src, "sku_unsold"): "{open}><v>42</v></c>"})
    report = read_workbook(path)
    assert report.kpis["unsold_rate"] == pytest.approx(0.1)
    (issue,) = report.issues
    assert (issue.kind, issue.severity) == ("stale_cache", "info")
    assert issue.message("zh-CN") == (
        f"{address(src, 'unsold_rate')}: {label('unsold_rate')}:保存的结果 5% 已过时;重新计算为 10%"
    )
    assert not report.blocking


def test_a_number_stored_as_text_explains_a_blank_kpi(tmp_path: Path) -> None:
    # Excel's COUNT skips "46,250" stored as text, so Excel shows the conversion rate blank.
    src = build(tmp_path)
    formula = SPEC.kpi("conversion_rate").formula[1:].replace("<", "&lt;").replace('"', "&quot;")
    path = patch_xml(
        src,
        "text-number.xlsx",
        S2,
        {
            coordinate(src, "orders"): '{open} t="inlineStr"><is><t>46,250</t></is></c>',
            coordinate(src, "conversion_rate"): f'{{open}} t="str"><f>{formula}</f><v></v></c>',
        },
    )
    report = read_workbook(path)
    assert report.fields["orders"] == 46250
    assert report.kpis["conversion_rate"] == pytest.approx(0.025)
    assert [(i.kind, i.id) for i in report.issues] == [
        ("coerced", "orders"),
        ("kpi_text_input", "conversion_rate"),
    ]
    assert messages(report, "en")[1] == (
        f"{address(src, 'conversion_rate')}: {label('conversion_rate', 'en')}: the workbook "
        "shows — because an "
        "input holds a number stored as text, which Excel does not count; opsbook read the "
        "number: 2.5%"
    )


def test_an_edited_formula_is_flagged_and_the_templates_formula_used(tmp_path: Path) -> None:
    path = edit(build(tmp_path), "edited.xlsx", setter(unsold_rate="=sku_unsold/sku_total*100"))
    report = read_workbook(path)
    assert report.kpis["unsold_rate"] == pytest.approx(0.05)
    issue = next(i for i in report.issues if i.kind == "formula_edited")
    assert issue.severity == "warning"
    assert issue.message("en") == (
        f"{address(path, 'unsold_rate')}: {label('unsold_rate', 'en')}: the formula was changed "
        "to =sku_unsold/sku_total*100 (it shows —); the summary uses the template's formula: 5%"
    )


def test_a_number_typed_over_a_formula(tmp_path: Path) -> None:
    def change(wb: Workbook) -> None:
        setter(unsold_rate=0.07, restock_ontime_rate=0.9, restock_total=None, roi="n/a",
               aov=None)(wb)  # fmt: skip

    path = edit(build(tmp_path), "typed-over.xlsx", change)
    report = read_workbook(path)
    by_id = {i.id: i for i in report.issues}
    # inputs present: the recalculated value wins over the typed one
    assert report.kpis["unsold_rate"] == pytest.approx(0.05)
    assert by_id["unsold_rate"].message("en") == (
        f"{address(path, 'unsold_rate')}: Unsold rate: the formula was replaced by the typed "
        "value 7%; the summary uses the value calculated from the inputs: 5%"
    )
    # inputs missing: the typed number is all there is
    assert report.kpis["restock_ontime_rate"] == pytest.approx(0.9)
    assert by_id["restock_ontime_rate"].key == "kpi_typed_used"
    assert report.kpis["roi"] == pytest.approx(5304000 / 1560000)
    assert by_id["roi"].key == "kpi_overwritten"
    assert report.kpis["aov"] == pytest.approx(12865000 / 46250)
    assert (by_id["aov"].kind, by_id["aov"].severity) == ("kpi_cleared", "warning")
    assert not report.blocking


# -- cells found by name wherever they went --------------------------------------------------


def shift_names(wb: Workbook, sheet: str, first_row: int, amount: int) -> None:
    """What Excel and LibreOffice do to defined names when rows are inserted."""
    quoted = f"'{sheet}'!"

    def shift(m: re.Match[str]) -> str:
        row = int(m.group(2))
        return f"{m.group(1)}{row + amount if row >= first_row else row}"

    for dn in wb.defined_names.values():
        text = dn.attr_text or ""
        if text.startswith(quoted):
            dn.attr_text = quoted + re.sub(r"(\$[A-Z]+\$)(\d+)", shift, text[len(quoted) :])


def test_rows_inserted_above_the_inputs(tmp_path: Path) -> None:
    def change(wb: Workbook) -> None:
        ws = wb[S2]
        assert isinstance(ws, Worksheet)
        ws.insert_rows(5, 3)
        for merged in ws.merged_cells.ranges:  # openpyxl leaves merged ranges behind
            if merged.min_row >= 5:
                merged.shift(0, 3)
        shift_names(wb, S2, 5, 3)

    src = build(tmp_path)
    path = edit(src, "inserted.xlsx", change)
    report = read_workbook(path)
    assert report.fields == expected_fields("zh-CN")
    assert report.kpis == compute_kpis(SPEC, sample_values("zh-CN"))
    assert address(src, "new_products_listed") == f"{S2}!B5"
    assert report.cells["new_products_listed"] == f"{S2}!B8"
    assert [i.kind for i in report.issues] == ["kpi_not_saved"]


def test_renamed_sheets_and_moved_cells(tmp_path: Path) -> None:
    def change(wb: Workbook) -> None:
        wb[S3].title = "成果"
        for dn in wb.defined_names.values():  # Excel rewrites every reference on a rename
            dn.attr_text = (dn.attr_text or "").replace(f"'{S3}'!", "'成果'!")
        ws, ref = where(wb, "store_name")  # cut and pasted elsewhere: the name follows
        ws["F30"] = ws[ref].value
        ws[ref] = None
        wb.defined_names["store_name"].attr_text = f"'{S1}'!$F$30"

    path = edit(build(tmp_path), "renamed.xlsx", change)
    report = read_workbook(path)
    assert report.fields == expected_fields("zh-CN")
    assert report.cells["gmv"] == "成果!B5"
    assert report.cells["store_name"] == f"{S1}!F30"
    assert [i.kind for i in report.issues] == ["kpi_not_saved"]


def test_sheet_scoped_names_are_used(tmp_path: Path) -> None:
    def change(wb: Workbook) -> None:
        for id_ in ("gmv", "gmv_prev"):
            dn = wb.defined_names.pop(id_)
            ws = wb[S3]
            assert isinstance(ws, Worksheet)
            ws.defined_names[id_] = dn

    report = read_workbook(edit(build(tmp_path), "scoped.xlsx", change))
    assert report.fields["gmv"] == 12865000 and report.fields["gmv_prev"] == 11076800
    assert [i.kind for i in report.issues] == ["kpi_not_saved"]


def test_a_deleted_name_falls_back_to_the_rows_label(tmp_path: Path) -> None:
    def change(wb: Workbook) -> None:
        for id_ in ("gmv", "unsold_rate", "period", "problems"):
            del wb.defined_names[id_]

    src = build(tmp_path, lang="en")
    path = edit(src, "no-names.xlsx", change)
    report = read_workbook(path)
    assert report.fields == expected_fields("en")
    assert report.kpis["unsold_rate"] == pytest.approx(0.05)
    assert report.tables["problems"] == sample_values("en")["problems"]
    # "Period *" on its own sheet, not the cover's "Period" row, which shows a formula
    assert report.cells["period"] == address(src, "period")
    found = [i for i in report.issues if i.kind == "found_by_label"]
    assert {i.id for i in found} == {"gmv", "unsold_rate", "period", "problems"}
    assert {i.severity for i in found} == {"warning"}
    assert (
        f"{address(src, 'gmv')}: GMV (this period): the defined name gmv is missing; read the "
        "row with this label instead" in messages(report, "en")
    )
    assert not report.blocking


def test_a_deleted_name_and_label_is_missing(tmp_path: Path) -> None:
    def change(wb: Workbook) -> None:
        ws, ref = where(wb, "gmv")
        ws[f"A{ref[1:]}"] = "GMV"
        del wb.defined_names["gmv"]

    report = read_workbook(edit(build(tmp_path), "lost.xlsx", change))
    assert report.fields["gmv"] is None
    issue = next(i for i in report.issues if i.id == "gmv")
    assert (issue.kind, issue.severity, issue.cell) == ("missing_cell", "error", None)
    assert issue.message("zh-CN") == (
        f"{label('gmv')}:找不到(没有定义名称 gmv,也没有这一行标签);按空白处理"
    )
    assert report.blocking


def test_a_deleted_sheet_leaves_names_at_ref(tmp_path: Path) -> None:
    def change(wb: Workbook) -> None:
        for dn in wb.defined_names.values():  # Excel: ='四、问题剖析'!$B$5 becomes =#REF!$B$5
            if (dn.attr_text or "").startswith(f"'{S4}'!"):
                dn.attr_text = "#REF!" + dn.attr_text.split("!", 1)[1]
        del wb[S4]

    src = build(tmp_path)
    report = read_workbook(edit(src, "deleted.xlsx", change))
    broken = {i.id for i in report.issues if i.kind == "broken_name"}
    on_s4 = {f.id for f in SPEC.fields if SPEC.section_of(f.id).sheet("zh-CN") == S4}
    assert on_s4 | {"problems"} <= broken
    assert all(report.fields[id_] is None for id_ in on_s4)
    assert report.tables["problems"] == []
    assert report.kpis["paid_cac"] is None
    issue = next(i for i in report.issues if i.id == "short_videos")
    assert issue.message("en") == (
        "Short videos published: the defined name short_videos points at a deleted sheet or cell "
        f"(#REF!${coordinate(src, 'short_videos').replace('B', 'B$')}); treated as blank"
    )
    assert not report.blocking  # nothing required lived there


# -- template identity ----------------------------------------------------------------------


def test_another_template_is_refused(tmp_path: Path) -> None:
    path = edit(build(tmp_path), "other.xlsx", setter(opsbook_template="weekly-report"))
    with pytest.raises(UnreadableFile) as caught:
        read_workbook(path)
    assert caught.value.exit_code == ExitCode.UNREADABLE
    assert caught.value.message("en") == (
        f"{path}: made from another template (weekly-report); this opsbook reads "
        "ecommerce-ops-summary"
    )


def test_a_workbook_not_made_by_opsbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "GMV"  # type: ignore[index]
    wb.save(path)
    with pytest.raises(UnreadableFile) as caught:
        read_workbook(path)
    assert caught.value.message("zh-CN") == (
        f"{path}:不是 opsbook 工作簿(找不到模板标识);请用 opsbook new 生成"
    )


def test_template_versions(tmp_path: Path) -> None:
    newer = edit(build(tmp_path), "newer.xlsx", setter(opsbook_version=SPEC.version + 1))
    with pytest.raises(UnreadableFile) as caught:
        read_workbook(newer)
    assert "please update opsbook" in caught.value.message("en")
    older = edit(build(tmp_path), "older.xlsx", setter(opsbook_version=SPEC.version - 1))
    report = read_workbook(older)
    assert report.template_version == SPEC.version - 1
    assert report.fields == expected_fields("zh-CN")
    issue = report.issues[0]
    assert (issue.kind, issue.severity) == ("template_version", "warning")
    assert issue.message("en").startswith(f"this workbook was made from version {SPEC.version - 1}")


def test_template_identity_falls_back_to_document_properties(tmp_path: Path) -> None:
    def change(wb: Workbook) -> None:
        for name in ("opsbook_template", "opsbook_version", "opsbook_lang"):
            del wb.defined_names[name]
        del wb["_opsbook"]

    report = read_workbook(edit(build(tmp_path, lang="en"), "props.xlsx", change))
    assert (report.template_id, report.template_version, report.lang) == (SPEC.id, 1, "en")
    assert report.fields == expected_fields("en")


# -- speed -----------------------------------------------------------------------------------


def test_the_saved_results_pass_reads_only_what_it_needs(tmp_path: Path) -> None:
    path = build(tmp_path)
    saved = saved_results(path, {S2: ["B15", "B16"], "no such sheet": ["A1"]})
    assert saved == {(S2, "B15"): pytest.approx(0.05), (S2, "B16"): pytest.approx(0.95)}
    # The reader hands it the bytes preflight checked, not the path: the same answer.
    data = path.read_bytes()
    assert saved_results(data, {S2: ["B15", "B16"]}) == saved
    assert saved_results(data[: len(data) // 2], {S2: ["B15"]}) == {}  # damaged: nothing saved


# -- against real LibreOffice ----------------------------------------------------------------


def fill_with_openpyxl(blank: Path, dst: Path, values: dict[str, Any]) -> None:
    wb = load_wb(blank)
    for f in SPEC.fields:
        value = values.get(f.id)
        if value is not None:
            ws, ref = where(wb, f.id)
            ws[ref] = dt.datetime.combine(value, dt.time()) if isinstance(value, dt.date) else value
    for table in SPEC.tables:
        ((sheet, rng),) = list(wb.defined_names[table.id].destinations)
        first = int(re.findall(r"\d+", rng)[0])
        for r, row in enumerate(values.get(table.id, [])):
            for c, column in enumerate(table.columns):
                wb[sheet].cell(first + r, 1 + c, row.get(column.id))
    wb.save(dst)


@pytest.mark.libreoffice
def test_kpis_equal_libreoffices_own_recalculation(
    tmp_path: Path, libreoffice: LibreOffice
) -> None:
    """Filled by a program (no saved results), recalculated by LibreOffice: opsbook computes
    every KPI exactly as LibreOffice does, and finds nothing stale in LibreOffice's file."""
    filled = tmp_path / "filled.xlsx"
    values = sample_values("zh-CN")
    values["uv_prev"] = None  # blanks propagate the same way on both sides
    fill_with_openpyxl(build_blank(tmp_path), filled, values)
    (recalculated,) = libreoffice.convert([filled], "xlsx", tmp_path / "lo")
    ours = read_workbook(filled)
    theirs = read_workbook(recalculated)
    assert [i.kind for i in ours.issues] == ["kpi_not_saved"]
    assert theirs.issues == []
    assert theirs.fields == ours.fields
    assert theirs.kpis == ours.kpis
    assert ours.kpis["conversion_rate_prev"] is None
    by_sheet: dict[str, list[str]] = {}
    for k in SPEC.kpis:
        sheet, ref = ours.cells[k.id].split("!")
        by_sheet.setdefault(sheet, []).append(ref)
    saved = saved_results(recalculated, by_sheet)
    for k in SPEC.kpis:
        lo_value = saved[tuple(ours.cells[k.id].split("!"))]  # type: ignore[index]
        mine = ours.kpis[k.id]
        if mine is None:
            assert lo_value == "", k.id
        else:
            assert isinstance(lo_value, float), k.id
            assert math.isclose(lo_value, mine, rel_tol=1e-12, abs_tol=1e-15), k.id


# -- checks: a part never exceeds its whole ----------------------------------------------------


def test_a_part_larger_than_its_whole_is_an_error_naming_both_cells(tmp_path: Path) -> None:
    report = read_workbook(build(tmp_path, lang="en", sku_unsold=900, sku_total=600,
                                 returned_orders=10**6))  # fmt: skip
    found = {(i.kind, i.id, i.severity) for i in report.issues if i.kind == "part_exceeds_whole"}
    assert found == {
        ("part_exceeds_whole", "sku_unsold", "error"),
        ("part_exceeds_whole", "returned_orders", "warning"),  # returns of earlier orders
    }
    (unsold,) = [i for i in report.issues if i.id == "sku_unsold"]
    assert unsold.message("en") == (
        f"{report.cells['sku_unsold']}: Unsold SKUs = 900 exceeds SKUs on sale = 600 "
        f"({report.cells['sku_total']}), yet unsold SKUs are among the SKUs on sale: this "
        "cannot be right, so neither figure nor any KPI built on them goes into the summary or "
        "a team total; check both"
    )
    assert report.blocking  # `opsbook check` exits 1: the summary would print a 150% share
    # which of the two is wrong cannot be known: both are left out, like out-of-range values
    assert report.fields["sku_unsold"] is None and report.fields["sku_total"] is None
    assert report.kpis["unsold_rate"] is None
    assert report.unusable["sku_unsold"].other_cell == report.cells["sku_total"]
    assert report.fields["returned_orders"] == 10**6  # a warning keeps its figures


def test_equal_parts_blanks_and_text_are_no_breach(tmp_path: Path) -> None:
    report = read_workbook(build(tmp_path, sku_unsold=600, sku_total=600, repeat_buyers=5,
                                 buyers=None, campaign_gmv=None))  # fmt: skip
    assert not [i for i in report.issues if i.kind == "part_exceeds_whole"]


def test_reading_from_bytes_writes_nothing_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server or a mail intake reads an upload in memory: no temporary file, no file opened
    for writing, and the same report as the file gives."""
    data = build(tmp_path).read_bytes()
    expected = read_workbook(build(tmp_path, "again.xlsx"))
    read_workbook_bytes(data, "warm-up.xlsx")  # catalogues and spec are read once, before
    real_open, real_os_open = open, os.open
    written: list[str] = []

    def guarded_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+"):
            written.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            written.append(str(path))
        return real_os_open(path, flags, *args, **kwargs)

    def no_temp(*args: Any, **kwargs: Any) -> Any:
        written.append("tempfile")
        raise AssertionError("a temporary file")

    monkeypatch.setattr("builtins.open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile",
                 "SpooledTemporaryFile", "TemporaryDirectory"):  # fmt: skip
        monkeypatch.setattr(tempfile, name, no_temp)
    report = read_workbook_bytes(data, "filled.xlsx")
    monkeypatch.undo()
    assert written == []
    assert report.fields == expected.fields
    assert report.kpis == expected.kpis
    assert [i.message("en") for i in report.issues] == [i.message("en") for i in expected.issues]
