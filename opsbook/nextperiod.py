"""From one period to the next: a filled workbook -> the next period's workbook, pre-filled.

Every previous-period field takes this period's matching current value (the spec's
`current = ...` links, checked when it loads); who and what carry over (person, department,
store, scope); the period advances (workbook/period.py) with its days; section 六's targets and
五's plans come along as the next period's commitments (generator/targets.py), read-only.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.figures import role_value
from opsbook.files import check_output, safe_filename, write_atomic
from workbook import spec as spec_mod
from workbook.errors import OpsbookError, UsageProblem
from workbook.i18n import catalog, normalize_lang
from workbook.period import parse_period
from workbook.reader import read_workbook
from workbook.report import Report
from workbook.spec import Spec, previous_links

# Who and what a workbook is about, by role (the spec's [roles] names their fields): the same
# next period.
CARRIED_ROLES = ("author", "department", "store", "business_scope")


def advance(
    spec: Spec, report: Report, path: Path, lang: str, period: str | None
) -> tuple[str, int | None]:
    """The next period's text and days: --period as given, else this period advanced."""
    if period:
        parsed = parse_period(period)
        return period, parsed.days if parsed is not None else None
    text = role_value(spec, report.fields, "period")
    if not isinstance(text, str) or not text.strip():
        raise UsageProblem("next.no_period_blank", path=path)
    date = role_value(spec, report.fields, "report_date")
    year = date.year if isinstance(date, dt.date) else None
    current = parse_period(text, default_year=year)
    try:
        following = current.next() if current is not None else None
    except ValueError:
        following = None
    if following is None:
        raise UsageProblem("next.no_period", path=path, period=text)
    return following.label(lang), following.days


def next_values(spec: Spec, report: Report, period: str, days: int | None) -> dict[str, Any]:
    """The next workbook's pre-filled values (the carried commitments are separate)."""
    values: dict[str, Any] = {}
    for role in CARRIED_ROLES:
        id_ = spec.role(role)
        if id_ is not None and report.fields.get(id_) not in (None, ""):
            values[id_] = report.fields[id_]
    for prev, current in previous_links(spec).items():
        value = report.fields.get(current)
        if isinstance(value, int | float) and not isinstance(value, bool):
            values[prev] = value
    period_id, days_id = spec.role("period"), spec.role("period_days")
    if period_id is not None:
        values[period_id] = period
    if days is not None and days_id is not None:
        values[days_id] = days
    return values


@dataclass(frozen=True)
class NextWorkbook:
    """A next-period workbook as bytes, with what it was made from."""

    data: bytes
    lang: str
    source: str
    period: str  # the source's period
    next_period: str
    store: str | None
    author: str | None


def build_next(
    path: Path, *, period: str | None = None, lang: str | None = None, name: str | None = None
) -> NextWorkbook:
    """Read a filled workbook and build its next period's workbook (not written anywhere).

    name: the source file name the cover gives (an attachment's own name); default path.name.
    """
    from generator.targets import CarriedAddon, carry
    from generator.xlsx_writer import build_workbook

    spec = spec_mod.load()
    report = read_workbook(path, spec)
    lang = normalize_lang(lang or report.lang)
    text, days = advance(spec, report, path, lang, period)
    values = next_values(spec, report, text, days)
    carried = carry(spec, report, name or path.name)
    data = build_workbook(spec, lang, values, addons=(CarriedAddon(spec, carried),))
    store = role_value(spec, report.fields, "store")
    author = role_value(spec, report.fields, "author")
    return NextWorkbook(
        data=data,
        lang=lang,
        source=name or path.name,
        period=carried.period,
        next_period=text,
        store=store if isinstance(store, str) else None,
        author=author if isinstance(author, str) else None,
    )


def default_name(book: NextWorkbook, *, with_author: bool = False) -> str:
    """山岚家居_2026年Q4_数据填报表.xlsx (林晓雨_山岚家居_… when a batch names people)."""
    t = catalog(book.lang)
    parts = [book.author or ""] if with_author else []
    stem = safe_filename(*parts, book.store or "", book.next_period)
    stem = stem or safe_filename(t("workbook.default_name"))
    return f"{stem}_{safe_filename(t('workbook.suffix'))}.xlsx"


def next_workbook(
    path: Path,
    out: Path | None = None,
    *,
    period: str | None = None,
    lang: str | None = None,
    force: bool = False,
) -> tuple[Path, NextWorkbook]:
    """Write the next period's workbook of a filled one; return its path and what it holds.
    Default output: beside the source, named from store and the next period."""
    book = build_next(path, period=period, lang=lang)
    target = out if out is not None else path.parent / default_name(book)
    if target.suffix.lower() != ".xlsx":
        raise UsageProblem("output.suffix", path=target, suffix=".xlsx")
    write_atomic(target, book.data, force=force, inputs=(path,))
    return target, book


@dataclass(frozen=True)
class NextResult:
    """One input of `next_many`: the workbook written, or the error (localized) and exit code."""

    source: str
    output: Path | None
    book: NextWorkbook | None = None
    error: str | None = None
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        return self.output is not None


def _unique(folder: Path, name: str, taken: set[str]) -> Path:
    """folder/name, or folder/name_2.xlsx, _3 ... when a workbook of this batch took it."""
    stem, suffix = name[: -len(".xlsx")], ".xlsx"
    key = os.path.normcase(str(folder / name))
    n = 1
    while key in taken:
        n += 1
        name = f"{stem}_{n}{suffix}"
        key = os.path.normcase(str(folder / name))
    taken.add(key)
    return folder / name


def next_many(
    paths: Iterable[Path],
    *,
    outdir: Path | None = None,
    force: bool = False,
    message_lang: str = "zh-CN",
) -> list[NextResult]:
    """The next workbook of every filled workbook in paths (files, folders, .eml attachments),
    beside each input or in outdir, named after person, store and period. One broken input
    fails alone; inputs are never modified."""
    from opsbook.files import prepare_outdir
    from opsbook.intake import InputProblem, discover, localized

    if outdir is not None:
        prepare_outdir(outdir)
    results: list[NextResult] = []
    taken: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="opsbook-next-") as work:
        for found in discover(list(paths), Path(work)):
            if isinstance(found, InputProblem):
                results.append(
                    NextResult(
                        str(found.origin),
                        None,
                        error=found.error.message(message_lang),
                        exit_code=int(found.error.exit_code),
                    )
                )
                continue
            try:
                book = build_next(found.path, name=found.attachment or found.path.name)
                folder = outdir if outdir is not None else found.origin.parent
                target = _unique(folder, default_name(book, with_author=True), taken)
                check_output(target, force=force, inputs=(found.origin,))
                write_atomic(target, book.data, force=force, inputs=(found.origin,))
            except OpsbookError as exc:
                results.append(
                    NextResult(
                        found.label,
                        None,
                        error=localized(exc, found, message_lang),
                        exit_code=int(exc.exit_code),
                    )
                )
                continue
            results.append(NextResult(found.label, target, book))
    return results
