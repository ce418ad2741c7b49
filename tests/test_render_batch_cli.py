"""`opsbook render` with many inputs: folders, several files, and the one-output rule."""

from __future__ import annotations

import hashlib
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from generator.xlsx_writer import build_workbook
from opsbook.cli import main
from opsbook.sample import sample_values
from tests.helpers import summary_text
from workbook.spec import load

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
    # One figure filled in, the required ones not: a summary, with data errors.
    (inbox / "thin.xlsx").write_bytes(build_workbook(load(), "en", {"uv": 1000}))
    result = CliRunner().invoke(main, ["render", str(inbox), "--outdir", str(tmp_path / "out"),
                                       "--lang", "en"])  # fmt: skip
    assert result.exit_code == 0  # the summary was written; nothing failed
    lines = result.stdout.splitlines()
    assert lines[:3] == [f"Wrote {tmp_path / 'out' / 'thin.docx'}", "Converted  1", "Failed     0"]
    assert lines[3].startswith("Errors     ") and "(in 1 of the summaries" in lines[3]
    assert result.stderr.startswith(
        f"{inbox / 'thin.xlsx'}: summary written, but the workbook has "
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
        "Up to date  1 (made from the workbooks as they are now; --force rewrites them)",
        "Failed      0",
        "Errors      0",
        "Warnings    0",
    ]
    assert (out / "a.docx").read_bytes() == first and (out / "b.docx").is_file()

    # Only the workbook's time changed (opened and saved, nothing changed): still up to date.
    later = (out / "a.docx").stat().st_mtime + 60
    os.utime(inbox / "a.xlsx", (later, later))
    touched = CliRunner().invoke(main, argv)
    assert touched.exit_code == 0 and touched.stdout.startswith("Converted   0\nUp to date  2")
    assert (out / "a.docx").read_bytes() == first

    # A revised workbook is resent: opsbook's own summary, untouched since, is written again
    # without --force, from the new figures.
    revised = {**sample_values("zh-CN"), "store_name": "新店名"}
    (inbox / "a.xlsx").write_bytes(build_workbook(load(), "zh-CN", revised))
    resent = CliRunner().invoke(main, argv)
    assert resent.exit_code == 0, resent.stderr
    assert resent.stdout.startswith("Converted   1\nUp to date  1 (")
    assert "Failed      0" in resent.stdout
    assert "新店名" in summary_text((out / "a.docx").read_bytes())

    # Somebody edits that summary by hand (Word rewrites the body): a later resend keeps it and
    # says so; nothing fails, and --force still rewrites it.
    edited = docx.Document(str(out / "a.docx"))
    edited.add_paragraph("Added by the lead.")
    edited.save(str(out / "a.docx"))
    hand_made = (out / "a.docx").read_bytes()
    (inbox / "a.xlsx").write_bytes((SAMPLES / "sample-zh-CN.xlsx").read_bytes())
    kept = CliRunner().invoke(main, argv)
    assert kept.exit_code == 0
    assert kept.stdout.splitlines()[:3] == [
        "Converted     0",
        "Up to date    1 (made from the workbooks as they are now; --force rewrites them)",
        "Edited, kept  1 (edited by hand since opsbook wrote them, not replaced; --force "
        "rewrites them)",
    ]
    assert kept.stderr == (
        f"Note: {out / 'a.docx'}: edited by hand since opsbook wrote it; kept as it is "
        f"({inbox / 'a.xlsx'} has changed; --force writes it again)\n"
    )
    assert (out / "a.docx").read_bytes() == hand_made
    forced = CliRunner().invoke(main, [*argv, "--force"])
    assert forced.exit_code == 0 and forced.stdout.startswith("Converted  2\nFailed     0")
    assert "Added by the lead." not in summary_text((out / "a.docx").read_bytes())


def test_one_email_already_converted_is_said_to_be_up_to_date(tmp_path: Path) -> None:
    from tests.test_batch import eml

    data = (SAMPLES / "sample-en.xlsx").read_bytes()
    mail = eml(tmp_path / "mail.eml", "zq@example.com", [("q3.xlsx", data, XLSX_TYPE)])
    assert CliRunner().invoke(main, ["render", str(mail), "--lang", "en"]).exit_code == 0
    again = CliRunner().invoke(main, ["render", str(mail), "--lang", "en"])
    assert again.exit_code == 0
    assert again.stdout.splitlines()[0] == (
        f"{tmp_path / 'zq_q3.docx'} is up to date (made from the workbook as it is now); "
        "--force rewrites it"
    )
