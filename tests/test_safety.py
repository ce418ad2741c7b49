"""workbook/safety.py piece by piece: identification, the zip checks, the streaming scan, the XML
defences. The corpus (tests/test_bad_inputs.py) covers the same ground end to end."""

from __future__ import annotations

import io
import itertools
import os
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import badfiles
from tests.badfiles import RawEntry, repack, sample_bytes, zip_parts
from workbook import limits, safety, sniff, zipscan
from workbook.errors import OpsbookError, UnreadableFile, UnsafeFile


def _write(tmp_path: Path, data: bytes, name: str = "book.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _refusal(path: Path) -> OpsbookError:
    with pytest.raises(OpsbookError) as caught:
        safety.preflight(path)
    return caught.value


def _with_part(name: str, content: bytes) -> bytes:
    parts = zip_parts(sample_bytes())
    parts[name] = content
    return repack(parts)


# --- The sample passes, cheaply -----------------------------------------------------------------


def test_the_sample_passes_and_what_was_checked_is_what_openpyxl_reads(tmp_path: Path) -> None:
    path = _write(tmp_path, sample_bytes())
    checked = safety.preflight(path)
    assert checked.data == path.read_bytes()
    assert checked.kind == "xlsx"
    assert checked.parts == len(zip_parts(sample_bytes()))
    assert checked.unpacked_bytes == sum(len(v) for v in zip_parts(sample_bytes()).values())
    wb = safety.load_checked(checked, path, data_only=True)
    assert "_opsbook" in wb.sheetnames


def test_preflight_runs_no_xml_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xml.etree.ElementTree as stdlib_et

    import defusedxml.ElementTree as defused_et
    from lxml import etree

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("an XML parser ran during preflight")

    for module, name in [
        (etree, "fromstring"), (etree, "parse"), (etree, "iterparse"), (etree, "XMLParser"),
        (stdlib_et, "XMLParser"), (stdlib_et, "iterparse"), (defused_et, "iterparse"),
        (defused_et, "fromstring"),
    ]:  # fmt: skip
        monkeypatch.setattr(module, name, forbidden)
    assert safety.preflight(_write(tmp_path, sample_bytes())).kind == "xlsx"


def test_cells_are_never_under_counted(tmp_path: Path) -> None:
    """The cell budget counts every <c> and <row> openpyxl would create, prefixed or not."""
    parts = zip_parts(sample_bytes())
    sheets = [n for n in parts if n.startswith("xl/worksheets/sheet")]
    actual = sum(parts[n].count(b"<c ") + parts[n].count(b"<row ") for n in sheets)
    merged = 0
    for n in sheets:
        for ref in zipscan._MERGE.findall(parts[n]):
            merged += zipscan.area(ref)
    # and every cell of a named range (a stretched name would make openpyxl walk them all)
    named = sum(
        zipscan.area(r)
        for _, target in zipscan._DEFINED_NAME.findall(parts["xl/workbook.xml"])
        if b":" in target
        for r in zipscan._EXPLICIT_RANGE.findall(zipscan._QUOTED_SHEET.sub(b"", target))
    )
    counted = safety.preflight(_write(tmp_path, sample_bytes())).cells
    assert actual + merged + named <= counted <= (actual + merged + named) * 1.1
    # The same sheets written with an x: prefix, as some programs do.
    main_ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    for n in sheets:
        body = parts[n].replace(main_ns, main_ns.replace(b"xmlns=", b"xmlns:x="))
        for tag in (b"c", b"row", b"sheetData", b"mergeCell", b"v", b"f"):
            body = body.replace(b"<" + tag + b" ", b"<x:" + tag + b" ")
            body = body.replace(b"<" + tag + b">", b"<x:" + tag + b">")
            body = body.replace(b"</" + tag + b">", b"</x:" + tag + b">")
        parts[n] = body
    prefixed = safety.preflight(_write(tmp_path, repack(parts), "prefixed.xlsx")).cells
    assert prefixed >= actual + merged


@pytest.mark.parametrize(
    ("ref", "cells"), [(b"A1:C3", 9), (b"$B$2:$B$5", 4), (b"F1:XFD1048576", 16379 * 1048576),
                       (b"C3", 1), (b"not-a-ref", 0)]
)  # fmt: skip
def test_merged_areas(ref: bytes, cells: int) -> None:
    assert zipscan.area(ref) == cells


def test_too_many_cells_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_CELLS", 1000)
    refusal = _refusal(_write(tmp_path, sample_bytes()))
    assert isinstance(refusal, UnsafeFile) and refusal.key == "unsafe.too_many_cells"


# --- Identification -----------------------------------------------------------------------------


def test_the_hand_written_compound_file_is_valid(tmp_path: Path) -> None:
    """olefile (msoffcrypto-tool's own reader) reads the corpus's .xls like safety.py does."""
    import olefile

    data = badfiles.cfb({"Workbook": badfiles.biff8_workbook_stream(), "\x05Summary": b"x"})
    ole = olefile.OleFileIO(io.BytesIO(data))
    assert sorted("/".join(e) for e in ole.listdir()) == ["\x05Summary", "Workbook"]
    assert ole.openstream("Workbook").read(4) == b"\x09\x08\x10\x00"
    assert sniff.ole_stream_names(data) == {"Workbook", "\x05Summary"}
    assert sniff.ole_kind(data) == "xls"


def test_a_real_encrypted_workbook_is_recognised(tmp_path: Path) -> None:
    import olefile

    path = badfiles.encrypted(tmp_path).input
    data = path.read_bytes()
    names = {e[-1] for e in olefile.OleFileIO(io.BytesIO(data)).listdir()}
    assert {"EncryptionInfo", "EncryptedPackage"} <= names
    assert {"EncryptionInfo", "EncryptedPackage"} <= (sniff.ole_stream_names(data) or set())
    assert sniff.ole_kind(data) == "encrypted"


@pytest.mark.parametrize(
    "data",
    [
        badfiles.cfb({"WordDocument": b"w"}),
        badfiles.cfb({"Workbook": b"x"})[:700],  # truncated inside the directory
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 600,  # a header of nonsense
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    ],
)
def test_other_or_broken_compound_files_are_old_office_files(data: bytes, tmp_path: Path) -> None:
    assert sniff.ole_kind(data) == "ole"
    assert _refusal(_write(tmp_path, data)).key == "format.ole"


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ("店铺,GMV\n山岚,1\n".encode("gb18030"), "format.text"),
        ("店铺\tGMV\n山岚\t1\n".encode("utf-16"), "format.text"),
        (b"<?xml version='1.0'?><Workbook xmlns='urn:schemas-microsoft-com:office:spreadsheet'/>",
         "format.markup"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00\x01\x02", "format.unknown"),
        (b"PK\x05\x06" + bytes(18), "format.zip"),  # an empty zip
    ],
)  # fmt: skip
def test_what_a_non_workbook_looks_like(content: bytes, key: str, tmp_path: Path) -> None:
    refusal = _refusal(_write(tmp_path, content))
    assert isinstance(refusal, UnreadableFile) and refusal.key == key


def test_pptx_and_other_odf_files_are_named(tmp_path: Path) -> None:
    pptx = repack({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p/>"})
    assert _refusal(_write(tmp_path, pptx, "a.xlsx")).key == "format.pptx"
    odt = io.BytesIO()
    with zipfile.ZipFile(odt, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    assert _refusal(_write(tmp_path, odt.getvalue(), "b.xlsx")).key == "format.odf"


def test_a_macro_workbook_is_accepted_as_xlsm(tmp_path: Path) -> None:
    parts = zip_parts(sample_bytes())
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    checked = safety.preflight(_write(tmp_path, repack(parts), "macro.xlsm"))
    assert checked.kind == "xlsm"
    assert safety.load_checked(checked, tmp_path / "macro.xlsm", data_only=False).sheetnames


# --- Reading the file ---------------------------------------------------------------------------


def test_a_pipe_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    assert _refusal(fifo).key == "input.not_a_file"  # and did not block waiting for a writer


def test_a_path_through_a_file_is_unreadable(tmp_path: Path) -> None:
    path = _write(tmp_path, sample_bytes()) / "inside.xlsx"
    refusal = _refusal(path)
    assert refusal.key == "input.cannot_read"
    assert refusal.params["reason"] == os.strerror(20)  # ENOTDIR


# --- The zip directory --------------------------------------------------------------------------


def _raw(tmp_path: Path, entries: list[RawEntry], *, share: bool = False) -> Path:
    path = tmp_path / "raw.xlsx"
    with path.open("wb") as fh:
        badfiles.write_raw_zip(fh, entries, share_data=share)
    return path


def _deflated(
    name: str, content: bytes, declared: int | None = None, crc: int | None = None
) -> RawEntry:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    packed = c.compress(content) + c.flush()
    return RawEntry(
        name, lambda: [packed], len(packed), len(content) if declared is None else declared,
        zlib.crc32(content) if crc is None else crc,
    )  # fmt: skip


def _sample_with(*extra: RawEntry) -> list[RawEntry]:
    return [_deflated(n, c) for n, c in zip_parts(sample_bytes()).items()] + list(extra)


def test_declared_sizes_over_the_limits_are_refused_before_inflating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = b"<x>" + b"0123456789" * 100_000 + b"</x>"  # 1 MB, compresses well under 200 to 1
    monkeypatch.setattr(limits, "MAX_TREE_PART_BYTES", 500_000)
    path = _raw(tmp_path, _sample_with(_deflated("xl/theme/big.xml", big)))
    assert _refusal(path).key == "unsafe.part_too_large"
    monkeypatch.setattr(limits, "MAX_TREE_PART_BYTES", 8 << 20)
    monkeypatch.setattr(limits, "MAX_UNPACKED_BYTES", 1_000_000)
    assert _refusal(path).key == "unsafe.unpacked_too_large"


def test_a_part_shorter_than_declared_or_with_a_bad_crc_is_damaged(tmp_path: Path) -> None:
    body = b"<r>" + b"a" * 5000 + b"</r>"
    short = _raw(tmp_path, _sample_with(_deflated("xl/extra.xml", body, declared=6000)))
    refusal = _refusal(short)
    assert refusal.key == "input.damaged_part" and refusal.params["part"] == "xl/extra.xml"
    bad_crc = _raw(tmp_path, _sample_with(_deflated("xl/extra.xml", body, crc=1234)))
    assert _refusal(bad_crc).key == "input.damaged_part"


def test_a_corrupt_deflate_stream_is_damaged(tmp_path: Path) -> None:
    data = bytearray(sample_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("xl/worksheets/sheet3.xml")
    start = info.header_offset + 30 + len(info.filename.encode())
    data[start + 100 : start + 140] = bytes(40)
    assert _refusal(_write(tmp_path, bytes(data))).key == "input.damaged_part"


def test_overlapping_entries_are_refused(tmp_path: Path) -> None:
    content = b"<x>" + os.urandom(3000).hex().encode() + b"</x>"  # ratio ~2: only overlap is wrong
    entries = [_deflated(f"xl/media/p{i}.xml", content) for i in range(3)]
    assert _refusal(_raw(tmp_path, entries, share=True)).key == "unsafe.overlap"


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_compression_other_than_deflate_is_refused(method: int, tmp_path: Path) -> None:
    parts = zip_parts(sample_bytes())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(name, content, method if name == "xl/styles.xml" else zipfile.ZIP_DEFLATED)
    refusal = _refusal(_write(tmp_path, out.getvalue()))
    assert refusal.key == "unsafe.zip_method" and refusal.params["method"] == method


def test_zip_encryption_and_duplicate_parts(tmp_path: Path) -> None:
    data = bytearray(sample_bytes())
    cd = data.rfind(b"PK\x05\x06")
    (cd_start,) = struct.unpack_from("<I", data, cd + 16)
    struct.pack_into("<H", data, cd_start + 8, 0x1)  # the first entry's "encrypted" flag
    assert _refusal(_write(tmp_path, bytes(data))).key == "format.zip_encrypted"

    twice = _raw(tmp_path, _sample_with(_deflated("xl/styles.xml", b"<styleSheet/>")))
    refusal = _refusal(twice)
    assert refusal.key == "input.damaged_part" and refusal.params["part"] == "xl/styles.xml"


def test_an_end_record_that_lies_about_the_count_still_bounds_the_directory(
    tmp_path: Path,
) -> None:
    """5,000 entries whose end record claims 10: the directory size gives them away."""
    path = _raw(tmp_path, _sample_with(*(badfiles._stored(f"m/{i}.bin", b"") for i in range(5000))))
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 10, 10)
    data_path = _write(tmp_path, bytes(data), "lying-count.xlsx")
    refusal = _refusal(data_path)
    assert refusal.key == "unsafe.too_many_parts"


# --- XML in the parts ---------------------------------------------------------------------------

DTD = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r>&e;</r>'


@pytest.mark.parametrize(
    "content",
    [
        DTD,
        DTD.decode().encode("utf-16"),  # with a BOM
        DTD.decode().encode("utf-16-le"),  # without
        b"<!-- " + b"x" * (64 * 1024 - 12) + b" --><!DOCTYPE r><r/>",  # across a 64 KiB step
    ],
)
def test_a_dtd_anywhere_is_refused(content: bytes, tmp_path: Path) -> None:
    refusal = _refusal(_write(tmp_path, _with_part("docProps/extra.xml", content)))
    assert refusal.key == "unsafe.xml_dtd" and refusal.params["part"] == "docProps/extra.xml"


@pytest.mark.parametrize(
    ("content", "refused"),
    [
        (b'<?xml version="1.0" encoding="UTF-7"?><r/>', True),
        (b'<?xml version="1.0" encoding="cp037"?><r/>', True),  # EBCDIC
        ('<?xml version="1.0" encoding="cp037"?><!DOCTYPE r><r/>'.encode("cp037"), True),
        (b"\xef\xbb\xbf  \n<r/>", False),  # a BOM and blank space before the first tag
        (b'<?xml version="1.0" encoding="no-such-codec"?><r/>', True),
        ("<r/>".encode("utf-32"), True),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?><r>caf\xe9</r>', False),  # ASCII-based
        (b'<?xml version="1.0" encoding="GB18030"?><r/>', False),
    ],
)
def test_encodings_that_could_hide_a_dtd_are_refused(
    content: bytes, refused: bool, tmp_path: Path
) -> None:
    path = _write(tmp_path, _with_part("docProps/extra.xml", content))
    if refused:
        assert _refusal(path).key == "unsafe.xml_encoding"
    else:
        assert safety.preflight(path).kind == "xlsx"


def test_the_xml_defences_are_active_and_checked_by_behaviour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import xml.etree.ElementTree as stdlib_et

    from openpyxl.xml import functions

    safety.xml_defences_active.cache_clear()
    assert safety.xml_defences_active()
    monkeypatch.setattr(functions, "iterparse", stdlib_et.iterparse)  # defusedxml bypassed
    safety.xml_defences_active.cache_clear()
    try:
        assert not safety.xml_defences_active()
    finally:
        monkeypatch.undo()
        safety.xml_defences_active.cache_clear()
    assert safety.xml_defences_active()


def test_without_defences_nothing_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(safety, "xml_defences_active", lambda: False)
    path = _write(tmp_path, sample_bytes())
    with pytest.raises(UnsafeFile) as caught:
        safety.open_checked(path, data_only=True)
    assert caught.value.key == "unsafe.no_defusedxml"


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "xl/worksheets/sheet2.xml"])
def test_a_dtd_that_reached_openpyxl_would_be_refused_by_defusedxml(
    part: str, tmp_path: Path
) -> None:
    """The second line: bytes that skipped preflight, parsed by openpyxl's defusedxml."""
    parts = zip_parts(sample_bytes())
    body = parts[part]
    parts[part] = body.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY e "boom">]>', 1)
    data = repack(parts)
    checked = safety.Checked(data=data, kind="xlsx", parts=len(parts), unpacked_bytes=0, cells=0)
    with pytest.raises(UnsafeFile) as caught:
        safety.load_checked(checked, tmp_path / "x.xlsx", data_only=False)
    assert caught.value.key == "unsafe.xml_forbidden"


def test_whole_tree_parts_never_expand_entities(tmp_path: Path) -> None:
    """workbook.xml goes through lxml, not defusedxml: its entities stay unexpanded."""
    parts = zip_parts(sample_bytes())
    parts["xl/workbook.xml"] = (
        parts["xl/workbook.xml"]
        .replace(b"?>", b'?><!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/hostname">]>', 1)
        .replace(b'<sheet name="', b'<sheet name="&e;', 1)
    )
    checked = safety.Checked(repack(parts), "xlsx", len(parts), 0, 0)
    try:
        wb = safety.load_checked(checked, tmp_path / "x.xlsx", data_only=False)
    except OpsbookError as exc:
        assert exc.key in ("input.damaged", "unsafe.xml_forbidden")
    else:
        hostname = (
            Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "?"
        )
        assert not any(hostname and hostname in name for name in wb.sheetnames)


def test_the_second_line_also_names_a_damaged_part(tmp_path: Path) -> None:
    checked = safety.Checked(
        _with_part("xl/styles.xml", b"<styleSheet><unclosed>"), "xlsx", 0, 0, 0
    )
    with pytest.raises(UnreadableFile) as caught:
        safety.load_checked(checked, tmp_path / "x.xlsx", data_only=False)
    assert caught.value.key == "input.damaged"
    assert "\n" not in caught.value.message("en")


def test_exception_chains_are_followed() -> None:
    from defusedxml import EntitiesForbidden

    try:
        try:
            raise EntitiesForbidden("e", None, None, None, None, None)
        except ValueError as inner:
            raise ValueError("Unable to read workbook") from inner
    except ValueError as outer:
        assert safety._in_chain(outer, (EntitiesForbidden,))
    assert not safety._in_chain(KeyError("x"), (EntitiesForbidden,))


# --- The grid and named ranges ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fragment", "beyond"),
    [
        (b'<c r="XFD1048576"/>', False),  # Excel's last cell
        (b'<row r="1048577"><c r="A1048577"/></row>', True),
        (b"<c r='B2000000' s='1'/>", True),
        (b'<c r="AAAA1"/>', True),
        (b'<row r="12" spans="1:4"/>', False),
    ],
)
def test_cells_past_excels_grid_are_refused(fragment: bytes, beyond: bool) -> None:
    scanner = zipscan.Scanner("xl/worksheets/sheet1.xml")
    scanner.feed(b"<worksheet><sheetData>" + fragment + b"</sheetData></worksheet>")
    scanner.close()
    assert scanner.beyond_grid is beyond


def test_named_ranges_count_toward_the_cells_but_print_areas_do_not() -> None:
    def cells(names: bytes) -> int:
        scanner = zipscan.Scanner("xl/workbook.xml")
        scanner.feed(b"<workbook><definedNames>" + names + b"</definedNames></workbook>")
        scanner.close()
        return scanner.cells

    assert cells(b"<definedName name=\"t\">'A1:B2 odd'!$A$24:$E$33</definedName>") == 50
    assert cells(b'<definedName name="one">Sheet1!$B$3</definedName>') == 0
    assert cells(b'<definedName name="col">Sheet1!$A:$A</definedName>') == 0  # never read
    area = b'<definedName name="_xlnm.Print_Area" localSheetId="0">S!$A$1:$Z$1048576</definedName>'
    assert cells(area) == 0
    huge = b'<definedName name="t">S!$A$1:$E$1048576</definedName>'
    assert cells(huge) == 5 * 1048576


@pytest.mark.parametrize(
    ("part", "fragment"),
    [
        ("xl/workbook.xml", b'<definedName name="t">S!$A$1:$E$33000000000</definedName>'),
        ("xl/workbook.xml", b'<definedName name="t">S!$A$1:$E$&#51;&#x33;0000</definedName>'),
        ("xl/worksheets/sheet1.xml", b'<mergeCell ref="A1:B99999999"/>'),
        ("xl/worksheets/sheet1.xml", b'<mergeCell ref=" A1:XFD&#49;048576 "/>'),
    ],
)
def test_long_or_encoded_references_are_counted_in_full(part: str, fragment: bytes) -> None:
    """No bound on digits and no character reference hides a range from the count."""
    scanner = zipscan.Scanner(part)
    scanner.feed(b"<x>" + fragment + b"</x>")
    scanner.close()
    assert scanner.cells > limits.MAX_CELLS


def test_an_encoded_far_row_is_seen() -> None:
    scanner = zipscan.Scanner("xl/worksheets/sheet1.xml")
    scanner.feed(b'<sheetData><row r="&#50;000000"><c r="A&#x32;000000"/></row></sheetData>')
    scanner.close()
    assert scanner.beyond_grid


@given(cuts=st.lists(st.integers(1, 4000), min_size=1, max_size=60))
@settings(max_examples=60, deadline=None, derandomize=True, database=None)
def test_the_scan_does_not_depend_on_where_the_chunks_end(cuts: list[int]) -> None:
    """Every finding is the same whether a part arrives whole or in pieces of any size."""
    parts = zip_parts(sample_bytes())
    sheet = parts["xl/worksheets/sheet3.xml"].replace(
        b"</sheetData>", b'<row r="2000000"><c r="A&#50;000000"/></row></sheetData>'
    )
    names = parts["xl/workbook.xml"].replace(
        b"</definedNames>",
        b'<definedName name="big">S!$A$1:$E$1048576</definedName></definedNames>',
    )
    dtd = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>'
    for name, text in (("xl/worksheets/sheet3.xml", sheet), ("xl/workbook.xml", names),
                       ("docProps/x.xml", dtd)):  # fmt: skip
        whole, pieces = zipscan.Scanner(name), zipscan.Scanner(name)
        whole.feed(text)
        whole.close()
        at = 0
        for size in itertools.cycle(cuts):
            if at >= len(text):
                break
            pieces.feed(text[at : at + size])
            at += size
        pieces.close()
        found = [(s.cells, s.beyond_grid, s.dtd) for s in (whole, pieces)]
        assert found[0] == found[1], name
