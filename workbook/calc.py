"""Evaluate every KPI of a spec from field values, exactly as the workbook's formulas do."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping

from workbook import expr
from workbook.spec import NUMERIC_TYPES, Spec


def compute_kpis(spec: Spec, values: Mapping[str, object]) -> dict[str, float | None]:
    """KPI id -> value (None for blank), from field id -> value.

    Text and booleans count as blank, as the formula's COUNT guard does in Excel. Dates count as
    blank too: a date in a figure cell is a mistake the reader reports, whereas Excel and
    LibreOffice would compute with its serial number (and LibreOffice's COUNT also counts TRUE).
    """
    env: dict[str, float | None] = {}
    for f in spec.fields:
        if f.type in NUMERIC_TYPES:
            v = values.get(f.id)
            env[f.id] = float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
    out: dict[str, float | None] = {}
    scope: ChainMap[str, float | None] = ChainMap(out, env)
    for k in spec.kpi_order:
        out[k.id] = expr.evaluate(k.node, scope)
    return {k.id: out[k.id] for k in spec.kpis}
