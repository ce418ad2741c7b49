"""The public Python API (docs/python-api.md): what `opsbook` exports, bytes in and bytes out
without touching the disk, check versus read, and errors users can cause as OpsbookErrors."""

from __future__ import annotations

import builtins
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import opsbook
from generator.xlsx_writer import build_workbook
from opsbook.sample import sample_values
from tests.helpers import summary_text
from workbook.errors import ExitCode, OpsbookError, UsageProblem
from workbook.report import Report
from workbook.spec import load

DOCS = Path(__file__).resolve().parent.parent / "docs" / "python-api.md"


def filled(lang: str = "en", **changes: Any) -> bytes:
    return build_workbook(load(), lang, {**sample_values(lang), **changes})


def test_every_exported_name_resolves_has_a_docstring_and_is_documented() -> None:
    doc = DOCS.read_text(encoding="utf-8")
    for name in opsbook.__all__:
        if name == "__version__":
            continue
        value = getattr(opsbook, name)
        assert (value.__doc__ or "").strip(), name
        assert f"`{name}" in doc, f"docs/python-api.md does not document {name}"
    assert opsbook.Report is Report
    assert opsbook.OpsbookError is OpsbookError


@pytest.fixture
def no_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any file opened for writing (or a file descriptor opened to create one) fails the test."""
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+"):
            raise AssertionError(f"opened {file!r} for writing")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise AssertionError(f"opened {path!r} for writing")
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)


def test_render_check_read_and_export_from_bytes_never_write(
    tmp_path: Path, no_writes: None
) -> None:
    data = filled(store_name="Bytes store")
    docx, report = opsbook.render(data, name="mine.xlsx")
    assert docx[:2] == b"PK"
    assert report.fields["store_name"] == "Bytes store"
    assert opsbook.check(data, name="mine.xlsx").fields == report.fields
    assert opsbook.read(data, name="mine.xlsx").source.endswith("mine.xlsx")
    assert '"store_name": "Bytes store"' in opsbook.export(data, "json", name="mine.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_render_from_bytes_and_from_a_path_say_the_same(tmp_path: Path) -> None:
    data = filled(store_name="Same store")
    path = tmp_path / "same.xlsx"
    path.write_bytes(data)
    written, from_path = opsbook.render(path, record_source=False)
    docx, from_bytes = opsbook.render(data, name=str(path))
    assert summary_text(docx) == summary_text(written.read_bytes())
    assert from_bytes.fields == from_path.fields
    assert [i.message("en") for i in from_bytes.issues] == [
        i.message("en") for i in from_path.issues
    ]


def test_render_from_bytes_in_several_threads_gives_identical_documents() -> None:
    inputs = [filled(store_name=f"Store {n % 2}") for n in range(6)]
    with ThreadPoolExecutor(3) as pool:
        outputs = list(pool.map(lambda d: opsbook.render(d, name="t.xlsx")[0], inputs))
    assert outputs[0::2] == [outputs[0]] * 3
    assert outputs[1::2] == [outputs[1]] * 3
    assert outputs[0] != outputs[1]


def test_check_names_what_read_does_not(tmp_path: Path) -> None:
    """check = read + every filled cell nothing read (a note typed beside the form)."""
    import openpyxl

    path = tmp_path / "noted.xlsx"
    path.write_bytes(filled())
    wb = openpyxl.load_workbook(path)
    sheet = wb.worksheets[2]
    sheet.protection.sheet = False
    sheet.cell(sheet.max_row + 2, 1, "a note nothing reads")
    wb.save(path)
    read_kinds = {i.kind for i in opsbook.read(path).issues}
    check_kinds = {i.kind for i in opsbook.check(path).issues}
    assert "unread_cell" not in read_kinds
    assert "unread_cell" in check_kinds


def test_export_refuses_an_unknown_format_as_a_usage_problem() -> None:
    with pytest.raises(UsageProblem) as caught:
        opsbook.export(filled(), "xml", name="x.xlsx")
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.message("en") == "unknown export format xml: use json or csv"


def test_importing_the_api_loads_neither_email_nor_multiprocessing() -> None:
    """One render pays for neither: the mail intake and the process pool load when used."""
    import subprocess
    import sys

    probe = (
        "import sys, opsbook.api; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'email', 'multiprocessing'}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_workbook_is_a_path_of_any_kind_or_bytes_of_any_kind(tmp_path: Path) -> None:
    data = filled(uv=2345678)
    source = tmp_path / "filled.xlsx"
    source.write_bytes(data)
    expected = opsbook.read(data, name="filled.xlsx").fields
    assert expected["uv"] == 2345678
    for given in (str(source), source, bytearray(data), memoryview(data)):
        assert opsbook.read(given, name="filled.xlsx").fields == expected
        assert '"uv": 2345678' in opsbook.export(given, "json", name="filled.xlsx")
    docx, _ = opsbook.render(bytearray(data), name="filled.xlsx")
    assert docx == opsbook.render(data, name="filled.xlsx")[0]
    written, _ = opsbook.render(str(source), tmp_path / "out.docx")
    assert written == tmp_path / "out.docx" and written.is_file()
    team = opsbook.rollup([str(source)], lang="en")
    assert len(team.people) == 1


def test_path_only_options_with_bytes_and_other_types_are_usage_problems() -> None:
    data = filled()
    for options in ({"force": True}, {"record_source": False}):
        with pytest.raises(UsageProblem) as caught:
            opsbook.render(data, name="filled.xlsx", **options)
        assert caught.value.exit_code == ExitCode.USAGE
        assert next(iter(options)) in caught.value.message("en")
    with pytest.raises(UsageProblem) as caught:
        opsbook.read(12345)  # type: ignore[arg-type]
    assert "int" in caught.value.message("en")
