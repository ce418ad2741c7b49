"""The team side of issue 10, one behaviour per test: impossible figures and periods in the
roll-up, summaries recorded and kept across batches, blank templates, forwarded mail, lock files,
the team document's text, and click's words in the user's language. Expected values are written
by hand; files are checked with openpyxl, lxml and hashlib, not with the code under test."""

from __future__ import annotations

import email.policy
import errno
import hashlib
import io
import os
import zipfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree

from generator.xlsx_writer import build_workbook
from opsbook.api import render
from opsbook.batch import render_many
from opsbook.cli import main
from opsbook.mail import parse_sender
from opsbook.team.rollup import rollup
from opsbook.team.text import merged_items, same_precision
from tests.helpers import summary_text
from workbook.errors import OpsbookError, UsageProblem
from workbook.spec import load

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def values(author: str | None, **figures: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "period": "2026年Q3",
        "period_days": 92,
        "business_scope": "Store operations",
        "store_name": f"{author or 'Some'} store",
        "core_goal": "GMV growth",
        "uv": 1000,
        "orders": 50,
        "gmv": 10000,
    }
    if author:
        base["author"] = author
    base.update(figures)
    return base


def write(path: Path, data: dict[str, Any], lang: str = "en") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_workbook(load(), lang, data))
    return path


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSBOOK_LANG", raising=False)
    return CliRunner()


def cell_of(path: Path, name: str) -> str:
    """Where a defined name points, read with openpyxl (not with opsbook's reader)."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ((sheet, ref),) = list(wb.defined_names[name].destinations)
    return f"{sheet}!{ref.replace('$', '')}"


# -- 1. impossible figures ---------------------------------------------------------------------


def test_a_part_above_its_whole_is_left_out_of_the_team_totals_with_both_cells(
    runner: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path / "in" / "alice.xlsx", values("Alice", sku_total=100, sku_unsold=10))
    # Bob: 400 unsold SKUs of 50 on sale. With him the team's unsold rate would be 410 / 150.
    write(tmp_path / "in" / "bob.xlsx", values("Bob", sku_total=50, sku_unsold=400))
    team = rollup([tmp_path / "in"], lang="en", jobs=1)
    assert (team.report.fields["sku_total"], team.report.fields["sku_unsold"]) == (100, 10)
    assert team.report.kpis["unsold_rate"] == pytest.approx(0.1)
    assert team.report.fields["uv"] == 2000  # his other figures count
    assert team.exit_code == 1
    bob = tmp_path / "in" / "bob.xlsx"
    unsold, total = cell_of(bob, "sku_unsold"), cell_of(bob, "sku_total")
    assert team.failure_lines() == [
        f"Bob ({bob}): Unsold SKUs ({unsold}) is above SKUs on sale ({total}), "
        "which cannot be; both, and the KPIs built on them, are left out of the team totals"
    ]
    result = runner.invoke(main, ["rollup", "in", "-o", "team.xlsx", "--lang", "en"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: Bob ({Path('in') / 'bob.xlsx'}): Unsold SKUs")


# -- 2. periods --------------------------------------------------------------------------------


def test_the_team_period_is_the_majority_and_other_periods_are_left_out(tmp_path: Path) -> None:
    write(tmp_path / "a.xlsx", values("Alice", period="2026年第三季度"))
    write(tmp_path / "b.xlsx", values("Bob", period="2026Q3"))
    write(tmp_path / "c.xlsx", values("Carol", period="2026年Q1", gmv=99999))
    team = rollup([tmp_path], lang="zh-CN", jobs=1)
    assert [p.name for p in team.people] == ["Alice", "Bob"]
    assert team.report.fields["gmv"] == 20000
    assert team.report.fields["period"] == "2026年Q3"
    assert team.failure_lines() == [
        f"未纳入汇总:Carol({tmp_path / 'c.xlsx'}):周期为“2026年Q1”,不是团队的 2026年Q3;"
        "未计入(如需汇总其他周期请用 --period)"
    ]
    # --period chooses another one: now Carol's alone counts.
    q1 = rollup([tmp_path], lang="en", jobs=1, period="2026 Q1")
    assert [p.name for p in q1.people] == ["Carol"]
    assert q1.report.fields["period"] == "Q1 2026"


def test_a_tie_between_periods_asks_for_period_and_writes_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path / "in" / "a.xlsx", values("Alice", period="2026年Q2"), "zh-CN")
    write(tmp_path / "in" / "b.xlsx", values("Bob", period="2026年Q3"), "zh-CN")
    with pytest.raises(UsageProblem) as caught:
        rollup([tmp_path / "in"], jobs=1)
    assert caught.value.message("en") == (
        "the workbooks name different periods and none has a majority (2026-Q2, 2026-Q3: 1 "
        "each); name the team's period with --period, e.g. --period 2026Q3"
    )
    result = runner.invoke(main, ["rollup", "in", "-o", "team.xlsx"])
    assert result.exit_code == 2
    assert result.stderr == (
        "错误:工作簿的周期不一致,且没有哪个周期占多数(2026-Q2, 2026-Q3 各 1 份);"
        "请用 --period 指定团队的周期,如 --period 2026年Q3\n"
    )
    assert not (tmp_path / "team.xlsx").exists()
    bad = runner.invoke(main, ["rollup", "in", "-o", "team.xlsx", "--period", "本季度"])
    assert bad.exit_code == 2
    assert "--period 本季度:无法识别的周期" in bad.stderr
    good = runner.invoke(main, ["rollup", "in", "-o", "team.xlsx", "--period", "2026-Q3"])
    assert good.exit_code == 1, good.output  # Alice's Q2 workbook is left out
    assert good.stdout.splitlines()[1] == "已汇总 1 份工作簿;1 份未纳入(见下文)"


# -- 4. summaries recorded, rewritten or kept ------------------------------------------------


def custom_properties(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = etree.fromstring(archive.read("docProps/custom.xml"))
        content_types = archive.read("[Content_Types].xml").decode()
        rels = archive.read("_rels/.rels").decode()
    assert "/docProps/custom.xml" in content_types and "docProps/custom.xml" in rels
    ns = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"
    return {
        str(p.get("name")): "".join(str(t) for t in p.itertext())
        for p in root.iter(f"{ns}property")
    }


def test_a_summary_records_what_it_was_made_from(tmp_path: Path) -> None:
    source = write(tmp_path / "a.xlsx", values("Alice"))
    out, _ = render(source)
    data = out.read_bytes()
    props = custom_properties(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        body = archive.read("word/document.xml")
    assert props["opsbook_source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert props["opsbook_source_size"] == str(source.stat().st_size)
    assert props["opsbook_source_mtime"].startswith("20")  # ISO 8601, UTC
    assert props["opsbook_version"] == "0.1.0"
    assert props["opsbook_body_sha256"] == hashlib.sha256(body).hexdigest()


@pytest.mark.usefixtures("poppler")
def test_a_summary_saved_by_libreoffice_counts_as_edited_and_is_kept(
    tmp_path: Path, libreoffice: Any
) -> None:
    source = write(tmp_path / "in" / "a.xlsx", values("Alice"))
    out = tmp_path / "out"
    (first,) = list(render_many([source], outdir=out, jobs=1))
    assert first.ok
    # The lead opens the summary in LibreOffice Writer and saves it (as docx).
    (saved,) = libreoffice.convert([out / "a.docx"], "docx", tmp_path / "lo")
    assert custom_properties(saved.read_bytes())["opsbook_version"] == "0.1.0"  # kept by LO
    (out / "a.docx").write_bytes(saved.read_bytes())
    write(source, values("Alice", gmv=12345))  # then a revised workbook arrives
    (again,) = list(render_many([source], outdir=out, jobs=1, message_lang="en"))
    assert again.status == "kept"
    assert (out / "a.docx").read_bytes() == saved.read_bytes()


# -- 5. blank templates ------------------------------------------------------------------------


def test_a_blank_template_in_a_batch_is_reported_and_writes_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path / "in" / "blank.xlsx", {"store_name": "Blank"})
    write(tmp_path / "in" / "filled.xlsx", values("Alice"))
    result = runner.invoke(main, ["render", "in", "--outdir", "out", "--lang", "en"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:3] == [
        "Converted  1",
        "Blank      1 (no figure filled in; no summary written)",
        "Failed     0",
    ]
    assert result.stderr == (
        f"Note: {Path('in') / 'blank.xlsx'}: no figure is filled in (the blank template?); "
        "no summary written\n"
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["filled.docx"]


# -- 6. forwarded mail -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "address"),
    [
        ("李明 <LiMing@shop.cn>", "李明", "liming@shop.cn"),
        ('"孙丽"<sunli@shop.cn>;', "孙丽", "sunli@shop.cn"),
        ("Li Ming [mailto:liming@shop.cn]", "Li Ming", "liming@shop.cn"),
        ("liming@shop.cn", None, "liming@shop.cn"),
        ("李明", "李明", None),
    ],
)
def test_senders_as_mail_programs_write_them(
    text: str, name: str | None, address: str | None
) -> None:
    sender = parse_sender(text)
    assert (sender.name, sender.address) == (name, address)


def forward(path: Path, body: str, attachment: str, data: bytes, subject: str = "FW: Q3") -> Path:
    message = EmailMessage()
    message["From"] = "Director <director@shop.cn>"
    message["To"] = "lead@shop.cn"
    message["Subject"] = subject
    message.set_content(body)
    message.add_attachment(data, maintype=XLSX[0], subtype=XLSX[1], filename=attachment)
    path.write_bytes(message.as_bytes(policy=email.policy.SMTP))
    return path


@pytest.mark.parametrize(
    "body",
    [
        # Outlook (English)
        "FYI\n\n-----Original Message-----\nFrom: Sun Li [mailto:sunli@shop.cn]\n"
        "Sent: Friday, October 9, 2026 6:02 PM\nSubject: Q3\n",
        # QQ Mail
        '转发\n\n------------------ 原始邮件 ------------------\n发件人: "孙丽"<sunli@shop.cn>;\n'
        "发送时间: 2026年10月9日(星期五) 下午6:02\n",
        # Outlook (Chinese): a line of underscores, then 发件人
        "请看\n\n________________________________\n发件人: 孙丽 <sunli@shop.cn>\n"
        "发送时间: 2026年10月9日 18:02\n",
    ],
)
def test_a_forwarded_workbook_is_credited_to_its_original_sender(tmp_path: Path, body: str) -> None:
    mail = forward(tmp_path / "fwd.eml", body, "Q3.xlsx", build_workbook(load(), "en",
                   values(None)))  # fmt: skip
    team = rollup([mail], lang="en", jobs=1)
    (person,) = team.people
    assert person.email == "sunli@shop.cn"
    assert person.name in ("孙丽", "Sun Li")
    (result,) = list(render_many([mail], jobs=1))
    assert result.output is not None and result.output.name in ("孙丽_Q3.docx", "Sun_Li_Q3.docx")


def test_an_attachment_named_after_its_sender_is_not_named_twice(tmp_path: Path) -> None:
    mail = forward(tmp_path / "m.eml", "-----Original Message-----\nFrom: 孙丽 <sunli@shop.cn>\n",
                   "孙丽_Q3.xlsx", build_workbook(load(), "en", values("孙丽")))  # fmt: skip
    (result,) = list(render_many([mail], jobs=1))
    assert result.output == tmp_path / "孙丽_Q3.docx"


def test_a_workbook_s_own_name_wins_over_the_mail(tmp_path: Path) -> None:
    mail = forward(tmp_path / "m.eml", "-----Original Message-----\nFrom: 孙丽 <sunli@shop.cn>\n",
                   "q3.xlsx", build_workbook(load(), "en", values("Zhou Jie")))  # fmt: skip
    (person,) = rollup([mail], lang="en", jobs=1).people
    assert person.name == "Zhou Jie"


# -- 7. lock files -----------------------------------------------------------------------------


@pytest.mark.parametrize("lock", ["~$a.xlsx", ".~lock.a.xlsx#"])
def test_a_workbook_open_elsewhere_is_warned_about_everywhere(
    runner: CliRunner, tmp_path: Path, lock: str
) -> None:
    write(tmp_path / "in" / "a.xlsx", values("Alice"))
    (tmp_path / "in" / lock).write_bytes(b"owner")
    warning = (
        f"Note: {Path('in') / 'a.xlsx'}: open in another program (lock file {lock} beside it): "
        "edits not saved yet are not included"
    )
    rendered = runner.invoke(main, ["render", "in/a.xlsx", "--lang", "en"])
    assert rendered.exit_code == 0 and warning in rendered.stderr.splitlines()
    checked = runner.invoke(main, ["check", "in/a.xlsx", "--lang", "en"])
    assert warning in checked.stderr.splitlines()
    batch = runner.invoke(main, ["render", "in", "--outdir", "out", "--lang", "en"])
    assert batch.exit_code == 0 and warning in batch.stderr.splitlines()
    team = runner.invoke(main, ["rollup", "in", "-o", "team.xlsx", "--lang", "en"])
    assert team.exit_code == 0
    assert warning in team.stderr.splitlines()


@pytest.mark.parametrize("lock", ["~$a.xlsx", ".~lock.a.xlsx#"])
def test_a_lock_file_named_on_the_command_line_says_what_it_is(
    runner: CliRunner, tmp_path: Path, lock: str
) -> None:
    (tmp_path / lock).write_bytes(b"owner")
    expected = (
        f"错误:{lock}:这是 Excel、WPS 或 LibreOffice 打开 a.xlsx 时生成的锁文件,不是工作簿;"
        "请指定 a.xlsx 本身(先保存并关闭它)\n"
    )
    for argv in (["render", lock], ["check", lock]):
        result = runner.invoke(main, argv)
        assert (result.exit_code, result.stderr) == (3, expected), argv
    write(tmp_path / "b.xlsx", values("Bob"))
    batch = runner.invoke(main, ["render", lock, "b.xlsx", "--outdir", "out"])
    assert batch.exit_code == 1
    assert expected in batch.stderr
    # As a shell glob gives it, beside its workbook: the workbook's warning says it all.
    write(tmp_path / "a.xlsx", values("Alice"))
    glob = runner.invoke(main, ["render", lock, "a.xlsx", "--outdir", "out2", "--lang", "en"])
    assert glob.exit_code == 0
    assert glob.stderr == (
        f"Note: a.xlsx: open in another program (lock file {lock} beside it): edits not saved "
        "yet are not included\n"
    )


# -- 8. the team document ----------------------------------------------------------------------


def test_one_precision_per_column() -> None:
    assert same_precision(["6万元", "4.5万元", "—"]) == ["6.0万元", "4.5万元", "—"]
    money = ["200元", "166.67元", "1,200元"]
    assert same_precision(money) == ["200.00元", "166.67元", "1,200.00元"]
    assert same_precision(["+20%", "-20%", "+12.5%"]) == ["+20.0%", "-20.0%", "+12.5%"]
    # Different units are different columns of figures: each keeps its own.
    assert same_precision(["9,800元", "1.2万元"]) == ["9,800元", "1.2万元"]


def test_goal_lists_are_merged_item_by_item() -> None:
    assert merged_items(["GMV增长、会员复购提升", "GMV增长", "会员复购提升，新品孵化"]) == [
        "GMV增长",
        "会员复购提升",
        "新品孵化",
    ]


def test_team_docx_names_files_not_paths_and_sets_broken_lines_flush_left(
    tmp_path: Path,
) -> None:
    write(tmp_path / "in" / "a.xlsx", values("Alice", core_goal="GMV增长、会员复购提升",
                                             s2_notes="Evening streams."), "zh-CN")  # fmt: skip
    write(tmp_path / "in" / "b.xlsx", values("Bob", core_goal="GMV增长", gmv=15000,
                                             s2_notes="Bundles."), "zh-CN")  # fmt: skip
    write(tmp_path / "in" / "b2.xlsx", values("Bob", core_goal="GMV增长", gmv=15500), "zh-CN")
    os.utime(tmp_path / "in" / "b2.xlsx", (2_000_000_000, 2_000_000_000))
    team = rollup([tmp_path / "in"], lang="zh-CN", jobs=1)
    assert team.report.fields["core_goal"] == "GMV增长、会员复购提升"
    data = team.docx()
    text = summary_text(data)
    assert str(tmp_path) not in text
    # 2,000,000,000 s after the epoch is 2033-05-18 03:33:20 UTC: a date the locale's way.
    assert "采用最后保存的 b2.xlsx（2033年5月18日 " in text
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        body = etree.fromstring(archive.read("word/document.xml"))
    for p in body.iter(f"{W}p"):
        if p.find(f".//{W}br") is not None:
            jc = p.find(f"{W}pPr/{W}jc")
            assert jc is not None and jc.get(f"{W}val") in ("left", "center"), etree.tostring(p)


def test_a_row_whose_label_names_its_unit_is_not_followed_by_it_again() -> None:
    from generator.narrative import TableBlock, outline
    from workbook.report import Report

    spec = load()
    report = Report(spec.id, spec.version, "zh-CN", "x",
                    fields={"task_hours": 7, "task_hours_prev": 8, "uv": 1000})  # fmt: skip
    rows = [r for b in outline(spec, report, lang="zh-CN") if isinstance(b, TableBlock)
            for r in b.rows]  # fmt: skip
    hours = next(r for r in rows if r[0].startswith("标准工作平均耗时"))
    assert hours[0] == "标准工作平均耗时（小时）"
    assert hours[1:3] == ("8", "7")  # not 8小时 | 7小时


# -- 9. words a user sees ----------------------------------------------------------------------


def test_help_and_usage_errors_speak_the_user_s_language(runner: CliRunner) -> None:
    zh = runner.invoke(main, ["render", "-h"])
    assert zh.exit_code == 0
    assert zh.stdout.startswith("用法: main render [OPTIONS] FILLED.xlsx...\n")
    assert "\n选项:\n" in zh.stdout and "显示本帮助并退出。" in zh.stdout
    assert "输出的 .docx(默认:工作簿旁边,同名)。" in zh.stdout
    assert "Show this message" not in zh.stdout
    en = runner.invoke(main, ["render", "-h", "--lang", "en"])
    assert "\nOptions:\n" in en.stdout and "Output .docx (default: beside the workbook" in en.stdout
    missing = runner.invoke(main, ["render"])
    assert missing.exit_code == 2
    assert missing.stderr == (
        "用法: main render [OPTIONS] FILLED.xlsx...\n运行 'main render -h' 查看帮助。\n\n"
        "错误:缺少参数 'FILLED.xlsx...'。\n"
    )
    typo = runner.invoke(main, ["render", "x.xlsx", "--forc"])
    assert typo.stderr.splitlines()[-1] == "错误:没有选项 '--forc'。您是想用 '--force' 吗?"
    english = runner.invoke(main, ["nope"], env={"OPSBOOK_LANG": "en"})
    assert english.exit_code == 2
    assert english.stderr.splitlines()[-1] == ("Error: No such command 'nope'.")


def test_an_output_another_program_holds_is_named_as_such(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "a.xlsx", values("Alice"))
    (tmp_path / "a.docx").write_bytes(b"open in Word")

    def held(*args: object, **kwargs: object) -> None:  # what Windows answers for an open file
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", held)
    result = runner.invoke(main, ["render", "a.xlsx", "--force", "--lang", "en"])
    assert result.exit_code == 5
    assert result.stderr == (
        "Error: a.docx: cannot be replaced: another program (Word, WPS, Excel) has it open, or "
        "it is read-only; close it and run again\n"
    )
    assert (tmp_path / "a.docx").read_bytes() == b"open in Word"


def test_nothing_to_combine_is_still_an_error(tmp_path: Path) -> None:
    with pytest.raises(OpsbookError):
        rollup([], jobs=1)


def test_a_paragraph_several_people_kept_is_stated_once_with_their_names(tmp_path: Path) -> None:
    template = "本周期整体完成既定目标。"
    write(tmp_path / "a.xlsx", values("Alice", conclusion=template), "zh-CN")
    write(tmp_path / "b.xlsx", values("Bob", conclusion=template), "zh-CN")
    write(tmp_path / "c.xlsx", values("Carol", conclusion="新品孵化超预期。"), "zh-CN")
    team = rollup([tmp_path], lang="zh-CN", jobs=1)
    assert team.report.fields["conclusion"] == (
        "Alice、Bob:本周期整体完成既定目标。\nCarol:新品孵化超预期。"
    )


def test_a_list_row_several_people_wrote_the_same_is_listed_once(tmp_path: Path) -> None:
    row = {"problem": "付费流量成本上升", "symptom": "单客成本上升约14%", "cause": "竞价加剧"}
    own = {"problem": "内容产出不足", "symptom": "周更2条", "cause": "缺少专职岗位"}
    write(tmp_path / "a.xlsx", values("Alice", problems=[row]), "zh-CN")
    write(tmp_path / "b.xlsx", values("Bob", problems=[row, own]), "zh-CN")
    team = rollup([tmp_path], lang="zh-CN", jobs=1)
    assert [r["problem"] for r in team.report.tables["problems"]] == [
        "Alice、Bob:付费流量成本上升",
        "Bob:内容产出不足",
    ]
