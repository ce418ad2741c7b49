"""People: one submitted workbook reduced to what the roll-up needs, and which workbooks are
surely one person's (a revised workbook sent again replaces the earlier one)."""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opsbook.intake import Source
from opsbook.screening import Impossible, figures_filled, impossible_figures
from opsbook.team.notes import FileRef, Names, Note, When
from workbook.calc import compute_kpis
from workbook.period import Period, parse_period
from workbook.report import FieldValue, Report, TableRow
from workbook.spec import Spec


@dataclass(frozen=True, eq=False)
class Person:
    """One submitted workbook, reduced to what the roll-up needs (no tables)."""

    index: int
    name: str
    email: str | None
    source: str  # the input as messages name it
    values: dict[str, FieldValue]
    kpis: dict[str, float | None]
    lang: str
    errors: int = 0
    warnings: int = 0
    sender_name: str | None = None
    filled: int = 0  # figures filled in (numeric fields): 0 for a blank template
    author: str | None = None  # the workbook's own person field, when filled in
    tables: dict[str, list[TableRow]] = field(default_factory=dict)  # the filled-in rows
    saved_at: float | None = None  # POSIX time the workbook was saved (or sent, or written)
    sent_at: float | None = None  # POSIX time of the email it came in
    period: Period | None = None  # the period its period field names, when recognisable
    period_text: str | None = None  # that field as typed
    impossible: tuple[Impossible, ...] = ()  # figures above their whole: left out of totals
    lock: str | None = None  # a lock file beside it (open elsewhere): its name

    def number(self, id_: str) -> float | None:
        """A field or KPI value as a finite number, or None."""
        value = self.kpis[id_] if id_ in self.kpis else self.values.get(id_)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value) if math.isfinite(value) else None

    @property
    def names(self) -> tuple[str, ...]:
        """Every name this person may go by on a roster: the workbook's, the email's."""
        return tuple(n for n in (self.name, self.sender_name) if n)


def plain_text(value: FieldValue) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None


def person_from_report(
    spec: Spec,
    report: Report,
    index: int,
    source: Source | None = None,
) -> Person:
    """Keep the fields and KPIs of one report; name the person after the spec's person field,
    else the email's sender, else the file."""
    person_field = spec.rollup.person
    name = plain_text(report.fields.get(person_field)) if person_field else None
    sender_name = source.sender_name if source is not None else None
    email = source.sender_email if source is not None else None
    fallback = Path(report.source).stem if report.source else str(index + 1)
    period_text = plain_text(report.fields.get(spec.rollup.period)) if spec.rollup.period else None
    values: dict[str, FieldValue] = {f.id: report.fields.get(f.id) for f in spec.fields}
    impossible = _impossible(spec, report)
    kpis = _without_impossible(spec, values, dict(report.kpis), impossible)
    return Person(
        index=index,
        name=name or sender_name or (email.split("@")[0] if email else None) or fallback,
        email=email,
        source=source.label if source is not None else report.source,
        values=values,
        kpis=kpis,
        lang=report.lang,
        errors=len(report.errors),
        warnings=len(report.warnings),
        sender_name=sender_name,
        filled=figures_filled(spec, report.fields),
        author=name,
        tables={t: rows for t, rows in report.tables.items() if rows},
        saved_at=_saved_at(report, source),
        sent_at=source.sent_at.timestamp() if source and source.sent_at else None,
        period=parse_period(period_text),
        period_text=period_text,
        impossible=impossible,
        lock=source.lock.name if source is not None and source.lock is not None else None,
    )


def _impossible(spec: Spec, report: Report) -> tuple[Impossible, ...]:
    """The parts above their whole (an error-level check) in a report: neither figure can be
    trusted."""
    impossible = tuple(impossible_figures(spec, report.fields, report.cells))
    if impossible:
        return impossible
    gone = report.unusable  # the reader has already blanked both figures: it says which
    return tuple(
        Impossible(c.part, c.whole, gone[c.part].cell, gone[c.part].other_cell)
        for c in spec.checks
        if c.severity == "error"
        and getattr(gone.get(c.part), "reason", None) == "part_exceeds_whole"
        and getattr(gone.get(c.part), "other", None) == c.whole
    )


def _without_impossible(
    spec: Spec,
    values: dict[str, FieldValue],
    kpis: dict[str, float | None],
    impossible: tuple[Impossible, ...],
) -> dict[str, float | None]:
    """Both figures of each impossible pair stay out of the team's totals (blanked in values),
    and so does every KPI of this person built on them (the KPIs returned)."""
    if not impossible:
        return kpis
    for i in impossible:
        values[i.part] = values[i.whole] = None
    recomputed = compute_kpis(spec, values)
    return {k: (v if recomputed.get(k) is not None else None) for k, v in kpis.items()}


def _saved_at(report: Report, source: Source | None) -> float | None:
    """When this workbook was last saved: its own document properties (Excel, WPS and
    LibreOffice set them on every save; openpyxl stores them as naive UTC), else the email's
    Date, else the file's modification time."""
    if report.saved_at is not None:
        when = report.saved_at
        return (when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)).timestamp()
    if source is None:
        return None
    if source.sent_at is not None:
        return source.sent_at.timestamp()
    try:
        return source.origin.stat().st_mtime
    except OSError:
        return None


def _same_person(a: Person, b: Person) -> bool:
    """Whether two workbooks are surely one person's.

    Both name their person (the spec's person field): the same name (ignoring case, spaces and
    full-width forms), unless both came by email from different addresses (two colleagues of one
    name). Neither does: both came by email from the same address. One names a person and the
    other does not: never (one email may carry a group's workbooks, some without a name), nor
    two nameless files that only share a file name.
    """
    same_sender = bool(a.email and b.email and a.email.casefold() == b.email.casefold())
    if a.author and b.author:
        different_senders = bool(a.email and b.email) and not same_sender
        return norm_name(a.author) == norm_name(b.author) and not different_senders
    if not a.author and not b.author:
        return same_sender
    return False


def keep_latest(people: Sequence[Person]) -> tuple[list[Person], list[Note]]:
    """One workbook per person: a revised workbook sent again replaces the earlier one (the
    last saved is kept, then the later input) instead of being summed with it."""
    groups: list[list[Person]] = []
    for p in people:
        # Only into a group whose every workbook is surely the same person's: the relation is
        # not transitive (王磊 by mail from two addresses, and once from a folder).
        group = next((g for g in groups if all(_same_person(p, q) for q in g)), None)
        if group is None:
            groups.append([p])
        else:
            group.append(p)
    kept: list[Person] = []
    notes: list[Note] = []
    for group in groups:
        latest = max(group, key=_recency)
        kept.append(latest)
        if len(group) > 1:
            others = tuple(FileRef(p.source) for p in group if p is not latest)
            params = (
                ("name", latest.name),
                ("n", len(group)),
                ("kept", FileRef(latest.source)),
                ("when", When(latest.saved_at)),
                ("left_out", Names(others)),
            )
            notes.append(Note("superseded", params))
    kept.sort(key=lambda p: p.index)
    return kept, notes


def _recency(p: Person) -> tuple[bool, float, float, int]:
    """Order of one person's workbooks: last saved, then last sent, then the later input."""
    return (p.saved_at is not None, p.saved_at or 0.0, p.sent_at or 0.0, p.index)


def norm_name(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())
