"""`opsbook render` with many inputs: folders, several files, and the one-output rule."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsbook.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    (folder / "team-a").mkdir(parents=True)
    (folder / "a.xlsx").write_bytes((SAMPLES / "sample-zh-CN.xlsx").read_bytes())
    (folder / "team-a" / "b.xlsx").write_bytes((SAMPLES / "sample-en.xlsx").read_bytes())
    (folder / "broken.xlsx").write_bytes(b"name,gmv\nx,1\n")
    return folder


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_folder_converts_what_it_can_and_exits_1_for_the_broken_file(
    inbox: Path, tmp_path: Path
) -> None:
    before = _hashes(inbox)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["render", str(inbox), "--outdir", str(out), "--jobs", "2", "--lang", "en"]
    )
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.docx", "b.docx"]
    assert _hashes(inbox) == before  # inputs untouched, nothing written beside them
    assert f"{inbox / 'broken.xlsx'}" in result.stderr
    assert "Traceback" not in result.output


def test_several_files_without_outdir_write_beside_each_input(inbox: Path) -> None:
    result = CliRunner().invoke(
        main, ["render", str(inbox / "a.xlsx"), str(inbox / "team-a" / "b.xlsx")]
    )
    assert result.exit_code == 0, result.output
    assert (inbox / "a.docx").exists() and (inbox / "team-a" / "b.docx").exists()


def test_one_output_name_for_many_inputs_is_a_usage_error(inbox: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "render",
            str(inbox / "a.xlsx"),
            str(inbox / "a.xlsx"),
            "-o",
            str(tmp_path / "x.docx"),
            "--lang",
            "en",
        ],
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: -o names one summary; for several inputs use --outdir FOLDER\n"
    )
    assert not (tmp_path / "x.docx").exists()


def test_a_converted_workbook_with_data_errors_is_named_not_hidden(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "blank.xlsx").write_bytes((SAMPLES / "blank-en.xlsx").read_bytes())
    result = CliRunner().invoke(main, ["render", str(inbox), "--outdir", str(tmp_path / "out"),
                                       "--lang", "en"])  # fmt: skip
    assert result.exit_code == 0  # the summary was written; nothing failed
    lines = result.stdout.splitlines()
    assert lines[:2] == ["Converted  1", "Failed     0"]
    assert lines[2].startswith("Errors     ") and "(in 1 of the summaries" in lines[2]
    assert result.stderr.startswith(
        f"{inbox / 'blank.xlsx'}: summary written, but the workbook has "
    )
