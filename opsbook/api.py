"""The Python API behind every command: plain functions, no click, no printing.

A filled workbook is given as a path or as its bytes (an upload, an attachment held in memory):
`read`, `check`, `render` and `export` take either, and for bytes never touch the disk. Errors a
user can cause raise OpsbookError subclasses (workbook.errors) with a catalogue key and an exit
code; results (Report, BatchResult, Rollup) carry message keys and parameters, put into words by
whoever shows them. docs/python-api.md documents it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from opsbook.exporter import ExportFormat, export_report
from opsbook.files import check_output, safe_filename, write_atomic
from opsbook.pipeline import (
    SummaryOptions,
    load_report,
    render_path,
    render_summary,
    require_suffix,
    summary_bytes,
)
from opsbook.sample import sample_values
from workbook import spec as spec_mod
from workbook.errors import UsageProblem
from workbook.i18n import catalog, normalize_lang
from workbook.period import parse_period
from workbook.report import Report

if TYPE_CHECKING:  # imported when called: they load multiprocessing and email
    from opsbook.batch import BatchRun
    from opsbook.nextperiod import NextResult, NextWorkbook
    from opsbook.results import BatchResult, BatchSummary
    from opsbook.team.outputs import Rollup
    from opsbook.team.roster import RosterEntry
    from opsbook.trend import Trend

__all__ = [
    "check",
    "demo",
    "export",
    "export_report",
    "new_workbook",
    "new_workbook_bytes",
    "next_many",
    "next_workbook",
    "parse_roster",
    "read",
    "read_bytes",
    "render",
    "render_bytes",
    "render_many",
    "rollup",
    "single_next",
    "single_render",
    "summarize",
    "summary_bytes",
    "trend",
]


def default_workbook_name(lang: str, store: str | None, period: str | None) -> str:
    """File name from the store and period, e.g. 山岚家居_2026年Q3_数据填报表.xlsx."""
    t = catalog(lang)
    stem = safe_filename(store or "", period or "")
    suffix = safe_filename(t("workbook.suffix"))
    if not stem:
        stem = safe_filename(t("workbook.default_name"))
    return f"{stem}_{suffix}.xlsx"


def _prefill(
    spec: spec_mod.Spec, store: str | None, period: str | None, author: str | None
) -> dict[str, Any]:
    """The values a new workbook starts with, each in the field playing its role (spec [roles])."""
    prefill: dict[str, Any] = {}
    for role, value in (("store", store), ("period", period), ("author", author)):
        id_ = spec.role(role)
        if value and id_ is not None:
            prefill[id_] = value
    return prefill


def new_workbook(
    out: Path | None = None,
    *,
    lang: str = "zh-CN",
    store: str | None = None,
    period: str | None = None,
    author: str | None = None,
    force: bool = False,
    values: dict[str, Any] | None = None,
) -> Path:
    """Write a new workbook to fill; return its path. Never overwrites without force."""
    lang = normalize_lang(lang)
    spec = spec_mod.load()
    prefill: dict[str, Any] = {**(values or {}), **_prefill(spec, store, period, author)}
    # The days in a period people write the usual way (2026年Q3: 92, 2026年度: 365)
    period_id, days_id = spec.role("period"), spec.role("period_days")
    recognised = parse_period(prefill.get(period_id)) if period_id else None
    if recognised is not None and days_id and prefill.get(days_id) in (None, ""):
        prefill[days_id] = recognised.days
    path = out if out is not None else Path(default_workbook_name(lang, store, period))
    require_suffix(path, ".xlsx")
    from generator.xlsx_writer import build_workbook  # loaded only by the commands that write xlsx

    write_atomic(path, build_workbook(spec, lang, prefill), force=force)
    return path


def new_workbook_bytes(
    *,
    lang: str = "zh-CN",
    store: str | None = None,
    period: str | None = None,
    author: str | None = None,
    convert_url: str | None = None,
) -> bytes:
    """new_workbook() in memory: the .xlsx bytes. convert_url: a web page (opsbook serve) that
    the cover names as the way to get the summary, instead of the render command."""
    lang = normalize_lang(lang)
    spec = spec_mod.load()
    from generator.xlsx_writer import build_workbook

    prefill = _prefill(spec, store, period, author)
    return build_workbook(spec, lang, prefill, convert_url=convert_url)


def demo(outdir: Path, *, lang: str = "zh-CN", force: bool = False) -> list[Path]:
    """Write the blank workbook and the filled sample (and its summary) into outdir."""
    lang = normalize_lang(lang)
    outdir.mkdir(parents=True, exist_ok=True)
    for name in (f"blank-{lang}.xlsx", f"sample-{lang}.xlsx", f"sample-{lang}.docx"):
        check_output(outdir / name, force=force)  # all or nothing: refuse before writing any
    spec = spec_mod.load()
    written = []
    blank = outdir / f"blank-{lang}.xlsx"
    from generator.xlsx_writer import build_workbook

    write_atomic(blank, build_workbook(spec, lang), force=force)
    written.append(blank)
    sample = outdir / f"sample-{lang}.xlsx"
    write_atomic(sample, build_workbook(spec, lang, sample_values(lang)), force=force)
    written.append(sample)
    # The summary goes through the real path: the reader, then the Word writer.
    summary, _ = render(
        sample, outdir / f"sample-{lang}.docx", lang=lang, force=force, record_source=False
    )
    written.append(summary)
    return written


# ----------------------------------------------------------------------------------------------
# One workbook: a path, or its bytes

# What the functions below accept as a workbook: a path (str or path-like) or its bytes.
WorkbookInput = str | os.PathLike[str] | bytes | bytearray | memoryview
# render()'s options that only a path can honour (bytes in, bytes out: nothing is written).
_PATH_ONLY = ("force", "record_source", "origin")


def as_workbook(workbook: WorkbookInput) -> Path | bytes:
    """A workbook argument in the one form the pipeline takes: a Path, or bytes."""
    if isinstance(workbook, bytes | bytearray | memoryview):
        return bytes(workbook)
    if isinstance(workbook, str | os.PathLike):
        return Path(workbook)
    raise UsageProblem("app.workbook_type", kind=type(workbook).__name__)


@overload
def render(
    workbook: Path | str | os.PathLike[str],
    out: Path | None = None,
    *,
    lang: str | None = None,
    missing: str = "omit",
    reference_docx: Path | None = None,
    force: bool = False,
    charts: bool = True,
    record_source: bool = True,
    origin: Path | None = None,
    refuse_blank: bool = False,
) -> tuple[Path, Report]: ...


@overload
def render(
    workbook: bytes | bytearray | memoryview, *, name: str | None = None, **options: Any
) -> tuple[bytes, Report]: ...


def render(
    workbook: WorkbookInput, out: Path | None = None, *, name: str | None = None, **options: Any
) -> tuple[Path, Report] | tuple[bytes, Report]:
    """Filled workbook -> Word summary, and the Report it was written from.

    A path: the summary is written (default: beside the workbook, same name, .docx; never over
    an existing file without force) and its path returned. Bytes (name: how messages name them):
    the summary's .docx bytes are returned and nothing touches the disk (lang, missing,
    reference_docx, charts and refuse_blank apply). The language defaults to the workbook's
    own; the workbook (and the reference document) are only read.
    missing: "omit" sentences whose figures are missing, or "mark" them.
    reference_docx: a company .docx whose page setup and styles the summary uses.
    charts: the summary's native charts (False: none).
    record_source: record what the summary was made from in its document properties
    (opsbook.provenance; origin: the file the user has, for its modification time).
    refuse_blank: raise BlankWorkbook, writing nothing, when no figure is filled in.
    """
    source = as_workbook(workbook)
    if options.get("reference_docx") is not None:
        options["reference_docx"] = Path(options["reference_docx"])
    keys = ("lang", "missing", "reference_docx", "charts")
    summary = SummaryOptions(**{k: options.pop(k) for k in keys if k in options})
    if isinstance(source, bytes):
        given = [k for k in _PATH_ONLY if k in options] + (["out"] if out is not None else [])
        if given:
            raise UsageProblem("app.bytes_option", option=given[0])
        return render_summary(source, name, summary, **options)
    return render_path(source, None if out is None else Path(out), summary, **options)


def read(workbook: WorkbookInput, *, name: str | None = None) -> Report:
    """Read a filled workbook (a path, or bytes that name names in messages): every field, KPI
    and table, plus the problems the reader found on the way. No check of unread cells: see
    check()."""
    return load_report(as_workbook(workbook), name, caveat=False)


def check(workbook: WorkbookInput, *, name: str | None = None) -> Report:
    """The validation report of a filled workbook (what `opsbook check` lists): read()'s, plus
    every filled cell that nothing read, and the caveat of a team roll-up whose totals cover
    fewer than everyone. `report.blocking` says whether its problems stop a trustworthy summary
    (what `opsbook check` exits 1 for)."""
    return load_report(as_workbook(workbook), name, unread=True)


def export(workbook: WorkbookInput, fmt: ExportFormat | str, *, name: str | None = None) -> str:
    """Every field, KPI and table value of a filled workbook, keyed by id, as JSON or CSV text
    (export_report). Another format raises UsageProblem."""
    if fmt not in ("json", "csv"):
        raise UsageProblem("app.export_format", fmt=fmt)
    return export_report(read(workbook, name=name), "csv" if fmt == "csv" else "json")


def read_bytes(data: bytes, name: str) -> Report:
    """read() for a workbook held in memory; name is the file name its messages show."""
    return read(data, name=name)


def render_bytes(
    data: bytes, name: str, *, lang: str | None = None, missing: str = "omit"
) -> tuple[bytes, Report]:
    """render() for a workbook held in memory: the summary's .docx bytes and its Report."""
    return render(data, name=name, lang=lang, missing=missing)


# ----------------------------------------------------------------------------------------------
# One or many: the rules the command line follows


def single_render(paths: Sequence[Path], out: Path | None, outdir: Path | None) -> bool:
    """Whether `render PATHS [-o OUT] [--outdir DIR]` renders one workbook (True) or is a
    batch. One path with -o asks for one summary, where a folder or an .eml is answered as an
    input that is not a workbook; otherwise folders and .eml files mean a batch. Raises
    UsageProblem for -o with many inputs, or with one folder or .eml (one -o cannot name all
    their summaries; a folder named like a workbook is answered as the file it pretends to be)."""
    from opsbook.intake import is_container

    one = len(paths) == 1 and outdir is None
    if out is not None and one:
        first = paths[0]
        if first.suffix.lower() == ".eml" or (
            first.is_dir() and not first.name.lower().endswith((".xlsx", ".xlsm"))
        ):
            raise UsageProblem("batch.out_with_container", path=first)
    single = one and (out is not None or not is_container(paths[0]))
    if not single and out is not None:
        raise UsageProblem("batch.out_with_many")
    return single


def single_next(
    paths: Sequence[Path], out: Path | None, outdir: Path | None, period: str | None
) -> bool:
    """Whether `next PATHS` writes one workbook (True) or many; -o and --period go with one."""
    from opsbook.intake import is_container

    if len(paths) == 1 and outdir is None and not is_container(paths[0]):
        return True
    if out is not None:
        raise UsageProblem("next.out_with_many")
    if period is not None:
        raise UsageProblem("next.period_with_many")
    return False


# ----------------------------------------------------------------------------------------------
# Many workbooks at once (opsbook/batch.py, opsbook/team/rollup.py, docs/rollup.md)


def render_many(
    paths: Iterable[Path],
    *,
    outdir: Path | None = None,
    jobs: int | None = None,
    lang: str | None = None,
    missing: str = "omit",
    force: bool = False,
    reference_docx: Path | None = None,
    message_lang: str | None = None,
    charts: bool = True,
) -> BatchRun:
    """Render every workbook named by paths (files; folders, searched for .xlsx/.xlsm; .eml
    files, whose workbook attachments are converted) in `jobs` processes (default: CPUs).

    Iterate the result for one BatchResult per input as it completes; `len`-like `.total` is
    known up front. Outputs go beside each input (an attachment's: beside its .eml) or into
    outdir. One broken input fails alone; inputs are never modified.
    """
    from opsbook.batch import render_many as run

    return run(paths, outdir=outdir, jobs=jobs, lang=lang, missing=missing, force=force,
               reference_docx=reference_docx, message_lang=message_lang,
               charts=charts)  # fmt: skip


def summarize(results: Iterable[BatchResult]) -> BatchSummary:
    """Converted / failed / skipped / blank / kept / warnings / errors counts of a batch."""
    from opsbook.results import summarize as count

    return count(results)


def rollup(
    reports_or_paths: Iterable[Report | Path | str | os.PathLike[str]],
    *,
    roster: Path | Sequence[RosterEntry] | None = None,
    lang: str | None = None,
    team: str | None = None,
    jobs: int | None = None,
    period: str | None = None,
) -> Rollup:
    """Combine filled workbooks of one template into a team report (see opsbook.team.rollup.rollup):
    `.report` (combined inputs, KPIs recomputed), `.people`, `.missing` (with a roster CSV),
    `.messages()`; `.write(Path("TEAM.xlsx"))` or `.write(Path("TEAM.docx"))`. period: the
    team's period (default: the one most workbooks name); other periods are left out."""
    from opsbook.team.rollup import rollup as combine

    items = [i if isinstance(i, Report) else Path(i) for i in reports_or_paths]
    return combine(items, roster=roster, lang=lang, team=team, jobs=jobs, period=period)


# ----------------------------------------------------------------------------------------------
# From one period to the next (opsbook/nextperiod.py, opsbook/trend.py)


def next_workbook(
    path: Path,
    out: Path | None = None,
    *,
    period: str | None = None,
    force: bool = False,
) -> tuple[Path, NextWorkbook]:
    """The next period's workbook of a filled one: previous-period fields filled from this
    period's, person/store/department/scope carried, the period advanced (or `period`), section
    六's targets and 五's plans carried read-only as the next period's commitments. Returns the
    path (default: beside the input, named from store and next period) and what it holds.
    Raises UsageProblem (asking for `period`) when the period cannot be advanced."""
    from opsbook.nextperiod import next_workbook as write

    return write(path, out, period=period, force=force)


def next_many(
    paths: Iterable[Path],
    *,
    outdir: Path | None = None,
    force: bool = False,
    message_lang: str = "zh-CN",
) -> list[NextResult]:
    """`next_workbook` for files, folders and .eml attachments at once (beside each input or in
    outdir, named after person, store and period); one broken input fails alone."""
    from opsbook.nextperiod import next_many as write_all

    return write_all(paths, outdir=outdir, force=force, message_lang=message_lang)


def trend(
    reports_or_paths: Iterable[Report | Path],
    *,
    team: bool = False,
    lang: str | None = None,
) -> Trend:
    """One person's or store's workbooks over periods (team=True: the team's roll-up of each
    period): `.points` in period order, `.rows` (each KPI per period and its changes);
    `.write(Path("TREND.xlsx"))` (table and charts) or `.write(Path("TREND.docx"))`."""
    from opsbook.trend import trend as build

    return build(reports_or_paths, team=team, lang=lang)


def parse_roster(data: bytes, name: str) -> list[RosterEntry]:
    """The roster CSV of `rollup --roster`, held in memory; name is the file its messages show."""
    from opsbook.team.roster import parse_roster as parse

    return parse(data, Path(name))
