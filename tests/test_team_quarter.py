"""A scripted quarter, as a team lead lives it: six staff workbooks arrive (one blank, one revised
twice, one with an impossible figure, one of another period, two by forwarded mail), the batch
render runs twice with a resend in between, then the roll-up runs with a roster. Every output and
every printed line is checked against values computed by hand in this file."""

from __future__ import annotations

import email.policy
import os
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
from click.testing import CliRunner

from generator.xlsx_writer import build_workbook
from opsbook.api import check
from opsbook.cli import main
from tests.helpers import summary_text
from tests.lo import LibreOffice
from workbook.reader import read_workbook
from workbook.spec import load

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def person(author: str | None, store: str, period: str, **figures: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "period": period,
        "period_days": 92,
        "business_scope": "天猫旗舰店",
        "store_name": store,
        "core_goal": "GMV增长",
        **figures,
    }
    if author:
        values["author"] = author
    return values


# The figures, chosen round so that every team value below is computed by hand.
LIN = person("林晓雨", "家居一店", "2026年Q3", uv=10000, orders=300, gmv=60000, gmv_prev=50000,
             buyers=250, repeat_buyers=50, sku_total=100, sku_unsold=10)  # fmt: skip
WANG = {  # revised twice: the last one counts
    1: person("王磊", "家居二店", "2026Q3", uv=8000, orders=200, gmv=40000, gmv_prev=40000,
              buyers=180, repeat_buyers=40, sku_total=80, sku_unsold=8),
    2: person("王磊", "家居二店", "2026Q3", uv=8000, orders=250, gmv=41000, gmv_prev=40000,
              buyers=180, repeat_buyers=40, sku_total=80, sku_unsold=8),
    3: person("王磊", "家居二店", "2026Q3", uv=9000, orders=270, gmv=45000, gmv_prev=40000,
              buyers=200, repeat_buyers=60, sku_total=80, sku_unsold=8),
}  # fmt: skip
# 400 unsold SKUs of 50 on sale: impossible; both SKU figures stay out of the team's.
ZHAO = person("赵敏", "家居三店", "2026年第三季度", uv=5000, orders=100, gmv=20000, gmv_prev=25000,
              buyers=90, repeat_buyers=20, sku_total=50, sku_unsold=400)  # fmt: skip
CHEN = person("陈思", "家居四店", "2026年Q2", uv=99999, orders=9999, gmv=999999,
              buyers=999, repeat_buyers=99, sku_total=999, sku_unsold=9)  # fmt: skip
# No name in the workbook: the person is the forwarded message's original sender. No gmv_prev.
LIU = person(None, "家居五店", "2026年7-9月", uv=6000, orders=150, gmv=30000,
             buyers=120, repeat_buyers=30, sku_total=70, sku_unsold=7)  # fmt: skip


def workbook(values: dict[str, Any]) -> bytes:
    return build_workbook(load(), "zh-CN", values)


def forwarded_inline(path: Path, attachment: str, data: bytes) -> Path:
    """Gmail's forward: the director's From header, the original sender in the text."""
    message = EmailMessage()
    message["From"] = "运营总监 <director@shop.cn>"
    message["To"] = "lead@shop.cn"
    message["Subject"] = "Fwd: Q3数据填报表"
    message["Date"] = "Fri, 09 Oct 2026 18:30:00 +0800"
    message.set_content(
        "请查收。\n\n---------- Forwarded message ---------\n"
        "发件人： 刘洋 <LiuYang@shop.cn>\nDate: 2026年10月9日周五 18:02\n"
        "Subject: Q3数据填报表\nTo: 运营总监 <director@shop.cn>\n\n附件是我的填报表。\n"
    )
    message.add_attachment(data, maintype=XLSX[0], subtype=XLSX[1], filename=attachment)
    path.write_bytes(message.as_bytes(policy=email.policy.SMTP))
    return path


def forwarded_as_attachment(path: Path, attachment: str, data: bytes) -> Path:
    """Outlook's "forward as attachment": the original message inside, as message/rfc822."""
    inner = EmailMessage()
    inner["From"] = "周杰 <zhoujie@shop.cn>"
    inner["To"] = "director@shop.cn"
    inner["Subject"] = "Q3"
    inner["Date"] = "Thu, 08 Oct 2026 09:00:00 +0800"
    inner.set_content("见附件")
    inner.add_attachment(data, maintype=XLSX[0], subtype=XLSX[1], filename=attachment)
    outer = EmailMessage()
    outer["From"] = "运营总监 <director@shop.cn>"
    outer["To"] = "lead@shop.cn"
    outer["Subject"] = "FW: Q3"
    outer["Date"] = "Fri, 09 Oct 2026 18:40:00 +0800"
    outer.set_content("转给你")
    outer.add_attachment(inner)
    path.write_bytes(outer.as_bytes(policy=email.policy.SMTP))
    return path


def cell_of(path: Path, name: str) -> str:
    """Where a defined name points, read with openpyxl (not with opsbook's reader)."""
    wb = openpyxl.load_workbook(path)
    ((sheet, ref),) = list(wb.defined_names[name].destinations)
    return f"{sheet}!{ref.replace('$', '')}"


def set_mtime(path: Path, when: float) -> None:
    os.utime(path, (when, when))


@pytest.mark.usefixtures("poppler")
def test_a_quarter_of_a_team(
    tmp_path: Path, libreoffice: LibreOffice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSBOOK_LANG", raising=False)
    monkeypatch.delenv("LANG", raising=False)
    monkeypatch.chdir(tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # 林晓雨 fills hers and saves it in LibreOffice.
    scripted = tmp_path / "scripted" / "林晓雨.xlsx"
    scripted.parent.mkdir()
    scripted.write_bytes(workbook(LIN))
    (saved,) = libreoffice.convert([scripted], "xlsx", tmp_path / "lo")
    (inbox / "林晓雨.xlsx").write_bytes(saved.read_bytes())
    (inbox / "王磊.xlsx").write_bytes(workbook(WANG[1]))
    (inbox / "赵敏.xlsx").write_bytes(workbook(ZHAO))
    (inbox / "陈思.xlsx").write_bytes(workbook(CHEN))
    liu = forwarded_inline(tmp_path / "fwd-liu.eml", "Q3数据填报表.xlsx", workbook(LIU))
    blank = build_workbook(load(), "zh-CN")
    zhou = forwarded_as_attachment(tmp_path / "fwd-zhou.eml", "周杰_Q3.xlsx", blank)
    out = tmp_path / "out"
    batch = ["render", "inbox", str(liu.name), str(zhou.name), "--outdir", "out", "--jobs", "1"]

    # -- the first batch --------------------------------------------------------------------
    first = CliRunner().invoke(main, batch)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[:4] == [
        "已转换      5",
        "空白工作簿  1(未填写任何数据,未生成总结)",
        "失败        0",
        "有错误      1(涉及 1 份总结,请用 opsbook check 查看)",
    ]
    assert first.stdout.splitlines()[4].startswith("警告  ")  # the readers' notes on the figures
    # Named after the original sender, never the director, and never twice.
    assert sorted(p.name for p in out.iterdir()) == [
        "刘洋_Q3数据填报表.docx",
        "林晓雨.docx",
        "王磊.docx",
        "赵敏.docx",
        "陈思.docx",
    ]
    # The only data error is 赵敏's impossible figure; the blank template wrote nothing.
    assert first.stderr.splitlines() == [
        f"{Path('inbox') / '赵敏.xlsx'}:已生成总结,但工作簿有 1 个错误(如必填项未填),总结不完整;"
        "用 opsbook check 查看",
        f"提示:{zhou.name} › 周杰_Q3.xlsx:未填写任何数据(空白模板?),未生成总结",
    ]
    wang_first = (out / "王磊.docx").read_bytes()
    assert "41,000" not in summary_text(wang_first)

    # -- between the runs: 王磊 resends, the lead edits 赵敏's summary by hand, 赵敏 resends --
    (inbox / "王磊.xlsx").write_bytes(workbook(WANG[2]))
    edited = docx.Document(str(out / "赵敏.docx"))
    edited.add_paragraph("主管批注:SKU 数据待核实。")
    edited.save(str(out / "赵敏.docx"))
    by_hand = (out / "赵敏.docx").read_bytes()
    (inbox / "赵敏.xlsx").write_bytes(workbook({**ZHAO, "s2_notes": "补充说明"}))

    second = CliRunner().invoke(main, batch)
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[:5] == [
        "已转换           1",
        "已是最新         3(由工作簿当前内容生成,保留不动;加 --force 可重新生成)",
        "已手工修改,保留  1(opsbook 生成后被他人编辑过,未覆盖;加 --force 可重新生成)",
        "空白工作簿       1(未填写任何数据,未生成总结)",
        "失败             0",
    ]
    assert second.stderr.splitlines() == [
        f"提示:{Path('out') / '赵敏.docx'}:opsbook 生成后已被手工修改,保留不动"
        f"({Path('inbox') / '赵敏.xlsx'} 已更新;如需重新生成请加 --force)",
        f"提示:{zhou.name} › 周杰_Q3.xlsx:未填写任何数据(空白模板?),未生成总结",
    ]
    assert (out / "赵敏.docx").read_bytes() == by_hand
    assert "4.1万" in summary_text((out / "王磊.docx").read_bytes())  # the resent GMV, 41,000

    # -- the third version of 王磊's, saved last -----------------------------------------
    (inbox / "王磊_v3.xlsx").write_bytes(workbook(WANG[3]))
    base = (inbox / "王磊.xlsx").stat().st_mtime
    set_mtime(inbox / "王磊_v3.xlsx", base + 3600)
    (tmp_path / "名单.csv").write_text(
        "姓名,邮箱\n林晓雨,\n王磊,\n赵敏,\n陈思,\n刘洋,liuyang@shop.cn\n周杰,zhoujie@shop.cn\n吴昊,\n",
        encoding="utf-8",
    )
    rollup = ["rollup", "inbox", liu.name, zhou.name, "--roster", "名单.csv", "--team",
              "华东运营组", "--jobs", "1"]  # fmt: skip
    team_xlsx = CliRunner().invoke(main, [*rollup, "-o", "team.xlsx"])
    assert team_xlsx.exit_code == 1  # something was left out
    # By hand, over 林晓雨, 王磊 (v3), 赵敏 and 刘洋:
    uv = 10000 + 9000 + 5000 + 6000  # 30,000
    orders = 300 + 270 + 100 + 150  # 820
    gmv = 60000 + 45000 + 20000 + 30000  # 155,000
    gmv_prev = 50000 + 40000 + 25000  # 115,000: 刘洋 left it blank (3 of 4)
    sku_total, sku_unsold = 100 + 80 + 70, 10 + 8 + 7  # 250, 25: 赵敏's impossible pair left out
    zhao = inbox / "赵敏.xlsx"
    unsold_cell, total_cell = cell_of(zhao, "sku_unsold"), cell_of(zhao, "sku_total")
    assert team_xlsx.stdout.splitlines() == [
        "已写入 team.xlsx",
        "已汇总 4 份工作簿;2 份未纳入(见下文)",
        "以下团队合计只含 4 人中的 3 人:在售SKU总数、滞销SKU数、周期GMV(上期)",
        # each over the people who gave all its inputs, this quarter's and last alike
        "以下指标只计入填齐其全部所需数据的人(本期与上期同一批人):滞销率(4人中3人)、"
        "客单价(本期)(4人中3人)、GMV环比增长(4人中3人)",
        "未提交(1人):",
        "  吴昊",
        "只交了空白工作簿(1人):",
        "  周杰 <zhoujie@shop.cn>",
        "交的不是 2026年Q3 的工作簿(1人):",
        "  陈思",
    ]
    wang_v2, wang_v3 = Path("inbox") / "王磊.xlsx", Path("inbox") / "王磊_v3.xlsx"
    lines = team_xlsx.stderr.splitlines()
    assert lines[:3] == [
        f"错误:未纳入汇总:陈思({Path('inbox') / '陈思.xlsx'}):周期为“2026年Q2”,不是团队的 "
        "2026年Q3;未计入(如需汇总其他周期请用 --period)",
        f"错误:未纳入汇总:{zhou.name} › 周杰_Q3.xlsx:没有填写任何数据(是空白模板吗?);未计入",
        f"错误:赵敏({Path('inbox') / '赵敏.xlsx'}):滞销SKU数({unsold_cell})大于在售SKU总数"
        f"({total_cell}),不可能成立;这两项及由它们计算的指标未计入团队合计",
    ]
    assert lines[3] == (
        f"提示:刘洋({liu.name} › Q3数据填报表.xlsx):1 项数据为空(周期GMV(上期)),相应的团队合计"
        "只含其他人;补填(没有则填 0)后即可计入"
    )
    assert re.fullmatch(
        rf"提示:王磊 提交了 2 份工作簿:采用最后保存的 {wang_v3}\(\d{{4}}年\d{{1,2}}月\d{{1,2}}日 "
        rf"\d\d:\d\d\);未计入:{wang_v2}",
        lines[4],
    ), lines[4]
    assert len(lines) == 5
    team = read_workbook(tmp_path / "team.xlsx")
    fields = team.fields
    assert (fields["uv"], fields["orders"], fields["gmv"]) == (uv, orders, gmv)
    assert (fields["gmv_prev"], fields["sku_total"], fields["sku_unsold"]) == (
        gmv_prev,
        sku_total,
        sku_unsold,
    )
    assert (fields["buyers"], fields["repeat_buyers"]) == (250 + 200 + 90 + 120, 50 + 60 + 20 + 30)
    assert fields["period"] == "2026年Q3"
    assert fields["store_name"] == "华东运营组"
    assert team.kpis["conversion_rate"] == pytest.approx(820 / 30000)
    assert team.kpis["unsold_rate"] == pytest.approx(0.1)  # 25 / 250, not 425 / 300
    # The dashboard's formula divides all four GMVs by three people's last-quarter GMV ...
    assert team.kpis["gmv_growth"] == pytest.approx(155000 / 115000 - 1)
    assert any(i.kind == "team_partial" for i in check(tmp_path / "team.xlsx").warnings)
    assert team.kpis["repurchase_rate"] == pytest.approx(160 / 660)

    # The team workbook's per-person sheet says the same (read with openpyxl).
    sheet = openpyxl.load_workbook(tmp_path / "team.xlsx")["成员明细"]
    texts = [str(c.value).strip() for row in sheet.iter_rows() for c in row if c.value]
    assert "以下团队合计只含 4 人中的 3 人:在售SKU总数、滞销SKU数、周期GMV(上期)" in texts
    # ... the team row says what the summary says: over the three who gave both quarters,
    # (60000 + 45000 + 20000) / 115000 - 1, and its column says whom it covers.
    header = [c.value for c in sheet[3]]
    col = header.index("GMV环比增长(4人中3人)")
    team_row = next(row for row in sheet.iter_rows(values_only=True) if row[0] == "团队")
    assert team_row[col] == pytest.approx(125000 / 115000 - 1)
    combined = ["林晓雨", "王磊", "赵敏", "刘洋"]
    assert [name for name in texts if name in combined] == combined

    # -- team.docx: the same figures, names and dates instead of paths --------------------
    team_docx = CliRunner().invoke(main, [*rollup, "-o", "team.docx"])
    assert team_docx.exit_code == 1
    text = summary_text((tmp_path / "team.docx").read_bytes())
    assert str(tmp_path) not in text and "inbox/" not in text
    assert "以下团队合计只含 4 人中的 3 人：在售SKU总数、滞销SKU数、周期GMV（上期）" in text
    assert "未提交（1人）：吴昊。" in text
    assert "只交了空白工作簿（1人）：周杰 <zhoujie@shop.cn>。" in text
    assert re.search(r"采用最后保存的 王磊_v3\.xlsx（\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d）", text)
    assert "15.5万" in text  # the team's GMV, 155,000
