"""Results carry message keys and parameters; they are put into words where they are shown, in
the language of that output (an English roll-up says everything in English, a Chinese user's
crashed worker is reported in Chinese)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.xlsx_writer import build_workbook
from opsbook.cli import main
from opsbook.sample import sample_values
from workbook.spec import load

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def team_with_broken_file(folder: Path) -> Path:
    folder.mkdir()
    (folder / "a.xlsx").write_bytes(build_workbook(load(), "en", sample_values("en")))
    (folder / "broken.xlsx").write_bytes(b"name,gmv\nAlice,100\n")  # a CSV renamed .xlsx
    return folder


@pytest.mark.parametrize("lang", [["--lang", "en"], []], ids=["--lang en", "workbooks in en"])
def test_an_english_rollup_names_a_broken_file_in_english(tmp_path: Path, lang: list[str]) -> None:
    team = team_with_broken_file(tmp_path / "team")
    out = tmp_path / "TEAM.xlsx"
    result = CliRunner().invoke(main, ["rollup", str(team), "-o", str(out), *lang])
    assert result.exit_code == 1, result.output
    line = next(x for x in result.stderr.splitlines() if "broken.xlsx" in x)
    assert line.startswith("Error: Not included: ")
    assert "looks like a CSV or text file" in line
    assert not CJK.search(line), line


def test_an_english_rollup_document_names_a_broken_file_in_english(tmp_path: Path) -> None:
    from opsbook.team.rollup import rollup
    from tests.helpers import summary_text

    team = team_with_broken_file(tmp_path / "team")
    result = rollup([team], jobs=1)  # no language asked: the workbooks' own (English)
    assert result.lang == "en"
    text = summary_text(result.docx(charts=False))
    line = next(x for x in text.splitlines() if "broken.xlsx" in x)
    assert "looks like a CSV or text file" in line
    assert not CJK.search(line), line


def crash(*args: object, **kwargs: object) -> object:
    os._exit(9)  # the worker dies as a segfault or the OOM killer would leave it


def test_a_crashed_worker_is_reported_in_the_users_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsbook import batch
    from opsbook.batch import render_many

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.xlsx", "b.xlsx"):
        (folder / name).write_bytes(build_workbook(load(), "zh-CN", sample_values("zh-CN")))
    monkeypatch.setattr(batch, "render_path", crash)  # inherited by the forked workers
    results = list(render_many([folder], jobs=2, message_lang="zh-CN"))
    assert [r.status for r in results] == ["failed", "failed"]
    for r in results:
        line = r.message("zh-CN")
        assert "worker crashed" not in line
        assert "工作进程" in line, line
        assert "crashed" in r.message("en"), r.message("en")
