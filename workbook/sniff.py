"""What an input file is, from its bytes, never its name: read it (size-capped), tell a zip
package from an OLE file (old .xls, encrypted OOXML), CSV, HTML or text, open the zip's
directory and name the package's kind (xlsx/xlsm, or xlsb, ods, docx ...)."""

from __future__ import annotations

import codecs
import io
import os
import stat
import struct
import zipfile
from pathlib import Path
from typing import Literal

from workbook import limits
from workbook.errors import OpsbookError, UnreadableFile, UnsafeFile

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_LOCAL = b"PK\x03\x04"
ZIP_END = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END = b"PK\x06\x06"

_SPREADSHEET_TYPES = (
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    b"application/vnd.ms-excel.template.macroEnabled.main+xml",
)
_XLSB_TYPE = b"application/vnd.ms-excel.sheet.binary.macroEnabled.main"
STRICT_NS = b"http://purl.oclc.org/ooxml/spreadsheetml/main"

Kind = Literal["xlsx", "xlsm"]


# --- Reading and sniffing -----------------------------------------------------------------------


def read_file(path: Path) -> bytes:
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
    if st.st_size > limits.MAX_FILE_BYTES:
        raise UnsafeFile(
            "unsafe.file_too_large", path=path, size=mb(st.st_size), limit=mb(limits.MAX_FILE_BYTES)
        )
    try:
        with open(path, "rb") as fh:
            data = fh.read(limits.MAX_FILE_BYTES + 1)
    except PermissionError as exc:
        raise UnreadableFile("input.no_permission", path=path) from exc
    except OSError as exc:
        raise UnreadableFile("input.cannot_read", path=path, reason=_reason(exc)) from exc
    if len(data) > limits.MAX_FILE_BYTES:  # it grew while we looked
        raise UnsafeFile(
            "unsafe.file_too_large", path=path, size=mb(len(data)), limit=mb(limits.MAX_FILE_BYTES)
        )
    return data


def _reason(exc: OSError | ValueError) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or type(exc).__name__


def mb(n: int) -> str:
    """Bytes as megabytes for a message: 50, 20.5."""
    return f"{n / limits.MiB:.1f}".removesuffix(".0")


def sniff_not_zip(data: bytes, path: Path) -> OpsbookError:
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
    pos = data.rfind(ZIP_END, max(0, len(data) - 22 - 0xFFFF))
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


def open_zip(data: bytes, path: Path) -> zipfile.ZipFile:
    end = _zip_end(data)
    if end is None:
        if data.startswith(ZIP_LOCAL):
            raise UnreadableFile("input.truncated", path=path)
        raise sniff_not_zip(data, path)
    entries, cd_size = end
    if entries > limits.MAX_ENTRIES or cd_size > limits.MAX_DIRECTORY_BYTES:
        raise UnsafeFile(
            "unsafe.too_many_parts",
            path=path,
            count=f"{entries:,}",
            limit=f"{limits.MAX_ENTRIES:,}",
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # zipfile raises BadZipFile, but also ValueError, UnicodeError...
        if data.startswith(ZIP_LOCAL):
            raise UnreadableFile("input.damaged", path=path, reason=type(exc).__name__) from exc
        raise sniff_not_zip(data, path) from exc
    if len(zf.infolist()) > limits.MAX_ENTRIES:
        raise UnsafeFile(
            "unsafe.too_many_parts",
            path=path,
            count=f"{len(zf.infolist()):,}",
            limit=f"{limits.MAX_ENTRIES:,}",
        )
    return zf


# --- What the package is ------------------------------------------------------------------------


def _small_part(zf: zipfile.ZipFile, name: str, limit: int = 64 * 1024) -> bytes:
    """The first bytes of a small part, for identification (never more than limit)."""
    try:
        with zf.open(name) as fh:
            return fh.read(limit)
    except Exception:  # identification falls back to names; the full pass reports damage
        return b""


def package_kind(zf: zipfile.ZipFile, path: Path) -> Kind:
    names = set(zf.namelist())
    types = (
        _small_part(zf, "[Content_Types].xml", limits.MiB)
        if "[Content_Types].xml" in names
        else b""
    )
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
