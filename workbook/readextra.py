"""What else a workbook holds besides fields, KPIs and tables: the person's sentence choices,
last period's carried commitments, and filled cells that nothing read."""

from __future__ import annotations

from typing import Any

from workbook import carried as carried_mod
from workbook import values as v
from workbook.carried import NAME_SOURCE
from workbook.i18n import LANGS, catalog
from workbook.layout import normalize_label
from workbook.locate import Where, cell_address
from workbook.readcells import Cells
from workbook.report import (
    CHOICES,
    Carried,
    SentenceChoice,
)
from workbook.shown import show


def report_unread(cells: Cells, template: frozenset[str]) -> None:
    """A warning for every filled cell of the template's sheets that nothing read: a row
    someone added ("直播场次 86"), a figure typed beside its cell. Formulas, whatever the
    generator writes itself (labels, hints, headers) and locked cells of a protected sheet
    are not someone's input."""
    # The sheets holding inputs, whatever they are called now: not the dashboard (locked
    # formulas), a sheet someone added, or a team's per-person sheet.
    sheets = {sheet for sheet, _, _ in cells.read_cells}
    for ws in cells.worksheets.values():
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
                if (ws.title, cell.row, cell.column) in cells.read_cells:
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
                cells.issue("unread_cell", "warning", "trust.unread_cell", None, address, raw=raw)


def carried(cells: Cells) -> Carried | None:
    """Last period's commitments (workbook/carried.py), when the workbook carries them."""
    if NAME_SOURCE not in cells.names:
        return None

    def rows(name: str) -> list[list[Any]] | None:
        found = cells.by_name(name)
        if not isinstance(found, Where):
            return None
        ws = cells.sheet(found.sheet)
        return [
            [ws.cell(r, c).value for c in range(found.col, found.col2 + 1)]
            for r in range(found.row, found.row2 + 1)
        ]

    def cell(name: str) -> Any:
        found = rows(name)
        return found[0][0] if found else None

    return carried_mod.read_carried(
        cell,
        rows,
        tuple(t.id for t in cells.spec.targets),
        tuple(dict.fromkeys(c for t in cells.spec.targets for c in t.commitment)),
        {t: tuple(c.id for c in cells.spec.item(t).columns) for t in cells.spec.carry_tables},  # type: ignore[union-attr]
    )


def read_choices(cells: Cells) -> dict[str, SentenceChoice]:
    """The person's choice for each summary sentence (its review rows, by defined name:
    say_<id> and say_<id>_text). A choice is read in either language; a sentence whose rows
    are gone (an older workbook) or untouched is "auto"; text typed in the rewrite row with
    no choice made is a rewrite (docs/narrative.md)."""
    words: dict[str, str] = {}
    for lang in LANGS:
        for word, choice in zip(catalog(lang).list("narrative.choices"), CHOICES, strict=True):
            words[normalize_label(word)] = choice
    choices: dict[str, SentenceChoice] = {}
    for p in cells.spec.paragraphs:
        for sentence in p.sentences:
            choice_cell = cells.by_name(sentence.name)
            text_cell = cells.by_name(f"{sentence.name}_text")
            chosen = "auto"
            if isinstance(choice_cell, Where):
                raw, formula = cells.raw(choice_cell)
                if isinstance(raw, str) and not formula:
                    chosen = words.get(normalize_label(raw), "auto")
            text = None
            if isinstance(text_cell, Where):
                raw, formula = cells.raw(text_cell)
                if isinstance(raw, str) and not formula and raw.strip():
                    text = v.clean_text(raw)[0] or None
            if text is not None and chosen == "auto":
                chosen = "rewrite"
            if chosen != "auto" or text is not None:
                choices[sentence.id] = SentenceChoice(chosen, text)
    return choices
