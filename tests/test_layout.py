"""The sheet layout the reader's fallbacks rely on (workbook/layout.py) is the one the writer
produces: every label in column A, marked as the contract says, its value in column B of the
same row, a table's data two rows below its label, the identity names on the very hidden sheet."""

from __future__ import annotations

import io
import warnings

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries

from generator.xlsx_writer import build_workbook
from workbook import layout
from workbook.spec import Field, Kpi, Table, load

SPEC = load()


def _workbook(lang: str) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # extensions openpyxl does not model (data bars)
        return openpyxl.load_workbook(io.BytesIO(build_workbook(SPEC, lang)))


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_writer_keeps_the_layout_contract(lang: str) -> None:
    wb = _workbook(lang)
    items: tuple[Field | Kpi | Table, ...] = (*SPEC.fields, *SPEC.kpis, *SPEC.tables)
    for item in items:
        ((sheet, ref),) = list(wb.defined_names[item.id].destinations)
        col, row, _, _ = range_boundaries(ref.replace("$", ""))
        assert col is not None and row is not None
        assert sheet == SPEC.section_of(item.id).sheet(lang), item.id
        assert layout.valid_sheet_name(sheet)
        ws = wb[sheet]
        if isinstance(item, Field | Kpi):
            assert col == layout.COL_VALUE + 1, item.id  # column B
            label = ws.cell(row, layout.COL_LABEL + 1).value
            mark = layout.REQUIRED_MARK if isinstance(item, Field) and item.required else ""
            prefix = layout.KPI_MARK if isinstance(item, Kpi) else ""
            assert label == f"{prefix}{item.label(lang)}{mark}", item.id
            assert isinstance(label, str)
            assert layout.normalize_label(label) == layout.normalize_label(item.label(lang))
        else:
            assert col == layout.COL_LABEL + 1, item.id  # tables start in column A
            label_row = row - layout.TABLE_DATA_OFFSET
            assert ws.cell(label_row, layout.COL_LABEL + 1).value == item.label(lang), item.id


def test_the_template_identity_is_named_on_the_very_hidden_sheet() -> None:
    wb = _workbook("en")
    values = []
    for name in layout.META_NAMES:
        ((sheet, ref),) = list(wb.defined_names[name].destinations)
        assert sheet == layout.META_SHEET
        values.append(wb[sheet][ref.replace("$", "")].value)
    assert values == [SPEC.id, SPEC.version, "en"]
    assert wb[layout.META_SHEET].sheet_state == "veryHidden"


def test_a_label_matches_whatever_its_marks_case_width_and_spacing() -> None:
    assert layout.normalize_label("▸ Conversion  rate") == layout.normalize_label("conversion rate")
    assert layout.normalize_label("ＧＭＶ *") == "gmv"
