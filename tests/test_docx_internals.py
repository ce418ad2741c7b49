"""python-docx's private API that generator/docx_internals.py relies on still exists and behaves.

When a test here fails, python-docx changed under opsbook: adapt generator/docx_internals.py
(the only module that uses its internals), check the goldens still pass, then raise the upper
bound on python-docx in pyproject.toml.
"""

from __future__ import annotations

import datetime as dt
import inspect
import io
import zipfile
from pathlib import Path

import docx
import pytest
from docx.opc.pkgwriter import PackageWriter
from docx.oxml.ns import qn

from generator.docx_internals import add_field, paragraph_properties, save_package

ROOT = Path(__file__).resolve().parent.parent
WHEN = dt.datetime(2026, 3, 31, 0, 0, 0, tzinfo=dt.timezone.utc)
FIX = (
    "python-docx {version} changed what generator/docx_internals.py uses ({what}): adapt that "
    "module, run tests/test_docx_writer.py, then raise the python-docx bound in pyproject.toml"
)


def _fail(what: str) -> str:
    return FIX.format(version=docx.__version__, what=what)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("_write_content_types_stream", ["phys_writer", "parts"]),
        ("_write_pkg_rels", ["phys_writer", "pkg_rels"]),
        ("_write_parts", ["phys_writer", "parts"]),
    ],
)
def test_the_package_writer_steps_exist(name: str, params: list[str]) -> None:
    step = getattr(PackageWriter, name, None)
    assert callable(step), _fail(f"PackageWriter.{name} is gone")
    assert list(inspect.signature(step).parameters) == params, _fail(
        f"PackageWriter.{name}{inspect.signature(step)}"
    )


@pytest.mark.parametrize("sample", ["sample-zh-CN.docx", "sample-en.docx"])
def test_the_fast_save_writes_the_package_python_docx_writes(sample: str) -> None:
    """Part by part, in the same order, the same bytes; only the members' dates differ."""
    own = io.BytesIO()
    docx.Document(str(ROOT / "samples" / sample)).save(own)
    ours = save_package(docx.Document(str(ROOT / "samples" / sample)), WHEN, zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(own) as a, zipfile.ZipFile(io.BytesIO(ours)) as b:
        names_a, names_b = a.namelist(), b.namelist()
        assert names_b == names_a, _fail(f"the parts saved differ: {names_b} != {names_a}")
        for name in names_a:
            assert b.read(name) == a.read(name), _fail(f"part {name} differs from Document.save")
        dates = {info.date_time for info in b.infolist()}
        assert dates == {(2026, 3, 31, 0, 0, 0)}, _fail(f"zip dates {dates}")
        assert {info.compress_type for info in b.infolist()} == {zipfile.ZIP_DEFLATED}


def test_the_same_document_saves_to_the_same_bytes() -> None:
    first = save_package(docx.Document(), WHEN, zipfile.ZIP_DEFLATED)
    assert save_package(docx.Document(), WHEN, zipfile.ZIP_DEFLATED) == first


def test_a_field_is_written_into_runs_as_word_reads_it() -> None:
    """PAGE as w:fldChar begin, w:instrText, separate, a cached "1", end (ECMA-376 17.16.18)."""
    document = docx.Document()
    paragraph = document.add_paragraph()
    add_field(paragraph, "PAGE")
    runs = paragraph.runs
    kinds = []
    for run in runs:
        child = run.element[-1] if len(run.element) else None
        if child is not None and child.tag == qn("w:fldChar"):
            kinds.append(child.get(qn("w:fldCharType")))
        elif child is not None and child.tag == qn("w:instrText"):
            kinds.append(f"instr:{child.text}")
        else:
            kinds.append(f"text:{run.text}")
    assert kinds == ["begin", "instr: PAGE ", "separate", "text:1", "end"], _fail("Run._r")
    # Word's PAGE field in the saved document, read back by python-docx.
    saved = docx.Document(io.BytesIO(save_package(document, WHEN, zipfile.ZIP_DEFLATED)))
    xml = saved.paragraphs[0]._p.xml
    assert 'w:fldCharType="begin"' in xml and "PAGE" in xml


def test_paragraph_properties_are_the_paragraphs_own() -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("x")
    ppr = paragraph_properties(paragraph)
    assert ppr.tag == qn("w:pPr"), _fail("Paragraph._p")
    paragraph.paragraph_format.keep_with_next = True
    assert ppr.find(qn("w:keepNext")) is not None, _fail("Paragraph._p's w:pPr is not the one")
