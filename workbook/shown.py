"""A value as an issue message shows it: 1,234 · 12.5% · 2026-10-10 · — for blank."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from workbook import values as v
from workbook.i18n import catalog
from workbook.spec import Text

BLANK_SHOWN = "—"  # how a blank value is shown inside a message, in every locale


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


@dataclass(frozen=True)
class TableCell:
    """A table cell as an issue message names it, worded in the message's language only when
    it is shown (`{label:en}`): 问题清单 第 2 行 · 问题 / Problems, row 2 · Problem."""

    table: Text
    row: int
    column: Text

    def __format__(self, lang: str) -> str:
        lang = "en" if lang == "en" else "zh-CN"
        t = catalog(lang)
        return t(
            "reader.table_cell", table=self.table(lang), row=self.row, column=self.column(lang)
        )

    def __str__(self) -> str:
        return format(self, "zh-CN")
