"""The KPIs of a workbook: each recomputed from the inputs as read and compared with its cell
(a formula edited, a result saved stale, a value typed over the formula, a cell cleared)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from workbook import values as v
from workbook.calc import compute_kpis
from workbook.locate import Missing, Where
from workbook.readcells import Cells
from workbook.report import (
    Report,
)
from workbook.saved import NOT_SAVED, same_result, show_saved
from workbook.shown import show
from workbook.spec import NUMERIC_TYPES, FieldType, Kpi, Spec

_KPI_KIND: Mapping[str, FieldType] = MappingProxyType(
    {
        "percent": "percent",
        "change": "percent",
        "money": "money",
        "count": "count",
        "number": "number",
        "ratio": "number",
        "pp": "number",
    }
)


def normalize_formula(formula: str) -> str:
    """A formula compared as Excel would: no leading "=", no spaces outside strings, any case."""
    parts = re.split(r'("(?:[^"]|"")*")', formula.strip().removeprefix("="))
    return "".join(p if i % 2 else re.sub(r"\s+", "", p).upper() for i, p in enumerate(parts))


def read_kpis(cells: Cells, where: Mapping[str, Where | Missing], report: Report) -> None:
    """Each KPI recomputed from the fields as read, compared with what its cell holds."""
    spec = cells.spec
    computed = compute_kpis(spec, report.fields)
    env: dict[str, float | None] = {
        f.id: float(x) if isinstance(x := report.fields.get(f.id), int | float) else None
        for f in spec.fields
        if f.type in NUMERIC_TYPES
    }
    env.update(computed)
    not_saved = 0
    for k in spec.kpis:
        value = computed[k.id]
        found = where[k.id]
        if isinstance(found, Missing):
            cells.not_found(k, found, False)
            report.kpis[k.id] = value
            continue
        if found.how == "label":
            cells.note_found_by_label(k, found)
        report.cells[k.id] = found.address
        cells.read_cells.add((found.sheet, found.row, found.col))
        raw, formula = cells.raw(found)
        if formula:
            not_saved += _compare_formula(cells, k, found, str(raw), value)
        elif raw is None or (isinstance(raw, str) and not raw.strip()):
            cells.issue("kpi_cleared", "warning", "kpi_cleared", k.id, found.address,
                        label=k.label, value=show(value, k.format))  # fmt: skip
        else:
            value = _typed_over(cells, k, found.address, raw, value, env)
        report.kpis[k.id] = value
    if not_saved:
        cells.issue("kpi_not_saved", "info", "kpi_not_saved", count=not_saved)


def _compare_formula(cells: Cells, k: Kpi, found: Where, raw: str, value: float | None) -> int:
    """Note an edited formula or a stale saved result; 1 when no result was saved for a KPI
    that has a value (counted in one note), else 0."""
    address, label, shown = found.address, k.label, show(value, k.format)
    saved = cells.saved.get((found.sheet, found.coordinate), NOT_SAVED)
    if normalize_formula(raw) != normalize_formula(k.formula):
        cells.issue(
            "formula_edited", "warning", "formula_edited", k.id, address,
            label=label, formula=raw, saved=show_saved(saved, k.format), value=shown,
        )  # fmt: skip
    elif saved is NOT_SAVED:  # shows blank: worth a note only if it has a value
        return int(value is not None)
    elif value is None and inputs_of(cells.spec, k) & set(cells.unusable):
        pass  # blank on purpose: the unusable figure was reported on its own
    elif not same_result(saved, value):
        # Excel's COUNT skips a number stored as text, so the workbook shows the KPI blank (or
        # computed without it) where opsbook reads the number.
        text_input = bool(inputs_of(cells.spec, k) & cells.text_numbers)
        key = "kpi_text_input" if text_input else "stale_cache"
        cells.issue(
            key, "info", key, k.id, address, label=label,
            saved=show_saved(saved, k.format), value=shown,
        )  # fmt: skip
    return 0


def _typed_over(
    cells: Cells, k: Kpi, address: str, raw: Any, value: float | None,
    env: Mapping[str, float | None],
) -> float | None:  # fmt: skip
    """A value typed over the KPI's formula: used when the KPI cannot be computed (its inputs
    are missing), else noted and ignored."""
    typed = v.parse_value(raw, _KPI_KIND[k.format])
    typed_value = typed.value if isinstance(typed.value, int | float) else None
    inputs_present = all(env.get(r) is not None for r in k.refs)
    shown_typed = show(typed_value, k.format) if typed_value is not None else show(raw, "text")
    unusable = set(cells.unusable)
    if not inputs_present and typed_value is not None and not inputs_of(cells.spec, k) & unusable:
        cells.issue("kpi_overwritten", "warning", "kpi_typed_used", k.id, address,
                    label=k.label, typed=shown_typed)  # fmt: skip
        return float(typed_value)
    cells.issue("kpi_overwritten", "warning", "kpi_overwritten", k.id, address,
                label=k.label, typed=shown_typed, value=show(value, k.format))  # fmt: skip
    return value


def inputs_of(spec: Spec, kpi: Kpi) -> set[str]:
    """The input fields a KPI reads, directly or through other KPIs."""
    found: set[str] = set()
    for ref in kpi.refs:
        item = spec.item(ref)
        found |= inputs_of(spec, item) if isinstance(item, Kpi) else {ref}
    return found
