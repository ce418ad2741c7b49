"""The team's outputs: the Rollup result, its messages in the output's language, the per-person
sheet of TEAM.xlsx and the appendix of TEAM.docx."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from generator.xlsx_writer import ExtraCell, ExtraSheet, build_workbook
from opsbook.files import check_output, write_atomic
from opsbook.messages import Message
from opsbook.results import BatchResult
from opsbook.team.notes import Names, Note, param_words, short_label
from opsbook.team.people import Person
from opsbook.team.roster import RosterEntry
from workbook.errors import ExitCode, UsageProblem
from workbook.i18n import catalog
from workbook.period import Period
from workbook.report import Report
from workbook.spec import Field, Kpi, Spec

if TYPE_CHECKING:
    pass

OUTPUT_SUFFIXES = (".xlsx", ".docx")


@dataclass
class Rollup:
    """The team report and everything said about it."""

    spec: Spec
    lang: str
    report: Report  # the combined inputs, with KPIs recomputed from them
    people: list[Person]
    failed: list[BatchResult] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    roster: list[RosterEntry] | None = None
    missing: list[RosterEntry] = field(default_factory=list)
    unlisted: list[Person] = field(default_factory=list)
    inputs: tuple[Path, ...] = ()  # every file read (workbooks, emails, the roster)
    errors: list[Note] = field(default_factory=list)  # figures left out of the totals
    partial: dict[str, int] = field(default_factory=dict)  # sums covering fewer than everyone
    period: Period | None = None  # the team's period
    blank: list[RosterEntry] = field(default_factory=list)  # on the roster, sent a blank workbook
    other_period: list[RosterEntry] = field(default_factory=list)  # sent another period's
    emails: dict[int, str] = field(default_factory=dict)  # person index -> roster's email
    doc_errors: dict[int, Message] = field(default_factory=dict)  # failures as team.docx says them

    @property
    def exit_code(self) -> int:
        """0, or 1 when an input or some figures were left out."""
        return int(ExitCode.DATA if self.failed or self.errors else ExitCode.OK)

    def messages(self, *, document: bool = False) -> list[str]:
        """Every failure, note and roster finding, one line each, in the roll-up's language
        (document=True: files named without their folders)."""
        return [
            *self.failure_lines(document=document),
            *self.coverage_lines(),
            *self.note_lines(document=document),
        ]

    def failure_lines(self, *, document: bool = False) -> list[str]:
        """The inputs and figures left out (what makes the exit code 1), one line each."""
        t = catalog(self.lang)
        lines = []
        for f in self.failed:
            error = f.message(self.lang)
            if document:
                doc_error = self.doc_errors.get(f.index)
                if doc_error is not None:
                    error = doc_error.text(self.lang)
                else:
                    error = error.replace(f.source, short_label(f.source))
            lines.append(t("rollup.not_included", error=error))
        lines.extend(e.message(self.lang, document=document) for e in self.errors)
        return lines

    def coverage_lines(self) -> list[str]:
        """Which team totals cover fewer than everyone, and the KPIs computed from them."""
        if not self.report.coverage:
            return []
        t = catalog(self.lang)
        sep = t("rollup.list_sep")
        by_count: dict[int, list[str]] = {}
        for id_, n in self.partial.items():
            by_count.setdefault(n, []).append(self.spec.field(id_).label(self.lang))
        m = len(self.people)
        lines = [
            t("team.partial_total", n=n, m=m, fields=sep.join(by_count[n]))
            for n in sorted(by_count, reverse=True)
        ]
        counted = [
            t("teamkpi.covered", label=self.spec.item(id_).label(self.lang), n=n, m=m)
            for id_, (n, m) in self.report.coverage.items()
            if id_ not in self.partial
        ]
        if counted:
            lines.append(t("teamkpi.kpi_line", kpis=sep.join(counted)))
        return lines

    def note_lines(self, *, document: bool = False) -> list[str]:
        """What the reader of the roll-up should know, and submitters not on the roster."""
        t = catalog(self.lang)
        lines = [n.message(self.lang, document=document) for n in self.notes]
        if self.roster is not None and self.unlisted:
            names = Names(tuple(p.name for p in self.unlisted))
            lines.append(t("rollup.unlisted", names=param_words(names, self.lang)))
        return lines

    def summary_lines(self) -> list[str]:
        """What the command prints: how many were combined, and who has not submitted."""
        t = catalog(self.lang)
        key = "rollup.combined_left_out" if self.failed else "rollup.combined"
        return [
            t(key, n=len(self.people), failed=len(self.failed)),
            *self.coverage_lines(),
            *self.roster_lines(),
        ]

    def roster_lines(self) -> list[str]:
        """Who has not submitted (or that everyone has); nothing without a roster."""
        if self.roster is None:
            return []
        t = catalog(self.lang)
        lines = []
        if not self.missing and not self.blank and not self.other_period:
            lines.append(t("rollup.all_submitted", n=len(self.roster)))
        if self.missing:
            lines.append(t("rollup.missing_title", n=len(self.missing)))
            lines.extend(f"  {e.shown}" for e in self.missing)
        if self.blank:
            lines.append(t("team.blank_title", n=len(self.blank)))
            lines.extend(f"  {e.shown}" for e in self.blank)
        if self.other_period:
            assert self.period is not None
            period = self.period.label(self.lang)
            lines.append(t("team.other_title", n=len(self.other_period), period=period))
            lines.extend(f"  {e.shown}" for e in self.other_period)
        return lines

    # -- the per-person table ---------------------------------------------------------------

    def person_columns(self) -> list[Field | Kpi]:
        """Identity fields (rule "label", e.g. the store), then the spec's per-person KPIs."""
        cols: list[Field | Kpi] = [f for f in self.spec.fields if f.rollup == "label"]
        for id_ in self.spec.rollup.kpis:
            item = self.spec.item(id_)
            assert isinstance(item, Field | Kpi)
            cols.append(item)
        return cols

    def person_sheet(self) -> ExtraSheet:
        t = catalog(self.lang)
        cols = self.person_columns()
        # A team figure over fewer than everyone says so in its column's header, where the
        # team row shows it.
        coverage = self.report.coverage

        def heading(c: Field | Kpi) -> str:
            if c.id not in coverage:
                return c.label(self.lang)
            n, m = coverage[c.id]
            return t("teamkpi.covered", label=c.label(self.lang), n=n, m=m)

        header = (
            t("rollup.col_name"),
            t("rollup.col_email"),
            t("rollup.col_file"),
            *(heading(c) for c in cols),
            t("rollup.col_issues"),
        )
        kinds = ("text", "text", "text", *(_kind(c) for c in cols), "count")
        rows: list[tuple[ExtraCell, ...]] = []
        for p in self.people:
            cells: list[ExtraCell] = [p.name, p.email or self.emails.get(p.index), p.source]
            for c in cols:
                value = p.kpis.get(c.id) if isinstance(c, Kpi) else p.values.get(c.id)
                cells.append(value if isinstance(value, str | int | float | dt.date) else None)
            cells.append(p.errors + p.warnings)
            rows.append(tuple(cells))
        # The team's own row: its KPIs as the summary states them (over the people who reported
        # every input), not as the dashboard's formulas compute them from partial totals.
        team: list[ExtraCell] = [t("teamkpi.team_row"), None, None]
        for c in cols:
            value = self.report.value(c.id)
            team.append(value if isinstance(value, str | int | float | dt.date) else None)
        team.append(None)
        rows.append(tuple(team))
        return ExtraSheet(
            name=t("rollup.sheet"),
            title=t("rollup.sheet_title", n=len(self.people)),
            header=header,
            kinds=kinds,
            rows=tuple(rows),
            notes=tuple(self.sheet_notes()),
            widths=(14.0, 26.0, 30.0, *(16.0 for _ in cols), 8.0),
            tab_color="#C00000",
        )

    def sheet_notes(self) -> list[str]:
        t = catalog(self.lang)
        lines = self.roster_lines()
        if lines:
            lines.append("")
        messages = self.messages()
        if messages:
            lines.append(t("rollup.notes_title"))
            lines.extend(f"  {m}" for m in messages)
        return lines

    # -- outputs ----------------------------------------------------------------------------

    def xlsx(self) -> bytes:
        """A workbook of the same template holding the combined inputs, plus the per-person
        sheet."""
        values = {**self.report.fields, **self.report.tables}
        return build_workbook(self.spec, self.lang, values, extra_sheets=[self.person_sheet()])

    def docx(self, *, reference_docx: Path | None = None, charts: bool = True) -> bytes:
        """The team summary, with the per-person table, the missing list and the notes;
        charts: the summary's native charts and the per-person ones (False: none)."""
        from generator.docx_writer import build_summary
        from opsbook.team.document import appendix

        return build_summary(
            self.spec,
            self.report,
            lang=self.lang,
            missing="omit",
            reference_docx=reference_docx,
            extra_blocks=appendix(self, charts=charts),
            charts=charts,
        )

    def write(
        self,
        out: Path,
        *,
        force: bool = False,
        reference_docx: Path | None = None,
        charts: bool = True,
    ) -> Path:
        """Write TEAM.xlsx or TEAM.docx (by its suffix) atomically; never over an input."""
        check_rollup_output(out, force=force, inputs=self.inputs)
        data = (
            self.xlsx()
            if out.suffix.lower() == ".xlsx"
            else self.docx(reference_docx=reference_docx, charts=charts)
        )
        write_atomic(out, data, force=force, inputs=self.inputs)
        return out


def _kind(item: Field | Kpi) -> str:
    return item.type if isinstance(item, Field) else item.format


def check_rollup_output(out: Path, *, force: bool, inputs: Sequence[Path] = ()) -> None:
    """Refuse an output that is not .xlsx or .docx, is one of the inputs, exists (without
    force) or has no folder."""
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise UsageProblem("batch.rollup_suffix", path=out)
    check_output(out, force=force, inputs=tuple(inputs))
