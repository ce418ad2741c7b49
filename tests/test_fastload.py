"""The lean load (workbook/fastload.py) changes no result: every workbook gives the same Report
(every field, KPI, table, issue) and the same summary bytes, or the same error, as a plain
openpyxl load of the untouched package, which is the oracle here. Over the samples, the bad-input
corpus, LibreOffice-resaved workbooks and workbooks with merged ranges in odd places."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from lxml import etree
from openpyxl.workbook.workbook import Workbook

from opsbook import api
from tests import badfiles
from tests.lo import LibreOffice
from workbook import fastload
from workbook.errors import OpsbookError

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*.xlsx"))
MAIN = f"{{{badfiles.MAIN_NS}}}"

Outcome = tuple[object, ...]


def plain_load(data: bytes, *, data_only: bool) -> Workbook:
    """The oracle: openpyxl's own load of the untouched package, as before fastload."""
    return openpyxl.load_workbook(
        io.BytesIO(data), data_only=data_only, keep_links=False, keep_vba=False
    )


def outcome(data: bytes, name: str) -> Outcome:
    """What a user gets from a render of data: the report and the summary, or the error."""
    try:
        docx, report = api.render_bytes(data, name)
    except OpsbookError as exc:
        return ("error", type(exc).__name__, exc.key, str(exc))
    return ("ok", report, api.export_report(report, "json"), docx)


def both_ways(
    monkeypatch: pytest.MonkeyPatch, data: bytes, name: str = "in.xlsx"
) -> tuple[Outcome, Outcome]:
    fast = outcome(data, name)
    with monkeypatch.context() as m:
        m.setattr(fastload, "load", plain_load)
        plain = outcome(data, name)
    return fast, plain


def assert_same(monkeypatch: pytest.MonkeyPatch, data: bytes, name: str = "in.xlsx") -> Outcome:
    fast, plain = both_ways(monkeypatch, data, name)
    if fast[0] == plain[0] == "ok":
        assert fast[2] == plain[2]  # the export first: a readable difference
    assert fast == plain
    return fast


def merges_of(data: bytes) -> int:
    """How many merged ranges the lean copy took out of the package."""
    return sum(len(r) for r in fastload.lean_copy(data).merges.values())


def edit_sheet(data: bytes, sheet: str, edit: Callable[[etree._Element], None]) -> bytes:
    """The package with one worksheet part's XML edited."""
    parts = badfiles.zip_parts(data)
    part = badfiles._sheet_parts(parts)[sheet]
    root = badfiles._xml(parts[part])
    edit(root)
    parts[part] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return badfiles.repack(parts)


def add_merges(*refs: str) -> Callable[[etree._Element], None]:
    def edit(root: etree._Element) -> None:
        merges = root.find(f"{MAIN}mergeCells")
        assert merges is not None
        for ref in refs:
            etree.SubElement(merges, f"{MAIN}mergeCell", ref=ref)

    return edit


def input_sheet() -> tuple[str, str]:
    """(sheet, cell) of the sample's 'gmv' figure, an input cell the reader reads."""
    sheet, ref = badfiles.name_target(badfiles.sample_bytes(), "gmv")
    return sheet, ref.replace("$", "")


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_samples_read_and_render_alike(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    data = path.read_bytes()
    assert merges_of(data) > 100  # the lean path is really taken: the template merges a lot
    assert assert_same(monkeypatch, data, path.name)[0] == "ok"


def test_the_lean_workbook_has_every_cell_the_reader_can_see() -> None:
    """Cell by cell: type (MergedCell or not), value, formula flag, number format, protection,
    and each sheet's extent, which the reader's table scan uses."""
    data = (ROOT / "samples" / "sample-zh-CN.xlsx").read_bytes()

    def cells(wb: Workbook) -> list[object]:
        out: list[object] = []
        for ws in wb.worksheets:
            out.append((ws.title, ws.max_row, ws.max_column, ws.protection.sheet))
            for row in ws.iter_rows():
                out += [(c.coordinate, type(c).__name__, c.value) for c in row]
                out += [(c.data_type, c.number_format, c.protection.locked) for c in row]
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lean, plain = fastload.load(data, data_only=False), plain_load(data, data_only=False)
    assert cells(lean) == cells(plain)
    assert {str(r) for ws in lean.worksheets for r in ws.merged_cells.ranges} == {
        str(r) for ws in plain.worksheets for r in ws.merged_cells.ranges
    }


# Not a file the reader gets as bytes (test_bad_inputs covers them): a folder, a missing path,
# a file only an unprivileged process cannot read, and a sparse 21 MiB file refused by its size.
NOT_BYTES = {"directory", "missing", "no_read_permission", "too_large_file"}
CORPUS = sorted(set(badfiles.CASES) - badfiles.OUTPUT_CASES - NOT_BYTES)


@pytest.mark.parametrize("case", CORPUS)
def test_the_bad_input_corpus_gets_the_same_answers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: str
) -> None:
    path = badfiles.CASES[case](tmp_path).input
    assert_same(monkeypatch, path.read_bytes(), path.name)


ODD_MERGES: dict[str, Callable[[str, str], Callable[[etree._Element], None]]] = {
    # the figure's cell under a merge (its value is dropped: a required figure goes missing)
    "over_an_input": lambda sheet, cell: add_merges(f"A{cell[1:]}:{cell}"),
    # a value under a merge, beside the figure (dropped, not an unread-cell warning)
    "input_as_anchor": lambda sheet, cell: add_merges(f"{cell}:D{cell[1:]}"),
    # far beyond the data: the sheet's extent grows, as openpyxl's would
    "far_away": lambda sheet, cell: add_merges("H300:K320"),
    # overlapping ranges, one inside another, and a single cell
    "overlapping": lambda sheet, cell: add_merges("E2:G9", "F3:H12", "F5:F6", "G7"),
}


@pytest.mark.parametrize("odd", sorted(ODD_MERGES))
def test_merges_in_odd_places(monkeypatch: pytest.MonkeyPatch, odd: str) -> None:
    sheet, cell = input_sheet()
    data = edit_sheet(badfiles.sample_bytes(), sheet, ODD_MERGES[odd](sheet, cell))
    assert merges_of(data) > merges_of(badfiles.sample_bytes())
    assert_same(monkeypatch, data)


def test_a_value_typed_under_a_merge_is_dropped_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stray value in a covered cell of a merge (LibreOffice keeps them): both loads drop it."""
    sheet, cell = input_sheet()
    row = cell[1:]

    def edit(root: etree._Element) -> None:
        add_merges(f"D{row}:F{row}")(root)
        for r in root.iter(f"{MAIN}row"):
            if r.get("r") == row:
                c = etree.SubElement(r, f"{MAIN}c", r=f"E{row}")
                etree.SubElement(c, f"{MAIN}v").text = "86"

    data = edit_sheet(badfiles.sample_bytes(), sheet, edit)
    result = assert_same(monkeypatch, data)
    assert result[0] == "ok"
    assert not any(i.cell == f"{sheet}!E{row}" for i in result[1].issues)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "refs", [("B2:A1",), ("A1:ZZZZ1",), ("$A$1:$B$2",), ("a1:b2",)], ids=lambda r: r[0]
)
def test_a_merge_the_lean_path_cannot_vouch_for_goes_to_openpyxl(
    monkeypatch: pytest.MonkeyPatch, refs: tuple[str, ...]
) -> None:
    """The part is left as it is, so openpyxl decides (an error, or its own binding)."""
    sheet, _ = input_sheet()
    data = edit_sheet(badfiles.sample_bytes(), sheet, add_merges(*refs))
    part = badfiles._sheet_parts(badfiles.zip_parts(data))[sheet]
    assert part not in fastload.lean_copy(data).merges
    assert_same(monkeypatch, data)


def test_an_unknown_attribute_on_a_merge_is_left_to_openpyxl(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sheet, _ = input_sheet()

    def edit(root: etree._Element) -> None:
        merges = root.find(f"{MAIN}mergeCells")
        assert merges is not None
        merges[0].set("extra", "1")

    data = edit_sheet(badfiles.sample_bytes(), sheet, edit)
    assert outcome(data, "in.xlsx")[0] == "error"  # openpyxl refuses it: a damaged file
    assert_same(monkeypatch, data)


def lean_parts(data: bytes) -> dict[str, bytes]:
    return badfiles.zip_parts(data) | fastload.lean_copy(data).parts


def test_the_lean_copy_has_no_merges_or_validations_for_openpyxl() -> None:
    data = (ROOT / "samples" / "sample-zh-CN.xlsx").read_bytes()
    sheets = {k: v for k, v in lean_parts(data).items() if k.startswith("xl/worksheets/sheet")}
    assert sum(b"<dataValidation " in v for v in badfiles.zip_parts(data).values()) >= 5
    assert not any(b"mergeCells" in v or b"dataValidations" in v for v in sheets.values())


def edited_first(path: str, edit: Callable[[etree._Element], object]) -> tuple[bytes, bytes]:
    """The sample with the first element at path in the input sheet's part edited, and the
    lean copy of that part."""
    sheet, _ = input_sheet()

    def change(root: etree._Element) -> None:
        element = root.find(path)
        assert element is not None
        edit(element)

    data = edit_sheet(badfiles.sample_bytes(), sheet, change)
    return data, lean_parts(data)[badfiles._sheet_parts(badfiles.zip_parts(data))[sheet]]


VALIDATION_EDITS: dict[str, Callable[[etree._Element], None]] = {
    "unknown_type": lambda dv: dv.set("type", "everything"),
    "unknown_attribute": lambda dv: dv.set("colour", "red"),
    "bad_range": lambda dv: dv.set("sqref", "B2:A1 C3"),
    "odd_child": lambda dv: etree.SubElement(dv, f"{MAIN}formula3").__setattr__("text", "1"),
    "none_type": lambda dv: dv.set("type", "none"),
    "many_ranges": lambda dv: dv.set("sqref", "B2:B9 D4 F1:G2"),
}


@pytest.mark.parametrize("edit", sorted(VALIDATION_EDITS))
def test_validations_the_lean_path_cannot_vouch_for_go_to_openpyxl(
    monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    """A validation openpyxl refuses stays in the lean copy, so the file is refused alike; one
    it reads is taken out."""
    data, lean = edited_first(f"{MAIN}dataValidations/{MAIN}dataValidation", VALIDATION_EDITS[edit])
    kept = b"dataValidations" in lean
    assert kept == (edit not in ("none_type", "many_ranges"))
    assert_same(monkeypatch, data)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_libreoffice_resaved_workbooks_read_alike(
    monkeypatch: pytest.MonkeyPatch, libreoffice: LibreOffice, tmp_path: Path, lang: str
) -> None:
    source = tmp_path / f"sample-{lang}.xlsx"
    source.write_bytes((ROOT / "samples" / f"sample-{lang}.xlsx").read_bytes())
    (resaved,) = libreoffice.convert([source], "xlsx", tmp_path / "lo")
    data = resaved.read_bytes()
    assert merges_of(data) > 100
    assert assert_same(monkeypatch, data, resaved.name)[0] == "ok"
