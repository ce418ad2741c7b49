"""What a new-user trial of the team roll-up and the trend found (items 3 and 4): the team
document's appendix in words for its reader, names and emails from the roster, and a trend
listing each period's own figures only. Expected values are written by hand."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
from lxml import etree

from generator.xlsx_writer import build_workbook
from opsbook.team.rollup import rollup
from opsbook.trend import trend
from tests.helpers import summary_text
from tests.test_trend import write_quarters
from workbook.spec import load

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


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


def _team(tmp_path: Path) -> Path:
    from tests.test_team_consistent import values, write

    inbox = tmp_path / "in"
    write(inbox / "alice.xlsx", values("李明", sku_total=100, sku_unsold=10))
    # 王芳: 400 unsold SKUs of 50 on sale, which cannot be
    write(inbox / "bob.xlsx", values("王芳", sku_total=50, sku_unsold=400))
    write(inbox / "chen.xlsx", values("陈晨", period="2026年Q2"))
    (inbox / "张敏.xlsx").write_bytes(build_workbook(load(), "zh-CN", {}))
    roster = tmp_path / "名单.csv"
    roster.write_text(
        "姓名,邮箱\n李明,liming@shop.cn\n王芳,wangfang@shop.cn\n陈晨,chenchen@shop.cn\n"
        "张敏,zhangmin@shop.cn\n",
        encoding="utf-8",
    )
    return roster


def test_team_docx_words_its_notes_for_its_reader_and_sets_them_flush_left(
    tmp_path: Path,
) -> None:
    roster = _team(tmp_path)
    team = rollup([tmp_path / "in"], roster=roster, jobs=1)
    data = team.docx(charts=False)
    text = summary_text(data)
    appendix = text[text.index("团队汇总说明") :]
    assert "--period" not in appendix and "opsbook check" not in appendix
    assert "!B" not in appendix and "！B" not in appendix  # no sheet cells
    assert "王芳（bob.xlsx）：滞销SKU数大于在售SKU总数，不可能成立" in appendix
    assert "陈晨（chen.xlsx）：交的是“2026年Q2”的工作簿，不是团队的 2026年Q3；未计入" in appendix
    assert "未纳入汇总：张敏（张敏.xlsx）：没有填写任何数据" in appendix
    # ... while the command line keeps its directions
    cli = "\n".join(team.failure_lines())
    assert "--period" in cli and "!B" in cli
    # every paragraph of the appendix's lists is flush left, never justified
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        body = etree.fromstring(archive.read("word/document.xml"))
    document_body = body.find(f"{W}body")
    assert document_body is not None
    paragraphs = list(document_body.iterfind(f"{W}p"))  # not those in tables
    texts = ["".join(str(x) for x in p.itertext()) for p in paragraphs]
    start = next(i for i, t in enumerate(texts) if "团队汇总说明" in t)
    for p, t in zip(paragraphs[start:], texts[start:], strict=True):
        if t.startswith(("交的不是", "只交了空白", "未提交（", "未纳入汇总", "王芳", "以下")):
            jc = p.find(f"{W}pPr/{W}jc")
            assert jc is not None and jc.get(f"{W}val") == "left", t


def test_team_xlsx_fills_the_email_column_from_the_roster(tmp_path: Path) -> None:
    roster = _team(tmp_path)
    out = rollup([tmp_path / "in"], roster=roster, jobs=1).write(tmp_path / "team.xlsx")
    ws = openpyxl.load_workbook(out)["成员明细"]
    emails = {r[0]: r[1] for r in ws.iter_rows(min_row=4, values_only=True) if r[0]}
    assert emails["李明"] == "liming@shop.cn"
    assert emails["王芳"] == "wangfang@shop.cn"
