"""Filled workbook -> Report: every field, KPI and table found by its defined name, values read as
people type them, every KPI recomputed from the inputs and compared with what the file saved.

The policy (where cells are found, severities, cached results) is documented in docs/reader.md.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from openpyxl.utils.cell import column_index_from_string

from workbook import spec as spec_mod
from workbook import values as v
from workbook.errors import UnreadableFile
from workbook.i18n import normalize_lang
from workbook.locate import Missing, Where
from workbook.readcells import Cells
from workbook.readextra import carried, read_choices, report_unread
from workbook.readkpis import read_kpis
from workbook.readtables import read_table
from workbook.report import (
    FieldValue,
    Issue,
    Report,
    Unusable,
)
from workbook.saved import saved_results
from workbook.shown import show
from workbook.spec import NUMERIC_TYPES, Field, Kpi, Spec, Table, Text

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


def read_workbook_bytes(
    data: bytes, name: str, spec: Spec | None = None, *, unread: TemplateValues | None = None
) -> Report:
    """read_workbook for bytes already in memory (an upload); name is the file name that
    messages and the report's source show. The same safety checks run first."""
    from workbook.safety import open_checked_bytes

    spec = spec if spec is not None else spec_mod.load()
    path = Path(name)
    wb, checked = open_checked_bytes(data, path, data_only=False)
    try:
        return _Reader(path, spec, wb, checked.data).read(unread=unread)
    finally:
        wb.close()


class _Reader(Cells):
    """One read of an opened workbook into a Report."""

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
        read_kpis(self, where, report)
        for t in spec.tables:
            report.tables[t.id] = read_table(self, t, where[t.id], report)
        if unread is not None:
            report_unread(self, unread(spec, lang))
        report.choices = read_choices(self)
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
        report.carried = carried(self)
        return report

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
