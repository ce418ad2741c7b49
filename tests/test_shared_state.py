"""A server reads uploads from several threads at once: what workbook/ shares between them (the
spec, the catalogues) cannot be changed by one of them, and concurrent reads of the same bytes
give the same report; an issue names a table cell in the language it is shown in."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.test_reader import build, edit, setter
from workbook.i18n import catalog
from workbook.reader import read_workbook_bytes
from workbook.spec import load


def test_the_shared_spec_and_catalogues_are_read_only() -> None:
    spec = load()
    with pytest.raises(TypeError):
        spec.units["yuan"] = spec.title  # type: ignore[index]
    with pytest.raises(TypeError):
        spec.roles["store"] = "author"  # type: ignore[index]
    with pytest.raises(TypeError):
        catalog("en").entries["errors.input.empty"] = "changed"  # type: ignore[index]
    assert load() is spec and spec.role("store") == "store_name"


def _summary(data: bytes) -> tuple[object, ...]:
    report = read_workbook_bytes(data, "upload.xlsx")
    messages = tuple(i.message(lang) for i in report.issues for lang in ("zh-CN", "en"))
    return report.fields, report.kpis, report.tables, messages


def test_reading_the_same_upload_in_four_threads_gives_one_report(tmp_path: Path) -> None:
    path = edit(build(tmp_path), "typed.xlsx", setter(orders="412,300", gmv="126.5万"))
    data = path.read_bytes()
    alone = _summary(data)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(_summary, [data] * 8))
    assert all(r == alone for r in results)
    assert alone[3] != ()  # the typed-as-text figures were reported


def test_a_table_cell_is_named_in_the_language_of_the_message(tmp_path: Path) -> None:
    def change(wb: object) -> None:
        from openpyxl.workbook.workbook import Workbook

        assert isinstance(wb, Workbook)
        ((sheet, rng),) = list(wb.defined_names["problems"].destinations)
        wb[sheet][rng.split(":")[0].replace("$", "")] = "付费_x0007_流量"

    report = read_workbook_bytes(edit(build(tmp_path), "t.xlsx", change).read_bytes(), "t.xlsx")
    (issue,) = [i for i in report.issues if i.id == "problems"]
    cell = report.cells["problems.1.problem"]
    assert issue.message("zh-CN").startswith(f"{cell}: 问题与原因清单 第 1 行 · 问题:")
    assert issue.message("en").startswith(f"{cell}: Problems and causes, row 1 · Problem:")
