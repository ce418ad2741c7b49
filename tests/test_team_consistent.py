"""Team KPIs over a consistent subset of people (a trial of the team half of issue 10): a KPI
counts only the people who reported every input of it (this period and last alike), and says
whom it covers wherever it is shown. Expected values are computed by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.xlsx_writer import build_workbook
from opsbook.team.rollup import rollup
from tests.helpers import summary_text
from workbook.spec import load


def values(author: str, **figures: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "author": author,
        "period": "2026年Q3",
        "period_days": 92,
        "store_name": f"{author}店",
        "uv": 1000,
        "orders": 50,
        "gmv": 100000,
        "gmv_prev": 90000,
    }
    base.update(figures)
    return base


def write(path: Path, data: dict[str, Any], lang: str = "zh-CN") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_workbook(load(), lang, data))
    return path


def ads(spend: float | None, gmv: float, spend_prev: float, gmv_prev: float) -> dict[str, Any]:
    out: dict[str, Any] = {"ad_gmv": gmv, "ad_spend_prev": spend_prev, "ad_gmv_prev": gmv_prev}
    if spend is not None:
        out["ad_spend"] = spend
    return out


@pytest.fixture
def team_dir(tmp_path: Path) -> Path:
    # Alice: ROI 28000 / 10000 = 2.80 (last period 2.50); Bob: 52050 / 15000 = 3.47 (3.00).
    # Carol left her ad spend blank: her ad GMV must not count in the team's ROI either.
    write(tmp_path / "in" / "alice.xlsx", values("Alice", **ads(10000, 28000, 10000, 25000),
          new_product_gmv=10000, new_product_gmv_prev=9000))  # fmt: skip
    write(tmp_path / "in" / "bob.xlsx", values("Bob", **ads(15000, 52050, 15000, 45000),
          new_product_gmv=12000, new_product_gmv_prev=9000))  # fmt: skip
    # Carol: no new-product GMV last period, so the new-product share covers Alice and Bob.
    write(tmp_path / "in" / "carol.xlsx", values("Carol", **ads(None, 30000, 10000, 20000),
          new_product_gmv=12000))  # fmt: skip
    return tmp_path / "in"


def test_a_team_kpi_counts_only_people_who_reported_all_its_inputs(team_dir: Path) -> None:
    team = rollup([team_dir], jobs=1)
    kpis = team.report.kpis
    # (28000 + 52050) / (10000 + 15000) = 3.202, between the members' 2.80 and 3.47;
    # last period over the same two people: (25000 + 45000) / 25000 = 2.80.
    assert kpis["roi"] == pytest.approx(3.202)
    assert kpis["roi_prev"] == pytest.approx(2.8)
    assert kpis["roi_change"] == pytest.approx(3.202 / 2.8 - 1)
    # New-product share: (10000 + 12000) / 200000 = 11%, last period 18000 / 180000 = 10%.
    assert kpis["new_product_share"] == pytest.approx(0.11)
    assert kpis["new_product_share_prev"] == pytest.approx(0.10)
    # A KPI everyone reported stays the plain team figure: 150 / 3000.
    assert kpis["conversion_rate"] == pytest.approx(0.05)
    assert team.report.coverage["roi"] == (2, 3)
    assert team.report.coverage["new_product_share"] == (2, 3)
    assert "conversion_rate" not in team.report.coverage


def test_a_kpi_nobody_reported_all_inputs_of_is_blank(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.xlsx", values("Alice", ad_gmv=28000))
    write(tmp_path / "in" / "b.xlsx", values("Bob", ad_spend=15000))
    team = rollup([tmp_path / "in"], jobs=1)
    assert team.report.kpis["roi"] is None


def test_team_docx_says_whom_a_partial_kpi_covers_where_it_is_shown(
    team_dir: Path, tmp_path: Path
) -> None:
    team = rollup([team_dir], jobs=1)
    text = summary_text(team.docx(charts=False))
    body = text.split("团队汇总说明")[0]  # the summary, not the appendix
    # Before: "整体投放ROI提升71.2%", "投放ROI从2.57提升至4.4", with no word on whom they cover.
    assert "投放ROI从2.8（3人中2人）提升至3.2（3人中2人）" in body
    assert "整体投放ROI提升14.4%（3人中2人）" in body
    assert "| 投放ROI | 2.8（3人中2人） | 3.2（3人中2人） | +14.4%（3人中2人） |" in body
    assert "新品贡献占比从10%（3人中2人）提升至11%（3人中2人）" in body
