"""Round trip with real LibreOffice: a workbook filled by a script (no cached results) and the
same workbook after LibreOffice recalculated and saved it give the same summary, and every KPI
`export` reports equals the value LibreOffice computed in that cell."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from generator.xlsx_writer import build_workbook
from opsbook import api
from opsbook.sample import sample_values
from tests.helpers import summary_text
from tests.lo import LibreOffice
from workbook.spec import load

pytestmark = pytest.mark.libreoffice


def _fill_like_a_script(blank: Path, values: dict[str, Any], out: Path) -> None:
    """Type every value into its named cell with openpyxl (which saves no formula results)."""
    wb = openpyxl.load_workbook(blank)
    for name, value in values.items():
        ((sheet, coord),) = list(wb.defined_names[name].destinations)
        cells = wb[sheet][coord.replace("$", "")]
        if isinstance(value, list):  # a table: rows of {column id: value}
            table = next(t for t in load().tables if t.id == name)
            for row_cells, row in zip(cells, value, strict=False):
                for cell, column in zip(row_cells, table.columns, strict=True):
                    cell.value = row.get(column.id)
        else:
            cells.value = value
    wb.save(out)


def _named_values(path: Path, ids: list[str]) -> dict[str, Any]:
    wb = openpyxl.load_workbook(path, data_only=True)
    out = {}
    for id_ in ids:
        ((sheet, coord),) = list(wb.defined_names[id_].destinations)
        out[id_] = wb[sheet][coord.replace("$", "")].value
    return out


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_script_filled_and_libreoffice_saved_workbooks_give_the_same_summary(
    libreoffice: LibreOffice, tmp_path: Path, lang: str
) -> None:
    spec = load()
    blank = tmp_path / "blank.xlsx"
    blank.write_bytes(build_workbook(spec, lang))
    values = dict(sample_values(lang))
    values["report_date"] = dt.datetime.combine(values["report_date"], dt.time())
    scripted = tmp_path / "scripted.xlsx"
    _fill_like_a_script(blank, values, scripted)
    (recalculated,) = libreoffice.convert([scripted], "xlsx", tmp_path / "lo")

    # LibreOffice really computed the KPIs that the script's file left without results
    kpi_ids = [k.id for k in spec.kpis]
    assert all(v is None for v in _named_values(scripted, kpi_ids).values())
    computed_by_lo = _named_values(recalculated, kpi_ids)
    assert all(isinstance(v, int | float) for v in computed_by_lo.values()), computed_by_lo

    docs = {}
    for name, path in (("scripted", scripted), ("recalculated", recalculated)):
        out, report = api.render(path, tmp_path / f"{name}.docx", lang=lang)
        assert report.errors == [], [i.message("en") for i in report.errors]
        docs[name] = summary_text(out.read_bytes())
    assert docs["scripted"] == docs["recalculated"]
    assert "None" not in docs["scripted"] and "nan" not in docs["scripted"]

    exported = json.loads(api.export(recalculated, "json"))["kpis"]
    for id_ in kpi_ids:
        assert math.isclose(exported[id_], computed_by_lo[id_], rel_tol=1e-9, abs_tol=1e-9), id_
    from_script = json.loads(api.export(scripted, "json"))["kpis"]
    assert from_script == pytest.approx(exported, rel=1e-12, abs=1e-12)
