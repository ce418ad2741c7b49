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

from generator.docx_writer import summary_text
from generator.xlsx_writer import build_workbook
from opsbook.cli import main
from opsbook.sample import sample_values
from opsbook.trend import trend
from tests.lo import LibreOffice, pdf_text
from workbook.spec import load

SPEC = load()
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
