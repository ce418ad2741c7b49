"""The bad-input corpus: one function per case, each writing its file into a folder.

Every file is generated here, from the sample workbook (generator.xlsx_writer.build_workbook with
opsbook.sample.sample_values) or from scratch: no binary blobs. docs/bad-inputs.md says what
each case must do; tests/test_bad_inputs.py holds every case to its row.

A case function takes the folder and returns a Setup: the input to give the command and, for the
output cases, the output path and the fault to inject.
"""

from __future__ import annotations

import functools
import io
import random
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import openpyxl
from lxml import etree
from openpyxl.utils.cell import range_boundaries

from generator.xlsx_writer import build_workbook
from opsbook.sample import sample_values
from workbook import spec as spec_mod

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
BASE_LANG = "zh-CN"  # the corpus starts from the default-language workbook
FIXED_DATE = (2026, 1, 1, 0, 0, 0)
GiB = 1024**3
MiB = 1024**2

Fault = Literal["enospc"]


@dataclass(frozen=True)
class Setup:
    """What one case hands the command: the input and, for output cases, the output."""

    input: Path
    output: Path | None = None  # None: the test picks a fresh path in an empty folder
    force: bool = False
    unprivileged: bool = False  # run in a subprocess without the right to bypass file modes
    fault: Fault | None = None  # inject a fault while the output is written
    env: dict[str, str] = field(default_factory=dict)  # extra environment (subprocess only)


# --- The sample and zip surgery -----------------------------------------------------------------


@functools.cache
def sample_bytes(lang: str = BASE_LANG) -> bytes:
    """The filled sample workbook, as `opsbook demo` writes it."""
    return build_workbook(spec_mod.load(), lang, sample_values(lang))


def zip_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def repack(parts: dict[str, bytes]) -> bytes:
    """A zip of parts, in order, deflated, with fixed dates (deterministic)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            info = zipfile.ZipInfo(name, FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return out.getvalue()


def _xml(content: bytes) -> etree._Element:
    return etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))


def _sheet_parts(parts: dict[str, bytes]) -> dict[str, str]:
    """Sheet name -> its part name, from xl/workbook.xml and its relationships."""
    rels = {
        rel.get("Id"): rel.get("Target", "")
        for rel in _xml(parts["xl/_rels/workbook.xml.rels"]).iter(f"{{{PKG_REL_NS}}}Relationship")
    }
    out = {}
    for sheet in _xml(parts["xl/workbook.xml"]).iter(f"{{{MAIN_NS}}}sheet"):
        target = rels[sheet.get(f"{{{REL_NS}}}id")]
        out[sheet.get("name", "")] = (
            target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        )
    return out


def name_target(data: bytes, name: str) -> tuple[str, str]:
    """(sheet, "B12") of a single-cell defined name."""
    root = _xml(zip_parts(data)["xl/workbook.xml"])
    for dn in root.iter(f"{{{MAIN_NS}}}definedName"):
        if dn.get("name") == name:
            sheet, _, coord = (dn.text or "").rpartition("!")
            return sheet.strip("'").replace("''", "'"), coord.replace("$", "")
    raise KeyError(name)


CellValue = tuple[Literal["n", "s", "e", "f"], str]


def set_cell(data: bytes, name: str, kind: Literal["n", "s", "e", "f"], value: str) -> bytes:
    """The workbook with the input cell named `name` replaced, as Excel would store it:
    "n" a number, "s" text (an inline string, escapes as given), "e" an error value such as
    #DIV/0!, "f" a formula (with a saved result of 3)."""
    sheet, coord = name_target(data, name)
    parts = zip_parts(data)
    part = _sheet_parts(parts)[sheet]
    root = _xml(parts[part])
    cell = next(c for c in root.iter(f"{{{MAIN_NS}}}c") if c.get("r") == coord)
    style = cell.get("s")
    for child in list(cell):
        cell.remove(child)
    for attr in list(cell.attrib):
        if attr not in ("r", "s"):
            del cell.attrib[attr]
    if style is not None:
        cell.set("s", style)
    m = f"{{{MAIN_NS}}}"
    if kind == "n":
        etree.SubElement(cell, f"{m}v").text = value
    elif kind == "s":
        cell.set("t", "inlineStr")
        t = etree.SubElement(etree.SubElement(cell, f"{m}is"), f"{m}t")
        t.text = value
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    elif kind == "e":
        cell.set("t", "e")
        etree.SubElement(cell, f"{m}v").text = value
    else:
        etree.SubElement(cell, f"{m}f").text = value
        etree.SubElement(cell, f"{m}v").text = "3"
    parts[part] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return repack(parts)


def replace_everywhere(data: bytes, old: str, new: str) -> bytes:
    """The workbook with a text replaced in every XML part (as a rename in Excel would)."""
    parts = zip_parts(data)
    for part, content in parts.items():
        if part.endswith((".xml", ".rels")):
            parts[part] = content.replace(old.encode(), new.encode())
    return repack(parts)


def _openpyxl_edit(data: bytes, edit: Callable[[openpyxl.Workbook], None]) -> bytes:
    """The workbook loaded by openpyxl, edited and saved: another program saving it (so no
    cached formula results)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(io.BytesIO(data))
    edit(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- Containers written from scratch ------------------------------------------------------------

_FREESECT, _ENDOFCHAIN, _FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF


def cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal valid compound file ([MS-CFB] version 3, 512-byte sectors): one FAT sector,
    a directory, and each stream padded with zeros to at least 4096 bytes, the mini-stream
    cutoff: smaller streams would have to live in a mini stream, which this writer does not
    make. Holds up to about 60 KB."""
    sector = 512
    names = sorted(streams, key=lambda n: (len(n), n.upper()))  # the directory's order
    bodies = [streams[n].ljust(4096, b"\0") for n in names]
    entries = 1 + len(names)
    dir_sectors = -(-entries * 128 // sector)
    fat = [_FATSECT] + [i + 2 for i in range(dir_sectors - 1)] + [_ENDOFCHAIN]
    starts = []
    for body in bodies:
        first = len(fat)
        count = -(-len(body) // sector)
        starts.append(first)
        fat += [first + i + 1 for i in range(count - 1)] + [_ENDOFCHAIN]
    if len(fat) > sector // 4:
        raise ValueError("too much data for one FAT sector")
    fat += [_FREESECT] * (sector // 4 - len(fat))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0"
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded), kind, 1)  # type, colour black
            + struct.pack("<III", _NOSTREAM, right, child)  # left, right sibling, child
            + bytes(16 + 4 + 16)  # CLSID, state bits, times
            + struct.pack("<IQ", start, size)
        )

    directory = entry("Root Entry", 5, 1 if names else _NOSTREAM, _NOSTREAM, _ENDOFCHAIN, 0)
    for i, name in enumerate(names):  # a right-leaning chain, in directory order
        right = i + 2 if i + 1 < len(names) else _NOSTREAM
        directory += entry(name, 2, _NOSTREAM, right, starts[i], len(bodies[i]))
    directory = directory.ljust(dir_sectors * sector, b"\0")
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _ENDOFCHAIN, 0, _ENDOFCHAIN, 0)
        + struct.pack("<109I", 0, *([_FREESECT] * 108))
    )
    assert len(header) == sector
    body = b"".join(b.ljust(-(-len(b) // sector) * sector, b"\0") for b in bodies)
    return header + struct.pack(f"<{sector // 4}I", *fat) + directory + body


def biff8_workbook_stream() -> bytes:
    """The start of an Excel 97-2003 Workbook stream: a BOF record (BIFF8, workbook globals)
    and an EOF record."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0x41, 0x06)
    eof = struct.pack("<HH", 0x000A, 0)
    return bof + eof


@dataclass(frozen=True)
class RawEntry:
    """One zip entry written byte by byte, sizes and CRC as declared (they may lie)."""

    name: str
    chunks: Callable[[], Iterable[bytes]]  # the stored bytes (already compressed)
    compress_size: int
    declared_size: int
    crc: int
    method: int = zipfile.ZIP_DEFLATED


def _local_header(e: RawEntry, name: bytes) -> bytes:
    fields = (20, 0x800, e.method, 0, 0x21, e.crc, e.compress_size, e.declared_size, len(name), 0)
    return struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", *fields) + name


def _central_header(e: RawEntry, name: bytes, offset: int) -> bytes:
    sizes = (e.crc, e.compress_size, e.declared_size, len(name), 0, 0, 0, 0, 0, offset)
    fields = (20, 20, 0x800, e.method, 0, 0x21, *sizes)
    return struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", *fields) + name


def write_raw_zip(fh: BinaryIO, entries: Iterable[RawEntry], *, share_data: bool = False) -> None:
    """A zip written entry by entry, streaming: content is never inflated or held whole. With
    share_data every directory entry points at the first entry's data (an overlapping zip)."""
    central: list[tuple[RawEntry, bytes, int]] = []
    for e in entries:
        name = e.name.encode()
        if share_data and central:
            central.append((e, name, central[0][2]))
            continue
        offset = fh.tell()
        fh.write(_local_header(e, name))
        for chunk in e.chunks():
            fh.write(chunk)
        central.append((e, name, offset))
    cd_start = fh.tell()
    for e, name, offset in central:
        fh.write(_central_header(e, name, offset))
    cd_size = fh.tell() - cd_start
    count = min(len(central), 0xFFFF)
    end = (0, 0, count, count, cd_size, cd_start, 0)
    fh.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", *end))


@functools.cache
def zero_block() -> tuple[bytes, bytes]:
    """(block, tail): raw deflate of 1 MiB of zeros ending in a full flush, and the final empty
    block. After a full flush deflate starts afresh, so every further MiB gives the same block."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
    return block, c.flush()


@functools.cache
def _zeros_crc(mib: int) -> int:
    zeros, crc = bytes(MiB), 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    return crc


def zero_bomb_stream(mib: int) -> tuple[Callable[[], Iterator[bytes]], int, int]:
    """A raw deflate stream of `mib` MiB of zeros, as (chunk source, compressed size, CRC),
    made without ever holding the content: after a full flush, deflate writes the same bytes
    for every further MiB of zeros, so the stream is one block repeated."""
    block, tail = zero_block()
    crc = _zeros_crc(mib)

    def chunks() -> Iterator[bytes]:
        group = block * 64
        for _ in range(mib // 64):
            yield group
        yield block * (mib % 64)
        yield tail

    return chunks, len(block) * mib + len(tail), crc


def _once(content: bytes) -> Callable[[], Iterable[bytes]]:
    return lambda: (content,)


def _stored(name: str, content: bytes) -> RawEntry:
    return RawEntry(name, _once(content), len(content), len(content), zlib.crc32(content), 0)


# --- The cases ----------------------------------------------------------------------------------
# Each writes into `folder` and returns a Setup. Names are what a colleague might send.


def not_zip(folder: Path) -> Setup:
    path = folder / "周报.xlsx"
    rng = random.Random(4)
    path.write_bytes(b"\x89\x00\x17\x02" + bytes(rng.randrange(256) for _ in range(4096)))
    return Setup(path)


def empty(folder: Path) -> Setup:
    path = folder / "empty.xlsx"
    path.write_bytes(b"")
    return Setup(path)


def truncated_zip(folder: Path) -> Setup:
    data = sample_bytes()
    path = folder / "cut-off.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return Setup(path)


def directory(folder: Path) -> Setup:
    path = folder / "folder.xlsx"
    path.mkdir()
    return Setup(path)


def missing(folder: Path) -> Setup:
    return Setup(folder / "no-such-file.xlsx")


def no_read_permission(folder: Path) -> Setup:
    path = folder / "locked.xlsx"
    path.write_bytes(sample_bytes())
    path.chmod(0o000)
    return Setup(path, unprivileged=True)


def old_xls(folder: Path) -> Setup:
    path = folder / "old.xls"
    path.write_bytes(cfb({"Workbook": biff8_workbook_stream()}))
    return Setup(path)


def xlsb(folder: Path) -> Setup:
    types = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Default Extension="rels" '
        b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        b'<Override PartName="/xl/workbook.bin" '
        b'ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>'
    )
    rels = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/officeDocument" Target="xl/workbook.bin"/></Relationships>'
    )
    path = folder / "binary.xlsb"
    path.write_bytes(
        repack(
            {"[Content_Types].xml": types, "_rels/.rels": rels, "xl/workbook.bin": b"\x83\x01\x00"}
        )
    )
    return Setup(path)


def ods(folder: Path) -> Setup:
    mimetype = b"application/vnd.oasis.opendocument.spreadsheet"
    manifest = (
        b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        b'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        b'manifest:version="1.2">'
        b'<manifest:file-entry manifest:full-path="/" manifest:media-type="' + mimetype + b'"/>'
        b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        b"</manifest:manifest>"
    )
    content = (
        b'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        b'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.2">'
        b'<office:body><office:spreadsheet><table:table table:name="Sheet1"/>'
        b"</office:spreadsheet></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:  # the mimetype first and stored, as ODF requires
        zf.writestr(zipfile.ZipInfo("mimetype", FIXED_DATE), mimetype)
        for name, body in (("META-INF/manifest.xml", manifest), ("content.xml", content)):
            zf.writestr(zipfile.ZipInfo(name, FIXED_DATE), body, zipfile.ZIP_DEFLATED)
    path = folder / "calc.ods"
    path.write_bytes(out.getvalue())
    return Setup(path)


def csv_renamed(folder: Path) -> Setup:
    path = folder / "export.xlsx"
    path.write_text("店铺,周期,GMV\n山岚家居,2026年Q3,12865000\n", encoding="utf-8")
    return Setup(path)


def html_as_xls(folder: Path) -> Setup:
    path = folder / "report.xls"
    path.write_text(
        "<html><head><meta charset='utf-8'></head><body><table><tr><td>GMV</td>"
        "<td>12865000</td></tr></table></body></html>",
        encoding="utf-8",
    )
    return Setup(path)


def docx_renamed(folder: Path) -> Setup:
    import docx

    document = docx.Document()
    document.add_paragraph("工作总结")
    out = io.BytesIO()
    document.save(out)
    path = folder / "summary.xlsx"
    path.write_bytes(out.getvalue())
    return Setup(path)


def encrypted(folder: Path) -> Setup:
    """The sample, password-protected as Excel does it (ECMA-376 agile encryption), by
    msoffcrypto-tool."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(sample_bytes())).encrypt("secret", out)
    path = folder / "protected.xlsx"
    path.write_bytes(out.getvalue())
    return Setup(path)


def strict_ooxml(folder: Path) -> Setup:
    """The sample with Strict Open XML namespaces (Excel: Save As Strict Open XML)."""
    data = replace_everywhere(
        sample_bytes(),
        "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "http://purl.oclc.org/ooxml/spreadsheetml/main",
    )
    path = folder / "strict.xlsx"
    path.write_bytes(data)
    return Setup(path)


def xlsx_named_xls(folder: Path) -> Setup:
    """A genuine workbook with the wrong extension (web systems do this): read by content."""
    path = folder / "mislabelled.xls"
    path.write_bytes(sample_bytes())
    return Setup(path)


def other_template(folder: Path) -> Setup:
    path = folder / "weekly.xlsx"
    path.write_bytes(replace_everywhere(sample_bytes(), "ecommerce-ops-summary", "weekly-report"))
    return Setup(path)


def older_version(folder: Path) -> Setup:
    data = set_cell(sample_bytes(), "opsbook_version", "n", "0")
    parts = zip_parts(data)
    parts["docProps/custom.xml"] = re.sub(
        rb'(name="opsbook_version"><vt:[a-z0-9]+>)1(<)', rb"\g<1>0\2", parts["docProps/custom.xml"]
    )
    path = folder / "older.xlsx"
    path.write_bytes(repack(parts))
    return Setup(path)


def names_deleted(folder: Path) -> Setup:
    """Every third input's defined name deleted (the reader falls back to row labels)."""
    parts = zip_parts(sample_bytes())
    root = _xml(parts["xl/workbook.xml"])
    fields = {f.id for f in spec_mod.load().fields}
    names = [dn for dn in root.iter(f"{{{MAIN_NS}}}definedName") if dn.get("name") in fields]
    for dn in names[::3]:
        dn.getparent().remove(dn)  # type: ignore[union-attr]
    parts["xl/workbook.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    path = folder / "names-deleted.xlsx"
    path.write_bytes(repack(parts))
    return Setup(path)


def _sheet_of(field_id: str) -> str:
    return name_target(sample_bytes(), field_id)[0]


def sheet_deleted(folder: Path) -> Setup:
    """The sheet holding the required GMV field deleted, as Excel leaves it: its names #REF!."""
    gone = _sheet_of("gmv")

    def edit(wb: openpyxl.Workbook) -> None:
        del wb[gone]
        for dn in wb.defined_names.values():
            if dn.attr_text and dn.attr_text.startswith(f"'{gone}'!"):
                dn.attr_text = "#REF!"

    path = folder / "sheet-deleted.xlsx"
    path.write_bytes(_openpyxl_edit(sample_bytes(), edit))
    return Setup(path)


def sheets_renamed(folder: Path) -> Setup:
    """Every section sheet renamed, with names and formulas following, as Excel does."""
    data = sample_bytes()
    for number, section in enumerate(spec_mod.load().sections, 1):
        data = replace_everywhere(data, section.sheet.zh_cn, f"第{number}页")
    path = folder / "renamed.xlsx"
    path.write_bytes(data)
    return Setup(path)


def rows_inserted(folder: Path) -> Setup:
    """Three rows inserted above the inputs of two sheets, cells, merges and names moving
    down as in Excel (saved by openpyxl: no cached results)."""
    sheets = [_sheet_of("period_days"), _sheet_of("gmv")]
    rows = 3

    def edit(wb: openpyxl.Workbook) -> None:
        for title in sheets:
            ws = wb[title]
            top = 1
            ws.move_range(f"A{top}:{ws.dimensions.split(':')[-1]}", rows=rows, translate=True)
            for merged in list(ws.merged_cells.ranges):
                merged.shift(0, rows)
            for dn in wb.defined_names.values():
                text = dn.attr_text or ""
                if text.startswith(f"'{title}'!"):
                    ref = text.split("!", 1)[1].replace("$", "")
                    c1, r1, c2, r2 = range_boundaries(ref)
                    assert r1 is not None and r2 is not None
                    dn.attr_text = _abs_ref(title, c1, r1 + rows, c2, r2 + rows)
            ws.cell(1, 1).value = "插入的说明行"

    path = folder / "rows-inserted.xlsx"
    path.write_bytes(_openpyxl_edit(sample_bytes(), edit))
    return Setup(path)


def _abs_ref(sheet: str, c1: int | None, r1: int, c2: int | None, r2: int) -> str:
    from openpyxl.utils import get_column_letter

    first = f"${get_column_letter(c1 or 1)}${r1}"
    if (c1, r1) == (c2, r2):
        return f"'{sheet}'!{first}"
    return f"'{sheet}'!{first}:${get_column_letter(c2 or 1)}${r2}"


def text_in_number(folder: Path) -> Setup:
    path = folder / "text-in-number.xlsx"
    path.write_bytes(set_cell(sample_bytes(), "new_users", "s", "大概七万左右"))
    return Setup(path)


def negative_count(folder: Path) -> Setup:
    path = folder / "negative.xlsx"
    path.write_bytes(set_cell(sample_bytes(), "campaigns_count", "n", "-4"))
    return Setup(path)


def percent_over_100(folder: Path) -> Setup:
    path = folder / "percent.xlsx"
    path.write_bytes(set_cell(sample_bytes(), "plan_retention30", "n", "1.5"))
    return Setup(path)


def date_as_text(folder: Path) -> Setup:
    path = folder / "date-text.xlsx"
    path.write_bytes(set_cell(sample_bytes(), "report_date", "s", "2026年10月10日"))
    return Setup(path)


def excel_errors(folder: Path) -> Setup:
    data = set_cell(sample_bytes(), "search_uv", "e", "#DIV/0!")
    data = set_cell(data, "exposure", "e", "#REF!")
    data = set_cell(data, "ad_spend", "e", "#NAME?")
    path = folder / "errors.xlsx"
    path.write_bytes(data)
    return Setup(path)


def formula_in_input(folder: Path) -> Setup:
    path = folder / "formula.xlsx"
    path.write_bytes(set_cell(sample_bytes(), "campaigns_count", "f", "1+2"))
    return Setup(path)


def long_text(folder: Path) -> Setup:
    """32,767 characters, Excel's most per cell, in a notes field limited to 2,000."""
    text = ("本季度复盘:" + "流量结构调整与会员运营。" * 3000)[:32767]
    path = folder / "long-text.xlsx"
    path.write_bytes(set_cell(sample_bytes(), "s2_notes", "s", text))
    return Setup(path)


def control_chars(folder: Path) -> Setup:
    """Notes with control characters and a lone surrogate, as Excel stores them (_xHHHH_)."""
    text = "第一行_x000B_第二行_x0007_响铃_x0000_空字符 半个表情_xD83D_ 结束"
    path = folder / "control-chars.xlsx"
    path.write_bytes(set_cell(sample_bytes(), "s4_notes", "s", text))
    return Setup(path)


BOMB_MIB = 3 * 1024  # 3 GiB of zeros: "gigabytes", yet declarable without zip64


@functools.cache
def _raw_zip(kind: str) -> bytes:
    """The bomb files, generated once per session (a few MB each: only the compressed form)."""
    out = io.BytesIO()
    if kind in ("honest", "lying"):
        chunks, size, crc = zero_bomb_stream(BOMB_MIB)
        declared = BOMB_MIB * MiB if kind == "honest" else 40_000
        bomb = RawEntry("xl/worksheets/sheet99.xml", chunks, size, declared, crc)
        write_raw_zip(out, [*_sample_entries(), bomb])
    elif kind == "overlap":
        chunks, size, crc = zero_bomb_stream(8)
        names = (f"xl/media/image{i}.png" for i in range(1000))
        write_raw_zip(
            out, [RawEntry(n, chunks, size, 8 * MiB, crc) for n in names], share_data=True
        )
    else:
        extra = (_stored(f"xl/media/p{i}.bin", b"") for i in range(60_000))
        write_raw_zip(out, [*_sample_entries(), *extra])
    return out.getvalue()


def zip_bomb(folder: Path) -> Setup:
    """The sample plus a worksheet that inflates to 3 GiB, declared honestly."""
    path = folder / "bomb.xlsx"
    path.write_bytes(_raw_zip("honest"))
    return Setup(path)


def zip_bomb_lying(folder: Path) -> Setup:
    """The same 3 GiB worksheet, its directory claiming 40 KB (declared sizes can lie)."""
    path = folder / "bomb-lying.xlsx"
    path.write_bytes(_raw_zip("lying"))
    return Setup(path)


def overlapping_bomb(folder: Path) -> Setup:
    """One 8 MiB part listed 1,000 times, every entry pointing at the same data."""
    path = folder / "overlap.xlsx"
    path.write_bytes(_raw_zip("overlap"))
    return Setup(path)


def entry_count_bomb(folder: Path) -> Setup:
    """The sample plus 60,000 empty parts."""
    path = folder / "many-parts.xlsx"
    path.write_bytes(_raw_zip("entries"))
    return Setup(path)


def _sample_entries() -> list[RawEntry]:
    """The sample's parts as raw entries (deflated)."""
    out = []
    for name, content in zip_parts(sample_bytes()).items():
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = c.compress(content) + c.flush()
        out.append(RawEntry(name, _once(packed), len(packed), len(content), zlib.crc32(content)))
    return out


def huge_merge(folder: Path) -> Setup:
    """A merged range over a whole sheet: openpyxl would create 17 billion cells for it."""
    parts = zip_parts(sample_bytes())
    part = _sheet_parts(parts)[_sheet_of("gmv")]
    assert b"<mergeCells" in parts[part]
    parts[part] = re.sub(
        rb"<mergeCells[^>]*>", b'<mergeCells><mergeCell ref="F1:XFD1048576"/>', parts[part], count=1
    )
    path = folder / "huge-merge.xlsx"
    path.write_bytes(repack(parts))
    return Setup(path)


def stretched_name(folder: Path) -> Setup:
    """A table's defined name stretched to the last row: the reader would read (and openpyxl
    create) five million cells. Found by tests/test_fuzz.py as a hang."""
    parts = zip_parts(sample_bytes())
    root = _xml(parts["xl/workbook.xml"])
    table = spec_mod.load().tables[0].id
    dn = next(d for d in root.iter(f"{{{MAIN_NS}}}definedName") if d.get("name") == table)
    dn.text = re.sub(r"\$(\d+)$", "$1048576", dn.text or "")
    parts["xl/workbook.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    path = folder / "stretched-name.xlsx"
    path.write_bytes(repack(parts))
    return Setup(path)


def far_row(folder: Path) -> Setup:
    """A cell at row 2,000,000, past Excel's last row (1,048,576): openpyxl accepts it, and
    anything walking the sheet to its last row would walk two million rows."""
    parts = zip_parts(sample_bytes())
    part = _sheet_parts(parts)[_sheet_of("store_name")]
    parts[part] = parts[part].replace(
        b"</sheetData>", b'<row r="2000000"><c r="A2000000"><v>1</v></c></row></sheetData>', 1
    )
    path = folder / "far-row.xlsx"
    path.write_bytes(repack(parts))
    return Setup(path)


def too_large_file(folder: Path) -> Setup:
    """A 21 MiB file (sparse: no disk used)."""
    path = folder / "huge.xlsx"
    with path.open("wb") as fh:
        fh.write(b"PK\x03\x04")
        fh.truncate(21 * MiB)
    return Setup(path)


LAUGHS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE sst [\n'
    b'<!ENTITY a "lollollollollollollollollollol">\n'
    + b"".join(
        b'<!ENTITY %c "%s">\n' % (ord("b") + i, (b"&%c;" % (ord("a") + i)) * 10) for i in range(9)
    )
    + b"]>\n"
)


def billion_laughs(folder: Path) -> Setup:
    """The sample's shared strings with a billion-laughs DTD, its last entity used in a string."""
    parts = zip_parts(sample_bytes())
    sst = parts["xl/sharedStrings.xml"]
    body = sst[sst.index(b"<sst") :]
    body = body.replace(b"<t>", b"<t>&j;", 1)
    parts["xl/sharedStrings.xml"] = LAUGHS + body
    path = folder / "laughs.xlsx"
    path.write_bytes(repack(parts))
    return Setup(path)


def external_entity(folder: Path) -> Setup:
    """A worksheet whose DTD declares an external entity reading /etc/passwd."""
    parts = zip_parts(sample_bytes())
    part = _sheet_parts(parts)[_sheet_of("store_name")]
    body = parts[part][parts[part].index(b"<worksheet") :]
    body = re.sub(rb"(<c [^>]*t=\"s\"[^>]*><v>)\d+(</v>)", rb"\1&xxe;\2", body, count=1)
    parts[part] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n' + body
    )
    path = folder / "xxe.xlsx"
    path.write_bytes(repack(parts))
    return Setup(path)


def defusedxml_off(folder: Path) -> Setup:
    """A good workbook, with openpyxl's defusedxml use switched off in the environment."""
    path = folder / "good.xlsx"
    path.write_bytes(sample_bytes())
    return Setup(path, env={"OPENPYXL_DEFUSEDXML": "False"})


# --- Output cases: a good input, a bad place to write -------------------------------------------


def _good(folder: Path) -> Path:
    path = folder / "sample.xlsx"
    path.write_bytes(sample_bytes())
    return path


def output_dir_missing(folder: Path) -> Setup:
    return Setup(_good(folder), output=folder / "missing" / "summary.docx")


def output_not_writable(folder: Path) -> Setup:
    out = folder / "read-only"
    out.mkdir()
    out.chmod(0o555)
    return Setup(_good(folder), output=out / "summary.docx", unprivileged=True)


def output_is_input(folder: Path) -> Setup:
    source = _good(folder)
    return Setup(source, output=source, force=True)


def output_exists(folder: Path) -> Setup:
    out = folder / "summary.docx"
    out.write_bytes(b"the previous summary")
    return Setup(_good(folder), output=out)


def disk_full(folder: Path) -> Setup:
    out = folder / "summary.docx"
    out.write_bytes(b"the previous summary")
    return Setup(_good(folder), output=out, force=True, fault="enospc")


CASES: dict[str, Callable[[Path], Setup]] = {
    f.__name__: f
    for f in (
        not_zip, empty, truncated_zip, directory, missing, no_read_permission,
        old_xls, xlsb, ods, csv_renamed, html_as_xls, docx_renamed, encrypted, strict_ooxml,
        xlsx_named_xls,
        other_template, older_version, names_deleted, sheet_deleted, sheets_renamed, rows_inserted,
        text_in_number, negative_count, percent_over_100, date_as_text, excel_errors,
        formula_in_input, long_text, control_chars,
        zip_bomb, zip_bomb_lying, overlapping_bomb, entry_count_bomb, huge_merge, stretched_name,
        far_row, too_large_file,
        billion_laughs, external_entity, defusedxml_off,
        output_dir_missing, output_not_writable, output_is_input, output_exists, disk_full,
    )
}  # fmt: skip

#: Cases about where the output goes: only commands that write a file run them.
OUTPUT_CASES = frozenset(
    {"output_dir_missing", "output_not_writable", "output_is_input", "output_exists", "disk_full"}
)
