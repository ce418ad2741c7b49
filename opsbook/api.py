"""The Python API behind every command: plain functions, no click, no printing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from generator.narrative import MISSING_MODES, MissingMode
from opsbook.files import check_output, safe_filename, write_atomic
from opsbook.sample import sample_values
from opsbook.screening import BlankWorkbook, figures_filled, refuse_lock_file
from workbook import spec as spec_mod
from workbook.errors import UsageProblem
from workbook.i18n import catalog, normalize_lang
from workbook.period import parse_period
from workbook.reader import read_workbook
from workbook.report import Issue, Report

if TYPE_CHECKING:  # imported when called: they load multiprocessing and email
    from opsbook.batch import BatchResult, BatchRun, BatchSummary
    from opsbook.nextperiod import NextResult, NextWorkbook
    from opsbook.rollup import Rollup, RosterEntry
    from opsbook.trend import Trend


def default_workbook_name(lang: str, store: str | None, period: str | None) -> str:
    """File name from the store and period, e.g. 山岚家居_2026年Q3_数据填报表.xlsx."""
    t = catalog(lang)
    stem = safe_filename(store or "", period or "")
    suffix = safe_filename(t("workbook.suffix"))
    if not stem:
        stem = safe_filename(t("workbook.default_name"))
    return f"{stem}_{suffix}.xlsx"


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
    prefill: dict[str, Any] = dict(values or {})
    for id_, value in (("store_name", store), ("period", period), ("author", author)):
        if value:
            prefill[id_] = value
    # The days in a period people write the usual way (2026年Q3: 92, 2026年度: 365)
    recognised = parse_period(prefill.get("period"))
    if recognised is not None and prefill.get("period_days") in (None, ""):
        prefill["period_days"] = recognised.days
    path = out if out is not None else Path(default_workbook_name(lang, store, period))
    require_suffix(path, ".xlsx")
    from generator.xlsx_writer import build_workbook  # loaded only by the commands that write xlsx

    write_atomic(path, build_workbook(spec, lang, prefill), force=force)
    return path


def require_suffix(path: Path, suffix: str) -> None:
    """Refuse an output whose name says another format (a .docx named .pdf opens nowhere)."""
    if path.suffix.lower() != suffix:
        raise UsageProblem("output.suffix", path=path, suffix=suffix)


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


def render(
    path: Path,
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
) -> tuple[Path, Report]:
    """Filled workbook -> Word summary; return its path and the Report it was written from.

    Default output: beside the workbook, same name, .docx. The language defaults to the
    workbook's own. The workbook (and the reference document) are only read, never written.
    charts: the summary's native charts (False: none).
    record_source: record what the summary was made from in its document properties
    (opsbook.provenance; origin: the file the user has, for its modification time).
    refuse_blank: raise BlankWorkbook, writing nothing, when no figure is filled in.
    """
    if missing not in MISSING_MODES:
        raise UsageProblem("render.bad_missing", value=missing)
    refuse_lock_file(path)
    target = out if out is not None else path.with_suffix(".docx")
    inputs = (path,) if reference_docx is None else (path, reference_docx)
    spec = spec_mod.load()
    report = _team_caveat(path, read_workbook(path, spec))
    if refuse_blank and not figures_filled(spec, report.fields):
        raise BlankWorkbook("team.blank_template", path=path)
    check_output(target, force=force, inputs=inputs)  # before the work of building
    require_suffix(target, ".docx")
    data = summary_bytes(
        spec, report, lang=lang, missing=missing, reference_docx=reference_docx, charts=charts
    )
    if record_source:
        from opsbook import provenance

        data = provenance.stamp(data, provenance.of_source(path, origin))
    write_atomic(target, data, force=force, inputs=inputs)
    return target, report


def summary_bytes(
    spec: spec_mod.Spec,
    report: Report,
    *,
    lang: str | None = None,
    missing: str = "omit",
    reference_docx: Path | None = None,
    charts: bool = True,
) -> bytes:
    """The Word summary of a report, as bytes (what render() writes, before its provenance)."""
    doc_lang = normalize_lang(lang or report.lang)
    mode: MissingMode = "mark" if missing == "mark" else "omit"
    from generator.docx_writer import build_summary  # python-docx: only render pays for it

    front = []
    if report.carried is not None:  # last period's commitments: targets against results
        from generator.targets import summary_blocks

        front = summary_blocks(spec, report, doc_lang)
    return build_summary(
        spec,
        report,
        lang=doc_lang,
        missing=mode,
        reference_docx=reference_docx,
        front_blocks=front,
        charts=charts,
    )


def read(path: Path) -> Report:
    """Read a filled workbook: every field, KPI and table, plus what was found on the way."""
    refuse_lock_file(path)
    return read_workbook(path)


def check(path: Path) -> Report:
    """The validation report of a filled workbook; `report.blocking` says whether the problems
    stop a trustworthy summary (what `opsbook check` exits 1 for). It also names every filled
    cell that nothing read."""
    from generator.xlsx_writer import static_values

    refuse_lock_file(path)
    return _team_caveat(path, read_workbook(path, unread=static_values))


def _team_caveat(path: Path, report: Report) -> Report:
    """A team roll-up workbook whose totals cover fewer than everyone gets a warning: the KPIs
    its dashboard computes from those totals are not the team summary's (docs/rollup.md)."""
    from opsbook.rollup import rollup_partial

    sheet = rollup_partial(path)
    if sheet is not None:
        params = (("sheet", sheet),)
        report.issues.append(Issue("team_partial", "warning", "teamkpi.partial", params=params))
    return report


def export(path: Path, fmt: Literal["json", "csv"]) -> str:
    """Every field, KPI and table value of a filled workbook, keyed by id, as JSON or CSV text."""
    return export_report(read(path), fmt)


def export_report(report: Report, fmt: Literal["json", "csv"]) -> str:
    """JSON: {"template", "fields", "kpis", "tables", "warnings"}; CSV: kind,id,value,cell rows.
    Dates are ISO 8601, blanks are null (JSON) or empty (CSV); messages in the workbook's language.
    """
    import csv
    import io
    import json

    from workbook.values import number_text

    def plain(value: object) -> object:
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value

    if fmt == "json":
        data = {
            "template": {
                "id": report.template_id,
                "version": report.template_version,
                "lang": report.lang,
            },
            "fields": {k: plain(x) for k, x in report.fields.items()},
            "kpis": dict(report.kpis),
            "tables": {
                k: [{c: plain(x) for c, x in row.items()} for row in rows]
                for k, rows in report.tables.items()
            },
            "warnings": [
                {
                    "severity": issue.severity,
                    "kind": issue.kind,
                    "id": issue.id,
                    "cell": issue.cell,
                    "message": issue.message(report.lang),
                }
                for issue in report.issues
            ],
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}")

    def text(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return number_text(value)
        return str(plain(value))

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "id", "value", "cell"])
    for id_, value in report.fields.items():
        writer.writerow(["field", id_, text(value), report.cells.get(id_, "")])
    for id_, kpi in report.kpis.items():
        writer.writerow(["kpi", id_, text(kpi), report.cells.get(id_, "")])
    for table_id, rows in report.tables.items():
        for number, row in enumerate(rows, 1):
            for column, value in row.items():
                key = f"{table_id}.{number}.{column}"
                writer.writerow(["table", key, text(value), report.cells.get(key, "")])
    return out.getvalue()


# ----------------------------------------------------------------------------------------------
# Many workbooks at once (opsbook/batch.py, opsbook/rollup.py, docs/rollup.md)


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
    """Converted / failed / warnings counts of a batch; `.lines(lang)` is the end table."""
    from opsbook.batch import summarize as count

    return count(results)


def rollup(
    reports_or_paths: Iterable[Report | Path],
    *,
    roster: Path | Sequence[RosterEntry] | None = None,
    lang: str | None = None,
    team: str | None = None,
    jobs: int | None = None,
    period: str | None = None,
) -> Rollup:
    """Combine filled workbooks of one template into a team report (see opsbook.rollup.rollup):
    `.report` (combined inputs, KPIs recomputed), `.people`, `.missing` (with a roster CSV),
    `.messages()`; `.write(Path("TEAM.xlsx"))` or `.write(Path("TEAM.docx"))`. period: the
    team's period (default: the one most workbooks name); other periods are left out."""
    from opsbook.rollup import rollup as combine

    return combine(reports_or_paths, roster=roster, lang=lang, team=team, jobs=jobs, period=period)


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


# ----------------------------------------------------------------------------------------------
# Bytes in, bytes out: for callers that hold a file in memory (the web server, opsbook/serve).
# The same checks and the same code paths as the file-based functions above.


def read_bytes(data: bytes, name: str) -> Report:
    """read() for a workbook held in memory; name is the file name its messages show."""
    from workbook.reader import read_workbook_bytes

    return read_workbook_bytes(data, name, spec_mod.load())


def render_bytes(
    data: bytes, name: str, *, lang: str | None = None, missing: str = "omit"
) -> tuple[bytes, Report]:
    """render() for a workbook held in memory: the summary's .docx bytes and its Report.
    The language defaults to the workbook's own, as for render()."""
    if missing not in MISSING_MODES:
        raise UsageProblem("render.bad_missing", value=missing)
    report = read_bytes(data, name)
    return summary_bytes(spec_mod.load(), report, lang=lang, missing=missing), report


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
    prefill: dict[str, Any] = {}
    for id_, value in (("store_name", store), ("period", period), ("author", author)):
        if value:
            prefill[id_] = value
    from generator.xlsx_writer import build_workbook

    return build_workbook(spec_mod.load(), lang, prefill, convert_url=convert_url)


def parse_roster(data: bytes, name: str) -> list[RosterEntry]:
    """The roster CSV of `rollup --roster`, held in memory; name is the file its messages show."""
    from opsbook.rollup import parse_roster as parse

    return parse(data, Path(name))
