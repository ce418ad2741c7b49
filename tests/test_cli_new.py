"""`opsbook new` and `opsbook demo`, as a user runs them."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from generator.xlsx_writer import build_workbook
from opsbook.cli import main
from workbook.spec import load


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_new_names_the_file_after_store_and_period(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        main, ["new", "--store", "山岚家居", "--period", "2026年Q3", "--author", "林晓雨"]
    )
    assert result.exit_code == 0, result.output
    path = tmp_path / "山岚家居_2026年Q3_数据填报表.xlsx"
    assert result.output == f"已写入 {path.name}\n"
    wb = openpyxl.load_workbook(path)
    values = {}
    for name in ("store_name", "period", "author"):
        ((sheet, coord),) = list(wb.defined_names[name].destinations)
        values[name] = wb[sheet][coord.replace("$", "")].value
    assert values == {"store_name": "山岚家居", "period": "2026年Q3", "author": "林晓雨"}


def test_new_without_names_uses_a_default_and_english_works(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(main, ["new", "--lang", "en"])
    assert result.exit_code == 0
    assert result.output == "Wrote work-summary_Data_Workbook.xlsx\n"
    assert (tmp_path / "work-summary_Data_Workbook.xlsx").exists()


def test_new_refuses_to_overwrite_without_force(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "mine.xlsx"
    target.write_bytes(b"precious")
    result = runner.invoke(main, ["new", str(target)])
    assert result.exit_code == 5
    assert result.output == f"错误:{target}:文件已存在;如需覆盖请加 --force\n"
    assert target.read_bytes() == b"precious"
    result = runner.invoke(main, ["new", str(target), "--force"])
    assert result.exit_code == 0
    assert target.read_bytes() == build_workbook(load(), "zh-CN")


def test_new_into_a_missing_folder_is_a_clear_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["new", "nowhere/x.xlsx", "--lang", "en"])
    assert result.exit_code == 5
    assert result.output == "Error: nowhere/x.xlsx: the folder nowhere does not exist\n"
    assert not (tmp_path / "nowhere").exists()


def test_same_command_twice_gives_byte_identical_files(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(main, ["new", "a.xlsx", "--store", "S", "--period", "P"])
    runner.invoke(main, ["new", "b.xlsx", "--store", "S", "--period", "P"])
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_unknown_language_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["new", "--lang", "fr"])
    assert result.exit_code == 2
    # In the default language, as every other message (click's own would be English).
    assert result.stderr.splitlines()[-1] == "错误:'--lang' 的值 'fr' 无效,可选:'zh-cn', 'en'。"


def test_demo_refuses_to_overwrite_without_force_and_writes_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "sample-en.docx").write_bytes(b"my own notes")
    result = runner.invoke(main, ["demo", str(out), "--lang", "en"])
    assert result.exit_code == 5
    assert (
        result.output
        == f"Error: {out / 'sample-en.docx'}: the file exists; add --force to overwrite it\n"
    )
    assert sorted(p.name for p in out.iterdir()) == ["sample-en.docx"]  # nothing half-written
    assert (out / "sample-en.docx").read_bytes() == b"my own notes"
    result = runner.invoke(main, ["demo", str(out), "--lang", "en", "--force"])
    assert result.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "blank-en.xlsx",
        "sample-en.docx",
        "sample-en.xlsx",
    ]


def test_an_output_named_for_another_format_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["new", "summary.docx", "--lang", "en"])
    assert result.exit_code == 2
    assert result.output == "Error: summary.docx: the output file name must end in .xlsx\n"
    assert not (tmp_path / "summary.docx").exists()
