"""Checks made before any parser sees an input file: what it is, and whether it is safe to open.

What a file is comes from its bytes, never its name: a genuine .xlsx/.xlsm package is read
whatever it is called (web systems export real xlsx files named .xls; mail clients drop
extensions), and a CSV renamed .xlsx is named as what it is. Every refusal is an OpsbookError
with a catalogue key: `errors.input.*` and `errors.format.*` exit 3, `errors.unsafe.*` exit 4.

The file is read into memory once (at most MAX_FILE_BYTES) and openpyxl parses those same
bytes, so what was checked is what is parsed. Before openpyxl sees anything:

1. the zip's end record gives the entry count and directory size (before `zipfile` builds a
   ZipInfo per entry);
2. each entry's declared sizes, compression method and position are checked (no overlapping
   entries: the "overlapping zip bomb" shape);
3. the package is identified (xlsx/xlsm, or xlsb, ods, docx, ...);
4. every entry is inflated here, streaming, in 64 KiB steps, with its own cap: declared sizes can
   lie, so the actual size and CRC are verified, and inflating stops the moment a cap is passed.
   Memory stays at one chunk per step. The same pass refuses XML that declares a DTD or
   entities (OOXML never does; billion-laughs and external-entity payloads need one), XML in a
   text encoding that could hide such a declaration from this scan, and cells past Excel's
   grid; it counts the cells, rows and merged cells openpyxl would create and the named ranges
   the reader would read.

Then openpyxl parses with defusedxml active (verified, not assumed) and every parser failure is
mapped to a user error. zipfile itself never returns more than an entry's declared size, so the
declared-size caps also bind openpyxl.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from openpyxl.workbook.workbook import Workbook

from workbook import fastload, limits
from workbook.errors import UnreadableFile, UnsafeFile
from workbook.sniff import (
    ZIP_END,
    ZIP_LOCAL,
    Kind,
    mb,
    open_zip,
    package_kind,
    read_file,
    sniff_not_zip,
)
from workbook.zipscan import check_directory, scan_parts


@dataclass(frozen=True)
class Checked:
    """A file that passed preflight: its bytes (what openpyxl will parse) and what was found."""

    data: bytes
    kind: Kind
    parts: int
    unpacked_bytes: int
    cells: int


# --- XML defences -------------------------------------------------------------------------------


@cache
def xml_defences_active() -> bool:
    """True when openpyxl parses with defusedxml (streamed parts) and never expands entities
    (whole-tree parts), checked by behaviour once per process rather than assumed."""
    try:
        import defusedxml.ElementTree as defused_et
        from defusedxml import DefusedXmlException
        from openpyxl.xml import DEFUSEDXML, LXML, functions
    except ImportError:
        return False
    if not DEFUSEDXML or functions.iterparse is not defused_et.iterparse:
        return False
    probe = b'<!DOCTYPE r [<!ENTITY e "expanded">]><r>&e;</r>'
    try:
        for _ in functions.iterparse(io.BytesIO(probe)):
            pass
    except DefusedXmlException:
        pass
    else:
        return False
    if not LXML:
        return functions.fromstring is defused_et.fromstring
    try:
        node = functions.fromstring(probe)
    except Exception:  # a parser that refuses the probe outright is also safe
        return True
    return "expanded" not in "".join(node.itertext())


def _check_xml_defences(path: Path) -> None:
    if not xml_defences_active():
        raise UnsafeFile("unsafe.no_defusedxml", path=path)


# --- Entry points -------------------------------------------------------------------------------


def preflight(path: Path) -> Checked:
    """Read path and check it is a spreadsheet package safe to hand to openpyxl, or raise an
    UnreadableFile / UnsafeFile error naming it. No XML parser runs here."""
    return preflight_bytes(read_file(path), path)


def preflight_bytes(data: bytes, path: Path) -> Checked:
    """preflight for bytes already in memory (an upload); path only names them in messages."""
    if len(data) > limits.MAX_FILE_BYTES:
        raise UnsafeFile(
            "unsafe.file_too_large", path=path, size=mb(len(data)), limit=mb(limits.MAX_FILE_BYTES)
        )
    if not data:
        raise UnreadableFile("input.empty", path=path)
    if not data.startswith((ZIP_LOCAL, ZIP_END)):
        raise sniff_not_zip(data, path)
    with open_zip(data, path) as zf:
        offsets = check_directory(zf, data, path)
        kind = package_kind(zf, path)
        unpacked, cells = scan_parts(zf, data, offsets, path)
        parts = len(zf.infolist())
    return Checked(data=data, kind=kind, parts=parts, unpacked_bytes=unpacked, cells=cells)


def _in_chain(exc: BaseException, types: tuple[type[BaseException], ...]) -> bool:
    """True when exc or anything it was raised from is one of types (openpyxl re-raises parser
    errors as a plain ValueError)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, types):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def open_checked(path: Path, *, data_only: bool) -> tuple[Workbook, Checked]:
    """Verify the XML defences, preflight, then load with openpyxl, mapping every parser
    failure to a user error; also return the bytes it parsed (checked.data), for a reader that
    needs the package again without reopening the file.

    Not read-only mode: read-only worksheets trust the <dimension> element, which some
    programs (reported: WPS) write as A1, hiding every other cell.
    """
    _check_xml_defences(path)
    checked = preflight(path)
    return load_checked(checked, path, data_only=data_only), checked


def open_checked_bytes(data: bytes, path: Path, *, data_only: bool) -> tuple[Workbook, Checked]:
    """open_checked for bytes already in memory (an upload); path only names them in messages."""
    _check_xml_defences(path)
    checked = preflight_bytes(data, path)
    return load_checked(checked, path, data_only=data_only), checked


_WARNINGS_LOCK = threading.Lock()


@contextmanager
def quiet_openpyxl() -> Iterator[None]:
    """openpyxl's warnings about extensions it drops (data validation lists, slicers...), which
    are not errors for a reader, silenced for the block. catch_warnings swaps the process's
    filter list, and two threads inside it at once can leave the wrong list behind for good:
    every user of it in opsbook goes through here and takes turns (pure Python under the GIL,
    little is lost)."""
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def load_checked(checked: Checked, path: Path, *, data_only: bool) -> Workbook:
    """openpyxl's workbook from bytes that passed preflight (path only names the file in
    messages). A caller that needs the package again (cached results, say) can read
    `checked.data` instead of reopening the file, which might have changed meanwhile."""
    _check_xml_defences(path)
    from defusedxml import DefusedXmlException

    try:
        with quiet_openpyxl():
            return fastload.load(checked.data, data_only=data_only)  # see workbook/fastload.py
    except MemoryError as exc:
        raise UnsafeFile("unsafe.memory", path=path) from exc
    except Exception as exc:  # any parser failure on untrusted input is a damaged file
        if _in_chain(exc, (DefusedXmlException,)):
            raise UnsafeFile("unsafe.xml_forbidden", path=path) from exc
        raise UnreadableFile("input.damaged", path=path, reason=type(exc).__name__) from exc
