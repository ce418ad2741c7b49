"""The sheet layout: the contract between the workbook writer and the reader's fallbacks.

The writer (generator/xlsx_writer.py) gives every input, KPI and table a defined name, and the
reader (workbook/reader.py) looks names up first. When a name is missing or points at a deleted
sheet (a sheet copied into another workbook, a row deleted and typed again), the reader falls
back on where the writer puts things, which this module states and both sides import:

- Section sheets: column A (COL_LABEL) holds the label of each field, KPI and table, the spec's
  label in the workbook's language. A required field's label ends with REQUIRED_MARK (" *"), a
  KPI's starts with KPI_MARK ("▸ "); `normalize_label` removes both, so a label matches in
  either language, whatever the case, width and spacing.
- A field's or KPI's value is on its label's row, in column B (COL_VALUE); its unit in C
  (COL_UNIT), its hint in D (COL_HINT).
- A table's label row is followed by its header row, then its rows: the first row of data is
  the label's row + TABLE_DATA_OFFSET, its columns the spec's columns from column A.
- The template's identity: the defined names META_NAMES (template id, version, language) point
  at cells of the hidden sheet META_SHEET; the same names are custom document properties, for a
  workbook whose names were lost.
- Sheet names: at most SHEET_NAME_MAX characters, none of SHEET_NAME_FORBIDDEN (Excel's rules;
  the spec loader holds every sheet name to them).

Columns are 0-based here, as xlsxwriter counts; openpyxl counts from 1 (column B is 2).
"""

from __future__ import annotations

import re
import unicodedata

COL_LABEL, COL_VALUE, COL_UNIT, COL_HINT = 0, 1, 2, 3
TABLE_DATA_OFFSET = 2  # the label row, then the header row, then the data

REQUIRED_MARK = " *"
KPI_MARK = "▸ "

META_SHEET = "_opsbook"
META_NAMES = ("opsbook_template", "opsbook_version", "opsbook_lang")

SHEET_NAME_MAX = 31
SHEET_NAME_FORBIDDEN = ":\\/?*[]'"


def normalize_label(text: str) -> str:
    """A label as the reader compares it: NFKC, case-folded, single spaces, no marks."""
    text = unicodedata.normalize("NFKC", text).strip().casefold()
    text = text.removeprefix(KPI_MARK.strip()).removesuffix(REQUIRED_MARK.strip()).strip()
    return re.sub(r"\s+", " ", text)


def valid_sheet_name(name: str) -> bool:
    """Whether Excel accepts the name for a sheet."""
    return 0 < len(name) <= SHEET_NAME_MAX and not any(c in SHEET_NAME_FORBIDDEN for c in name)
