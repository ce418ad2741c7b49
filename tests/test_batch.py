"""Many workbooks at once: folders, .eml attachments, broken files, outdir, parallel workers."""

from __future__ import annotations

import email.policy
import hashlib
import os
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from generator.xlsx_writer import build_workbook
from opsbook.batch import render_many
from opsbook.cli.batch import render_batch
from opsbook.cli.table import summary_lines
from opsbook.intake import Source, discover
from opsbook.jobs import run_pool
from opsbook.results import BatchResult, BatchSummary, summarize
from opsbook.sample import sample_values
from tests.helpers import summary_text
from workbook.i18n import catalog
from workbook.spec import load

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def workbook(store: str, lang: str = "en", **changes: Any) -> bytes:
    values = sample_values(lang)
    values["store_name"] = store
    values.update(changes)
    return build_workbook(load(), lang, values)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def eml(path: Path, sender: str, attachments: list[tuple[str, bytes, tuple[str, str]]]) -> Path:
    """An email as a mail client saves it, built with the standard library."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "lead@example.com"
    message["Subject"] = "Q3 summary"
    message.set_content("Please find my workbook attached.")
    for name, data, (maintype, subtype) in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return write(path, message.as_bytes(policy=email.policy.SMTP))


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def by_source(results: list[BatchResult]) -> dict[str, BatchResult]:
    return {r.source: r for r in results}


def store_of(docx: Path) -> str:
    """The store named in a summary's first lines."""
    head = summary_text(docx.read_bytes()).splitlines()[:6]
    return next(line for line in head if "Store" in line)


# -- discovery --------------------------------------------------------------------------------


def test_folders_are_searched_recursively_skipping_lock_hidden_and_other_files(
    tmp_path: Path,
) -> None:
    data = workbook("A")
    top = tmp_path / "inbox"
    wanted = [
        write(top / "a.xlsx", data),
        write(top / "2026" / "q3" / "b.XLSX", data),
        write(top / "2026" / "q3" / "c.xlsm", data),
    ]
    write(top / "~$a.xlsx", b"lock")  # Excel's owner file while a.xlsx is open
    write(top / ".~a.xlsx.tmp", b"temp")
    write(top / ".hidden.xlsx", data)
    write(top / ".git" / "x.xlsx", data)
    write(top / "notes.txt", b"text")
    write(top / "old.xls", b"\xd0\xcf\x11\xe0")
    found = discover([top, wanted[0]], tmp_path / "work")  # a.xlsx named twice: once
    # a folder's own files first, then its subfolders, each sorted by name
    assert [f.path for f in found if isinstance(f, Source)] == wanted


def test_an_empty_folder_and_a_missing_path_fail_without_stopping_the_batch(
    tmp_path: Path,
) -> None:
    (tmp_path / "empty").mkdir()
    good = write(tmp_path / "good.xlsx", workbook("Good"))
    results = list(
        render_many(
            [tmp_path / "empty", tmp_path / "nowhere.xlsx", good], jobs=1, message_lang="en"
        )
    )
    got = by_source(results)
    assert got[str(tmp_path / "empty")].error == (
        f"{tmp_path / 'empty'}: no .xlsx or .xlsm workbooks in this folder"
    )
    assert got[str(tmp_path / "empty")].exit_code == 3
    assert got[str(tmp_path / "nowhere.xlsx")].exit_code == 3
    assert got[str(good)].ok
    assert (tmp_path / "good.docx").is_file()


# -- email ------------------------------------------------------------------------------------


def test_eml_attachments_are_extracted_named_after_sender_and_made_unique(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    eml(
        mail / "from-lin.eml",
        "林晓雨 <lin@example.cn>",
        [
            ("山岚家居_数据填报表.xlsx", workbook("Lin one"), XLSX_TYPE),
            ("notes.pdf", b"%PDF-1.4 not a workbook", ("application", "pdf")),
            ("山岚家居_数据填报表.xlsx", workbook("Lin two"), XLSX_TYPE),
        ],
    )
    eml(
        mail / "from-wang.eml",
        "Wang Lei <wang@example.cn>",
        [("山岚家居_数据填报表.xlsx", workbook("Wang"), XLSX_TYPE)],
    )
    eml(mail / "no-attachment.eml", "Chen Si <chen@example.cn>", [])
    before = digests(mail)
    results = list(render_many(sorted(mail.glob("*.eml")), jobs=2, lang="en", message_lang="en"))
    got = by_source(results)
    lin = str(mail / "from-lin.eml") + " › 山岚家居_数据填报表.xlsx"
    assert [r.source for r in sorted(results, key=lambda r: r.index)] == [
        lin,
        lin,
        str(mail / "from-wang.eml") + " › 山岚家居_数据填报表.xlsx",
        str(mail / "no-attachment.eml"),
    ]
    outputs = sorted(p.name for p in mail.glob("*.docx"))
    assert outputs == [
        "Wang_Lei_山岚家居_数据填报表.docx",
        "林晓雨_山岚家居_数据填报表-2.docx",
        "林晓雨_山岚家居_数据填报表.docx",
    ]
    assert "Lin one" in store_of(mail / "林晓雨_山岚家居_数据填报表.docx")
    assert "Lin two" in store_of(mail / "林晓雨_山岚家居_数据填报表-2.docx")
    assert "Wang" in store_of(mail / "Wang_Lei_山岚家居_数据填报表.docx")
    failed = got[str(mail / "no-attachment.eml")]
    assert (failed.status, failed.exit_code) == ("failed", 3)
    no_attachment = mail / "no-attachment.eml"
    assert failed.error == f"{no_attachment}: the email has no .xlsx or .xlsm attachment"
    # The mail folder gained the summaries and nothing else; the emails are untouched.
    after = digests(mail)
    assert sorted(after) == sorted([*before, *outputs])
    assert {k: v for k, v in after.items() if k.endswith(".eml")} == before


def test_a_broken_attachment_is_named_as_the_user_knows_it(tmp_path: Path) -> None:
    mail = eml(
        tmp_path / "m.eml",
        "Zhao Min <zhao@example.cn>",
        [("report.xlsx", b"name,value\ngmv,1\n", XLSX_TYPE)],
    )
    (result,) = list(render_many([mail], jobs=1, message_lang="en"))
    assert result.exit_code == 3
    assert result.error is not None
    assert result.error.startswith(f"{mail} › report.xlsx: ")
    assert "opsbook-batch-" not in result.error  # never the extracted copy's temporary path


# -- broken files, outdir, parallel workers ---------------------------------------------------


def mixed_folder(folder: Path) -> None:
    write(folder / "a_good.xlsx", workbook("Alpha"))
    write(folder / "b_text.xlsx", b"store,gmv\nAlpha,1\n")
    write(folder / "c_truncated.xlsx", workbook("Cut")[:3000])
    write(folder / "d_long.xlsx", workbook("Delta " * 12))  # over 60 characters: a warning
    write(folder / "sub" / "a_good.xlsx", workbook("Sub alpha"))


def test_broken_files_fail_alone_with_their_message_and_exit_code(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    mixed_folder(folder)
    results = list(render_many([folder], outdir=tmp_path / "out", jobs=2, message_lang="en"))
    assert len(results) == 5
    got = by_source(results)
    converted = sorted(Path(r.source).name for r in results if r.ok)
    assert converted == ["a_good.xlsx", "a_good.xlsx", "d_long.xlsx"]
    text = got[str(folder / "b_text.xlsx")]
    assert text.exit_code == 3
    # the same line a single `opsbook render` prints for it
    assert text.error == catalog("en")("errors.format.text", path=folder / "b_text.xlsx")
    assert got[str(folder / "c_truncated.xlsx")].exit_code == 3
    assert got[str(folder / "d_long.xlsx")].warnings == 1
    assert got[str(folder / "a_good.xlsx")].warnings == 0
    summary = summarize(results)
    assert summary == BatchSummary(converted=3, failed=2, warnings=1, with_warnings=1)
    assert summary.exit_code == 1


def test_outdir_is_created_and_name_collisions_are_resolved_in_input_order(
    tmp_path: Path,
) -> None:
    first = write(tmp_path / "a" / "x.xlsx", workbook("From folder a"))
    second = write(tmp_path / "b" / "x.xlsx", workbook("From folder b"))
    out = tmp_path / "out" / "summaries"
    results = list(render_many([first, second], outdir=out, jobs=2, lang="en"))
    assert all(r.ok for r in results)
    assert sorted(p.name for p in out.iterdir()) == ["x-2.docx", "x.docx"]
    assert "From folder a" in store_of(out / "x.docx")
    assert "From folder b" in store_of(out / "x-2.docx")
    assert not list((tmp_path / "a").glob("*.docx"))  # nothing written beside the inputs


def test_outdir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = write(tmp_path / "out", b"a file")
    from workbook.errors import OutputError

    with pytest.raises(OutputError) as caught:
        render_many([tmp_path], outdir=blocker)
    assert caught.value.exit_code == 5


def test_one_and_two_workers_write_the_same_bytes_and_inputs_stay_untouched(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "in"
    mixed_folder(folder)
    before = digests(folder)
    runs = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        results = sorted(render_many([folder], outdir=out, jobs=jobs), key=lambda r: r.index)
        runs[jobs] = (
            [(r.source, r.status, r.exit_code, r.warnings, r.error) for r in results],
            digests(out),
        )
    assert runs[1] == runs[2]
    assert len(runs[1][1]) == 3
    assert digests(folder) == before


def test_existing_summaries_are_kept_without_force_and_replaced_with_it(tmp_path: Path) -> None:
    source = write(tmp_path / "x.xlsx", workbook("Mine"))
    target = write(tmp_path / "x.docx", b"precious")
    # Newer than its workbook: up to date, skipped.
    (result,) = list(render_many([source], jobs=1, message_lang="en"))
    assert (result.status, result.output) == ("skipped", target)
    assert target.read_bytes() == b"precious"
    # Older than its workbook (which changed since): an error without --force.
    stamp = source.stat().st_mtime - 60
    os.utime(target, (stamp, stamp))
    (result,) = list(render_many([source], jobs=1, message_lang="en"))
    assert (result.status, result.exit_code) == ("failed", 5)
    assert target.read_bytes() == b"precious"
    (result,) = list(render_many([source], jobs=1, force=True))
    assert result.ok and result.output == target
    assert target.read_bytes() != b"precious"


def crash_on_three(n: int) -> str:
    if n == 3:
        os._exit(7)  # the worker dies as a segfault or the OOM killer would leave it
    return f"ok {n}"


def test_a_worker_that_dies_fails_only_its_own_item() -> None:
    results = sorted(
        run_pool(crash_on_three, list(range(6)), 2, lambda n, exc: f"crashed {n}"),
        key=lambda s: int(s.split()[-1]),
    )
    assert results == ["ok 0", "ok 1", "ok 2", "crashed 3", "ok 4", "ok 5"]


def test_the_work_folder_of_attachments_is_removed(tmp_path: Path) -> None:
    mail = eml(tmp_path / "m.eml", "a@example.com", [("r.xlsx", workbook("R"), XLSX_TYPE)])
    run = render_many([mail], jobs=1)
    workdir = Path(run._workdir.name)
    assert workdir.is_dir() and run.total == 1
    assert [r.ok for r in run] == [True]
    assert not workdir.exists()


# -- the end table and the command-line helper ------------------------------------------------


def test_summary_table_lines_are_aligned_in_both_languages() -> None:
    summary = BatchSummary(
        converted=12, failed=3, warnings=5, with_warnings=2, errors=4, with_errors=1
    )
    assert summary_lines(summary, "en") == [
        "Converted  12",
        "Failed      3",
        "Errors      4 (in 1 of the summaries; see opsbook check)",
        "Warnings    5 (in 2 of the summaries)",
    ]
    assert summary_lines(summary, "zh-CN") == [
        "已转换  12",
        "失败     3",
        "有错误   4(涉及 1 份总结,请用 opsbook check 查看)",
        "警告     5(涉及 2 份总结)",
    ]
    assert BatchSummary(1, 0, 0, 0).exit_code == 0
    assert BatchSummary(1, 1, 0, 0).exit_code == 1


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--outdir", type=click.Path(path_type=Path))
@click.option("--jobs", type=int)
@click.option("--lang")
def batch_cmd(paths: tuple[Path, ...], outdir: Path | None, jobs: int | None,
              lang: str | None) -> None:  # fmt: skip
    """How the lead wires render_batch into `render` (nargs=-1)."""
    click.get_current_context().exit(render_batch(paths, outdir, jobs, lang, "omit", False))


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSBOOK_LANG", raising=False)
    yield CliRunner()


def test_cli_helper_exits_1_lists_failures_and_prints_the_table(
    runner: CliRunner, tmp_path: Path
) -> None:
    mixed_folder(tmp_path / "in")
    result = runner.invoke(batch_cmd, ["in", "--outdir", "out", "--jobs", "2", "--lang", "en"])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "Converted  3",
        "Failed     2",
        "Errors     0",
        "Warnings   1 (in 1 of the summaries)",
    ]
    errors = result.stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith(f"Error: {Path('in') / 'b_text.xlsx'}: this looks like a CSV")
    assert errors[1].startswith(f"Error: {Path('in') / 'c_truncated.xlsx'}: ")
    assert "%" not in result.stderr and "█" not in result.stderr  # no progress bar off a terminal


def test_cli_helper_exits_0_when_everything_converts_in_chinese(
    runner: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path / "one.xlsx", workbook("一号店", "zh-CN"))
    write(tmp_path / "two.xlsx", workbook("二号店", "zh-CN"))
    result = runner.invoke(batch_cmd, ["one.xlsx", "two.xlsx", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["已转换  2", "失败    0", "有错误  0", "警告    0"]
    assert result.stderr == ""
    assert (tmp_path / "one.docx").is_file() and (tmp_path / "two.docx").is_file()


def test_up_to_date_means_newer_than_the_workbook_and_the_reference_document(
    tmp_path: Path,
) -> None:
    from opsbook.batch import up_to_date

    source = write(tmp_path / "x.xlsx", b"workbook")
    reference = write(tmp_path / "company.docx", b"styles")
    target = write(tmp_path / "x.docx", b"summary")
    now = source.stat().st_mtime
    for path, stamp in ((source, now - 20), (reference, now - 10), (target, now)):
        os.utime(path, (stamp, stamp))
    assert up_to_date(target, source) and up_to_date(target, source, reference)
    os.utime(reference, (now + 10, now + 10))  # the company template changed since
    assert not up_to_date(target, source, reference)
    assert not up_to_date(tmp_path / "none.docx", source)
    assert not up_to_date(tmp_path, source)  # a folder where the summary would go
