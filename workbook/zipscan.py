"""Inflate and scan every part of a zip package before any XML parser runs: declared sizes,
positions and ratios first, then each part inflated in steps with its own cap, its real size and
CRC verified, while a byte scan refuses DTDs and entities, encodings that could hide them and
cells past Excel's grid, and counts the cells openpyxl would create (workbook.safety)."""

from __future__ import annotations

import codecs
import itertools
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from workbook import limits
from workbook.errors import UnreadableFile, UnsafeFile
from workbook.sniff import STRICT_NS, ZIP_LOCAL, mb

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


def _data_offset(data: bytes, info: zipfile.ZipInfo) -> int:
    """Where an entry's compressed bytes start, from its local header."""
    off = info.header_offset
    if data[off : off + 4] != ZIP_LOCAL or len(data) < off + 30:
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


def check_directory(zf: zipfile.ZipFile, data: bytes, path: Path) -> dict[str, int]:
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
        limit = limits.part_limit(info.filename)
        if info.file_size > limit:
            raise UnsafeFile(
                "unsafe.part_too_large", path=path, part=info.filename, limit=mb(limit)
            )
        total += info.file_size
        if total > limits.MAX_UNPACKED_BYTES:
            raise UnsafeFile(
                "unsafe.unpacked_too_large", path=path, limit=mb(limits.MAX_UNPACKED_BYTES)
            )
        if (
            info.file_size > limits.RATIO_FLOOR_BYTES
            and info.file_size > limits.MAX_RATIO * info.compress_size
        ):
            raise UnsafeFile(
                "unsafe.bomb_ratio", path=path, part=info.filename, ratio=limits.MAX_RATIO
            )
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


# --- Inflating and scanning every part ----------------------------------------------------------


class _Oversize(Exception):
    """An entry inflated past its cap."""


def _inflate(data: bytes, info: zipfile.ZipInfo, offset: int, cap: int) -> Iterator[bytes]:
    """An entry's content in chunks of at most limits.CHUNK_BYTES. Raises _Oversize the moment it
    passes cap (its limit), and ValueError when its size or CRC differs from the directory's
    (a part inflating past its declared size but not its cap is damaged, not a bomb)."""
    raw = memoryview(data)[offset : offset + info.compress_size]
    produced, crc = 0, 0
    if info.compress_type == zipfile.ZIP_STORED:
        for i in range(0, len(raw), limits.CHUNK_BYTES):
            piece = bytes(raw[i : i + limits.CHUNK_BYTES])
            produced += len(piece)
            crc = zlib.crc32(piece, crc)
            yield piece
    elif raw:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        for i in range(0, len(raw), limits.CHUNK_BYTES):
            pending = bytes(raw[i : i + limits.CHUNK_BYTES])
            while True:
                piece = inflater.decompress(pending, limits.CHUNK_BYTES)
                pending = inflater.unconsumed_tail
                produced += len(piece)
                if produced > cap:
                    raise _Oversize
                crc = zlib.crc32(piece, crc)
                if piece and produced <= info.file_size:  # past it, only counted
                    yield piece
                # more output may be waiting while the output step was full
                if inflater.eof or not (pending or len(piece) == limits.CHUNK_BYTES):
                    break
            if inflater.eof:
                break
        if not inflater.eof:
            raise ValueError("deflate stream ends early")
    if produced != info.file_size or crc != info.CRC:
        raise ValueError("size or CRC differs from the directory")


class Scanner:
    """Scans one part's text as it streams by, splitting chunks after the last '>' so that
    no tag is cut in two: DTD declarations, encodings, cells, rows and merged ranges."""

    CARRY_LIMIT = 1 * limits.MiB

    def __init__(self, name: str) -> None:
        self.name = name
        self.worksheet = bool(limits.WORKSHEET_PART.match(name))
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
        self.strict = STRICT_NS in head[:4096]

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
                    self.cells += area(ref)
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
                    self.cells += sum(area(r) for r in _EXPLICIT_RANGE.findall(unquoted))


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


def area(ref: bytes) -> int:
    """Cells in a merged range like A1:C3 (0 when it cannot be read)."""
    m = _AREA.fullmatch(ref.strip())
    if m is None:
        return 0
    c1, r1, c2, r2 = m.groups()
    if c2 is None or r2 is None:
        return 1
    return (abs(_column(c2) - _column(c1)) + 1) * (abs(int(r2) - int(r1)) + 1)


def scan_parts(
    zf: zipfile.ZipFile, data: bytes, offsets: dict[str, int], path: Path
) -> tuple[int, int]:
    """Inflate and scan every part; returns (unpacked bytes, cells)."""
    total, cells = 0, 0
    for info in zf.infolist():
        name = info.filename
        scanner = Scanner(name)
        cap = min(limits.part_limit(name), limits.MAX_UNPACKED_BYTES - total)
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
        if cells > limits.MAX_CELLS:
            raise UnsafeFile("unsafe.too_many_cells", path=path, limit=f"{limits.MAX_CELLS:,}")
    return total, cells
