"""The report model: what a filled workbook says, as plain data (no I/O).

The reader builds it from a workbook; the Word writer, `check` and `export` consume it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from workbook.i18n import catalog

Severity = Literal["error", "warning", "info"]
# What the person chose for a summary sentence on its sheet (docs/narrative.md): "auto" the
# data's own wording (the default), "keep" the template's full wording, "drop", "rewrite".
CHOICES = ("auto", "keep", "drop", "rewrite")
FieldValue = float | int | str | dt.date | None
TableRow = dict[str, FieldValue]


@dataclass(frozen=True)
class Carried:
    """What a workbook carries from the period before (`opsbook next`, workbook.carried): where
    from, targets, commitments, plan."""

    source: str  # the file name of last period's workbook
    period: str  # the period the commitments were made in, as that workbook wrote it
    targets: Mapping[str, float] = field(default_factory=dict)  # target id -> value to reach
    commitments: Mapping[str, float] = field(default_factory=dict)  # field id -> as written
    # table id -> the plan's rows, each with an outcome: what this period says came of it
    tables: Mapping[str, tuple[TableRow, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Issue:
    """One finding about the workbook, localized on demand.

    kind: a stable machine name (missing_required, out_of_range, coerced, unreadable_value,
    kpi_mismatch, cleaned_text, ...); key: the message key under `issues.` in the catalogue.
    """

    kind: str
    severity: Severity
    key: str
    id: str | None = None
    cell: str | None = None  # "sheet!B12", as a user finds it in Excel
    params: tuple[tuple[str, object], ...] = ()

    def message(self, lang: str) -> str:
        t = catalog(lang)
        text = t(f"issues.{self.key}", **dict(self.params))
        return f"{self.cell}: {text}" if self.cell else text


UnusableReason = Literal["out_of_range", "part_exceeds_whole"]


@dataclass(frozen=True)
class Unusable:
    """A figure the workbook holds but nothing may be built on: out of its range, or one of a
    part and its whole where the part is larger (which of the two is wrong cannot be known, so
    both are left out). Its field value is None; every KPI reading it is blank."""

    id: str
    reason: UnusableReason
    cell: str | None  # "sheet!B12"
    other: str | None = None  # part_exceeds_whole: the other figure's id
    other_cell: str | None = None


@dataclass(frozen=True)
class SentenceChoice:
    """The person's choice for one summary sentence, from its review row on the sheet."""

    choice: str = "auto"  # one of CHOICES
    text: str | None = None  # their wording, for "rewrite"


@dataclass
class Report:
    """Every field, KPI and table of one filled workbook, plus what was found on the way."""

    template_id: str
    template_version: int
    lang: str  # the workbook's own language
    source: str  # the file name it was read from
    fields: dict[str, FieldValue] = field(default_factory=dict)
    kpis: dict[str, float | None] = field(default_factory=dict)
    tables: dict[str, list[TableRow]] = field(default_factory=dict)
    cells: dict[str, str] = field(default_factory=dict)  # id -> "sheet!B12"
    issues: list[Issue] = field(default_factory=list)
    # Figures left out of every KPI, sentence and team total, by id (see Unusable).
    unusable: dict[str, Unusable] = field(default_factory=dict)
    # When the workbook was last saved (its document properties, UTC), if it says so.
    saved_at: dt.datetime | None = None
    # Last period's commitments, when `opsbook next` carried them into this workbook.
    carried: Carried | None = None
    # Sentence id -> the person's choice for it and their own wording (rewrite), if any.
    choices: dict[str, SentenceChoice] = field(default_factory=dict)
    # A team roll-up's figures that cover fewer than everyone: id -> (n, m), n of m people.
    coverage: dict[str, tuple[int, int]] = field(default_factory=dict)

    def value(self, id_: str) -> FieldValue:
        """A field or KPI value by id (None when blank)."""
        if id_ in self.kpis:
            return self.kpis[id_]
        return self.fields.get(id_)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def blocking(self) -> bool:
        """True when something stops a trustworthy summary (what `check` exits 1 for)."""
        return bool(self.errors)
