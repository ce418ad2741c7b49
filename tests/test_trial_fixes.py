"""What a new-user trial of the team roll-up and the trend found (items 3 and 4): the team
document's appendix in words for its reader, names and emails from the roster, and a trend
listing each period's own figures only. Expected values are written by hand."""

from __future__ import annotations

from pathlib import Path

from opsbook.trend import trend
from tests.test_trend import write_quarters


def test_the_trend_lists_only_figures_of_one_period(tmp_path: Path) -> None:
    result = trend(write_quarters(tmp_path / "in"))
    ids = [r.id for r in result.rows]
    assert "conversion_rate" in ids and "gmv" in ids and "roi" in ids
    # no change of a change ("转化率变化 +1% 0% -7.7%"), no "(上期)" twin of a figure
    gone = ["conversion_change", "gmv_growth", "retention30_change_pp", "roi_change",
            "conversion_rate_prev", "gmv_prev", "roi_prev", "gmv_last_year", "gmv_yoy"]  # fmt: skip
    assert [i for i in gone if i in ids] == []
    labels = [r.label for r in result.rows]
    assert not [label for label in labels if "上期" in label or "变化" in label]
