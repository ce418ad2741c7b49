"""The help of every command in the default Chinese interface has no English sentence left in
it, and the top-level summary names every command (a new-user trial found next and trend
English and missing)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsbook.cli import main

# Three ASCII words in a row ("Write the next") make an English sentence; option names, file
# names and metavars ("--out FILE", "opsbook next") are one or two.
ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ ']+[A-Za-z]{2,}){2,}")


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSBOOK_LANG", raising=False)
    return CliRunner()


@pytest.mark.parametrize("command", [[], *([name] for name in main.commands)])
def test_no_english_sentence_in_the_chinese_help(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert ENGLISH.findall(result.stdout) == [], result.stdout


def test_the_top_level_help_names_every_command(runner: CliRunner) -> None:
    text = runner.invoke(main, ["--help"]).stdout
    summary = text.split("选项:")[0]
    for name in main.commands:
        assert f"opsbook {name} " in summary, name
    assert "opsbook next 工作簿     生成下一周期的工作簿,按本期预先填好" in summary
    assert "  next    生成下一周期的工作簿,按本期预先填好。" in text
    assert "  trend   多个周期的指标走势。" in text


def test_the_english_help_of_next_and_trend(runner: CliRunner) -> None:
    text = runner.invoke(main, ["trend", "--help"], env={"OPSBOOK_LANG": "en"}).stdout
    assert "KPIs of one person's or store's workbooks over periods" in text
    text = runner.invoke(main, ["--help"], env={"OPSBOOK_LANG": "en"}).stdout
    assert "opsbook trend PATHS     KPIs over several periods (-o TREND.xlsx)" in text


def test_a_mistyped_command_is_answered_in_chinese(runner: CliRunner) -> None:
    result = runner.invoke(main, ["rendr"])
    assert result.exit_code == 2
    assert (
        result.stderr.splitlines()[-1]
        == "错误:没有命令 'rendr',您是想用其中之一吗:'render', 'trend'?"
    )
    result = runner.invoke(main, ["nexxt"])
    assert result.stderr.splitlines()[-1] == "错误:没有命令 'nexxt',您是想用 'next' 吗?"
    result = runner.invoke(main, ["nope"])
    assert "next、trend" in result.stderr.splitlines()[-1]
