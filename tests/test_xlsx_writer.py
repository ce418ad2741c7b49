"""The generated workbook, feature by feature, as Excel and openpyxl see it."""

from __future__ import annotations

import io
import math
import zipfile
from typing import Any

import openpyxl
import pytest
from openpyxl.workbook.workbook import Workbook

from generator.xlsx_writer import build_workbook
from opsbook.sample import sample_values
from workbook.calc import compute_kpis
from workbook.layout import META_SHEET
from workbook.spec import Field, Kpi, Spec, load

LANGS = ["zh-CN", "en"]


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load()


@pytest.fixture(scope="module")
def blank_bytes(spec: Spec) -> dict[str, bytes]:
    return {lang: build_workbook(spec, lang) for lang in LANGS}


@pytest.fixture(scope="module")
def sample_bytes(spec: Spec) -> dict[str, bytes]:
    return {lang: build_workbook(spec, lang, sample_values(lang)) for lang in LANGS}


def _open(data: bytes, data_only: bool = False) -> Workbook:
    return openpyxl.load_workbook(io.BytesIO(data), data_only=data_only)


def _cell(wb: Workbook, name: str) -> Any:
    dn = wb.defined_names[name]
    ((sheet, coord),) = list(dn.destinations)
    return wb[sheet][coord.replace("$", "")]


@pytest.mark.parametrize("lang", LANGS)
def test_one_sheet_per_section_then_dashboard(
    spec: Spec, blank_bytes: dict[str, bytes], lang: str
) -> None:
    wb = _open(blank_bytes[lang])
    expected = [s.sheet(lang) for s in spec.sections] + (
        ["KPI看板"] if lang == "zh-CN" else ["KPI Dashboard"]
    )
    assert wb.sheetnames == [*expected, META_SHEET]
    assert wb[META_SHEET].sheet_state == "veryHidden"
    assert wb.active is not None and wb.active.title == spec.sections[0].sheet(lang)


@pytest.mark.parametrize("lang", LANGS)
def test_every_input_and_kpi_has_a_workbook_level_name_on_its_section_sheet(
    spec: Spec, blank_bytes: dict[str, bytes], lang: str
) -> None:
    wb = _open(blank_bytes[lang])
    items: list[Field | Kpi] = [*spec.fields, *spec.kpis]
    for item in items:
        assert item.id in wb.defined_names, item.id
        ((sheet, _coord),) = list(wb.defined_names[item.id].destinations)
        assert sheet == spec.section_of(item.id).sheet(lang), item.id
    for table in spec.tables:
        ((sheet, coord),) = list(wb.defined_names[table.id].destinations)
        first, last = coord.replace("$", "").split(":")
        rows = wb[sheet][first:last]
        assert len(rows) == table.rows and len(rows[0]) == len(table.columns)


def test_kpi_cells_hold_the_spec_formula_locked(spec: Spec, blank_bytes: dict[str, bytes]) -> None:
    wb = _open(blank_bytes["zh-CN"])
    for k in spec.kpis:
        cell = _cell(wb, k.id)
        assert cell.value == k.formula
        assert cell.protection.locked
    assert _cell(wb, "conversion_rate").value == (
        '=IF(COUNT(orders,uv)<2,"",IFERROR(orders/uv,""))'
    )


def test_inputs_are_unlocked_validated_and_prompted(
    spec: Spec, blank_bytes: dict[str, bytes]
) -> None:
    wb = _open(blank_bytes["zh-CN"])
    validations: dict[tuple[str, str], Any] = {}
    for ws in wb.worksheets:
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                validations[(ws.title, rng.coord)] = dv
    for f in spec.fields:
        cell = _cell(wb, f.id)
        assert not cell.protection.locked, f.id
        dv = validations[(cell.parent.title, cell.coordinate)]
        assert dv.prompt == f.prompt("zh-CN")
        assert dv.showErrorMessage and dv.error and dv.errorStyle in (None, "stop")
        expected_type = {
            "count": "whole",
            "money": "decimal",
            "number": "decimal",
            "percent": "decimal",
            "date": "date",
            "text": "textLength",
        }[f.type]
        assert dv.type == expected_type, f.id
    uv = validations[(_cell(wb, "uv").parent.title, _cell(wb, "uv").coordinate)]
    assert (uv.formula1, uv.formula2) == ("0", "1000000000000")
    assert uv.error == "请输入 0 到 1,000,000,000,000 之间的整数。"
    share = _cell(wb, "plan_retention30")
    dv = validations[(share.parent.title, share.coordinate)]
    assert dv.error == "请输入 0% 到 100% 之间的百分比,如 12%。"


def test_number_formats_follow_the_field_type(blank_bytes: dict[str, bytes]) -> None:
    wb = _open(blank_bytes["zh-CN"])
    assert _cell(wb, "plan_retention30").number_format == "0.00%"
    assert _cell(wb, "gmv").number_format == "#,##0.00"
    assert _cell(wb, "uv").number_format == "#,##0"
    assert _cell(wb, "report_date").number_format == "yyyy-mm-dd"
    assert _cell(wb, "roi_change").number_format == "+0.00%;-0.00%;0.00%"


def test_every_sheet_is_protected_without_password_and_prints_on_a4(
    blank_bytes: dict[str, bytes],
) -> None:
    wb = _open(blank_bytes["zh-CN"])
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title
        assert not ws.protection.password, ws.title
        if ws.title == META_SHEET:
            continue
        assert ws.page_setup.paperSize == 9, ws.title
        setup = ws.sheet_properties.pageSetUpPr
        assert setup is not None and setup.fitToPage, ws.title
        # fitToWidth is omitted when it is Excel's default, 1
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0, ws.title
        assert ws.freeze_panes is not None or ws.title == wb.sheetnames[0], ws.title
        assert ws.sheet_properties.tabColor is not None, ws.title


def test_template_identity_is_stored_twice(spec: Spec, blank_bytes: dict[str, bytes]) -> None:
    wb = _open(blank_bytes["en"])
    assert _cell(wb, "opsbook_template").value == spec.id
    assert _cell(wb, "opsbook_version").value == spec.version
    assert _cell(wb, "opsbook_lang").value == "en"
    props = {p.name: p.value for p in wb.custom_doc_props.props}  # type: ignore[attr-defined]
    assert props == {
        "opsbook_template": spec.id,
        "opsbook_version": spec.version,
        "opsbook_lang": "en",
    }


def test_cached_kpis_are_what_a_previewer_should_show(
    spec: Spec, sample_bytes: dict[str, bytes]
) -> None:
    wb = _open(sample_bytes["zh-CN"], data_only=True)
    expected = compute_kpis(spec, sample_values("zh-CN"))
    assert all(v is not None for v in expected.values()), "the sample fills every KPI"
    for id_, value in expected.items():
        cached = _cell(wb, id_).value
        assert value is not None and math.isclose(cached, value, rel_tol=1e-12), id_
    assert _cell(wb, "conversion_rate").value == pytest.approx(0.025)


def test_blank_workbook_caches_blank_kpis_not_zeros(
    spec: Spec, blank_bytes: dict[str, bytes]
) -> None:
    wb = _open(blank_bytes["zh-CN"], data_only=True)
    for k in spec.kpis:
        assert _cell(wb, k.id).value in (None, ""), k.id
    cover = wb[spec.sections[0].sheet("zh-CN")]
    texts = [c.value for row in cover.iter_rows() for c in row if c.value is not None]
    assert "填写进度" in texts and "必填项未填" in texts


def test_progress_table_counts_filled_fields(spec: Spec, sample_bytes: dict[str, bytes]) -> None:
    wb = _open(sample_bytes["zh-CN"], data_only=True)
    cover = wb[spec.sections[0].sheet("zh-CN")]
    rows = [[c.value for c in row] for row in cover.iter_rows(max_col=4)]
    total = next(r for r in rows if r[0] == "合计")
    assert total[1] == total[2] and total[3] == 1  # the sample fills everything
    required_left = next(r for r in rows if r[0] == "必填项未填")
    assert required_left[1] == 0


def test_dashboard_has_every_kpi_and_native_charts(
    spec: Spec, sample_bytes: dict[str, bytes]
) -> None:
    wb = _open(sample_bytes["zh-CN"])
    ws = wb["KPI看板"]
    formulas = " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    for k in spec.kpis:
        assert f'=IF({k.id}="","",{k.id})' in formulas, k.id
    with zipfile.ZipFile(io.BytesIO(sample_bytes["zh-CN"])) as zf:
        charts = [n for n in zf.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == len(spec.charts) == 2


def test_same_command_twice_gives_identical_bytes(spec: Spec) -> None:
    values = sample_values("en")
    assert build_workbook(spec, "en", values) == build_workbook(spec, "en", values)


def test_control_characters_in_prefilled_text_do_not_corrupt_the_file(spec: Spec) -> None:
    data = build_workbook(spec, "zh-CN", {"store_name": "山岚\x01家居\x0b", "author": "林\x00"})
    wb = _open(data, data_only=True)
    assert _cell(wb, "store_name").value == "山岚家居\n"
    assert _cell(wb, "author").value == "林"


# -- checks: a part never exceeds its whole ----------------------------------------------------


def test_a_part_cell_turns_red_when_it_exceeds_its_whole_and_the_cover_counts_it(
    spec: Spec,
) -> None:
    values = {**sample_values("en"), "sku_unsold": 900, "sku_total": 600}
    data = build_workbook(spec, "en", values)
    wb = _open(data)
    part = _cell(wb, "sku_unsold")
    rules = [
        (rule.formula, rule.dxf.fill.bgColor.rgb if rule.dxf and rule.dxf.fill else None)
        for cf in part.parent.conditional_formatting
        if part.coordinate in cf.sqref
        for rule in cf.rules
    ]
    assert (["AND(ISNUMBER(sku_unsold),ISNUMBER(sku_total),sku_unsold>sku_total)"],
            "FFFFC7CE") in rules  # fmt: skip
    cover = wb[spec.sections[0].sheet("en")]
    label = next(
        c for row in cover.iter_rows() for c in row if c.value == "Parts larger than their whole"
    )
    formula = cover.cell(label.row, 2).value
    assert isinstance(formula, str)
    errors = [c for c in spec.checks if c.severity == "error"]
    assert formula.count("AND(ISNUMBER(") == len(errors) < len(spec.checks)  # warnings: colour only
    cached = _open(data, data_only=True)[cover.title].cell(label.row, 2).value
    assert cached == 1  # what Excel shows before it recalculates (LibreOffice agrees: tests)
    clean = _open(build_workbook(spec, "en", sample_values("en")), data_only=True)
    assert clean[cover.title].cell(label.row, 2).value == 0
