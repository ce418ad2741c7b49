"""Team roll-up: many filled workbooks of one template combined into one team report.

How each field combines is data in the spec (`rollup` and `weight` on every field, the
`[rollup]` table for the person field and the per-person KPIs); docs/rollup.md explains the
rules. KPIs are never combined: they are recomputed from the combined inputs with the same
expressions as a single workbook, so a team rate is total over total, never an average of rates.

Outputs: a workbook of the same template (live formulas, so render/check/export work on it) with
an extra per-person sheet, or the Word summary of the team report with a per-person table, the
roster's missing list and the roll-up's notes appended.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import math
import tempfile
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from generator.xlsx_writer import ExtraCell, ExtraSheet, build_workbook
from opsbook.batch import (
    BatchResult,
    InputProblem,
    Source,
    default_jobs,
    discover,
    localized,
    run_pool,
    unexpected,
)
from opsbook.files import check_output, write_atomic
from opsbook.screening import Impossible, figures_filled, impossible_figures, team_period
from opsbook.teamtext import item_key as _item_key
from opsbook.teamtext import merged_items, same_precision
from workbook import spec as spec_mod
from workbook.calc import compute_kpis
from workbook.errors import ExitCode, OpsbookError, UnreadableFile, UnsafeFile, UsageProblem
from workbook.i18n import LANGS, catalog, normalize_lang
from workbook.period import Period, local_date, parse_period
from workbook.report import FieldValue, Report, TableRow
from workbook.spec import NUMERIC_TYPES, Field, Kpi, Spec, Table, Text

if TYPE_CHECKING:
    from generator.narrative import Block

OUTPUT_SUFFIXES = (".xlsx", ".docx")
# Roster columns, matched case-insensitively after trimming: the first column whose header is one
# of these (in either language) is used.
ROSTER_NAME_HEADERS = ("name", "full name", "person", "姓名", "名字", "人员", "填写人")
ROSTER_EMAIL_HEADERS = ("email", "e-mail", "mail", "email address", "邮箱", "电子邮箱", "邮件")
MAX_ROSTER_BYTES = 5 * 1024 * 1024
MAX_WORKBOOK_PART = 4 * 1024 * 1024  # xl/workbook.xml, read to spot an earlier roll-up
# Names listed in one note before "and N more".
LISTED = 5
# Rows of a merged list (problems, actions) in the team's workbook and summary: a team of 500
# with three problems each would otherwise print 1,500.
MAX_TEAM_ROWS = 100


# ----------------------------------------------------------------------------------------------
# People


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


def _text(value: FieldValue) -> str | None:
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
    name = _text(report.fields.get(person_field)) if person_field else None
    sender_name = source.sender_name if source is not None else None
    email = source.sender_email if source is not None else None
    fallback = Path(report.source).stem if report.source else str(index + 1)
    period_text = _text(report.fields.get(spec.rollup.period)) if spec.rollup.period else None
    values: dict[str, FieldValue] = {f.id: report.fields.get(f.id) for f in spec.fields}
    kpis = dict(report.kpis)
    # A part above its whole (an error-level check): neither figure can be trusted, so both
    # stay out of the team's totals, and so does every KPI of this person built on them.
    impossible = tuple(impossible_figures(spec, report.fields, report.cells))
    if not impossible:  # the reader has already blanked both figures: it says which they were
        gone = report.unusable
        impossible = tuple(
            Impossible(c.part, c.whole, gone[c.part].cell, gone[c.part].other_cell)
            for c in spec.checks
            if c.severity == "error"
            and getattr(gone.get(c.part), "reason", None) == "part_exceeds_whole"
            and getattr(gone.get(c.part), "other", None) == c.whole
        )
    if impossible:
        for i in impossible:
            values[i.part] = values[i.whole] = None
        recomputed = compute_kpis(spec, values)
        kpis = {k: (v if recomputed.get(k) is not None else None) for k, v in kpis.items()}
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
        return _norm_name(a.author) == _norm_name(b.author) and not different_senders
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
                ("when", _when(latest.saved_at)),
                ("left_out", Names(others)),
            )
            notes.append(Note("superseded", params))
    kept.sort(key=lambda p: p.index)
    return kept, notes


def _recency(p: Person) -> tuple[bool, float, float, int]:
    """Order of one person's workbooks: last saved, then last sent, then the later input."""
    return (p.saved_at is not None, p.saved_at or 0.0, p.sent_at or 0.0, p.index)


@dataclass(frozen=True)
class When:
    """A saving time for messages, in the local time of the machine running opsbook, written as
    the message's language writes dates (2026年8月31日 09:30 / 31 August 2026 09:30)."""

    timestamp: float | None


def _when(timestamp: float | None) -> When:
    return When(timestamp)


@dataclass(frozen=True)
class ReadTask:
    """One workbook handed to a worker to read for the roll-up."""

    index: int
    source: Source
    spec: Spec | None  # None: the built-in spec, loaded in the worker
    message_lang: str


@dataclass(frozen=True)
class Skipped:
    """An input left out on purpose: an earlier team roll-up, not a person's workbook."""

    index: int
    source: str


def is_rollup_workbook(path: Path) -> bool:
    """Whether path is a roll-up written by this module: it has the per-person sheet (by its name
    in either language). Reads only the small workbook part; any doubt means no."""
    names = {f'name="{catalog(lang)("rollup.sheet")}"'.encode() for lang in LANGS}
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("xl/workbook.xml")
            if info.file_size > MAX_WORKBOOK_PART:
                return False
            part = archive.read(info)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, RuntimeError):
        return False
    return any(name in part for name in names)


def rollup_partial(path: Path) -> str | None:
    """For a roll-up workbook whose totals cover fewer than everyone: the name of its per-person
    sheet (whose notes say whom they cover); else None. Reads only the small parts."""
    if not is_rollup_workbook(path):
        return None
    marks = {catalog(lang)(key, n=0, m=0, fields="", kpis="").split("0")[0].encode(): lang
             for lang in LANGS for key in ("team.partial_total", "teamkpi.kpi_line")}  # fmt: skip
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            parts = [n for n in names if n == "xl/sharedStrings.xml" or n.startswith("xl/work")]
            for name in parts:
                info = archive.getinfo(name)
                if info.file_size > MAX_WORKBOOK_PART:
                    continue
                data = archive.read(info)
                for mark, lang in marks.items():
                    if mark in data:
                        return catalog(lang)("rollup.sheet")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, RuntimeError):
        return None
    return None


def read_person(task: ReadTask) -> Person | BatchResult | Skipped:
    """Read one workbook (in a worker); a failure is a result, never an exception."""
    from workbook.reader import read_workbook

    spec = task.spec if task.spec is not None else spec_mod.load()
    label = task.source.label
    if is_rollup_workbook(task.source.path):
        return Skipped(task.index, label)
    try:
        report = read_workbook(task.source.path, spec)
    except OpsbookError as exc:
        error = localized(exc, task.source, task.message_lang)
        return BatchResult(task.index, label, None, "failed", 0, error, int(exc.exit_code))
    except Exception as exc:  # one broken file never stops the roll-up
        error, code = unexpected(task.source, exc, task.message_lang)
        return BatchResult(task.index, label, None, "failed", 0, error, code)
    return person_from_report(spec, report, task.index, task.source)


def _crashed(task: ReadTask, exc: BaseException | None) -> BatchResult:
    error, code = unexpected(task.source, exc, task.message_lang)
    return BatchResult(task.index, task.source.label, None, "failed", 0, error, code)


# ----------------------------------------------------------------------------------------------
# Notes: what the reader of a roll-up should know


@dataclass(frozen=True)
class Note:
    """One warning about the roll-up, localized on demand (`<group>.<key>`)."""

    key: str
    params: tuple[tuple[str, object], ...] = ()
    group: str = "rollup.note"

    def message(self, lang: str, *, document: bool = False) -> str:
        """The line; document=True names files without their folders (for team.docx)."""
        t = catalog(lang)
        params = {k: _param(v, lang, document) for k, v in self.params}
        # The document's reader gets words for them: no command to run, no sheet cells.
        if document and f"teamdoc.{self.key}" in t.entries:
            return t(f"teamdoc.{self.key}", **params)
        return t(f"{self.group}.{self.key}", **params)


@dataclass(frozen=True)
class FileRef:
    """An input as messages name it: its path on a terminal, its file name in a document."""

    label: str

    def short(self) -> str:
        return " › ".join(Path(part).name for part in self.label.split(" › "))


def _short_label(label: str) -> str:
    return FileRef(label).short()


@dataclass(frozen=True)
class Counted:
    """A value and how many workbooks gave it."""

    value: str
    n: int


@dataclass(frozen=True)
class Names:
    """A list for a message: the first LISTED items, then "and N more"."""

    items: tuple[str | Text | Counted | FileRef, ...]


def _param(value: object, lang: str, document: bool = False) -> object:
    t = catalog(lang)
    if isinstance(value, Text):
        return value(lang)
    if isinstance(value, FileRef):
        return value.short() if document else value.label
    if isinstance(value, When):
        if value.timestamp is None:
            return "?"
        moment = dt.datetime.fromtimestamp(value.timestamp)
        return f"{local_date(moment.date(), lang)} {moment:%H:%M}"
    if isinstance(value, Counted):
        return t("rollup.value_count", value=value.value, n=value.n)
    if isinstance(value, Names):
        items = [str(_param(i, lang, document)) for i in value.items]
        shown = t("rollup.list_sep").join(items[:LISTED])
        if len(value.items) > LISTED:
            shown = t("rollup.and_more", items=shown, n=len(value.items) - LISTED)
        return shown
    return value


# ----------------------------------------------------------------------------------------------
# Combining


def _half_up(value: float) -> int:
    return int(Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _number(value: FieldValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _present(f: Field, value: FieldValue) -> bool:
    if f.type in NUMERIC_TYPES:
        return _number(value) is not None
    if f.type == "text":
        return _text(value) is not None
    return isinstance(value, dt.date)


def _key(value: FieldValue) -> object:
    """Equality for "same": text ignores spacing and case, numbers compare as floats."""
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _whole(f: Field, value: float) -> float | int:
    """Counts stay whole numbers (a mean of days is rounded half up); other numbers as they are."""
    if f.type == "count":
        return _half_up(value)
    return int(value) if value.is_integer() and f.type != "percent" else value


@dataclass
class _Combiner:
    """Combines the people's values into the team's: sums, weighted targets, notes."""

    spec: Spec
    people: Sequence[Person]
    lang: str
    team: str | None
    notes: list[Note] = field(default_factory=list)
    partial: dict[str, int] = field(default_factory=dict)  # sums of fewer than everyone: how many
    means: dict[str, int] = field(default_factory=dict)  # means of fewer than everyone: how many

    def combine(self) -> dict[str, FieldValue]:
        values: dict[str, FieldValue] = {}
        blank_sums: dict[int, list[Field]] = {}
        for f in self.spec.fields:
            present = [p for p in self.people if _present(f, p.values.get(f.id))]
            if f.rollup == "label":
                values[f.id] = self.label(f, present)
            if f.rollup == "none" or not present:
                continue
            if f.rollup == "sum":
                # What was reported is summed; the total says whom it covers (partial_lines),
                # and the KPIs computed from it are flagged (partial_kpis).
                if len(present) < len(self.people):
                    self.partial[f.id] = len(present)
                    filled = {p.index for p in present}
                    for p in self.people:
                        left_out = {id_ for i in p.impossible for id_ in (i.part, i.whole)}
                        if p.index not in filled and f.id not in left_out:
                            blank_sums.setdefault(p.index, []).append(f)
                total = math.fsum(_number(p.values[f.id]) or 0.0 for p in present)
                values[f.id] = _whole(f, total)
            elif f.rollup == "mean":
                mean = self.mean(f, present)
                if mean is not None:
                    values[f.id] = _whole(f, mean)
                    # A mean over fewer than everyone says whom it covers, as a sum does.
                    taking = sum(_reports(self.spec, p, f.id) for p in present)
                    if taking < len(self.people):
                        self.means[f.id] = taking
            elif f.rollup == "same":
                values[f.id] = self.same(f, present)
            elif f.rollup == "join":
                values[f.id] = self.join(f, present)
            elif f.rollup == "unique":
                values[f.id] = self.unique(f, present)
        for p in self.people:
            fields = blank_sums.get(p.index)
            if fields:
                self.note(
                    "blank_in_sum",
                    name=p.name,
                    source=FileRef(p.source),
                    fields=Names(tuple(f.label for f in fields)),
                    n=len(fields),
                )
        return values

    def note(self, key: str, **params: object) -> None:
        self.notes.append(Note(key, tuple(params.items())))

    def mean(self, f: Field, present: Sequence[Person]) -> float | None:
        """The weighted mean: weight = product of the weight ids' values for that person; people
        without a usable weight take no part. Unweighted when the field names no weight."""
        total = weights = 0.0
        for p in present:
            value = _number(p.values[f.id])
            w = 1.0
            for id_ in f.weight:
                part = p.number(id_)
                w = math.nan if part is None else w * part
            if value is None or not math.isfinite(w) or w <= 0:
                continue
            total += value * w
            weights += w
        if weights <= 0:
            return None
        return total / weights

    def same(self, f: Field, present: Sequence[Person]) -> FieldValue:
        """The value everyone gave; when they differ, the most common (first seen on a tie) and a
        note listing the values."""
        counts: Counter[object] = Counter(_key(p.values[f.id]) for p in present)
        if len(counts) == 1:
            return present[0].values[f.id]
        best = max(counts.values())
        chosen = next(p.values[f.id] for p in present if counts[_key(p.values[f.id])] == best)
        shown: dict[object, str] = {}
        for p in present:
            shown.setdefault(_key(p.values[f.id]), _show(p.values[f.id]))
        odd = tuple(p.name for p in present if _key(p.values[f.id]) != _key(chosen))
        self.note(
            "differ",
            field=f.label,
            values=Names(tuple(Counted(shown[k], n) for k, n in counts.most_common())),
            chosen=_show(chosen),
            others=Names(odd),
        )
        return chosen

    def label(self, f: Field, present: Sequence[Person]) -> str:
        """The team's label (given, or the one value everyone shares, or "Team (N people)"); and
        a note for every value shared by several workbooks, whose sums may count it twice."""
        groups: dict[object, list[Person]] = {}
        for p in present:
            groups.setdefault(_key(p.values[f.id]), []).append(p)
        for members in groups.values():
            if len(members) > 1:
                self.note(
                    "shared_label",
                    field=f.label,
                    value=_show(members[0].values[f.id]),
                    names=Names(tuple(p.name for p in members)),
                    n=len(members),
                )
        if self.team:
            return self.team
        if len(groups) == 1 and len(present) == len(self.people):
            return str(_text(present[0].values[f.id]))
        return catalog(self.lang)("rollup.team_label", n=len(self.people))

    def join(self, f: Field, present: Sequence[Person]) -> str:
        """Each person's text, with their name, one paragraph each; a text several people
        kept the same (the template's own paragraph) once, with all their names."""
        t = catalog(self.lang)
        groups: dict[str, tuple[list[str], str]] = {}
        for p in present:
            text = str(p.values[f.id]).strip()
            groups.setdefault(_item_key(text), ([], text))[0].append(p.name)
        sep = t("rollup.list_sep")
        parts = [t("rollup.joined", name=sep.join(names), text=text)
                 for names, text in groups.values()]  # fmt: skip
        return self.fit(f, parts, "\n")

    def unique(self, f: Field, present: Sequence[Person]) -> str:
        """The distinct items of everyone's lists, in the order first given."""
        items = merged_items(str(p.values[f.id]) for p in present)
        return self.fit(f, items, catalog(self.lang)("rollup.list_sep"))

    def fit(self, f: Field, parts: list[str], sep: str) -> str:
        """Join whole parts within the field's length limit; say how many were left out."""
        t = catalog(self.lang)
        limit = int(f.max) if f.max is not None else None
        text = sep.join(parts)
        if limit is None or len(text) <= limit:
            return text
        kept: list[str] = []
        for i, part in enumerate(parts):
            more = t("rollup.more_parts", n=len(parts) - i - 1)
            if len(sep.join([*kept, part, more])) > limit:
                break
            kept.append(part)
        left = len(parts) - len(kept)
        self.note("cut", field=f.label, n=left, total=len(parts))
        return sep.join([*kept, t("rollup.more_parts", n=left)])[:limit]


def _show(value: FieldValue) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return " ".join(str(value).split())


def combine(
    spec: Spec, people: Sequence[Person], *, lang: str, team: str | None = None
) -> tuple[dict[str, FieldValue], list[Note], dict[str, int]]:
    """Field id -> combined value (absent when blank), the notes on the way, and the sums that
    cover fewer than everyone (field id -> how many people they cover)."""
    combiner = _Combiner(spec, people, normalize_lang(lang), team)
    return combiner.combine(), combiner.notes, combiner.partial


def _reports(spec: Spec, p: Person, id_: str) -> bool:
    """Whether the person reported this input of a KPI as the team's value uses it: a number,
    and for a weighted mean, a usable weight too (without one they take no part in the mean)."""
    if p.number(id_) is None:
        return False
    item = spec.item(id_)
    if isinstance(item, Field) and item.rollup == "mean" and item.weight:
        w = 1.0
        for wid in item.weight:
            part = p.number(wid)
            if part is None:
                return False
            w *= part
        return math.isfinite(w) and w > 0
    return True


def _inputs(spec: Spec, id_: str, seen: set[str]) -> set[str]:
    """The fields a field or KPI rests on: a KPI's references, a weighted mean's weights."""
    if id_ in seen:
        return set()
    seen.add(id_)
    item = spec.item(id_)
    if isinstance(item, Kpi):
        out: set[str] = set()
        for ref in item.refs:
            out |= _inputs(spec, ref, seen)
        return out
    out = {id_}
    if isinstance(item, Field) and item.rollup == "mean":
        for wid in item.weight:
            out |= _inputs(spec, wid, seen)
    return out


def kpi_inputs(spec: Spec) -> dict[str, frozenset[str]]:
    """KPI id -> the fields its family rests on. A family is a KPI with the KPIs it is compared
    with: one referring to another (roi_change to roi and roi_prev), and x with x_prev; so a
    current value, its previous value and the change between them cover the same people."""
    ids = {k.id for k in spec.kpis}
    parent = {k.id: k.id for k in spec.kpis}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for k in spec.kpis:
        linked = [r for r in k.refs if r in ids]
        if f"{k.id}_prev" in ids:
            linked.append(f"{k.id}_prev")
        for r in linked:
            parent[find(r)] = find(k.id)
    leaves: dict[str, set[str]] = {}
    for k in spec.kpis:
        leaves.setdefault(find(k.id), set()).update(_inputs(spec, k.id, set()))
    return {k.id: frozenset(leaves[find(k.id)]) for k in spec.kpis}


def consistent_kpis(
    spec: Spec, people: Sequence[Person], values: dict[str, FieldValue], lang: str
) -> tuple[dict[str, float | None], dict[str, int]]:
    """The team's KPIs, each computed only over the people who reported every input of it and
    of the KPIs it is compared with (a consistent subset: one person's ad spend left out leaves
    their ad GMV out of the team's ROI too). Returns the KPIs and, for those over fewer than
    everyone, how many people they cover. Inputs nobody reported do not count; a KPI nobody
    reported every input of is blank."""
    kpis = compute_kpis(spec, values)
    covers: dict[str, int] = {}
    done: dict[frozenset[int], dict[str, float | None]] = {}
    inputs = kpi_inputs(spec)
    for k in spec.kpis:
        needed = [i for i in inputs[k.id] if any(_reports(spec, p, i) for p in people)]
        who = [p for p in people if all(_reports(spec, p, i) for i in needed)]
        if len(who) == len(people):
            continue
        if not who:
            kpis[k.id] = None
            continue
        key = frozenset(p.index for p in who)
        if key not in done:
            subset = _Combiner(spec, who, lang, None).combine()
            done[key] = compute_kpis(spec, subset)
        kpis[k.id] = done[key][k.id]
        if kpis[k.id] is not None:
            covers[k.id] = len(who)
    return kpis, covers


def partial_kpis(spec: Spec, partial: Iterable[str], kpis: dict[str, float | None]) -> list[Kpi]:
    """The KPIs with a value computed (directly or through other KPIs) from a partial total."""
    tainted = set(partial)
    changed = True
    while changed:
        changed = False
        for k in spec.kpis:
            if k.id not in tainted and tainted.intersection(k.refs):
                tainted.add(k.id)
                changed = True
    return [k for k in spec.kpis if k.id in tainted and kpis.get(k.id) is not None]


def merge_rows(
    table: Table, people: Sequence[Person], lang: str, notes: list[Note]
) -> list[TableRow]:
    """Everyone's rows of a list (the problems found, the action plan), in people's order, the
    first column prefixed with the person's name as `join` does (a row several people wrote the
    same: once, with all their names); at most MAX_TEAM_ROWS, with a note saying how many more
    each person's own summary has."""
    t = catalog(lang)
    first = table.columns[0].id
    # A row several people wrote the same (the template's example kept) is listed once, with
    # all their names.
    groups: dict[tuple[object, ...], tuple[list[str], TableRow]] = {}
    for p in people:
        for row in p.tables.get(table.id, []):
            key = tuple(_key(row.get(c.id)) for c in table.columns)
            groups.setdefault(key, ([], row))[0].append(p.name)
    rows: list[TableRow] = []
    for names, row in groups.values():
        merged = dict(row)
        text = merged.get(first)
        name = t("rollup.list_sep").join(names)
        if isinstance(text, str) and text.strip():
            merged[first] = t("rollup.joined", name=name, text=text.strip())
        else:
            merged[first] = name
        rows.append(merged)
    if len(rows) > MAX_TEAM_ROWS:
        params = (("table", table.label), ("kept", MAX_TEAM_ROWS),
                  ("n", len(rows) - MAX_TEAM_ROWS), ("total", len(rows)))  # fmt: skip
        notes.append(Note("rows_cut", params))
        rows = rows[:MAX_TEAM_ROWS]
    return rows


def rules_table(spec: Spec) -> str:
    """The spec's roll-up rules as a Markdown table, every field that is not a plain sum (the
    table in docs/rollup.md; a test keeps the two the same)."""
    lines = ["| field | type | rollup | weight |", "|---|---|---|---|"]
    for f in spec.fields:
        if f.rollup == "sum":
            continue
        weight = " × ".join(f"`{w}`" for w in f.weight)
        lines.append(f"| `{f.id}` ({f.label.en}) | {f.type} | {f.rollup} | {weight} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Roster


@dataclass(frozen=True)
class RosterEntry:
    """One person on the roster: a name, an email address, or both."""

    name: str | None
    email: str | None

    @property
    def shown(self) -> str:
        if self.name and self.email:
            return f"{self.name} <{self.email}>"
        return self.name or self.email or ""


def _norm_name(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def _norm_header(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).replace("\ufeff", "").split()).casefold()


def read_roster(path: Path) -> list[RosterEntry]:
    """A CSV with a header row naming a name column and/or an email column (ROSTER_*_HEADERS).

    UTF-8 with or without a BOM (Excel's "CSV UTF-8"); a file that is not UTF-8 is read as
    GB18030, which is what Chinese Excel's plain "CSV" writes. Comma, semicolon or tab separated.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise UnreadableFile("input.not_found", path=path) from exc
    except IsADirectoryError as exc:
        raise UnreadableFile("input.is_dir", path=path) from exc
    except OSError as exc:
        raise UnreadableFile("input.no_permission", path=path) from exc
    return parse_roster(data, path)


def parse_roster(data: bytes, path: Path) -> list[RosterEntry]:
    """read_roster for bytes already in memory (an upload); path only names them in messages."""
    if len(data) > MAX_ROSTER_BYTES:
        raise UnsafeFile("batch.roster_too_large", path=path, limit=MAX_ROSTER_BYTES // 2**20)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise UnreadableFile("batch.roster_encoding", path=path) from exc
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first.count)
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(row)]
    if not rows:
        raise UnreadableFile("batch.roster_columns", path=path)
    header = [_norm_header(h) for h in rows[0]]
    name_col = next((i for i, h in enumerate(header) if h in ROSTER_NAME_HEADERS), None)
    email_col = next((i for i, h in enumerate(header) if h in ROSTER_EMAIL_HEADERS), None)
    if name_col is None and email_col is None:
        raise UnreadableFile("batch.roster_columns", path=path)

    def cell(row: list[str], col: int | None) -> str | None:
        if col is None or col >= len(row):
            return None
        return " ".join(row[col].split()) or None

    entries: list[RosterEntry] = []
    seen: set[tuple[str | None, str | None]] = set()
    for row in rows[1:]:
        name = cell(row, name_col)
        address = cell(row, email_col)
        entry = RosterEntry(name, address.lower() if address else None)
        key = (_norm_name(name) if name else None, entry.email)
        if (name or address) and key not in seen:
            seen.add(key)
            entries.append(entry)
    if not entries:
        raise UnreadableFile("batch.roster_empty", path=path)
    return entries


def match_roster(
    roster: Sequence[RosterEntry], people: Sequence[Person]
) -> tuple[list[RosterEntry], list[Person]]:
    """(roster entries with no workbook, people not on the roster). A person matches an entry by
    email (the .eml sender) or by name (the workbook's person field or the sender's name),
    ignoring case, spaces and full-width forms."""
    by_email: dict[str, list[int]] = {}
    by_name: dict[str, list[int]] = {}
    for i, entry in enumerate(roster):
        if entry.email:
            by_email.setdefault(entry.email.casefold(), []).append(i)
        if entry.name:
            by_name.setdefault(_norm_name(entry.name), []).append(i)
    matched: set[int] = set()
    unlisted: list[Person] = []
    for p in people:
        hits = set(by_email.get(p.email.casefold(), [])) if p.email else set()
        for name in p.names:
            hits.update(by_name.get(_norm_name(name), []))
        if hits:
            matched.update(hits)
        else:
            unlisted.append(p)
    missing = [e for i, e in enumerate(roster) if i not in matched]
    return missing, unlisted


def roster_emails(roster: Sequence[RosterEntry], people: Sequence[Person]) -> dict[int, str]:
    """Person index -> the email the roster gives them, for people matched to exactly one
    address (by name or email, as match_roster matches)."""
    out: dict[int, str] = {}
    for p in people:
        found = {
            e.email
            for e in roster
            if e.email
            and (
                (p.email and e.email.casefold() == p.email.casefold())
                or (e.name and any(_norm_name(e.name) == _norm_name(n) for n in p.names))
            )
        }
        if len(found) == 1:
            out[p.index] = found.pop()
    return out


# ----------------------------------------------------------------------------------------------
# The roll-up


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
    doc_errors: dict[int, str] = field(default_factory=dict)  # failures as team.docx words them

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
            error = f.error or f.source
            if document:
                error = self.doc_errors.get(f.index) or error.replace(
                    f.source, _short_label(f.source)
                )
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
            lines.append(t("rollup.unlisted", names=_param(names, self.lang)))
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

        return build_summary(
            self.spec,
            self.report,
            lang=self.lang,
            missing="omit",
            reference_docx=reference_docx,
            extra_blocks=self.appendix(charts=charts),
            charts=charts,
        )

    def appendix(self, *, charts: bool = True) -> list[Block]:
        """Blocks after the summary: how it was made, per-person KPIs (a table, and a chart
        per `[rollup] charts` id), who is missing, notes."""
        from generator.narrative import (
            Figures,
            Heading,
            Para,
            TableBlock,
            outline,
            typeset,
            usable_text,
        )

        t = catalog(self.lang)

        def ts(text: str) -> str:
            return typeset(text, self.lang)

        summary = outline(self.spec, self.report, lang=self.lang, charts=charts)
        tables = sum(isinstance(b, TableBlock) for b in summary)
        blocks: list[Block] = [
            Heading(1, ts(t("rollup.docx_heading"))),
            Para(ts(t("rollup.docx_intro", n=len(self.people)))),
            Heading(2, ts(t("rollup.docx_people"))),
        ]
        ids = self.spec.rollup.kpis
        rows = []
        for p in self.people:
            figures = Figures(self.spec, self.person_report(p), self.lang)
            shown = [figures.text(id_, table=True) or t("numfmt.not_applicable") for id_ in ids]
            rows.append((ts(usable_text(p.name) or "-"), *shown))
        # One precision per column: 6.0万元 under 4.5万元, not 6万元.
        columns = [same_precision(list(col)) for col in zip(*rows, strict=True)] if rows else []
        rows = [tuple(row) for row in zip(*columns, strict=True)]
        share = 0.84 / max(len(ids), 1)
        blocks.append(
            TableBlock(
                caption=t("docx.table_caption", n=tables + 1, title=t("rollup.docx_people")),
                header=(
                    t("rollup.col_name"),
                    *(ts(self.spec.item(i).label(self.lang)) for i in ids),
                ),
                rows=tuple(rows),
                widths=(0.16, *(share for _ in ids)),
                centered=(False, *(True for _ in ids)),
            )
        )
        if charts:
            blocks.extend(self.people_charts(summary))
        if self.roster is not None:
            blocks.append(Heading(2, ts(t("rollup.docx_missing"))))
            sep = t("rollup.list_sep")
            if self.missing:
                names = sep.join(usable_text(e.shown) or "-" for e in self.missing)
                blocks.append(
                    Para(
                        ts(t("rollup.missing_line", n=len(self.missing), names=names)), role="list"
                    )
                )
            if self.blank:
                names = sep.join(usable_text(e.shown) or "-" for e in self.blank)
                blocks.append(
                    Para(ts(t("team.blank_line", n=len(self.blank), names=names)), role="list")
                )
            if self.other_period and self.period is not None:
                names = sep.join(usable_text(e.shown) or "-" for e in self.other_period)
                line = t("team.other_line", n=len(self.other_period), names=names,
                         period=self.period.label(self.lang))  # fmt: skip
                blocks.append(Para(ts(line), role="list"))
            if not self.missing and not self.blank and not self.other_period:
                blocks.append(Para(ts(t("rollup.all_submitted", n=len(self.roster)))))
        messages = self.messages(document=True)
        if messages:
            blocks.append(Heading(2, ts(t("rollup.notes_title"))))
            blocks.extend(Para(ts(usable_text(m) or "-"), role="list") for m in messages)
        return blocks

    def person_report(self, p: Person) -> Report:
        """One person's figures as a report (no tables), to format or chart them."""
        return Report(self.spec.id, self.spec.version, self.lang, p.source,
                      fields=dict(p.values), kpis=dict(p.kpis))  # fmt: skip

    def people_charts(self, summary: Sequence[Block]) -> list[Block]:
        """A bar chart per `[rollup] charts` id, a bar per person, numbered after the
        summary's own charts. A team too large for a readable bar per person on a page gets a
        line saying so instead (the per-person table has everyone)."""
        from generator.chartdata import MAX_PEOPLE_CHARTED, ChartBlock, people_chart
        from generator.narrative import Figures, Para, typeset, usable_number, usable_text

        t = catalog(self.lang)
        if len(self.people) > MAX_PEOPLE_CHARTED and self.spec.rollup.charts:
            line = t("charts.too_many_people", n=len(self.people), max=MAX_PEOPLE_CHARTED)
            return [Para(typeset(line, self.lang), role="note")]
        figures = Figures(self.spec, self.report, self.lang)
        names = [typeset(usable_text(p.name) or "-", self.lang) for p in self.people]
        n = sum(isinstance(b, ChartBlock) for b in summary)
        out: list[Block] = []
        for id_ in self.spec.rollup.charts:
            values = [usable_number(self.person_report(p).value(id_)) for p in self.people]
            chart = people_chart(figures, id_, names, values)
            if chart is not None:
                n += 1
                caption = t("charts.caption", n=n, title=chart.title)
                out.append(dataclasses.replace(chart, caption=caption))
        return out

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


def rollup(
    reports_or_paths: Iterable[Report | Path],
    *,
    roster: Path | Sequence[RosterEntry] | None = None,
    lang: str | None = None,
    team: str | None = None,
    jobs: int | None = None,
    spec: Spec | None = None,
    period: str | None = None,
) -> Rollup:
    """Combine filled workbooks of one template into a team report.

    reports_or_paths: Reports already read, and/or paths (files, folders, .eml files, as for
    render_many). roster: a CSV path (see read_roster) or entries. lang: of the outputs and
    messages (default: the language most workbooks are in). team: the team's label for the
    "label" fields (default: the value all share, else "Team (N people)"). jobs: processes
    reading workbooks (default: CPUs). An earlier roll-up among the inputs is skipped.
    period: the team's period (default: the one most workbooks name; a tie raises UsageProblem);
    a workbook of another period is left out.
    """
    spec = spec if spec is not None else spec_mod.load()
    entries = read_roster(roster) if isinstance(roster, Path) else roster
    msg_lang = normalize_lang(lang)
    people: list[Person] = []
    failed: list[BatchResult] = []
    items = list(reports_or_paths)
    paths = [i for i in items if isinstance(i, Path)]
    with tempfile.TemporaryDirectory(prefix="opsbook-rollup-") as workdir:
        found = discover(paths, Path(workdir)) if paths else []
        tasks: list[ReadTask] = []
        index = 0
        origins: dict[int, Path] = {}
        for item in items:
            if isinstance(item, Report):
                people.append(person_from_report(spec, item, index))
                index += 1
        # The same workbook arriving twice (saved from a mail and forwarded again) must not be
        # summed twice: byte-identical inputs count once, with a note naming both.
        first_seen: dict[bytes, str] = {}
        duplicates: list[Note] = []
        for f in found:
            if isinstance(f, InputProblem):
                error = f.error.message(msg_lang)
                code = int(f.error.exit_code)
                failed.append(BatchResult(index, str(f.origin), None, "failed", 0, error, code))
                index += 1
                continue
            name = f"{f.origin} › {f.attachment}" if f.attachment else str(f.origin)
            try:
                digest = hashlib.sha256(f.path.read_bytes()).digest()
            except OSError:
                digest = name.encode()  # unreadable: the reader reports it
            if digest in first_seen:
                duplicates.append(
                    Note(
                        "duplicate_input",
                        (("source", FileRef(name)), ("first", FileRef(first_seen[digest]))),
                    )
                )
                origins[index] = f.origin
                index += 1
                continue
            first_seen[digest] = name
            default = spec is spec_mod.load()
            tasks.append(ReadTask(index, f, None if default else spec, msg_lang))
            origins[index] = f.origin
            index += 1
        workers = max(1, jobs if jobs is not None else default_jobs())
        if tasks and workers > 1:
            import workbook.reader  # noqa: F401 - loaded once here, inherited by forked workers
        skipped: list[Skipped] = []
        for read in run_pool(read_person, tasks, workers, _crashed):
            if isinstance(read, Person):
                people.append(read)
            elif isinstance(read, Skipped):
                skipped.append(read)
            else:
                failed.append(read)
    people.sort(key=lambda p: p.index)
    # A workbook with no figure filled in (the blank template sent by mistake) would count its
    # sender as reporting nothing: it is left out, as an input that could not be used, and the
    # roster says who sent only a blank workbook.
    blank = [p for p in people if not p.filled]
    doc_errors: dict[int, str] = {}
    for p in blank:
        error = catalog(msg_lang)("errors.batch.blank_workbook", path=p.source)
        failed.append(BatchResult(p.index, p.source, None, "failed", 0, error, 1))
        known = p.author or p.sender_name
        if known:
            doc_errors[p.index] = _blank_line(msg_lang, known, p.source)
    people = [p for p in people if p.filled]
    people, superseded = keep_latest(people)
    # One period: --period, else the one most workbooks name; the others are left out.
    chosen = team_period([p.period for p in people], period)
    other: list[Person] = []
    if chosen is not None:
        other = [p for p in people if p.period is not None and p.period != chosen]
        for p in other:
            assert p.period is not None
            error = catalog(msg_lang)(
                "team.other_period", name=p.name, source=p.source,
                period=p.period_text or "", team_period=chosen.label(msg_lang),
            )  # fmt: skip
            failed.append(BatchResult(p.index, p.source, None, "failed", 0, error, 1))
            doc_errors[p.index] = catalog(msg_lang)(
                "teamdoc.other_period", name=p.name, source=_short_label(p.source),
                period=p.period_text or "", team_period=chosen.label(msg_lang),
            )  # fmt: skip
        people = [p for p in people if p not in other]
    failed.sort(key=lambda r: r.index)
    if not people:
        if not failed:
            raise OpsbookError("batch.rollup_nothing")
        # As for one unreadable workbook: exit 3, or 4 when every input was refused as unsafe.
        unsafe = all(f.exit_code == int(ExitCode.UNSAFE) for f in failed)
        refusal: type[OpsbookError] = UnsafeFile if unsafe else UnreadableFile
        if len(failed) == 1:
            raise refusal("batch.rollup_empty_one", first=failed[0].error)
        raise refusal("batch.rollup_empty", n=len(failed), first=failed[0].error)
    if lang is None:
        langs = Counter(p.lang for p in people)
        lang = max(langs, key=lambda k: (langs[k], k == "zh-CN"))
    lang = normalize_lang(lang)
    if chosen is not None:  # the canonical period in the outputs' language
        people = [_in_period(spec, p, chosen, lang) for p in people]
    combiner = _Combiner(spec, people, lang, team)
    values, notes, partial = combiner.combine(), combiner.notes, combiner.partial
    kpis, kpi_covers = consistent_kpis(spec, people, values, lang)
    m = len(people)
    coverage = {id_: (n, m) for id_, n in {**partial, **combiner.means, **kpi_covers}.items()}
    notes.extend(duplicates)
    notes.extend(superseded)
    tables = {t.id: merge_rows(t, people, lang, notes) for t in spec.tables}
    for s in sorted(skipped, key=lambda s: s.index):
        notes.append(Note("skipped_rollup", (("source", FileRef(s.source)),)))
    errors: list[Note] = []
    for p in people:
        for i in p.impossible:
            part, whole = spec.field(i.part), spec.field(i.whole)
            params = (("name", p.name), ("source", FileRef(p.source)),
                      ("part", part.label), ("part_cell", i.part_cell or "?"),
                      ("whole", whole.label), ("whole_cell", i.whole_cell or "?"))  # fmt: skip
            errors.append(Note("impossible", params, group="team.error"))
        others = p.errors - len(p.impossible)  # errors besides those just reported
        if others > 0:
            notes.append(Note("person_errors", (("name", p.name), ("source", FileRef(p.source)),
                                                ("n", others))))  # fmt: skip
        if p.lock:
            notes.append(Note("open_elsewhere", (("source", FileRef(p.source)),
                                                 ("lock", p.lock)), group="team.note"))  # fmt: skip
    t = catalog(lang)
    report = Report(
        template_id=spec.id,
        template_version=spec.version,
        lang=lang,
        source=t("rollup.source", n=len(people)),
        fields=values,
        kpis=kpis,
        tables=tables,
        coverage=coverage,
    )
    left_out = {s.index for s in skipped}
    used = [origin for i, origin in origins.items() if i not in left_out]
    if isinstance(roster, Path):
        used.append(roster)
    result = Rollup(spec, lang, report, people, failed, notes, inputs=tuple(dict.fromkeys(used)))
    result.errors = errors
    result.doc_errors = doc_errors
    result.partial = partial
    result.period = chosen
    if entries is not None:
        result.roster = list(entries)
        result.missing, result.unlisted = match_roster(entries, people)
        result.emails = roster_emails(entries, people)
        # Not "not submitted": who sent only a blank workbook, or one of another period.
        for kind, sent in (("blank", blank), ("other_period", other)):
            unmatched, _ = match_roster(result.missing, sent)
            ids = {id(e) for e in result.missing} - {id(e) for e in unmatched}
            setattr(result, kind, [e for e in result.missing if id(e) in ids])
            result.missing = [e for e in result.missing if id(e) not in ids]
            if kind == "blank":  # the roster names who sent each blank workbook
                for p in sent:
                    named = [
                        e.name for e in result.blank if e.name and not match_roster([e], [p])[0]
                    ]
                    if named:
                        result.doc_errors[p.index] = _blank_line(msg_lang, named[0], p.source)
    return result


def _blank_line(lang: str, name: str, source: str) -> str:
    """A blank workbook as team.docx names it: the person, then the file."""
    return catalog(lang)("teamdoc.blank_workbook", name=name, source=_short_label(source))


def _in_period(spec: Spec, p: Person, period: Period, lang: str) -> Person:
    """The person with the period field written canonically (2026年Q3 for "2026Q3")."""
    if spec.rollup.period is None or p.period is None:
        return p
    return replace(p, values={**p.values, spec.rollup.period: period.label(lang)})
