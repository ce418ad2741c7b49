"""Every use of python-docx's private API, in one place, each with the reason it is needed.

python-docx is pinned below its next minor version in pyproject.toml, and
tests/test_docx_internals.py checks that each name used here still exists and behaves (the fast
save path gives the same package as python-docx's own save, part by part). When that test
fails after an upgrade, fix this module only, then raise the bound.

- `PackageWriter._write_content_types_stream`, `._write_pkg_rels`, `._write_parts`
  (`save_package`): `Document.save` stamps each zip member with the clock, so the same summary
  would give different bytes each time; python-docx has no option for the date. Its own writer's
  three steps are called with a zip writer of ours that dates every member `when`. (Saving and
  rewriting the zip afterwards gave the same bytes but cost a second compression of every part.)
- `Paragraph._p` (`paragraph_properties`): a bottom border under the header line (w:pBdr) has no
  public API; the paragraph's w:pPr is reached through its element.
- `Run._r` (`add_field`): complex fields (PAGE, NUMPAGES in the footer) are w:fldChar and
  w:instrText children of a run, which python-docx does not model.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

from docx.opc.pkgwriter import PackageWriter
from docx.oxml import OxmlElement
from docx.oxml.ns import qn


def save_package(document: Any, when: dt.datetime, compress_type: int) -> bytes:
    """The package, as `Document.save` writes it but with every member dated `when`.

    python-docx's `OpcPackage.save` with its own `PackageWriter` steps (content types, package
    rels, then each part and its rels), given a zip writer whose members carry fixed dates
    instead of the clock: each part is compressed once, not compressed, read back and
    compressed again.
    """
    package = document.part.package
    parts = package.parts
    for part in parts:
        part.before_marshal()
    buffer = io.BytesIO()
    writer = DatedZipWriter(buffer, when, compress_type)
    # Its steps (the same in python-docx 1.1 and 1.2; untyped, they take any writer).
    steps: Any = PackageWriter
    steps._write_content_types_stream(writer, parts)
    steps._write_pkg_rels(writer, package.rels)
    steps._write_parts(writer, parts)
    writer.close()
    return buffer.getvalue()


class DatedZipWriter:
    """python-docx's physical package writer (`write(pack_uri, blob)`, `close()`) whose zip
    members all carry the same date, so that the same document gives the same bytes."""

    def __init__(self, file: io.BytesIO, when: dt.datetime, compress_type: int) -> None:
        self.stamp = (
            max(when.year, 1980),
            when.month,
            when.day,
            when.hour,
            when.minute,
            when.second,
        )
        self.compress_type = compress_type
        self.zip = zipfile.ZipFile(file, "w", compress_type)

    def write(self, pack_uri: Any, blob: bytes) -> None:
        member = zipfile.ZipInfo(pack_uri.membername, date_time=self.stamp)
        member.compress_type = self.compress_type
        member.create_system = 0
        member.external_attr = 0
        self.zip.writestr(member, blob)

    def close(self) -> None:
        self.zip.close()


def paragraph_properties(paragraph: Any) -> Any:
    """The paragraph's w:pPr element, created when absent."""
    return paragraph._p.get_or_add_pPr()


def add_field(paragraph: Any, instruction: str) -> None:
    """A complex field (PAGE, NUMPAGES) with a cached result of 1 until the viewer updates it."""

    def char(kind: str) -> None:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        paragraph.add_run()._r.append(el)

    char("begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    char("separate")
    paragraph.add_run("1")
    char("end")


__all__ = ["DatedZipWriter", "add_field", "paragraph_properties", "save_package"]
