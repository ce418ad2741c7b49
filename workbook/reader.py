"""Filled workbook -> Report: every field, KPI and table found by its defined name, values read as
people type them, every KPI recomputed from the inputs and compared with what the file saved.

The policy (where cells are found, severities, cached results) is documented in docs/reader.md.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from lxml import etree
from openpyxl.utils.cell import column_index_from_string, get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.functions import fromstring

from workbook import spec as spec_mod
from workbook import values as v
from workbook.calc import compute_kpis
from workbook.carried import NAME_SOURCE, Carried, read_carried
from workbook.errors import UnreadableFile
from workbook.i18n import LANGS, catalog, normalize_lang
from workbook.layout import COL_LABEL, COL_VALUE, META_NAMES, TABLE_DATA_OFFSET, normalize_label
from workbook.period import Period, parse_period
from workbook.report import (
    CHOICES,
    FieldValue,
    Issue,
    Report,
    SentenceChoice,
    Severity,
    TableRow,
    Unusable,
)
from workbook.spec import NUMERIC_TYPES, Field, FieldType, Kpi, Spec, Table, Text

BLANK_SHOWN = "—"  # how a blank value is shown inside a message, in every locale

# A reference in a defined name: optional sheet (quoted or not), a cell or a range.
_REF = re.compile(
    r"^=?(?:(?:'(?P<quoted>(?:[^']|'')+)'|(?P<plain>[^'!:]+))!)?"
    r"\$?(?P<c1>[A-Za-z]{1,3})\$?(?P<r1>\d+)(?::\$?(?P<c2>[A-Za-z]{1,3})\$?(?P<r2>\d+))?$"
)
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_KPI_KIND: dict[str, FieldType] = {
    "percent": "percent",
    "change": "percent",
    "money": "money",
    "count": "count",
    "number": "number",
    "ratio": "number",
    "pp": "number",
}


class _NotSaved(Enum):
    """No result was saved with a formula (the file was saved by a program that never calculates,
    such as openpyxl)."""

    NOT_SAVED = "not saved"


NOT_SAVED = _NotSaved.NOT_SAVED
Saved = float | str | bool | _NotSaved


@dataclass(frozen=True)
class Where:
    """A cell or range found in the workbook, and how it was found."""

    sheet: str
    row: int
    col: int
    row2: int
    col2: int
    how: Literal["name", "label"]

    @property
    def address(self) -> str:
        return cell_address(self.sheet, self.row, self.col)

    @property
    def coordinate(self) -> str:
        return f"{get_column_letter(self.col)}{self.row}"

    @property
    def range_address(self) -> str:
        if (self.row2, self.col2) == (self.row, self.col):
            return self.address
        return f"{self.address}:{get_column_letter(self.col2)}{self.row2}"


@dataclass(frozen=True)
class Missing:
    """An item that could not be found: no name and no label, or a name pointing at #REF!."""

    broken: bool  # the name exists but points at a deleted sheet or cell
    target: str = ""


MAX_ROW, MAX_COL = 1_048_576, 16_384  # Excel's last row and column (XFD)


def cell_address(sheet: str, row: int, col: int) -> str:
    """ "sheet!B12", as a user finds it in Excel."""
    return f"{sheet}!{get_column_letter(col)}{row}"


def parse_reference(text: str) -> tuple[str | None, int, int, int, int] | None:
    """(sheet or None, row, col, row2, col2) of a defined name's reference; None if it is not a
    plain cell or range (a constant, a formula, an error such as #REF!)."""
    m = _REF.match(text.strip())
    if m is None:
        return None
    sheet = m.group("quoted")
    sheet = sheet.replace("''", "'") if sheet is not None else m.group("plain")
    try:
        r1, c1 = int(m.group("r1")), column_index_from_string(m.group("c1").upper())
        if m.group("c2"):
            r2, c2 = int(m.group("r2")), column_index_from_string(m.group("c2").upper())
        else:
            r2, c2 = r1, c1
    except ValueError:  # a column past XFD
        return None
    # Excel's grid: a name pointing outside it (row 0, row 1048577) is as broken as #REF!
    if not all(1 <= r <= MAX_ROW for r in (r1, r2)) or not all(1 <= c <= MAX_COL for c in (c1, c2)):
        return None
    return sheet, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def normalize_formula(formula: str) -> str:
    """A formula compared as Excel would: no leading "=", no spaces outside strings, any case."""
    parts = re.split(r'("(?:[^"]|"")*")', formula.strip().removeprefix("="))
    return "".join(p if i % 2 else re.sub(r"\s+", "", p).upper() for i, p in enumerate(parts))


def _same(saved: Saved, computed: float | None) -> bool:
    """A saved formula result equals the recomputed value (blank = empty text)."""
    if computed is None:
        return saved == ""
    if isinstance(saved, bool) or not isinstance(saved, float | int):
        return False
    return math.isclose(saved, computed, rel_tol=1e-9, abs_tol=1e-12)


def show(value: object, kind: str) -> str:
    """A value as a message shows it: 1,234 · 12.5% · 2026-10-10 · — for blank; fractions
    rounded as the summary rounds them (workbook.values.percent_digits, rounded)."""
    if value is None or value == "":
        return BLANK_SHOWN
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return str(value)
        # rounded as the summary writes it (12.3%, 1,234.57), not 32.5928853755%
        if kind in ("percent", "change"):
            return f"{v.percent_digits(value)}%"
        if isinstance(value, int) or value.is_integer():
            return f"{int(value):,}"
        return v.rounded(value, 2)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    text = str(value).replace("\n", " ")
    return text if len(text) <= 40 else text[:39] + "…"


# ---------------------------------------------------------------------------------------------
# Saved formula results, read straight from the sheet XML (cheaper than a second openpyxl load)


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part) of a package part ("" for the package)."""
    folder, name = posixpath.split(part)
    root = fromstring(zf.read(posixpath.join(folder, "_rels", f"{name}.rels")))
    out = {}
    for rel in root.iter(f"{_PKG_REL_NS}Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        full = target[1:] if target.startswith("/") else posixpath.join(folder, target)
        out[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(full))
    return out


def _saved_value(cell: Any) -> Saved:
    value = cell.find(f"{_MAIN_NS}v")
    if value is None:
        return NOT_SAVED
    text = value.text or ""
    kind = cell.get("t", "n")
    if kind == "n":  # an empty number is what openpyxl writes for "never calculated"
        try:
            return float(text) if text else NOT_SAVED
        except ValueError:
            return NOT_SAVED
    if kind == "b":
        return text.strip() == "1"
    if kind in ("str", "e", "inlineStr"):
        return text
    return NOT_SAVED  # a shared-string index: never used for formula results


def saved_results(
    package: Path | bytes, wanted: Mapping[str, Iterable[str]]
) -> dict[tuple[str, str], Saved]:
    """(sheet, "B12") -> the result saved with the formula in that cell, for the wanted cells.

    package: the workbook's bytes as preflight passed them (so no DTD in any part, and the
    same bytes openpyxl parsed, even if the file has changed since), or a path (tests).
    Reads only the workbook part, its relationships and the sheets asked for, stopping in each
    sheet once every wanted cell is seen. Anything unexpected means "nothing saved".
    """
    out: dict[tuple[str, str], Saved] = {}
    source = io.BytesIO(package) if isinstance(package, bytes) else package
    try:
        with zipfile.ZipFile(source) as zf:
            main = next(t for typ, t in _rels(zf, "").values() if typ.endswith("/officeDocument"))
            rels = _rels(zf, main)
            parts = {
                sheet.get("name", ""): rels.get(sheet.get(f"{_REL_NS}id", ""), ("", ""))[1]
                for sheet in fromstring(zf.read(main)).iter(f"{_MAIN_NS}sheet")
            }
            for sheet, coords in wanted.items():
                remaining = set(coords)
                if not remaining or not parts.get(sheet):
                    continue
                with zf.open(parts[sheet]) as fh:
                    # lxml, told to look at <c> only, is ~2x faster than ElementTree here.
                    cells = etree.iterparse(
                        fh, tag=f"{_MAIN_NS}c", resolve_entities=False, no_network=True
                    )
                    for _, element in cells:
                        ref = element.get("r")
                        if ref in remaining:
                            out[(sheet, ref)] = _saved_value(element)
                            remaining.discard(ref)
                            if not remaining:
                                break
                        element.clear()
    except (KeyError, StopIteration, OSError, ValueError, SyntaxError, zipfile.BadZipFile):
        return {}  # lxml's XMLSyntaxError is a SyntaxError
    return out


# ---------------------------------------------------------------------------------------------
# The reader


# What the generator writes into a blank workbook of a language: the texts and numbers it
# writes itself, as normalized labels (generator.xlsx_writer.static_values).
TemplateValues = Callable[[Spec, str], frozenset[str]]


def read_workbook(
    path: Path, spec: Spec | None = None, *, unread: TemplateValues | None = None
) -> Report:
    """Read a filled workbook into a Report; raise UnreadableFile for another template.

    unread: also report every filled cell of the template's sheets that nothing read, given
    what the generator writes itself (what `check` does; it costs a blank workbook's
    generation, so `render` does not)."""
    from workbook.safety import open_checked

    spec = spec if spec is not None else spec_mod.load()
    wb, checked = open_checked(path, data_only=False)
    try:
        return _Reader(path, spec, wb, checked.data).read(unread=unread)
    finally:
        wb.close()


def read_workbook_bytes(data: bytes, name: str, spec: Spec | None = None) -> Report:
    """read_workbook for bytes already in memory (an upload); name is the file name that
    messages and the report's source show. The same safety checks run first."""
    from workbook.safety import open_checked_bytes

    spec = spec if spec is not None else spec_mod.load()
    path = Path(name)
    wb, checked = open_checked_bytes(data, path, data_only=False)
    try:
        return _Reader(path, spec, wb, checked.data).read()
    finally:
        wb.close()


class _Reader:
    def __init__(self, path: Path, spec: Spec, wb: Workbook, package: bytes) -> None:
        self.path = path
        self.package = package  # the bytes openpyxl parsed
        self.spec = spec
        self.wb = wb
        self.names = self._collect_names()
        self.worksheets = {ws.title: ws for ws in wb.worksheets if isinstance(ws, Worksheet)}
        self._labels: dict[str, list[tuple[int, str, int]]] | None = None
        self.issues: list[Issue] = []
        self.saved: dict[tuple[str, str], Saved] = {}
        self.text_numbers: set[str] = set()  # inputs holding a number stored as text
        self.unusable: dict[str, Unusable] = {}  # figures nothing may be built on
        self.read_cells: set[tuple[str, int, int]] = set()  # (sheet, row, col) of cells read
        self._template_labels: tuple[frozenset[str], frozenset[str]] | None = None
        self._period: tuple[Period | None] | None = None

    # -- issues ------------------------------------------------------------------------------

    def issue(
        self,
        kind: str,
        severity: Severity,
        key: str,
        id_: str | None = None,
        cell: str | None = None,
        **params: object,
    ) -> None:
        self.issues.append(Issue(kind, severity, key, id_, cell, tuple(params.items())))

    # -- names and labels --------------------------------------------------------------------

    def _collect_names(self) -> dict[str, tuple[str, str | None]]:
        """Lower-case name -> (reference text, scope sheet); workbook names win over sheet ones."""
        names: dict[str, tuple[str, str | None]] = {}
        for ws in self.wb.worksheets:
            for name, dn in ws.defined_names.items():
                names.setdefault(name.lower(), (dn.attr_text or "", ws.title))
        for name, dn in self.wb.defined_names.items():
            names[name.lower()] = (dn.attr_text or "", None)
        return names

    def by_name(self, name: str) -> Where | Missing | None:
        """The cell or range a defined name points at; Missing(broken) for #REF! or a sheet that
        no longer exists; None when there is no such name."""
        entry = self.names.get(name.lower())
        if entry is None:
            return None
        text, scope = entry
        if "#REF!" in text.upper():
            return Missing(broken=True, target=text)
        ref = parse_reference(text)
        if ref is None:
            return Missing(broken=True, target=text)
        sheet, r1, c1, r2, c2 = ref
        sheet = sheet if sheet is not None else scope
        if sheet is None or sheet not in self.worksheets:
            return Missing(broken=True, target=text)
        return Where(sheet, r1, c1, r2, c2, "name")

    def _label_index(self) -> dict[str, list[tuple[int, str, int]]]:
        """Normalized column-A text -> [(sheet index, sheet, row)], built on first need."""
        if self._labels is None:
            self._labels = {}
            for index, ws in enumerate(self.worksheets.values()):
                for (cell,) in ws.iter_rows(min_col=1, max_col=1):
                    if isinstance(cell.value, str) and cell.value.strip():
                        key = normalize_label(cell.value)
                        self._labels.setdefault(key, []).append((index, ws.title, cell.row))
            for hits in self._labels.values():
                hits.sort()
        return self._labels

    def by_label(self, item: Field | Kpi | Table) -> tuple[str, int] | None:
        """(sheet, row) of the row labelled like the item, preferring the item's own sheet and,
        for inputs, rows whose column B is not a formula."""
        index = self._label_index()
        hits = {h for text in (item.label.zh_cn, item.label.en)
                for h in index.get(normalize_label(text), [])}  # fmt: skip
        if not hits:
            return None
        section = self.spec.section_of(item.id)
        own = {section.sheet.zh_cn, section.sheet.en}

        def rank(hit: tuple[int, str, int]) -> tuple[int, int, int, int]:
            sheet_index, sheet, row = hit
            value = self.sheet(sheet).cell(row, COL_VALUE + 1)
            formula = isinstance(item, Field) and value.data_type == "f"
            return (sheet not in own, formula, sheet_index, row)

        _, sheet, row = min(hits, key=rank)
        return sheet, row

    def locate(self, item: Field | Kpi | Table) -> Where | Missing:
        found = self.by_name(item.id)
        if isinstance(found, Where) or (found is not None and "#REF!" in found.target.upper()):
            return found
        # No name, or a name pointing at a sheet that is gone: look for the row's label.
        hit = self.by_label(item)
        if hit is None:
            return found if found is not None else Missing(broken=False)
        sheet, row = hit
        if isinstance(item, Table):
            first = row + TABLE_DATA_OFFSET
            last = first + item.rows - 1
            # A table may be longer than the spec's rows (a team roll-up's merged list): read
            # on while the next row holds something.
            ws, width = self.sheet(sheet), len(item.columns)
            while last < ws.max_row and any(
                ws.cell(last + 1, c).value not in (None, "") for c in range(1, width + 1)
            ):
                last += 1
            return Where(sheet, first, COL_LABEL + 1, last, width, "label")
        return Where(sheet, row, COL_VALUE + 1, row, COL_VALUE + 1, "label")

    # -- template identity -------------------------------------------------------------------

    def meta(self) -> dict[str, object]:
        found: dict[str, object] = {}
        for name in META_NAMES:
            where = self.by_name(name)
            if isinstance(where, Where):
                value = self.sheet(where.sheet).cell(where.row, where.col).value
                if value not in (None, ""):
                    found[name] = value
        if len(found) < len(META_NAMES):
            props = getattr(self.wb, "custom_doc_props", None)  # not in the type stubs
            for prop in getattr(props, "props", ()):
                if prop.name in META_NAMES and prop.name not in found:
                    found[prop.name] = prop.value
        return found

    def check_template(self) -> tuple[int, str]:
        """The template version and the workbook's language; refuse another template."""
        meta = self.meta()
        template = meta.get("opsbook_template")
        if template is None:
            raise UnreadableFile("template.not_opsbook", path=self.path)
        if str(template).strip() != self.spec.id:
            raise UnreadableFile(
                "template.other", path=self.path, found=str(template).strip(), expected=self.spec.id
            )
        try:
            version = int(float(str(meta.get("opsbook_version", self.spec.version))))
        except ValueError:
            version = self.spec.version
        if version > self.spec.version:
            raise UnreadableFile(
                "template.newer", path=self.path, found=version, expected=self.spec.version
            )
        if version < self.spec.version:
            self.issue(
                "template_version", "warning", "template_older",
                found=version, expected=self.spec.version,
            )  # fmt: skip
        lang = meta.get("opsbook_lang")
        if isinstance(lang, str) and lang.strip():
            return version, normalize_lang(lang.strip())
        english = {s.sheet.en for s in self.spec.sections}
        return version, "en" if english & set(self.wb.sheetnames) else "zh-CN"

    # -- cells -------------------------------------------------------------------------------

    def sheet(self, name: str) -> Worksheet:
        return self.worksheets[name]

    def raw(self, where: Where, row: int | None = None, col: int | None = None) -> tuple[Any, bool]:
        """(value, is formula) of a cell: formula text for formulas, as openpyxl gives them."""
        cell = self.sheet(where.sheet).cell(row or where.row, col or where.col)
        value = cell.value
        if cell.data_type == "f" and not isinstance(value, str):
            value = str(getattr(value, "text", value))  # array or data-table formulas
        return value, cell.data_type == "f"

    def number_format(self, where: Where, row: int | None = None, col: int | None = None) -> str:
        """The cell's number format ("0%", "General", ...)."""
        cell = self.sheet(where.sheet).cell(row or where.row, col or where.col)
        return str(cell.number_format or "General")

    def period(self) -> Period | None:
        """The workbook's period, when its period field names one the usual way."""
        if self._period is None:
            found = None
            if self.spec.period_field is not None:
                where = self.locate(self.spec.field(self.spec.period_field))
                if isinstance(where, Where):
                    found = parse_period(self.raw(where)[0])
            self._period = (found,)
        return self._period[0]

    def units(self, item: Field) -> tuple[str, ...]:
        if item.unit is None:
            return ()
        unit = self.spec.units[item.unit]
        return (unit.zh_cn, unit.en)

    def read_cell(
        self,
        address: str,
        raw: Any,
        formula: bool,
        kind: FieldType,
        label: Text,
        id_: str,
        *,
        required: bool = False,
        units: tuple[str, ...] = (),
        number_format: str = "General",
    ) -> v.Parsed:
        """Parse one input cell and record what was found; the value None when unusable."""
        period = self.period() if kind == "date" else None
        parsed = v.parse_value(
            raw, kind, formula=formula, units=units, number_format=number_format,
            period_start=period.start if period is not None else None,
        )  # fmt: skip
        numeric = isinstance(raw, int | float) and not isinstance(raw, bool)
        shown_raw = v.number_text(raw) if numeric else show(raw, "text")
        if parsed.problem == "formula":
            sheet, _, coordinate = address.rpartition("!")
            saved = self.saved.get((sheet, coordinate), NOT_SAVED)
            from_cache = v.BLANK if saved in (NOT_SAVED, "") else v.parse_value(saved, kind)
            if saved is not NOT_SAVED and from_cache.ok:
                self.issue(
                    "formula_in_input", "warning", "formula_input", id_, address,
                    label=label, formula=show(raw, "text"), value=show(from_cache.value, kind),
                )  # fmt: skip
                return v.Parsed(from_cache.value, ("formula",))
        if parsed.problem is not None:
            self.issue(
                "unreadable_value", "error" if required else "warning",
                f"unreadable_{parsed.problem}", id_, address, label=label, raw=shown_raw,
            )  # fmt: skip
            return parsed
        notes = [c for c in parsed.coercions if c != "cleaned"]
        if "cleaned" in parsed.coercions:
            self.issue("cleaned_text", "warning", "cleaned_text", id_, address, label=label)
        if notes:
            shown_value = show(parsed.value, kind)
            if "percent_assumed" in notes:
                self.issue(
                    "coerced", "warning", "percent_assumed", id_, address,
                    label=label, raw=shown_raw, value=shown_value,
                )  # fmt: skip
            elif "placeholder" in notes:
                self.issue("coerced", "info", "placeholder", id_, address, label=label,
                           raw=shown_raw)  # fmt: skip
            elif "date_year" in notes and period is not None:
                self.issue(
                    "coerced", "info", "trust.date_year", id_, address, label=label,
                    raw=shown_raw, value=shown_value, period=period.key,
                )  # fmt: skip
            elif "approx" in notes or "w_multiplier" in notes:
                key = "trust.approx" if "approx" in notes else "trust.w_multiplier"
                self.issue("coerced", "info", key, id_, address, label=label, raw=shown_raw,
                           value=shown_value)  # fmt: skip
            else:
                self.issue(
                    "coerced", "warning" if parsed.guessed else "info",
                    "coerced_check" if parsed.guessed else "coerced", id_, address,
                    label=label, raw=shown_raw, value=shown_value,
                )  # fmt: skip
        return parsed

    # -- reading -----------------------------------------------------------------------------

    def saved_at(self) -> dt.datetime | None:
        """When a program last saved the workbook: its modified time, if the package really
        has one (openpyxl fills a missing one with the clock) and it is not the creation time
        (the generator writes both the same; Excel, WPS and LibreOffice update it on save)."""
        props = self.wb.properties
        modified, created = getattr(props, "modified", None), getattr(props, "created", None)
        if not isinstance(modified, dt.datetime) or modified == created:
            return None
        try:
            with zipfile.ZipFile(io.BytesIO(self.package)) as zf:
                core = zf.read("docProps/core.xml")
        except (KeyError, OSError, ValueError, zipfile.BadZipFile):
            return None
        return modified if b"modified" in core else None

    def read(self, *, unread: TemplateValues | None = None) -> Report:
        version, lang = self.check_template()
        spec = self.spec
        report = Report(spec.id, version, lang, self.path.name)
        report.saved_at = self.saved_at()
        items: tuple[Field | Kpi | Table, ...] = (*spec.fields, *spec.kpis, *spec.tables)
        where = {item.id: self.locate(item) for item in items}
        wanted: dict[str, set[str]] = {}
        for item in items:
            if isinstance(item, Table):
                continue
            found = where[item.id]
            if isinstance(found, Where) and (isinstance(item, Kpi) or self.raw(found)[1]):
                wanted.setdefault(found.sheet, set()).add(found.coordinate)
        self.saved = saved_results(self.package, wanted) if wanted else {}
        self.package = b""  # up to 20 MB: not kept for the rest of the read
        for f in spec.fields:
            report.fields[f.id] = self.read_field(f, where[f.id], report)
        self.check_parts(report)
        report.unusable = dict(self.unusable)
        self.read_kpis(where, report)
        for t in spec.tables:
            report.tables[t.id] = self.read_table(t, where[t.id], report)
        if unread is not None:
            self.report_unread(unread(spec, lang))
        report.choices = self.read_choices()
        order = {name: i for i, name in enumerate(self.wb.sheetnames)}

        def position(issue: Issue) -> tuple[int, int, int]:
            if issue.cell is None:
                return (-1, 0, 0)
            sheet, _, coordinate = issue.cell.rpartition("!")
            m = re.match(r"([A-Z]+)(\d+)", coordinate)
            if m is None:  # pragma: no cover - every cell is written as sheet!A1
                return (len(order), 0, 0)
            return (order.get(sheet, len(order)), int(m[2]), column_index_from_string(m[1]))

        report.issues = sorted(self.issues, key=position)
        report.carried = self.read_carried()
        return report

    def report_unread(self, template: frozenset[str]) -> None:
        """A warning for every filled cell of the template's sheets that nothing read: a row
        someone added ("直播场次 86"), a figure typed beside its cell. Formulas, whatever the
        generator writes itself (labels, hints, headers) and locked cells of a protected sheet
        are not someone's input."""
        # The sheets holding inputs, whatever they are called now: not the dashboard (locked
        # formulas), a sheet someone added, or a team's per-person sheet.
        sheets = {sheet for sheet, _, _ in self.read_cells}
        for ws in self.worksheets.values():
            if ws.title not in sheets:
                continue
            # On a protected sheet nobody typed into a locked cell: it is the template's.
            protected = bool(ws.protection.sheet)
            for row in ws.iter_rows():
                for cell in row:
                    value = cell.value
                    if value is None or cell.data_type == "f" or not cell.row or not cell.column:
                        continue
                    if isinstance(value, str) and not value.strip():
                        continue
                    if (ws.title, cell.row, cell.column) in self.read_cells:
                        continue
                    if protected and cell.protection.locked:
                        continue
                    if normalize_label(str(value)) in template:
                        continue
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        raw = v.number_text(value)
                    else:
                        raw = show(value, "text")
                    address = cell_address(ws.title, cell.row, cell.column)
                    self.issue(
                        "unread_cell", "warning", "trust.unread_cell", None, address, raw=raw
                    )

    def read_carried(self) -> Carried | None:
        """Last period's commitments (workbook/carried.py), when the workbook carries them."""
        if NAME_SOURCE not in self.names:
            return None

        def rows(name: str) -> list[list[Any]] | None:
            found = self.by_name(name)
            if not isinstance(found, Where):
                return None
            ws = self.sheet(found.sheet)
            return [
                [ws.cell(r, c).value for c in range(found.col, found.col2 + 1)]
                for r in range(found.row, found.row2 + 1)
            ]

        def cell(name: str) -> Any:
            found = rows(name)
            return found[0][0] if found else None

        return read_carried(
            cell,
            rows,
            tuple(t.id for t in self.spec.targets),
            tuple(dict.fromkeys(c for t in self.spec.targets for c in t.commitment)),
            {t: tuple(c.id for c in self.spec.item(t).columns) for t in self.spec.carry_tables},  # type: ignore[union-attr]
        )

    def read_choices(self) -> dict[str, SentenceChoice]:
        """The person's choice for each summary sentence (its review rows, by defined name:
        say_<id> and say_<id>_text). A choice is read in either language; a sentence whose rows
        are gone (an older workbook) or untouched is "auto"; text typed in the rewrite row with
        no choice made is a rewrite (docs/narrative.md)."""
        words: dict[str, str] = {}
        for lang in LANGS:
            for word, choice in zip(catalog(lang).list("narrative.choices"), CHOICES, strict=True):
                words[normalize_label(word)] = choice
        choices: dict[str, SentenceChoice] = {}
        for p in self.spec.paragraphs:
            for sentence in p.sentences:
                choice_cell = self.by_name(sentence.name)
                text_cell = self.by_name(f"{sentence.name}_text")
                chosen = "auto"
                if isinstance(choice_cell, Where):
                    raw, formula = self.raw(choice_cell)
                    if isinstance(raw, str) and not formula:
                        chosen = words.get(normalize_label(raw), "auto")
                text = None
                if isinstance(text_cell, Where):
                    raw, formula = self.raw(text_cell)
                    if isinstance(raw, str) and not formula and raw.strip():
                        text = v.clean_text(raw)[0] or None
                if text is not None and chosen == "auto":
                    chosen = "rewrite"
                if chosen != "auto" or text is not None:
                    choices[sentence.id] = SentenceChoice(chosen, text)
        return choices

    def not_found(self, item: Field | Kpi | Table, found: Missing, required: bool) -> None:
        label = item.label
        if isinstance(item, Kpi):
            self.issue("kpi_cell_missing", "info", "kpi_cell_missing", item.id, label=label,
                       name=item.id)  # fmt: skip
            return
        severity: Severity = "error" if required else "warning"
        if found.broken:
            self.issue("broken_name", severity, "broken_name", item.id, label=label, name=item.id,
                       target=found.target)  # fmt: skip
        else:
            self.issue("missing_cell", severity, "missing_cell", item.id, label=label, name=item.id)

    def note_found_by_label(self, item: Field | Kpi | Table, found: Where) -> None:
        self.issue(
            "found_by_label", "warning", "found_by_label", item.id, found.range_address,
            label=item.label, name=item.id,
        )  # fmt: skip

    def read_field(self, f: Field, found: Where | Missing, report: Report) -> FieldValue:
        label = f.label
        if isinstance(found, Missing):
            self.not_found(f, found, f.required)
            return None
        if found.how == "label":
            self.note_found_by_label(f, found)
        address = found.address
        report.cells[f.id] = address
        self.read_cells.add((found.sheet, found.row, found.col))
        raw, formula = self.raw(found)
        parsed = self.read_cell(
            address, raw, formula, f.type, label, f.id, required=f.required, units=self.units(f),
            number_format=self.number_format(found),
        )  # fmt: skip
        value = parsed.value
        if "text_number" in parsed.coercions and value is not None:
            self.text_numbers.add(f.id)
        if value is None:
            if f.required and parsed.ok:
                self.issue("missing_required", "error", "missing_required", f.id, address,
                           label=label)  # fmt: skip
            return None
        if isinstance(value, int | float) and f.type in NUMERIC_TYPES:
            return self.check_range(f, value, address, label)
        if isinstance(value, str) and f.max is not None and len(value) > f.max:
            self.issue("too_long", "warning", "too_long", f.id, address, label=label,
                       length=len(value), max=int(f.max))  # fmt: skip
        return value

    def check_range(self, f: Field, value: float, address: str, label: Text) -> FieldValue:
        low, high = f.min, f.max
        if (low is not None and value < low) or (high is not None and value > high):
            key = "out_of_range"
            hint = ""
            if f.type == "percent" and high is not None and 1 < value <= 100 and high < value:
                key = "out_of_range_percent"
                hint = f"{v.number_text(value)}%"
            self.issue(
                "out_of_range", "error", key, f.id, address, label=label,
                value=show(value, f.type), min=show(low, f.type), max=show(high, f.type),
                hint=hint,
            )  # fmt: skip
            self.unusable[f.id] = Unusable(f.id, "out_of_range", address)
            return None
        if f.type == "count" and isinstance(value, float) and not value.is_integer():
            # Kept as typed for the KPIs; the summary prints counts rounded half up.
            rounded = Decimal(repr(value)).quantize(Decimal(1), ROUND_HALF_UP)
            self.issue("not_whole", "warning", "not_whole", f.id, address, label=label,
                       value=show(value, f.type), rounded=f"{rounded:f}")  # fmt: skip
        return value

    def check_parts(self, report: Report) -> None:
        """The spec's checks: a figure that is part of another never exceeds it (part > whole,
        as the workbook's formula compares, but on the values as read).

        An error-level breach cannot be right, and which of the two figures is wrong cannot be
        known: both are left out (None, recorded in `unusable`) like an out-of-range value, so
        no KPI, sentence or team total is built on them. All checks see the values as read."""
        breached = [c for c in self.spec.checks if c.breached(report.fields)]
        for c in breached:
            part, whole = report.fields[c.part], report.fields[c.whole]
            pf, wf = self.spec.field(c.part), self.spec.field(c.whole)
            key = "part_exceeds_whole" if c.severity == "warning" else "trust.part_exceeds_whole"
            self.issue("part_exceeds_whole", c.severity, key, c.part,
                       report.cells.get(c.part), part=pf.label,
                       part_value=show(part, pf.type), whole=wf.label,
                       whole_value=show(whole, wf.type), whole_cell=report.cells.get(c.whole, "?"),
                       why=c.why)  # fmt: skip
        for c in breached:
            if c.severity != "error":
                continue
            cells = report.cells.get(c.part), report.cells.get(c.whole)
            for id_, other, (cell, other_cell) in ((c.part, c.whole, cells),
                                                   (c.whole, c.part, cells[::-1])):  # fmt: skip
                report.fields[id_] = None
                self.unusable.setdefault(
                    id_, Unusable(id_, "part_exceeds_whole", cell, other, other_cell)
                )

    def read_kpis(self, where: Mapping[str, Where | Missing], report: Report) -> None:
        spec = self.spec
        computed = compute_kpis(spec, report.fields)
        env: dict[str, float | None] = {
            f.id: float(x) if isinstance(x := report.fields.get(f.id), int | float) else None
            for f in spec.fields
            if f.type in NUMERIC_TYPES
        }
        env.update(computed)
        not_saved = 0
        unusable = set(self.unusable)
        for k in spec.kpis:
            value = computed[k.id]
            found = where[k.id]
            if isinstance(found, Missing):
                self.not_found(k, found, False)
                report.kpis[k.id] = value
                continue
            if found.how == "label":
                self.note_found_by_label(k, found)
            address = found.address
            report.cells[k.id] = address
            self.read_cells.add((found.sheet, found.row, found.col))
            raw, formula = self.raw(found)
            label = k.label
            kind = _KPI_KIND[k.format]
            shown = show(value, k.format)
            if formula:
                saved = self.saved.get((found.sheet, found.coordinate), NOT_SAVED)
                if normalize_formula(str(raw)) != normalize_formula(k.formula):
                    self.issue(
                        "formula_edited", "warning", "formula_edited", k.id, address,
                        label=label, formula=str(raw), saved=self.show_saved(saved, k.format),
                        value=shown,
                    )  # fmt: skip
                elif saved is NOT_SAVED:  # shows blank: worth a note only if it has a value
                    not_saved += value is not None
                elif value is None and self.inputs_of(k) & unusable:
                    pass  # blank on purpose: the unusable figure was reported on its own
                elif not _same(saved, value):
                    # Excel's COUNT skips a number stored as text, so the workbook shows the
                    # KPI blank (or computed without it) where opsbook reads the number.
                    text_input = bool(self.inputs_of(k) & self.text_numbers)
                    key = "kpi_text_input" if text_input else "stale_cache"
                    self.issue(
                        key, "info", key, k.id, address, label=label,
                        saved=self.show_saved(saved, k.format), value=shown,
                    )  # fmt: skip
            elif raw is None or (isinstance(raw, str) and not raw.strip()):
                self.issue("kpi_cleared", "warning", "kpi_cleared", k.id, address, label=label,
                           value=shown)  # fmt: skip
            else:
                typed = v.parse_value(raw, kind)
                typed_value = typed.value if isinstance(typed.value, int | float) else None
                inputs_present = all(env.get(r) is not None for r in k.refs)
                shown_typed = (
                    show(typed_value, k.format) if typed_value is not None else show(raw, "text")
                )
                if (
                    not inputs_present
                    and typed_value is not None
                    and not self.inputs_of(k) & unusable
                ):
                    value = float(typed_value)
                    self.issue("kpi_overwritten", "warning", "kpi_typed_used", k.id, address,
                               label=label, typed=shown_typed)  # fmt: skip
                else:
                    self.issue("kpi_overwritten", "warning", "kpi_overwritten", k.id, address,
                               label=label, typed=shown_typed, value=shown)  # fmt: skip
            report.kpis[k.id] = value
        if not_saved:
            self.issue("kpi_not_saved", "info", "kpi_not_saved", count=not_saved)

    def inputs_of(self, kpi: Kpi) -> set[str]:
        """The input fields a KPI reads, directly or through other KPIs."""
        found: set[str] = set()
        for ref in kpi.refs:
            item = self.spec.item(ref)
            found |= self.inputs_of(item) if isinstance(item, Kpi) else {ref}
        return found

    @staticmethod
    def show_saved(saved: Saved, kind: str) -> str:
        if saved is NOT_SAVED:
            return BLANK_SHOWN
        return show(saved, kind)

    def read_table(self, t: Table, found: Where | Missing, report: Report) -> list[TableRow]:
        if isinstance(found, Missing):
            # Workbooks made before the own-metrics tables existed simply have none.
            if t.kind != "metrics" or found.broken:
                self.not_found(t, found, False)
            return []
        if found.how == "label":
            self.note_found_by_label(t, found)
        report.cells[t.id] = found.range_address
        last = self.typed_below(t, found)
        if last > found.row2:
            below = Where(found.sheet, found.row2 + 1, found.col, last, found.col2, found.how)
            self.issue(
                "rows_below_table", "info", "trust.rows_below_table", t.id, below.range_address,
                label=t.label, count=last - found.row2,
            )  # fmt: skip
        rows: list[TableRow] = []
        for number, row in enumerate(range(found.row, last + 1), 1):
            values: TableRow = {}
            cells: dict[str, str] = {}
            for offset, column in enumerate(t.columns):
                col = found.col + offset
                address = cell_address(found.sheet, row, col)
                raw, formula = self.raw(found, row, col)
                self.read_cells.add((found.sheet, row, col))
                if raw is None or (isinstance(raw, str) and not raw.strip()):
                    values[column.id] = None
                    continue
                label = Text(
                    f"{t.label.zh_cn} 第 {number} 行 · {column.label.zh_cn}",
                    f"{t.label.en}, row {number} · {column.label.en}",
                )
                values[column.id] = self.table_cell(
                    address, raw, formula, column.type, label, t.id,
                    self.number_format(found, row, col),
                )  # fmt: skip
                cells[column.id] = address
            if any(x is not None for x in values.values()):
                rows.append(values)
                for column_id, address in cells.items():
                    report.cells[f"{t.id}.{len(rows)}.{column_id}"] = address
        return rows

    def typed_below(self, t: Table, found: Where) -> int:
        """The last row of the table as typed: rows typed right below its range (where the
        sheet has no input cells) belong to it, up to the first empty row or template row."""
        ws = self.sheet(found.sheet)
        last = found.row2
        width = len(t.columns)
        while last < ws.max_row:
            cells = [ws.cell(last + 1, found.col + c) for c in range(width)]
            if not any(c.value not in (None, "") and str(c.value).strip() for c in cells):
                break
            if any(c.data_type == "f" for c in cells) or self.is_template_row(cells[0].value):
                break
            last += 1
        return last

    def is_template_row(self, first: object) -> bool:
        """Column A holds what the generator writes: a label, a heading, a table's title."""
        if not isinstance(first, str) or not first.strip():
            return False
        text = normalize_label(first)
        if self._template_labels is None:
            spec = self.spec
            items: list[Field | Kpi | Table] = [*spec.fields, *spec.kpis, *spec.tables]
            labels = frozenset(normalize_label(x.label(lang)) for lang in LANGS for x in items)
            texts = [s.title for s in spec.sections] + [s.title for s in spec.subsections]
            titles = frozenset(
                normalize_label(title(lang))
                for lang in LANGS
                for title in texts
                if title is not None
            )
            self._template_labels = (labels, titles)
        known, titles = self._template_labels
        return text in known or any(title and title in text for title in titles)

    def table_cell(
        self,
        address: str,
        raw: Any,
        formula: bool,
        kind: FieldType,
        label: Text,
        id_: str,
        number_format: str = "General",
    ) -> FieldValue:
        """A table cell: like an input, but a date column keeps text that is not a date."""
        if kind == "date" and not formula:
            period = self.period()
            parsed = v.parse_date(raw, period.start if period is not None else None)
            if parsed.problem == "not_date" and isinstance(raw, str):
                text = v.parse_value(raw, "text")
                if text.value is not None:
                    self.issue("kept_as_text", "info", "kept_as_text", id_, address, label=label,
                               raw=show(text.value, "text"))  # fmt: skip
                    return text.value
        parsed = self.read_cell(
            address, raw, formula, kind, label, id_, number_format=number_format
        )
        return parsed.value
