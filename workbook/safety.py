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

import codecs
import io
import itertools
import os
import re
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from openpyxl.workbook.workbook import Workbook

from workbook import fastload
from workbook.errors import OpsbookError, UnreadableFile, UnsafeFile

MiB = 1024 * 1024

# --- Limits -------------------------------------------------------------------------------------
# A filled opsbook workbook is about 45 KB on disk, 200 KB unpacked, 25 parts and 1,700 cells.
# The limits leave room for staff who paste data or pictures into extra sheets, and keep the
# worst file that passes them to roughly 0.5 GB of memory and seconds of parsing in openpyxl.

#: Largest input file. Mail services cap attachments at 20-25 MB, so a workbook that travels by
#: mail is smaller; the whole file is held in memory while it is checked and parsed.
MAX_FILE_BYTES = 20 * MiB
#: Most zip entries (parts). The template has 25; pictures and extra sheets add a few each.
MAX_ENTRIES = 1000
#: Largest zip central directory: bounds the work `zipfile` does before MAX_ENTRIES is checked,
#: whatever count the end record claims (1,000 entries with long names take under 200 KB).
MAX_DIRECTORY_BYTES = 1 * MiB
#: Largest unpacked worksheet or shared-strings part. openpyxl streams these, so their memory
#: cost is per cell (MAX_CELLS), not per byte: 50 MB holds about 1.5 million plain cells.
MAX_STREAMED_PART_BYTES = 50 * MiB
#: Largest unpacked size of any other part (workbook, styles, drawings, charts, comments...):
#: openpyxl builds a whole tree of these, about 25 times their size in memory (a 10 MB
#: styles.xml took 260 MB). Excel's own limit of 64,000 cell formats is about 4 MB of styles.
MAX_TREE_PART_BYTES = 8 * MiB
#: Largest unpacked total of all parts.
MAX_UNPACKED_BYTES = 100 * MiB
#: Largest compression ratio of a part bigger than RATIO_FLOOR_BYTES. Real worksheet XML
#: compresses 5-30 to 1; deflate's maximum is about 1032 to 1, where zip bombs sit.
MAX_RATIO = 200
RATIO_FLOOR_BYTES = 1 * MiB
#: Most cells openpyxl would create: <c> and <row> elements, every cell of a merged range
#: (openpyxl makes an object for each) and of the explicit ranges defined names point at (the
#: reader reads those cell by cell, which creates them). About 400 bytes and 9 microseconds
#: each in openpyxl: 500,000 cells take about 200 MB and 5 s.
MAX_CELLS = 500_000

CHUNK_BYTES = 64 * 1024  # one inflate step

#: Parts openpyxl parses as a stream rather than a whole tree (by their conventional names; a
#: part with another name gets the stricter MAX_TREE_PART_BYTES).
_STREAMED_PART = re.compile(r"xl/(?:worksheets/[^/]+\.xml|sharedStrings\.xml)\Z")
_WORKSHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml\Z")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_END = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END = b"PK\x06\x06"

_SPREADSHEET_TYPES = (
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    b"application/vnd.ms-excel.template.macroEnabled.main+xml",
)
_XLSB_TYPE = b"application/vnd.ms-excel.sheet.binary.macroEnabled.main"
_STRICT_NS = b"http://purl.oclc.org/ooxml/spreadsheetml/main"

_NAME = rb"(?:[A-Za-z_][\w.\-]*:)?"  # an optional namespace prefix, as in <x:c>
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
# Cells and rows written with a namespace prefix (<x:c>); unprefixed ones are counted with the
# much faster bytes.count of "<c" and "<row" followed by what can end a tag name (_ENDS).
_ENDS = (b" ", b">", b"/", b"\t", b"\r", b"\n")
_PREFIXED_CELL_OR_ROW = re.compile(rb"<[A-Za-z_][\w.\-]*:(?:c|row)[\s/>]")
_MERGE = re.compile(rb"<" + _NAME + rb"mergeCell\s[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
# Numeric character references (&#51; is "3"): the parser decodes them, so the scan does too,
# or "A&#50;000000" would hide a row from it. Only ASCII: nothing else matters to the counts.
_CHAR_REF = re.compile(rb"&#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}));")
# Any number of digits: a bounded pattern would read "A1:B99999999" as no area at all.
_AREA = re.compile(rb"\$?([A-Za-z]{1,3})\$?([0-9]+)(?::\$?([A-Za-z]{1,3})\$?([0-9]+))?")
# A defined name's text, skipping Excel's own (_xlnm.Print_Area...), which nothing here reads.
_DEFINED_NAME = re.compile(rb"<" + _NAME + rb"definedName\b([^>]*)>([^<]*)<")
_QUOTED_SHEET = re.compile(rb"'(?:[^']|'')*'")
_EXPLICIT_RANGE = re.compile(
    rb"(?<![A-Za-z0-9_.])\$?[A-Za-z]{1,3}\$?[0-9]+:\$?[A-Za-z]{1,3}\$?[0-9]+(?![0-9(])"
)
# A row or cell reference past Excel's grid: 7+ digit rows or 4+ letter columns (rare, so the
# search is cheap); the numbers are then compared with the real limits.
# (It starts with the literal r for speed; the attribute's name must then be just "r".)
_FAR_REFERENCE = re.compile(
    rb"r\s*=\s*[\"']\$?([A-Za-z]{4,}\$?[0-9]*|[A-Za-z]{0,3}\$?[0-9]{7,})[\"']"
)
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
_XML_DECL = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._\-]+)[\"']")

Kind = Literal["xlsx", "xlsm"]


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


# --- Reading and sniffing -----------------------------------------------------------------------


def _read(path: Path) -> bytes:
    """The file's bytes, or a user error saying why they cannot be read."""
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise UnreadableFile("input.not_found", path=path) from exc
    except PermissionError as exc:
        raise UnreadableFile("input.no_permission", path=path) from exc
    except (OSError, ValueError) as exc:
        raise UnreadableFile("input.cannot_read", path=path, reason=_reason(exc)) from exc
    if stat.S_ISDIR(st.st_mode):
        raise UnreadableFile("input.is_dir", path=path)
    if not stat.S_ISREG(st.st_mode):  # a pipe or device would block or never end
        raise UnreadableFile("input.not_a_file", path=path)
    if st.st_size > MAX_FILE_BYTES:
        raise UnsafeFile(
            "unsafe.file_too_large", path=path, size=_mb(st.st_size), limit=_mb(MAX_FILE_BYTES)
        )
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except PermissionError as exc:
        raise UnreadableFile("input.no_permission", path=path) from exc
    except OSError as exc:
        raise UnreadableFile("input.cannot_read", path=path, reason=_reason(exc)) from exc
    if len(data) > MAX_FILE_BYTES:  # it grew while we looked
        raise UnsafeFile(
            "unsafe.file_too_large", path=path, size=_mb(len(data)), limit=_mb(MAX_FILE_BYTES)
        )
    return data


def _reason(exc: OSError | ValueError) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or type(exc).__name__


def _mb(n: int) -> str:
    """Bytes as megabytes for a message: 50, 20.5."""
    return f"{n / MiB:.1f}".removesuffix(".0")


def _sniff_not_zip(data: bytes, path: Path) -> OpsbookError:
    """The error for a file that is not a zip: say what it looks like instead."""
    if data.startswith(_OLE_MAGIC):
        kind = ole_kind(data)
        return UnreadableFile(f"format.{kind}", path=path)
    head = data[:8192]
    text = _as_text(head)
    if text is not None:
        low = text.lstrip("\ufeff \t\r\n").lower()
        if low.startswith(("<!doctype html", "<html", "<?xml")) or "<table" in low[:2048]:
            return UnreadableFile("format.markup", path=path)
        return UnreadableFile("format.text", path=path)
    return UnreadableFile("format.unknown", path=path)


def _as_text(head: bytes) -> str | None:
    """head decoded as text, if it plausibly is text (UTF-8, UTF-16 with a BOM, or GB18030)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    if b"\x00" in head:
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
        if controls <= len(text) // 100:
            return text
    return None


# --- OLE compound files (old .xls, encrypted OOXML) ---------------------------------------------


def ole_stream_names(data: bytes) -> set[str] | None:
    """The names in a compound file's directory, or None if it cannot be walked.

    Follows [MS-CFB]: header, FAT sectors listed in the header's DIFAT (plus the DIFAT chain),
    then the directory's sector chain. Every loop is bounded by the file's sector count.
    """
    try:
        if len(data) < 512 or not data.startswith(_OLE_MAGIC):
            return None
        shift = struct.unpack_from("<H", data, 30)[0]
        if shift not in (9, 12):
            return None
        size = 1 << shift
        n_sectors = max(0, (len(data) - size) // size)
        (first_dir,) = struct.unpack_from("<I", data, 48)
        first_difat, n_difat = struct.unpack_from("<II", data, 68)

        def sector(index: int) -> bytes:
            start = size * (index + 1)  # the header takes the first sector's place
            chunk = data[start : start + size]
            if len(chunk) != size:
                raise ValueError("sector outside the file")
            return chunk

        fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s < 0xFFFFFFFA]
        difat, seen = first_difat, 0
        while difat < 0xFFFFFFFA and seen < min(n_difat, n_sectors):
            entries = struct.unpack(f"<{size // 4}I", sector(difat))
            fat_sectors += [s for s in entries[:-1] if s < 0xFFFFFFFA]
            difat, seen = entries[-1], seen + 1
        fat: list[int] = []
        for s in fat_sectors[:n_sectors]:
            fat.extend(struct.unpack(f"<{size // 4}I", sector(s)))
        names: set[str] = set()
        current, visited = first_dir, set[int]()
        while current < 0xFFFFFFFA and current not in visited and len(visited) < n_sectors:
            visited.add(current)
            block = sector(current)
            for off in range(0, size, 128):
                name_len, kind = struct.unpack_from("<HB", block, off + 64)
                if kind in (1, 2) and 2 <= name_len <= 64:
                    names.add(block[off : off + name_len - 2].decode("utf-16-le", "replace"))
            current = fat[current] if current < len(fat) else 0xFFFFFFFE
        return names
    except (struct.error, ValueError):
        return None


def ole_kind(data: bytes) -> Literal["encrypted", "xls", "ole"]:
    """What an OLE compound file holds: an encrypted OOXML package, an old workbook, or other."""
    names = ole_stream_names(data) or set()
    if {"EncryptionInfo", "EncryptedPackage"} & names:
        return "encrypted"
    if {"Workbook", "Book"} & names:
        return "xls"
    return "ole"


# --- The zip directory --------------------------------------------------------------------------


def _zip_end(data: bytes) -> tuple[int, int] | None:
    """(entry count, central directory size) from the end record (zip64 aware), or None."""
    pos = data.rfind(_ZIP_END, max(0, len(data) - 22 - 0xFFFF))
    if pos < 0 or len(data) < pos + 22:
        return None
    _, _, _, entries, cd_size, _, _ = struct.unpack_from("<HHHHIIH", data, pos + 4)
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
        loc = pos - 20
        if loc >= 0 and data[loc : loc + 4] == _ZIP64_LOCATOR:
            (end64,) = struct.unpack_from("<Q", data, loc + 8)
            if data[end64 : end64 + 4] == _ZIP64_END and len(data) >= end64 + 56:
                entries, cd_size = struct.unpack_from("<QQ", data, end64 + 32)
    return entries, cd_size


def _open_zip(data: bytes, path: Path) -> zipfile.ZipFile:
    end = _zip_end(data)
    if end is None:
        if data.startswith(_ZIP_LOCAL):
            raise UnreadableFile("input.truncated", path=path)
        raise _sniff_not_zip(data, path)
    entries, cd_size = end
    if entries > MAX_ENTRIES or cd_size > MAX_DIRECTORY_BYTES:
        raise UnsafeFile(
            "unsafe.too_many_parts", path=path, count=f"{entries:,}", limit=f"{MAX_ENTRIES:,}"
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # zipfile raises BadZipFile, but also ValueError, UnicodeError...
        if data.startswith(_ZIP_LOCAL):
            raise UnreadableFile("input.damaged", path=path, reason=type(exc).__name__) from exc
        raise _sniff_not_zip(data, path) from exc
    if len(zf.infolist()) > MAX_ENTRIES:
        raise UnsafeFile(
            "unsafe.too_many_parts",
            path=path,
            count=f"{len(zf.infolist()):,}",
            limit=f"{MAX_ENTRIES:,}",
        )
    return zf


def part_limit(name: str) -> int:
    """The unpacked size allowed for one part."""
    return MAX_STREAMED_PART_BYTES if _STREAMED_PART.match(name) else MAX_TREE_PART_BYTES


def _data_offset(data: bytes, info: zipfile.ZipInfo) -> int:
    """Where an entry's compressed bytes start, from its local header."""
    off = info.header_offset
    if data[off : off + 4] != _ZIP_LOCAL or len(data) < off + 30:
        raise ValueError("bad local header")
    name_len, extra_len = struct.unpack_from("<HH", data, off + 26)
    return off + 30 + int(name_len) + int(extra_len)


def _duplicate(infos: list[zipfile.ZipInfo]) -> str:
    seen: set[str] = set()
    for info in infos:
        if info.filename in seen:
            return info.filename
        seen.add(info.filename)
    return ""


def _check_directory(zf: zipfile.ZipFile, data: bytes, path: Path) -> dict[str, int]:
    """Declared sizes, methods and positions: refused before anything is inflated.
    Returns each entry's data offset."""
    infos = zf.infolist()
    if len({i.filename for i in infos}) != len(infos):
        raise UnreadableFile("input.damaged_part", path=path, part=_duplicate(infos))
    total = 0
    offsets: dict[str, int] = {}
    for info in infos:
        if info.flag_bits & 0x1:
            raise UnreadableFile("format.zip_encrypted", path=path)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnsafeFile(
                "unsafe.zip_method", path=path, part=info.filename, method=info.compress_type
            )
        limit = part_limit(info.filename)
        if info.file_size > limit:
            raise UnsafeFile(
                "unsafe.part_too_large", path=path, part=info.filename, limit=_mb(limit)
            )
        total += info.file_size
        if total > MAX_UNPACKED_BYTES:
            raise UnsafeFile("unsafe.unpacked_too_large", path=path, limit=_mb(MAX_UNPACKED_BYTES))
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * info.compress_size:
            raise UnsafeFile("unsafe.bomb_ratio", path=path, part=info.filename, ratio=MAX_RATIO)
        try:
            offsets[info.filename] = _data_offset(data, info)
        except (ValueError, struct.error) as exc:
            raise UnreadableFile("input.damaged_part", path=path, part=info.filename) from exc
        if offsets[info.filename] + info.compress_size > len(data):
            raise UnreadableFile("input.truncated", path=path)
    spans = sorted(
        (info.header_offset, offsets[info.filename] + info.compress_size) for info in infos
    )
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start < end:
            raise UnsafeFile("unsafe.overlap", path=path)
    return offsets


# --- What the package is ------------------------------------------------------------------------


def _small_part(zf: zipfile.ZipFile, name: str, limit: int = 64 * 1024) -> bytes:
    """The first bytes of a small part, for identification (never more than limit)."""
    try:
        with zf.open(name) as fh:
            return fh.read(limit)
    except Exception:  # identification falls back to names; the full pass reports damage
        return b""


def _package_kind(zf: zipfile.ZipFile, path: Path) -> Kind:
    names = set(zf.namelist())
    types = _small_part(zf, "[Content_Types].xml", MiB) if "[Content_Types].xml" in names else b""
    if "xl/workbook.bin" in names or _XLSB_TYPE in types:
        raise UnreadableFile("format.xlsb", path=path)
    if "mimetype" in names:
        mimetype = _small_part(zf, "mimetype", 200).strip()
        if mimetype == b"application/vnd.oasis.opendocument.spreadsheet":
            raise UnreadableFile("format.ods", path=path)
        if mimetype.startswith(b"application/vnd.oasis.opendocument."):
            raise UnreadableFile("format.odf", path=path)
    if "xl/workbook.xml" not in names and not any(t in types for t in _SPREADSHEET_TYPES):
        if "word/document.xml" in names:
            raise UnreadableFile("format.docx", path=path)
        if "ppt/presentation.xml" in names:
            raise UnreadableFile("format.pptx", path=path)
        raise UnreadableFile("format.zip", path=path)
    macro = b"macroEnabled" in types or "xl/vbaProject.bin" in names
    return "xlsm" if macro else "xlsx"


# --- Inflating and scanning every part ----------------------------------------------------------


class _Oversize(Exception):
    """An entry inflated past its cap."""


def _inflate(data: bytes, info: zipfile.ZipInfo, offset: int, cap: int) -> Iterator[bytes]:
    """An entry's content in chunks of at most CHUNK_BYTES. Raises _Oversize the moment it
    passes cap (its limit), and ValueError when its size or CRC differs from the directory's
    (a part inflating past its declared size but not its cap is damaged, not a bomb)."""
    raw = memoryview(data)[offset : offset + info.compress_size]
    produced, crc = 0, 0
    if info.compress_type == zipfile.ZIP_STORED:
        for i in range(0, len(raw), CHUNK_BYTES):
            piece = bytes(raw[i : i + CHUNK_BYTES])
            produced += len(piece)
            crc = zlib.crc32(piece, crc)
            yield piece
    elif raw:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        for i in range(0, len(raw), CHUNK_BYTES):
            pending = bytes(raw[i : i + CHUNK_BYTES])
            while True:
                piece = inflater.decompress(pending, CHUNK_BYTES)
                pending = inflater.unconsumed_tail
                produced += len(piece)
                if produced > cap:
                    raise _Oversize
                crc = zlib.crc32(piece, crc)
                if piece and produced <= info.file_size:  # past it, only counted
                    yield piece
                # more output may be waiting while the output step was full
                if inflater.eof or not (pending or len(piece) == CHUNK_BYTES):
                    break
            if inflater.eof:
                break
        if not inflater.eof:
            raise ValueError("deflate stream ends early")
    if produced != info.file_size or crc != info.CRC:
        raise ValueError("size or CRC differs from the directory")


class _Scanner:
    """Scans one part's text as it streams by, splitting chunks after the last '>' so that
    no tag is cut in two: DTD declarations, encodings, cells, rows and merged ranges."""

    CARRY_LIMIT = 1 * MiB

    def __init__(self, name: str) -> None:
        self.name = name
        self.worksheet = bool(_WORKSHEET_PART.match(name))
        self.xml = name.lower().endswith((".xml", ".rels"))
        self.carry = b""
        self.decoder: codecs.IncrementalDecoder | None = None
        self.started = False
        self.cells = 0
        self.beyond_grid = False
        self.dtd = False
        self.bad_encoding: str | None = None
        self.strict = False

    def feed(self, chunk: bytes) -> None:
        if not self.started:
            self.started = True
            self._start(chunk)
        if self.decoder is not None:
            chunk = self.decoder.decode(chunk).encode("utf-8")
        buf = self.carry + chunk
        cut = buf.rfind(b">") + 1
        # A defined name's text follows its opening tag: keep an unfinished one (no "<" yet
        # after it) whole for the next step.
        name = buf.rfind(b"definedName", 0, cut)
        if name >= 0 and buf.find(b"<", name, cut) == -1:
            tag = buf.rfind(b"<", 0, name)
            if buf[tag + 1 : tag + 2] != b"/":  # not the closing tag
                cut = max(tag, 0)
        if cut == 0 and len(buf) > self.CARRY_LIMIT:  # a huge run with no tag end
            cut = max(buf.rfind(b"<"), len(buf) - 64)
        self._scan(buf[:cut])
        self.carry = buf[cut:]

    def close(self) -> None:
        if self.decoder is not None:
            self.carry += self.decoder.decode(b"", final=True).encode("utf-8")
        self._scan(self.carry)
        self.carry = b""

    def _start(self, head: bytes) -> None:
        if head.startswith(
            (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\x00\x00\x00<", b"<\x00\x00\x00")
        ):
            self.bad_encoding = "UTF-32"
        elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
            self.decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        elif head.startswith(b"<\x00"):
            self.decoder = codecs.getincrementaldecoder("utf-16-le")(errors="replace")
        elif head.startswith(b"\x00<"):
            self.decoder = codecs.getincrementaldecoder("utf-16-be")(errors="replace")
        else:
            text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
            decl = _XML_DECL.match(text)
            if decl is not None and not _ascii_compatible(decl.group(1).decode("ascii")):
                self.bad_encoding = decl.group(1).decode("ascii")
            elif self.xml and text and not text.startswith(b"<"):
                # An XML part begins with "<" in every encoding the scan can read: anything
                # else (EBCDIC's 4C 6F A7 94 for "<?xm") could hide a DTD from it.
                self.bad_encoding = f"0x{text[:4].hex().upper()}"
        self.strict = _STRICT_NS in head[:4096]

    def _scan(self, text: bytes) -> None:
        if not text:
            return
        if b"&#" in text:
            text = _CHAR_REF.sub(_ascii_reference, text)
        if b"<!" in text and _DTD.search(text):
            self.dtd = True
        if self.worksheet:
            # <c ...> and <row ...>, not <col>, <cfRule>, <conditionalFormatting>, <rowBreaks>:
            # a part with many conditional formats must not look like more cells than it has.
            self.cells += sum(text.count(b"<c" + end) + text.count(b"<row" + end) for end in _ENDS)
            if b":c" in text or b":row" in text:
                self.cells += len(_PREFIXED_CELL_OR_ROW.findall(text))
            if b"mergeCell" in text:
                for ref in _MERGE.findall(text):
                    self.cells += _area(ref)
            for m in _FAR_REFERENCE.finditer(text):
                if m.start() == 0 or text[m.start() - 1] not in b" \t\r\n":
                    continue  # operator="greaterThan" and the like
                ref = m.group(1)
                digits = ref.lstrip(b"$ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
                letters = ref[: len(ref) - len(digits)].strip(b"$")
                if _column(letters) > EXCEL_COLUMNS or int(digits.strip(b"$") or 0) > EXCEL_ROWS:
                    self.beyond_grid = True
        if b"definedName" in text:
            for attrs, target in _DEFINED_NAME.findall(text):
                if b":" in target and b'name="_xlnm.' not in attrs:
                    unquoted = _QUOTED_SHEET.sub(b"", target)
                    self.cells += sum(_area(r) for r in _EXPLICIT_RANGE.findall(unquoted))


#: Encodings (Python codec names) in which an ASCII character can only be written as its ASCII
#: byte, so the byte scan sees any <!DOCTYPE: UTF-8 and the ASCII-based single- and double-byte
#: sets. Not UTF-7, UTF-16/32 (decoded before scanning), EBCDIC or ISO-2022 with its escapes.
_SCANNABLE_ENCODING = re.compile(
    r"(utf-8|ascii|iso8859-\d+|cp125\d|koi8-[ru]|gb2312|gbk|gb18030|big5(hkscs)?|cp9(32|36|49|50)"
    r"|shift_jis|euc_(jp|kr))\Z"
)


def _ascii_reference(m: re.Match[bytes]) -> bytes:
    code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
    return bytes([code]) if 32 < code < 127 and code not in b"<>&" else m.group(0)


def _ascii_compatible(encoding: str) -> bool:
    """True when the declared encoding writes markup as plain ASCII bytes, so the byte scan
    sees a <!DOCTYPE. (OOXML itself allows only UTF-8 and UTF-16.)"""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    return bool(_SCANNABLE_ENCODING.match(name))


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _area(ref: bytes) -> int:
    """Cells in a merged range like A1:C3 (0 when it cannot be read)."""
    m = _AREA.fullmatch(ref.strip())
    if m is None:
        return 0
    c1, r1, c2, r2 = m.groups()
    if c2 is None or r2 is None:
        return 1
    return (abs(_column(c2) - _column(c1)) + 1) * (abs(int(r2) - int(r1)) + 1)


def _scan_parts(
    zf: zipfile.ZipFile, data: bytes, offsets: dict[str, int], path: Path
) -> tuple[int, int]:
    """Inflate and scan every part; returns (unpacked bytes, cells)."""
    total, cells = 0, 0
    for info in zf.infolist():
        name = info.filename
        scanner = _Scanner(name)
        cap = min(part_limit(name), MAX_UNPACKED_BYTES - total)
        try:
            for piece in _inflate(data, info, offsets[name], cap):
                scanner.feed(piece)
                if scanner.dtd:
                    break
        except _Oversize as exc:  # its declared size passed the limits; it lied
            raise UnsafeFile("unsafe.bomb_size", path=path, part=name) from exc
        except (ValueError, zlib.error) as exc:
            raise UnreadableFile("input.damaged_part", path=path, part=name) from exc
        scanner.close()
        if scanner.dtd:
            raise UnsafeFile("unsafe.xml_dtd", path=path, part=name)
        if scanner.bad_encoding is not None:
            raise UnsafeFile(
                "unsafe.xml_encoding", path=path, part=name, encoding=scanner.bad_encoding
            )
        if scanner.strict:
            raise UnreadableFile("format.strict", path=path)
        if scanner.beyond_grid:
            raise UnsafeFile("unsafe.beyond_grid", path=path, part=name)
        total += info.file_size
        cells += scanner.cells
        if cells > MAX_CELLS:
            raise UnsafeFile("unsafe.too_many_cells", path=path, limit=f"{MAX_CELLS:,}")
    return total, cells


# --- Entry points -------------------------------------------------------------------------------


def preflight(path: Path) -> Checked:
    """Read path and check it is a spreadsheet package safe to hand to openpyxl, or raise an
    UnreadableFile / UnsafeFile error naming it. No XML parser runs here."""
    return preflight_bytes(_read(path), path)


def preflight_bytes(data: bytes, path: Path) -> Checked:
    """preflight for bytes already in memory (an upload); path only names them in messages."""
    if len(data) > MAX_FILE_BYTES:
        raise UnsafeFile(
            "unsafe.file_too_large", path=path, size=_mb(len(data)), limit=_mb(MAX_FILE_BYTES)
        )
    if not data:
        raise UnreadableFile("input.empty", path=path)
    if not data.startswith((_ZIP_LOCAL, _ZIP_END)):
        raise _sniff_not_zip(data, path)
    with _open_zip(data, path) as zf:
        offsets = _check_directory(zf, data, path)
        kind = _package_kind(zf, path)
        unpacked, cells = _scan_parts(zf, data, offsets, path)
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


def load_checked(checked: Checked, path: Path, *, data_only: bool) -> Workbook:
    """openpyxl's workbook from bytes that passed preflight (path only names the file in
    messages). A caller that needs the package again (cached results, say) can read
    `checked.data` instead of reopening the file, which might have changed meanwhile."""
    _check_xml_defences(path)
    from defusedxml import DefusedXmlException

    try:
        with warnings.catch_warnings():
            # openpyxl warns about extensions it drops (data validation lists, slicers...): those
            # are not errors for a reader.
            warnings.simplefilter("ignore")
            return fastload.load(checked.data, data_only=data_only)  # see workbook/fastload.py
    except MemoryError as exc:
        raise UnsafeFile("unsafe.memory", path=path) from exc
    except Exception as exc:  # any parser failure on untrusted input is a damaged file
        if _in_chain(exc, (DefusedXmlException,)):
            raise UnsafeFile("unsafe.xml_forbidden", path=path) from exc
        raise UnreadableFile("input.damaged", path=path, reason=type(exc).__name__) from exc
