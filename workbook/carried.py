"""Last period's commitments carried into this period's workbook (`opsbook next`): the plain
data, the defined names that hold it, and reading it back from a workbook.

A next-period workbook carries, read-only: the file and period the commitments came from, each
target's value to reach (`carried_t_<target>`), each commitment as the person wrote it
(`carried_c_<field>`), and last period's plan tables (the spec's `carry_tables`: the action
plan) with an outcome column to fill (`carried_tbl_<table>`: the table's columns, then
outcome). A workbook without these names carries nothing, and everything about it stays as
before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workbook.report import Carried, FieldValue, TableRow
from workbook.values import clean_text

NAME_SOURCE = "carried_source"
NAME_PERIOD = "carried_period"
OUTCOME = "outcome"  # the column added to a carried plan table


def target_name(target_id: str) -> str:
    return f"carried_t_{target_id}"


def commitment_name(field_id: str) -> str:
    return f"carried_c_{field_id}"


def table_name(table_id: str) -> str:
    return f"carried_tbl_{table_id}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = clean_text(str(value))[0].strip()
    return text or None


def read_carried(
    cell: Callable[[str], Any],
    cells: Callable[[str], list[list[Any]] | None],
    target_ids: tuple[str, ...],
    commitment_ids: tuple[str, ...],
    table_columns: Mapping[str, tuple[str, ...]],
) -> Carried | None:
    """The carried commitments, or None when the workbook carries none.

    cell(name): the value of the cell a defined name points at (None when absent);
    cells(name): the rows of the range a defined name points at (None when absent).
    """
    source = _text(cell(NAME_SOURCE))
    if source is None:
        return None
    targets = {t: n for t in target_ids if (n := _number(cell(target_name(t)))) is not None}
    commitments = {
        c: n for c in commitment_ids if (n := _number(cell(commitment_name(c)))) is not None
    }
    tables: dict[str, tuple[TableRow, ...]] = {}
    for table_id, columns in table_columns.items():
        rows: list[TableRow] = []
        for raw in cells(table_name(table_id)) or []:
            row: dict[str, FieldValue] = {}
            for column, value in zip((*columns, OUTCOME), raw, strict=False):
                if isinstance(value, dt.datetime):
                    value = value.date()
                row[column] = value if isinstance(value, dt.date) else _text(value)
            if any(v is not None for k, v in row.items() if k != OUTCOME):
                rows.append(row)
        if rows:
            tables[table_id] = tuple(rows)
    return Carried(
        source=source,
        period=_text(cell(NAME_PERIOD)) or "",
        targets=targets,
        commitments=commitments,
        tables=tables,
    )


@dataclass(frozen=True)
class Assessment:
    """One carried target against this period's figure: attainment and met or missed.

    attainment: actual / target (higher_better) or target / actual (lower_better), None where it
    means nothing (no figure, a target or actual at or below zero where it divides, neutral);
    met: None when it cannot be said (no actual, no measure, neutral polarity).
    """

    target_id: str
    target: float
    actual: float | None
    attainment: float | None
    met: bool | None


def assess(target_id: str, target: float, actual: float | None, polarity: str) -> Assessment:
    """Met or missed, as the workbook's own formulas on the targets sheet decide it."""
    if actual is None or polarity == "neutral":
        return Assessment(target_id, target, actual, None, None)
    if polarity == "lower_better":
        attainment = target / actual if target > 0 and actual > 0 else None
        return Assessment(target_id, target, actual, attainment, actual <= target)
    attainment = actual / target if target > 0 and actual >= 0 else None
    return Assessment(target_id, target, actual, attainment, actual >= target)
