"""The cells and shared strings bound by workbook/fastcells.py are openpyxl's: cell by cell (type,
value and the value's Python type, formula flag, number format, protection, each sheet's
extent) and report by report, against a plain openpyxl load of the untouched package (the
oracle), over every cell shape a worksheet part can hold, the plain ones and those left to
openpyxl's own parser, and over what makes the lean path step aside (comments, hyperlinks,
XML comments among the rows)."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from lxml import etree
from openpyxl.comments import Comment
from openpyxl.reader.excel import ExcelReader
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from tests import badfiles
from tests.test_fastload import (
    MAIN,
    assert_same,
    edit_sheet,
    edited_first,
    input_sheet,
    outcome,
    plain_load,
)
from workbook import fastcells, fastload

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*.xlsx"))


def cells(wb: Workbook) -> list[object]:
    """Everything the reader can see of the cells, with each value's Python type (1 == 1.0)."""
    out: list[object] = []
    for ws in wb.worksheets:
        out.append((ws.title, ws.max_row, ws.max_column, ws.protection.sheet))
        for row in ws.iter_rows():
            for c in row:
                out.append((c.coordinate, type(c).__name__, type(c.value).__name__, seen(c.value)))
                out.append((c.data_type, c.number_format, c.protection.locked))
    return out


def seen(value: object) -> object:
    """A value as compared: array and data-table formulas (no equality of their own) by their
    attributes."""
    if isinstance(value, ArrayFormula | DataTableFormula):
        return sorted(vars(value).items())
    return value


def loads(data: bytes) -> tuple[list[object] | str, list[object] | str]:
    """(lean, plain) cells of data, or each load's error type."""

    def of(load: Callable[..., Workbook]) -> list[object] | str:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return cells(load(data, data_only=False))
        except Exception as exc:
            return type(exc).__name__

    return of(fastload.load), of(plain_load)


def rows_taken(data: bytes) -> int:
    return sum(len(r) for r in fastload.lean_copy(data).rows.values())


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_the_samples_rows_are_bound_here_cell_by_cell_as_openpyxl_binds_them(path: Path) -> None:
    data = path.read_bytes()
    assert rows_taken(data) > 300  # every worksheet's rows go the lean way
    lean, plain = loads(data)
    assert isinstance(lean, list)
    assert lean == plain


def append_row(*cells_xml: str, row: str = 'r="400"') -> Callable[[etree._Element], None]:
    """An edit adding one row of raw cell XML to the sheet's data."""

    def edit(root: etree._Element) -> None:
        data = root.find(f"{MAIN}sheetData")
        assert data is not None
        xml = f'<row xmlns="{badfiles.MAIN_NS}" {row}>{"".join(cells_xml)}</row>'
        data.append(etree.fromstring(xml))

    return edit


# Each a row of cells a program may write: the plain shapes parsed here, and the others that go
# to openpyxl's own cell parser. Every one reads the same both ways.
SHAPES: dict[str, tuple[str, ...]] = {
    "numbers": (
        '<c r="A400"><v>12</v></c>', '<c r="B400"><v>12.50</v></c>',
        '<c r="C400"><v>1e3</v></c>', '<c r="D400"><v>-0</v></c>',
        '<c r="E400" t="n"><v> 7 </v></c>', '<c r="F400"><v></v></c>', '<c r="G400" s="0"/>',
    ),
    "strings_and_flags": (
        '<c r="A400" t="s"><v>0</v></c>', '<c r="B400" t="str"><v>text</v></c>',
        '<c r="C400" t="b"><v>1</v></c>', '<c r="D400" t="b"><v>0</v></c>',
        '<c r="E400" t="e"><v>#N/A</v></c>', '<c r="F400" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>',
    ),
    "formulas": (
        '<c r="A400"><f>1+1</f><v>2</v></c>', '<c r="B400"><f/></c>',
        '<c r="C400"><f t="shared" ref="C400:E400" si="90">A400*2</f><v>24</v></c>',
        '<c r="D400"><f t="shared" si="90"/><v>25</v></c>',
        '<c r="E400"><f t="shared" si="90"/></c>',
        '<c r="F400"><f t="array" ref="F400">SUM(A400:B400*2)</f><v>49</v></c>',
        '<c r="G400"><f ca="1">NOW()</f><v>1</v></c>',
    ),
    "inline_and_dates": (
        '<c r="A400" t="inlineStr"><is><t>inline</t></is></c>',
        '<c r="B400" t="inlineStr"><is><r><t>ri</t></r><r><rPr><b/></rPr><t>ch</t></r></is></c>',
        '<c r="C400" t="d"><v>2026-03-31T00:00:00</v></c>',
        '<c r="D400" t="inlineStr"/>',
    ),
    "references": (
        '<c r="A400"><v>1</v></c>', "<c><v>2</v></c>", '<c r=""><v>3</v></c>',
        '<c r="e400"><v>4</v></c>', "<c><v>6</v></c>",
        '<c r="AB400"><v>7</v></c>',
    ),
    "odd_children": (
        '<c r="A400"><v>1</v><v>2</v></c>', '<c r="B400"><is><t>x</t></is><v>3</v></c>',
        '<c r="C400" cm="1" vm="1"><v>4</v></c>',
    ),
}  # fmt: skip


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_cell_shape_reads_as_openpyxl_reads_it(
    monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    sheet, _ = input_sheet()
    data = edit_sheet(badfiles.sample_bytes(), sheet, append_row(*SHAPES[shape]))
    assert rows_taken(data) > rows_taken(badfiles.sample_bytes())
    lean, plain = loads(data)
    assert isinstance(lean, list)
    assert lean == plain
    assert_same(monkeypatch, data)


ROWS: dict[str, str] = {
    "no_number": "",  # the row after the sheet's last one
    "float_number": 'r="401.0"',
    "attributes": 'r="402" spans="1:3" ht="30" customHeight="1" hidden="1"',
    # row dimensions openpyxl refuses: the file is refused alike
    "no_such_style": 'r="403" s="9999" customFormat="1"',
    "height_not_a_number": 'r="404" ht="abc" customHeight="1"',
    "outline_not_a_number": 'r="405" outlineLevel="x"',
}


@pytest.mark.parametrize("row", sorted(ROWS))
def test_rows_without_a_plain_number_read_alike(row: str) -> None:
    sheet, _ = input_sheet()
    edit = append_row("<c><v>1</v></c>", '<c t="s"><v>1</v></c>', row=ROWS[row])
    data = edit_sheet(badfiles.sample_bytes(), sheet, edit)
    assert rows_taken(data) > rows_taken(badfiles.sample_bytes())
    lean, plain = loads(data)
    assert isinstance(plain, list) == (row in ("no_number", "float_number", "attributes"))
    assert lean == plain


# Cells openpyxl refuses: the file is refused both ways, with the same error.
REFUSED: dict[str, str] = {
    "not_a_number": '<c r="A400"><v>abc</v></c>',
    "no_such_string": '<c r="A400" t="s"><v>99999</v></c>',
    "no_such_style": '<c r="A400" s="9999"><v>1</v></c>',
    "empty_style": '<c r="A400" s=""><v>1</v></c>',
    "not_a_boolean": '<c r="A400" t="b"><v>yes</v></c>',
    "dollar_reference": '<c r="$F$400"><v>5</v></c>',
}


@pytest.mark.parametrize("cell", sorted(REFUSED))
def test_a_cell_openpyxl_refuses_refuses_the_file_alike(
    monkeypatch: pytest.MonkeyPatch, cell: str
) -> None:
    sheet, _ = input_sheet()
    data = edit_sheet(badfiles.sample_bytes(), sheet, append_row(REFUSED[cell]))
    lean, plain = loads(data)
    assert isinstance(plain, str)
    assert lean == plain
    assert outcome(data, "in.xlsx")[0] == "error"
    assert_same(monkeypatch, data)


def test_the_figures_own_cell_in_other_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The figure the reader reads, written as a shared formula's dependent, an inline string
    and a boolean: the report (issues included) is the same both ways."""
    sheet, cell = input_sheet()
    for xml in (
        f'<c r="{cell}"><f t="shared" si="7"/><v>5</v></c>',
        f'<c r="{cell}" t="inlineStr"><is><t>12万</t></is></c>',
        f'<c r="{cell}" t="b"><v>1</v></c>',
        f'<c r="{cell}" t="str"><v>1,234</v></c>',
    ):

        def edit(root: etree._Element, xml: str = xml) -> None:
            old = root.find(f".//{MAIN}c[@r='{cell}']")
            assert old is not None
            new = etree.fromstring(xml.replace("<c ", f'<c xmlns="{badfiles.MAIN_NS}" ', 1))
            if "shared" in xml:  # the master of si 7, one cell to the left
                master = old.getprevious()
                assert master is not None
                etree.SubElement(
                    master, f"{MAIN}f", t="shared", ref=f"A1:{cell}", si="7"
                ).text = "1+1"
            old.getparent().replace(old, new)  # type: ignore[union-attr]

        data = edit_sheet(badfiles.sample_bytes(), sheet, edit)
        lean, plain = loads(data)
        assert lean == plain
        assert_same(monkeypatch, data)


def with_strings(edit: Callable[[etree._Element], None]) -> bytes:
    parts = badfiles.zip_parts(badfiles.sample_bytes())
    root = badfiles._xml(parts["xl/sharedStrings.xml"])
    edit(root)
    parts["xl/sharedStrings.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return badfiles.repack(parts)


def first_string(xml: str) -> Callable[[etree._Element], None]:
    """Replace the table's first string (the one every test row's t="s" index 0 points at)."""

    def edit(root: etree._Element) -> None:
        root[0] = etree.fromstring(f'<si xmlns="{badfiles.MAIN_NS}">{xml}</si>')

    return edit


STRINGS: dict[str, str] = {
    "rich_runs": "<r><t>re</t></r><r><rPr><b/></rPr><t>ch</t></r>",
    "phonetic": "<t>漢字</t><rPh sb='0' eb='2'><t>かんじ</t></rPh><phoneticPr fontId='1'/>",
    "escape": "<t>a_x005F_x000D_b</t>",
    "empty": "<t/>",
    "spaces": "<t xml:space='preserve'>  two  </t>",
    "nothing": "",
}


@pytest.mark.parametrize("string", sorted(STRINGS))
def test_shared_strings_read_as_openpyxl_reads_them(string: str) -> None:
    data = with_strings(first_string(STRINGS[string]))
    raw = badfiles.zip_parts(data)["xl/sharedStrings.xml"]
    assert fastcells.shared_strings(raw) is not None  # read here, not by openpyxl
    reader = ExcelReader(io.BytesIO(data))
    reader.read_manifest()
    reader.read_strings()
    assert fastcells.shared_strings(raw) == reader.shared_strings
    lean, plain = loads(data)
    assert lean == plain


def test_a_strings_table_with_an_xml_comment_is_left_to_openpyxl() -> None:
    def edit(root: etree._Element) -> None:
        root[0].append(etree.Comment("note"))

    data = with_strings(edit)
    assert fastcells.shared_strings(badfiles.zip_parts(data)["xl/sharedStrings.xml"]) is None
    lean, plain = loads(data)
    assert lean == plain


def openpyxl_edited(edit: Callable[[Workbook], None]) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(io.BytesIO(badfiles.sample_bytes()))
    edit(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_cell_comments_and_hyperlinks_make_the_lean_path_step_aside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """openpyxl binds comments and hyperlinks to cells before the rows could be: such a sheet
    is loaded the plain way, and reads the same."""
    sheet, cell = input_sheet()

    def edit(wb: Workbook) -> None:
        ws = wb[sheet]
        ws[cell].comment = Comment("checked", "lead")
        ws["H40"].comment = Comment("an empty cell with a note", "lead")
        ws["H41"].hyperlink = "https://example.invalid/"

    data = openpyxl_edited(edit)
    lean, plain = loads(data)
    assert isinstance(lean, list)
    assert lean == plain
    assert_same(monkeypatch, data)


@pytest.mark.parametrize("inside", ["xml_comment", "extension_list"])
def test_what_openpyxl_would_meet_among_the_rows_leaves_them_to_openpyxl(inside: str) -> None:
    """An XML comment (lxml keeps it, openpyxl's parser never sees it) or an element openpyxl
    acts on wherever it is (an extension list warns)."""
    sheet, _ = input_sheet()

    def edit(root: etree._Element) -> None:
        append_row('<c r="A400"><v>1</v></c>')(root)
        row = root.find(f"{MAIN}sheetData")[-1]  # type: ignore[index]
        if inside == "xml_comment":
            row[0][0].append(etree.Comment("x"))
        else:
            etree.SubElement(row[0], f"{MAIN}extLst")

    data = edit_sheet(badfiles.sample_bytes(), sheet, edit)
    part = badfiles._sheet_parts(badfiles.zip_parts(data))[sheet]
    assert part not in fastload.lean_copy(data).rows
    lean, plain = loads(data)
    assert lean == plain


FORMAT_EDITS: dict[str, Callable[[etree._Element], object]] = {
    "unknown_type": lambda rule: rule.set("type", "everything"),  # openpyxl refuses the file
    "missing_style": lambda rule: rule.set("dxfId", "99"),  # openpyxl refuses the file
    "bad_priority": lambda rule: rule.set("priority", "first"),  # openpyxl drops the rule
    "odd_range": lambda rule: rule.getparent().set("sqref", "B2:A1"),  # type: ignore[union-attr]
    "extension": lambda rule: etree.SubElement(rule, f"{MAIN}extLst"),
    "no_style": lambda rule: rule.attrib.pop("dxfId"),
    "another_formula": lambda rule: etree.SubElement(rule, f"{MAIN}formula").__setattr__(
        "text", "TRUE"
    ),
}
# Taken out: a missing differential style too (openpyxl's own read of the stylesheet is checked
# afterwards, and the load falls back to openpyxl's, which refuses the file).
TAKEN_OUT = {"no_style", "another_formula", "missing_style"}


@pytest.mark.parametrize("edit", sorted(FORMAT_EDITS))
def test_conditional_formats_the_lean_path_cannot_vouch_for_go_to_openpyxl(
    monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    """A conditional format openpyxl refuses (or drops) stays in the lean copy, so the file is
    refused (or read) alike; one it reads is taken out."""
    data, lean = edited_first(f"{MAIN}conditionalFormatting/{MAIN}cfRule", FORMAT_EDITS[edit])
    # Every other conditional format of the sheet is one openpyxl reads: taken out.
    assert lean.count(b"<conditionalFormatting") == (edit not in TAKEN_OUT)
    lean_cells, plain_cells = loads(data)
    assert lean_cells == plain_cells
    assert_same(monkeypatch, data)


def reencoded(part: Callable[[dict[str, bytes]], str], encoding: str) -> bytes:
    parts = badfiles.zip_parts(badfiles.sample_bytes())
    name = part(parts)
    root = badfiles._xml(parts[name])
    raw = etree.tostring(root, xml_declaration=True, encoding=encoding)
    assert isinstance(raw, bytes)
    parts[name] = raw
    return badfiles.repack(parts)


def strings_part(parts: dict[str, bytes]) -> str:
    return "xl/sharedStrings.xml"


def input_part(parts: dict[str, bytes]) -> str:
    return badfiles._sheet_parts(parts)[input_sheet()[0]]


@pytest.mark.parametrize("encoding", ["GBK", "Shift_JIS", "UTF-16", "ISO-8859-1"])
@pytest.mark.parametrize("part", [strings_part, input_part], ids=["strings", "sheet"])
def test_a_part_in_another_encoding_is_left_to_openpyxl(
    monkeypatch: pytest.MonkeyPatch, part: Callable[[dict[str, bytes]], str], encoding: str
) -> None:
    """expat, under openpyxl, refuses multi-byte encodings that lxml reads (the file is then
    refused both ways); every part not in UTF-8 is left to openpyxl."""
    data = reencoded(part, encoding)
    raw = badfiles.zip_parts(data)[part(badfiles.zip_parts(data))]
    assert fastcells.tree(raw) is None
    lean, plain = loads(data)
    assert isinstance(plain, list) == (encoding in ("UTF-16", "ISO-8859-1"))
    assert lean == plain
    assert_same(monkeypatch, data)


@pytest.mark.parametrize("node", ["comment", "processing_instruction"])
def test_an_xml_comment_inside_a_utf16_string_is_read_alike(node: str) -> None:
    """expat drops a comment inside a string and joins the text around it; the lean path must
    not read the text before it alone, whatever the part's encoding."""
    parts = badfiles.zip_parts(badfiles.sample_bytes())
    root = badfiles._xml(parts["xl/sharedStrings.xml"])
    for si in root:
        t = si.find(f"{MAIN}t")
        if t is not None and t.text and len(t.text) > 1:
            extra = etree.Comment("c") if node == "comment" else etree.PI("pi", "x")
            extra.tail, t.text = t.text[1:], t.text[:1]
            t.append(extra)
    for encoding in ("UTF-8", "UTF-16"):
        raw = etree.tostring(root, xml_declaration=True, encoding=encoding)
        assert isinstance(raw, bytes)
        parts["xl/sharedStrings.xml"] = raw
        data = badfiles.repack(parts)
        lean, plain = loads(data)
        assert isinstance(lean, list)
        assert lean == plain


def without_cell_formats(keep_formats: bool) -> bytes:
    """The sample with a stylesheet holding differential styles but no cell formats (openpyxl
    then reads none of them) and no cell pointing at a format."""
    parts = badfiles.zip_parts(badfiles.sample_bytes())
    styles = badfiles._xml(parts["xl/styles.xml"])
    styles.remove(styles.find(f"{MAIN}cellXfs"))  # type: ignore[arg-type]
    parts["xl/styles.xml"] = etree.tostring(styles, xml_declaration=True, encoding="UTF-8")
    for name in badfiles._sheet_parts(parts).values():
        root = badfiles._xml(parts[name])
        for element in root.iter(f"{MAIN}c", f"{MAIN}row", f"{MAIN}col"):
            for attribute in ("s", "style"):
                if attribute in element.attrib:
                    del element.attrib[attribute]
        if not keep_formats:
            for cf in root.findall(f"{MAIN}conditionalFormatting"):
                root.remove(cf)
        parts[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return badfiles.repack(parts)


@pytest.mark.parametrize("keep_formats", [True, False], ids=["formats", "no_formats"])
def test_conditional_formats_need_the_styles_openpyxl_read(keep_formats: bool) -> None:
    """openpyxl reads the differential styles only with the cell formats, and fails on a
    conditional format whose style it did not read: so does the lean path, which checks after
    openpyxl's read of the stylesheet."""
    data = without_cell_formats(keep_formats)
    lean, plain = loads(data)
    assert isinstance(plain, list) == (not keep_formats)
    assert lean == plain


def test_parts_beyond_the_budget_are_left_to_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lean parts are parsed into lxml trees, and their rows held until bound: past
    LEAN_BUDGET bytes of sheet XML the rest is read by openpyxl, and the cells are the same."""
    data = badfiles.sample_bytes()
    monkeypatch.setattr(fastload, "LEAN_BUDGET", 60_000)
    lean_copy = fastload.lean_copy(data)
    sizes = {n: len(p) for n, p in badfiles.zip_parts(data).items() if "worksheets/sheet" in n}
    assert sum(sizes[n] for n in lean_copy.parts) <= 60_000
    assert set(lean_copy.rows) == set(lean_copy.parts)
    assert set(lean_copy.parts) < set(sizes)  # the big sheets left to openpyxl
    lean, plain = loads(data)
    assert isinstance(lean, list)
    assert lean == plain
