"""`opsbook render` (and the demo's summary), as a user runs them."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import CliRunner

from generator.xlsx_writer import build_workbook
from opsbook.api import render
from opsbook.cli import main
from opsbook.sample import sample_values
from tests.helpers import summary_text
from workbook.spec import load

SPEC = load()


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSBOOK_LANG", raising=False)
    return CliRunner()


def filled(tmp_path: Path, lang: str = "zh-CN", name: str = "filled.xlsx", **drop: bool) -> Path:
    values = {k: v for k, v in sample_values(lang).items() if not drop.get(k)}
    path = tmp_path / name
    path.write_bytes(build_workbook(SPEC, lang, values))
    return path


def title_of(path: Path) -> str:
    return str(docx.Document(str(path)).paragraphs[0].text)


def test_render_writes_the_summary_beside_the_workbook(runner: CliRunner, tmp_path: Path) -> None:
    source = filled(tmp_path)
    before = source.read_bytes()
    mtime = source.stat().st_mtime_ns
    result = runner.invoke(main, ["render", "filled.xlsx"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "已写入 filled.docx\n"
    assert result.stderr == "未发现问题。\n"
    assert title_of(tmp_path / "filled.docx") == "电子商务运营实务工作总结"
    # The input is only read.
    assert source.read_bytes() == before and source.stat().st_mtime_ns == mtime


def test_render_refuses_to_overwrite_without_force(runner: CliRunner, tmp_path: Path) -> None:
    filled(tmp_path)
    assert runner.invoke(main, ["render", "filled.xlsx"]).exit_code == 0
    first = (tmp_path / "filled.docx").read_bytes()
    refused = runner.invoke(main, ["render", "filled.xlsx"])
    assert refused.exit_code == 5
    assert refused.stdout == ""
    assert refused.stderr == "错误:filled.docx:文件已存在;如需覆盖请加 --force\n"
    forced = runner.invoke(main, ["render", "filled.xlsx", "--force"])
    assert forced.exit_code == 0
    assert (tmp_path / "filled.docx").read_bytes() == first  # same input, same bytes


def test_render_never_writes_over_its_input(runner: CliRunner, tmp_path: Path) -> None:
    source = filled(tmp_path)
    before = source.read_bytes()
    result = runner.invoke(main, ["render", "filled.xlsx", "-o", "filled.xlsx", "--force"])
    assert result.exit_code == 5
    assert "输出文件不能与输入文件相同" in result.stderr
    assert source.read_bytes() == before


def test_language_defaults_to_the_workbook_and_can_be_chosen(
    runner: CliRunner, tmp_path: Path
) -> None:
    filled(tmp_path, "en", name="q3.xlsx")
    result = runner.invoke(main, ["render", "q3.xlsx"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "Wrote q3.docx\n"
    assert title_of(tmp_path / "q3.docx") == "E-commerce Operations Work Summary"
    (tmp_path / "out").mkdir()
    chosen = runner.invoke(main, ["render", "q3.xlsx", "--lang", "zh-CN", "-o", "out/总结.docx"])
    assert chosen.exit_code == 0, chosen.output
    assert chosen.stdout == f"已写入 {Path('out/总结.docx')}\n"
    assert title_of(tmp_path / "out" / "总结.docx") == "电子商务运营实务工作总结"


def test_missing_figures_are_summarized_and_marked(runner: CliRunner, tmp_path: Path) -> None:
    filled(tmp_path, uv=True, orders=True, period=True, business_scope=True, core_goal=True,
           period_days=True, gmv=True)  # fmt: skip
    result = runner.invoke(main, ["render", "filled.xlsx", "--missing", "mark"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "7 个错误,0 条警告"
    # The first problem names the cell where the user types the period.
    ((sheet, cell),) = (
        openpyxl.load_workbook(tmp_path / "filled.xlsx").defined_names["period"].destinations
    )
    assert lines[1] == f"  {sheet}!{cell.replace('$', '')}: 时间周期为必填项,但未填写"
    assert len(lines) == 1 + 5 + 1
    assert lines[-1] == "……另有 2 条,运行 opsbook check 查看全部。"
    text = summary_text((tmp_path / "filled.docx").read_bytes())
    assert "周期内GMV为【待补充：周期GMV（本期）】" in text
    omitted = runner.invoke(main, ["render", "filled.xlsx", "-o", "omit.docx"])
    assert omitted.exit_code == 0
    assert "周期内GMV为" not in summary_text((tmp_path / "omit.docx").read_bytes())


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["render", "absent.xlsx"], 3, "错误:absent.xlsx:文件不存在\n"),
        (["render", "filled.xlsx", "--missing", "hide"], 2, None),
        (["render", "filled.xlsx", "-o", "nowhere/x.docx"], 5, None),
        (["render", "filled.xlsx", "--reference-docx", "corp.docx"], 3, None),
    ],
)
def test_render_exit_codes(
    runner: CliRunner, tmp_path: Path, args: list[str], code: int, message: str | None
) -> None:
    filled(tmp_path)
    result = runner.invoke(main, args)
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    if message is not None:
        assert result.stderr == message
    assert not (tmp_path / "filled.docx").exists()


def test_errors_before_reading_speak_opsbook_lang(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSBOOK_LANG", "en")
    result = runner.invoke(main, ["render", "absent.xlsx"])
    assert (result.exit_code, result.stderr) == (3, "Error: absent.xlsx: no such file\n")


def test_reference_docx_from_the_command_line(runner: CliRunner, tmp_path: Path) -> None:
    filled(tmp_path)
    corp = docx.Document()
    corp.sections[0].header.paragraphs[0].add_run("ACME letterhead")
    corp.save(str(tmp_path / "corp.docx"))
    result = runner.invoke(main, ["render", "filled.xlsx", "--reference-docx", "corp.docx"])
    assert result.exit_code == 0, result.output
    assert summary_text((tmp_path / "filled.docx").read_bytes()).startswith(
        "[header] ACME letterhead\n"
    )


def test_api_render_returns_the_path_and_the_report(tmp_path: Path) -> None:
    source = filled(tmp_path, "en")
    path, report = render(source)
    assert path == tmp_path / "filled.docx"
    assert report.lang == "en" and report.fields["store_name"] == (
        "Shanlan Home Tmall flagship store"
    )
    document = docx.Document(io.BytesIO(path.read_bytes()))
    assert document.core_properties.author == "Lin Xiaoyu"


def test_demo_writes_the_sample_summary(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["demo", "out", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"Wrote {Path('out/sample-en.docx')}"
    text = summary_text((tmp_path / "out" / "sample-en.docx").read_bytes())
    golden = Path(__file__).parent / "golden" / "sample-en.txt"
    assert text == golden.read_text(encoding="utf-8")
