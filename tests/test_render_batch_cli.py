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
    assert lines[:3] == [f"Wrote {tmp_path / 'out' / 'blank.docx'}", "Converted  1", "Failed     0"]
    assert lines[3].startswith("Errors     ") and "(in 1 of the summaries" in lines[3]
    assert result.stderr.startswith(
        f"{inbox / 'blank.xlsx'}: summary written, but the workbook has "
    )


XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def test_one_email_says_where_its_summary_went(tmp_path: Path) -> None:
    from tests.test_batch import eml

    data = (SAMPLES / "sample-en.xlsx").read_bytes()
    mail = eml(tmp_path / "mail.eml", "Zhao Qiang <zq@example.com>", [("q3.xlsx", data, XLSX_TYPE)])
    result = CliRunner().invoke(main, ["render", str(mail), "--lang", "en"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        f"Wrote {tmp_path / 'Zhao_Qiang_q3.docx'}",
        "Converted  1",
    ]
    assert (tmp_path / "Zhao_Qiang_q3.docx").is_file()


def test_one_email_without_a_workbook_exits_as_render_file_would(tmp_path: Path) -> None:
    from tests.test_batch import eml

    mail = eml(
        tmp_path / "mail.eml",
        "zq@example.com",
        [("notes.pdf", b"%PDF-1.4", ("application", "pdf"))],
    )
    result = CliRunner().invoke(main, ["render", str(mail), "--lang", "en"])
    assert result.exit_code == 3
    assert result.stderr == f"Error: {mail}: the email has no .xlsx or .xlsm attachment\n"


@pytest.mark.parametrize("kind", ["folder", "email"])
def test_o_with_a_folder_or_an_email_points_to_outdir(tmp_path: Path, kind: str) -> None:
    source = tmp_path / ("inbox" if kind == "folder" else "mail.eml")
    if kind == "folder":
        source.mkdir()
    else:
        source.write_bytes(b"From: a@example.com\n\nhello\n")
    result = CliRunner().invoke(main, ["render", str(source), "-o", "x.docx", "--lang", "en"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {source}: a folder or an email holds workbooks, and -o names the summary of "
        "one; use --outdir FOLDER for a summary of each\n"
    )


def test_running_again_converts_only_what_is_new(tmp_path: Path) -> None:
    import os

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.xlsx").write_bytes((SAMPLES / "sample-zh-CN.xlsx").read_bytes())
    out = tmp_path / "out"
    argv = ["render", str(inbox), "--outdir", str(out), "--lang", "en", "--jobs", "1"]
    assert CliRunner().invoke(main, argv).exit_code == 0
    first = (out / "a.docx").read_bytes()

    # A new workbook arrives: it is converted, the finished summary is left alone.
    (inbox / "b.xlsx").write_bytes((SAMPLES / "sample-en.xlsx").read_bytes())
    again = CliRunner().invoke(main, argv)
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines() == [
        "Converted   1",
        "Up to date  1 (summaries newer than their workbooks, kept; --force rewrites them)",
        "Failed      0",
        "Errors      0",
        "Warnings    0",
    ]
    assert (out / "a.docx").read_bytes() == first and (out / "b.docx").is_file()

    # A workbook changed after its summary was written: that summary is not overwritten
    # without --force (it may have been edited), and says so.
    later = (out / "a.docx").stat().st_mtime + 60
    os.utime(inbox / "a.xlsx", (later, later))
    changed = CliRunner().invoke(main, argv)
    assert changed.exit_code == 1
    assert "Up to date  1" in changed.stdout and "Failed      1" in changed.stdout
    assert changed.stderr == (
        f"Error: {out / 'a.docx'}: {inbox / 'a.xlsx'} changed after this summary was written; "
        "add --force to write it again\n"
    )
    forced = CliRunner().invoke(main, [*argv, "--force"])
    assert forced.exit_code == 0 and forced.stdout.startswith("Converted  2\nFailed     0")


def test_one_email_already_converted_is_said_to_be_up_to_date(tmp_path: Path) -> None:
    from tests.test_batch import eml

    data = (SAMPLES / "sample-en.xlsx").read_bytes()
    mail = eml(tmp_path / "mail.eml", "zq@example.com", [("q3.xlsx", data, XLSX_TYPE)])
    assert CliRunner().invoke(main, ["render", str(mail), "--lang", "en"]).exit_code == 0
    again = CliRunner().invoke(main, ["render", str(mail), "--lang", "en"])
    assert again.exit_code == 0
    assert again.stdout.splitlines()[0] == (
        f"{tmp_path / 'zq_q3.docx'} is up to date (newer than its workbook); --force rewrites it"
    )
