"""Reading one cell of a workbook as people type it, and recording what was found: the state a
read shares (issues, saved results, cells read) and the parsing of an input cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl.workbook.workbook import Workbook

from workbook import values as v
from workbook.locate import Locator, Missing, Where
from workbook.period import Period, parse_period
from workbook.report import (
    Issue,
    Severity,
    Unusable,
)
from workbook.saved import NOT_SAVED, Saved
from workbook.shown import TableCell, show
from workbook.spec import Field, FieldType, Kpi, Spec, Table, Text


class Cells(Locator):
    """A workbook being read: where things are (Locator) and what the read has found so far."""

    def __init__(self, path: Path, spec: Spec, wb: Workbook, package: bytes) -> None:
        super().__init__(spec, wb)
        self.path = path
        self.package = package  # the bytes openpyxl parsed
        self.issues: list[Issue] = []
        self.saved: dict[tuple[str, str], Saved] = {}
        self.text_numbers: set[str] = set()  # inputs holding a number stored as text
        self.unusable: dict[str, Unusable] = {}  # figures nothing may be built on
        self.read_cells: set[tuple[str, int, int]] = set()  # (sheet, row, col) of cells read
        self._period: tuple[Period | None] | None = None

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
        label: Text | TableCell,
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

        self._note_coercions(parsed, kind, id_, address, label, shown_raw, period)
        return parsed

    def _note_coercions(
        self, parsed: v.Parsed, kind: FieldType, id_: str, address: str, label: Text | TableCell,
        shown_raw: str, period: Period | None,
    ) -> None:  # fmt: skip
        """Say what reading the cell changed: text cleaned, a percent assumed, a placeholder
        read as blank, a year taken from the period, an approximate or 万 figure."""
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
