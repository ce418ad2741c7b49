"""The command line: a thin click layer over opsbook.api. Nothing else imports click."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from opsbook.clickwords import command_lang, help_text, message
from workbook.errors import OpsbookError, UsageProblem
from workbook.i18n import catalog, normalize_lang

F = TypeVar("F", bound=Callable[..., Any])

LANG_CHOICE = click.Choice(["zh-CN", "en"], case_sensitive=False)


def _env_lang() -> str:
    return normalize_lang(os.environ.get("OPSBOOK_LANG") or "zh-CN")


def handle_errors(func: F) -> F:
    """Turn an OpsbookError into one localized line on stderr and its exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        lang = normalize_lang(kwargs.get("lang") or _env_lang())
        try:
            return func(*args, **kwargs)
        except OpsbookError as exc:
            if ctx.find_root().params.get("debug"):
                import traceback  # only for --debug: saves a short command ~2 ms of imports

                traceback.print_exc()
            click.echo(catalog(lang)("cli.error_prefix") + exc.message(lang), err=True)
            ctx.exit(int(exc.exit_code))

    return wrapper  # type: ignore[return-value]


class LocalizedCommand(click.Command):
    """A command whose help and usage speak the command line's language (opsbook.clickwords)."""

    def get_help(self, ctx: click.Context) -> str:
        return help_text(super().get_help(ctx), _STATE["lang"])

    def get_usage(self, ctx: click.Context) -> str:
        return help_text(super().get_usage(ctx), _STATE["lang"])


class LocalizedGroup(click.Group):
    """The opsbook group: decides the language before click parses anything, gives every
    command its help in that language, and says click's own errors in it (exit 2 as click)."""

    command_class = LocalizedCommand

    def get_help(self, ctx: click.Context) -> str:
        return help_text(super().get_help(ctx), _STATE["lang"])

    def get_usage(self, ctx: click.Context) -> str:
        return help_text(super().get_usage(ctx), _STATE["lang"])

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        lang = _STATE["lang"] = command_lang(argv)
        _localize(self, lang)
        t = catalog(lang)
        try:
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            if not standalone_mode:
                raise
            if exc.ctx is not None:
                hint = ""
                if exc.ctx.command.get_help_option(exc.ctx) is not None:
                    option = exc.ctx.help_option_names[0]
                    hint = t("clihelp.try_help", command=exc.ctx.command_path, option=option)
                click.echo(f"{exc.ctx.get_usage()}\n{hint}\n", err=True)
            click.echo(t("cli.error_prefix") + message(exc.format_message(), lang), err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            if not standalone_mode:
                raise
            click.echo(t("cli.error_prefix") + message(exc.format_message(), lang), err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            if not standalone_mode:
                raise
            click.echo(t("clihelp.aborted"), err=True)
            sys.exit(1)
        if standalone_mode:
            sys.exit(rv if isinstance(rv, int) else 0)
        return rv


_STATE = {"lang": "zh-CN"}


def _localize(group: click.Group, lang: str) -> None:
    """Every command's help, short help, option help and metavar from the catalogue."""
    t = catalog(lang)
    entries = t.entries
    commands: list[tuple[str, click.Command]] = [("opsbook", group), *group.commands.items()]
    for name, command in commands:
        prefix = f"clihelp.{name}"
        if f"{prefix}.doc" in entries:
            command.help = t(f"{prefix}.doc")
        if f"{prefix}.short" in entries:
            command.short_help = t(f"{prefix}.short")
        for param in command.params:
            if not isinstance(param, click.Option):
                continue
            key = f"{prefix}.{param.name}"
            if param.name == "version":
                param.help = t("clihelp.version")
            elif key in entries:
                param.help = t(key)
            if param.is_flag or isinstance(param.type, click.Choice):
                continue
            if isinstance(param.type, click.Path):
                folder = not param.type.file_okay
                param.metavar = t("clihelp.metavar_dir" if folder else "clihelp.metavar_file")
            elif isinstance(param.type, click.IntRange):
                param.metavar = t("clihelp.metavar_n")
            else:
                param.metavar = t("clihelp.metavar_text")


@click.group(cls=LocalizedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="opsbook", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
def main(debug: bool) -> None:
    """opsbook: 电商运营工作总结 Excel 填报表与 Word 总结 / e-commerce work summaries.

    \b
    opsbook new             write a workbook to fill in
    opsbook demo OUTDIR     write a blank workbook and a filled sample
    opsbook render FILLED   turn a filled workbook into the Word summary
    opsbook next FILLED     next period's workbook, pre-filled from this one
    opsbook trend PATHS     KPIs over several periods (-o TREND.xlsx)
    opsbook rollup PATHS    combine many workbooks into a team view (-o TEAM.xlsx)
    opsbook check FILLED    list what is missing or wrong, cell by cell
    opsbook export FILLED   every value by id, as JSON or CSV
    """


@main.command("new")
@click.argument("out", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--lang", type=LANG_CHOICE, default="zh-CN", show_default=True, help="Language of the workbook."
)
@click.option("--store", help="Store or brand name, filled in for you.")
@click.option("--period", help="Period, e.g. 2026年Q3, filled in for you.")
@click.option("--author", help="Your name, filled in for you.")
@click.option(
    "--from",
    "from_",
    metavar="LAST.xlsx",
    type=click.Path(readable=False, path_type=Path),
    help="Last period's filled workbook: the next period's, pre-filled (as opsbook next).",
)
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@handle_errors
def new_cmd(
    out: Path | None,
    lang: str,
    store: str | None,
    period: str | None,
    author: str | None,
    from_: Path | None,
    force: bool,
) -> None:
    """Write a new summary workbook to fill in (default name from store and period)."""
    from opsbook.api import new_workbook

    ctx = click.get_current_context()
    if from_ is not None:
        given = ("lang", "store", "author")
        if any(ctx.get_parameter_source(p) != click.core.ParameterSource.DEFAULT for p in given):
            raise UsageProblem("next.from_with_store")
        _next_one(from_, out, period, force)
        return
    lang = normalize_lang(lang)
    path = new_workbook(out, lang=lang, store=store, period=period, author=author, force=force)
    click.echo(catalog(lang)("cli.wrote", path=path))


@main.command("demo")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--lang",
    type=LANG_CHOICE,
    default="zh-CN",
    show_default=True,
    help="Language of the workbooks and the summary.",
)
@click.option("--force", is_flag=True, help="Overwrite files already in OUTDIR.")
@handle_errors
def demo_cmd(outdir: Path, lang: str, force: bool) -> None:
    """Write a blank workbook and a filled sample (and its Word summary) into OUTDIR."""
    from opsbook.api import demo

    lang = normalize_lang(lang)
    for path in demo(outdir, lang=lang, force=force):
        click.echo(catalog(lang)("cli.wrote", path=path))


RENDER_LISTED = 5  # problems listed after a render; `opsbook check` lists them all


@main.command("render")
# No dir_okay=False or readable check: workbook/safety.py answers a folder or an unreadable
# file with one localized line (exit 3); click would print a usage error in English.
@click.argument(
    "paths",
    metavar="FILLED.xlsx...",
    nargs=-1,
    required=True,
    type=click.Path(readable=False, path_type=Path),
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output .docx (default: beside the workbook, same name).",
)
@click.option(
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the summaries into this folder (many inputs).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Parallel workers for many inputs (default: the number of CPUs).",
)
@click.option(
    "--lang",
    type=LANG_CHOICE,
    default=None,
    help="Language of the summary (default: the workbook's own).",
)
@click.option(
    "--missing",
    type=click.Choice(["omit", "mark"]),
    default="omit",
    show_default=True,
    help="Leave out sentences whose figures are missing, or keep them marked.",
)
@click.option(
    "--reference-docx",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A company .docx whose page setup and styles the summary uses.",
)
@click.option("--no-charts", is_flag=True, help="Leave the native charts out of the summary.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@handle_errors
def render_cmd(
    paths: tuple[Path, ...],
    out: Path | None,
    outdir: Path | None,
    jobs: int | None,
    lang: str | None,
    missing: str,
    reference_docx: Path | None,
    no_charts: bool,
    force: bool,
) -> None:
    """Write the Word summary of filled workbooks (never modifies a workbook).

    One workbook: FILLED.docx beside it, or -o OUT.docx. Many workbooks, folders (searched
    recursively) or .eml files (their workbook attachments): a summary for each, beside it or in
    --outdir, in parallel; one broken file never stops the others. Exit 1 if any failed.
    """
    from opsbook.api import render

    # One path with -o asks for one summary: single-file mode, where a folder or an .eml is
    # answered as an input that is not a workbook. Otherwise folders and .eml files mean a batch.
    single = (
        len(paths) == 1
        and outdir is None
        and (out is not None or (not paths[0].is_dir() and paths[0].suffix.lower() != ".eml"))
    )
    if out is not None and len(paths) == 1 and outdir is None:
        first = paths[0]
        if first.suffix.lower() == ".eml" or (
            first.is_dir() and not first.name.lower().endswith((".xlsx", ".xlsm"))
        ):
            # A folder or an email holds workbooks: one -o cannot name all their summaries.
            # (A folder named like a workbook is answered as the file it pretends to be.)
            raise UsageProblem("batch.out_with_container", path=first)
    if not single:
        if out is not None:
            raise UsageProblem("batch.out_with_many")
        click.get_current_context().exit(
            _render_batch(paths, outdir, jobs, lang, missing, force, reference_docx, not no_charts)
        )
    filled = paths[0]

    # Errors speak --lang, else OPSBOOK_LANG (handle_errors: --lang may be None here); the
    # report of a finished render speaks the summary's language.
    path, report = render(
        filled,
        out,
        lang=lang,
        missing=missing,
        reference_docx=reference_docx,
        force=force,
        charts=not no_charts,
    )
    t = catalog(normalize_lang(lang or report.lang))
    click.echo(t("cli.wrote", path=path))
    _warn_if_open(filled, t.lang)
    problems = report.errors + report.warnings
    if not problems:
        click.echo(t("render.clean"), err=True)
        return
    click.echo(
        t("render.summary", errors=len(report.errors), warnings=len(report.warnings)), err=True
    )
    for issue in problems[:RENDER_LISTED]:
        click.echo("  " + issue.message(t.lang), err=True)
    if len(problems) > RENDER_LISTED:
        click.echo(t("render.more", n=len(problems) - RENDER_LISTED), err=True)


@main.command("check")
# No dir_okay=False or readable check: workbook/safety.py answers a folder or an unreadable
# file with one localized line (exit 3); click would print a usage error in English.
@click.argument("filled", metavar="FILLED.xlsx", type=click.Path(readable=False, path_type=Path))
@click.option(
    "--lang",
    type=LANG_CHOICE,
    default=None,
    help="Language of the messages (default: the workbook's own).",
)
@handle_errors
def check_cmd(filled: Path, lang: str | None) -> None:
    """List every problem of a filled workbook with its sheet!cell, then a summary line.

    Exit 0 when nothing blocks the summary, 1 when an error does (docs/reader.md).
    """
    from opsbook.api import check

    # Errors speak --lang, else OPSBOOK_LANG (handle_errors); the report speaks --lang, else
    # the workbook's own language.
    report = check(filled)
    t = catalog(normalize_lang(lang or report.lang))
    _warn_if_open(filled, t.lang)
    for issue in report.issues:
        severity = t(f"issues.check.{issue.severity}")
        click.echo(
            t("issues.check.line", file=filled, severity=severity, message=issue.message(t.lang))
        )
    counts = {
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "infos": sum(1 for i in report.issues if i.severity == "info"),
    }
    click.echo(
        t("issues.check.blocking" if report.blocking else "issues.check.ok", file=filled, **counts)
    )
    if report.blocking:
        click.get_current_context().exit(1)


@main.command("export")
# No dir_okay=False or readable check: workbook/safety.py answers a folder or an unreadable
# file with one localized line (exit 3); click would print a usage error in English.
@click.argument("filled", metavar="FILLED.xlsx", type=click.Path(readable=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv"]),
    default="json",
    show_default=True,
    help="JSON for BI tools and scripts; CSV: kind,id,value,cell.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (atomically) instead of standard output.",
)
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@handle_errors
def export_cmd(filled: Path, fmt: str, out: Path | None, force: bool) -> None:
    """Every field, KPI and table value of a filled workbook, keyed by its id."""
    from opsbook.api import export_report, read
    from opsbook.files import write_atomic

    report = read(filled)
    text = export_report(report, "csv" if fmt == "csv" else "json")
    if out is None or str(out) == "-":  # "-o -": standard output, as in most tools
        click.echo(text, nl=False)
        return
    # A CSV file gets a byte-order mark: Excel on a Chinese Windows reads BOM-less CSV as GBK.
    encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
    write_atomic(out, text.encode(encoding), force=force, inputs=(filled,))
    click.echo(catalog(report.lang)("cli.wrote", path=out))


def _warn_if_open(path: Path, lang: str) -> None:
    """A lock file beside the workbook: it is open somewhere, maybe with unsaved edits."""
    from opsbook.screening import locked_by

    lock = locked_by(path)
    if lock is not None:
        t = catalog(lang)
        line = t("team.open_elsewhere", path=path, lock=lock.name)
        click.echo(t("rollup.warning_prefix") + line, err=True)


def _render_batch(
    paths: tuple[Path, ...],
    outdir: Path | None,
    jobs: int | None,
    lang: str | None,
    missing: str,
    force: bool,
    reference_docx: Path | None = None,
    charts: bool = True,
) -> int:
    """Render many inputs (files, folders, .eml files): a progress bar on stderr when it is a
    terminal, each failure as one line on stderr, then the end table on stdout. Returns the
    exit code: 0 when everything converted, 1 when anything failed."""
    from opsbook.batch import BatchResult, render_many, summarize

    msg_lang = normalize_lang(lang or _env_lang())
    t = catalog(msg_lang)
    failures: list[BatchResult] = []
    incomplete: list[BatchResult] = []  # converted, but the workbook has data errors
    first: list[BatchResult] = []  # the first result, to speak of it when it is the only one
    noted: list[BatchResult] = []  # open elsewhere, blank, or edited by hand: a warning line

    def tap(results: Iterable[BatchResult]) -> Iterator[BatchResult]:
        for result in results:
            if not first:
                first.append(result)
            if result.status == "failed":
                failures.append(result)
            elif result.errors:
                incomplete.append(result)
            if result.notice or result.status in ("blank", "kept"):
                noted.append(result)
            yield result

    with render_many(paths, outdir=outdir, jobs=jobs, lang=lang, missing=missing, force=force,
                     reference_docx=reference_docx, message_lang=msg_lang,
                     charts=charts) as run:  # fmt: skip
        if sys.stderr.isatty():
            with click.progressbar(
                run, length=run.total, label=t("batch.progress"), file=sys.stderr
            ) as bar:
                summary = summarize(tap(bar))
        else:
            summary = summarize(tap(run))
    for failure in sorted(failures, key=lambda r: r.index):
        click.echo(t("cli.error_prefix") + (failure.error or failure.source), err=True)
    for result in sorted(incomplete, key=lambda r: r.index):
        click.echo(t("batch.has_errors", source=result.source, n=result.errors), err=True)
    for result in sorted(noted, key=lambda r: r.index):
        for line in (result.notice, result.error if result.status in ("blank", "kept") else None):
            if line:
                click.echo(t("rollup.warning_prefix") + line, err=True)
    counted = summary.converted + summary.failed + summary.skipped + summary.blank + summary.kept
    only = first[0] if counted == 1 else None
    if only is not None and only.output is not None:  # one .eml: where its summary is
        if only.ok:
            click.echo(t("cli.wrote", path=only.output))
        elif only.status == "skipped":
            click.echo(t("batch.skipped_one", path=only.output))
    for line in summary.lines(msg_lang):
        click.echo(line)
    if only is not None and only.status == "failed":
        return only.exit_code or summary.exit_code  # what `render FILE` would have exited
    return summary.exit_code


def _next_one(path: Path, out: Path | None, period: str | None, force: bool) -> None:
    from opsbook.nextperiod import next_workbook

    written, book = next_workbook(path, out, period=period, force=force)
    t = catalog(book.lang)
    click.echo(
        t(
            "next.wrote",
            path=written,
            source=book.source,
            period=book.period or "?",
            next=book.next_period,
        )
    )


@main.command("next")
@click.argument(
    "paths",
    metavar="FILLED.xlsx...",
    nargs=-1,
    required=True,
    type=click.Path(readable=False, path_type=Path),
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output .xlsx (default: beside the workbook, named from store and next period).",
)
@click.option(
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the next workbooks into this folder (many inputs).",
)
@click.option("--period", help="The next period, when it cannot be worked out (e.g. 2026年Q4).")
@click.option(
    "--lang",
    type=LANG_CHOICE,
    default=None,
    help="Language of messages (the workbook keeps its own).",
)
@click.option("--force", is_flag=True, help="Overwrite outputs that exist.")
@handle_errors
def next_cmd(
    paths: tuple[Path, ...],
    out: Path | None,
    outdir: Path | None,
    period: str | None,
    lang: str | None,
    force: bool,
) -> None:
    """Write the next period's workbook of filled workbooks: previous-period figures filled in
    from this period, the period advanced, section 六's targets and 五's plans carried as the
    next period's commitments. Many inputs, folders or .eml files: one each, beside each input
    or in --outdir (for a lead sending everyone their own). Exit 1 if any failed."""
    single = (
        len(paths) == 1
        and outdir is None
        and not paths[0].is_dir()
        and paths[0].suffix.lower() != ".eml"
    )
    if single:
        _next_one(paths[0], out, period, force)
        return
    if out is not None:
        raise UsageProblem("next.out_with_many")
    if period is not None:
        raise UsageProblem("next.period_with_many")
    from opsbook.nextperiod import next_many

    msg_lang = normalize_lang(lang or _env_lang())
    t = catalog(msg_lang)
    results = next_many(paths, outdir=outdir, force=force, message_lang=msg_lang)
    for result in results:
        if result.ok and result.book is not None:
            click.echo(
                t(
                    "next.wrote",
                    path=result.output,
                    source=result.source,
                    period=result.book.period or "?",
                    next=result.book.next_period,
                )
            )
        else:
            click.echo(t("cli.error_prefix") + (result.error or result.source), err=True)
    failed = sum(1 for r in results if not r.ok)
    click.echo(t("next.summary", ok=len(results) - failed, failed=failed))
    click.get_current_context().exit(1 if failed else 0)


@main.command("trend")
@click.argument("paths", nargs=-1, required=True, type=click.Path(readable=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="TREND.xlsx or TREND.docx (the table and a chart per main KPI).",
)
@click.option("--team", is_flag=True, help="Several people: the team's roll-up of each period.")
@click.option(
    "--lang",
    type=LANG_CHOICE,
    default=None,
    help="Language of the output (default: the first workbook's own).",
)
@click.option("--no-charts", is_flag=True, help="Leave the native charts out of TREND.docx.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@handle_errors
def trend_cmd(
    paths: tuple[Path, ...],
    out: Path,
    team: bool,
    lang: str | None,
    no_charts: bool,
    force: bool,
) -> None:
    """KPIs of one person's or store's workbooks over periods (files, folders, .eml files),
    in period order, with the change between periods and charts of the main KPIs."""
    from opsbook.trend import trend

    if out.suffix.lower() not in (".xlsx", ".docx"):
        raise UsageProblem("trend.suffix", path=out)
    result = trend(list(paths), team=team, lang=lang, out=out)
    path = result.write(out, force=force, inputs=paths, charts=not no_charts)
    click.echo(catalog(result.lang)("cli.wrote", path=path))


@main.command("rollup")
# readable=False: an unreadable workbook is reported like any other one left out.
@click.argument("paths", nargs=-1, required=True, type=click.Path(readable=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="TEAM.xlsx (a workbook of the same template) or TEAM.docx (the summary).",
)
@click.option(
    "--roster",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with a name and/or email column: lists who has not submitted.",
)
@click.option("--team", help="Team name written as the store (default: the store all share).")
@click.option(
    "--period",
    help="The team's period, e.g. 2026年Q3 (default: the one most workbooks name); "
    "workbooks of other periods are left out.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes reading workbooks (default: the number of CPUs).",
)
@click.option(
    "--lang",
    type=LANG_CHOICE,
    default=None,
    help="Language of the output (default: the workbooks' own).",
)
@click.option("--no-charts", is_flag=True, help="Leave the native charts out of TEAM.docx.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@handle_errors
def rollup_cmd(
    paths: tuple[Path, ...],
    out: Path,
    roster: Path | None,
    team: str | None,
    period: str | None,
    jobs: int | None,
    lang: str | None,
    no_charts: bool,
    force: bool,
) -> None:
    """Combine filled workbooks (files, folders, .eml files) into a team workbook or summary."""
    from opsbook.rollup import check_rollup_output, rollup

    check_rollup_output(out, force=force, inputs=paths)  # before the work of reading
    result = rollup(list(paths), roster=roster, lang=lang, team=team, jobs=jobs, period=period)
    path = result.write(out, force=force, charts=not no_charts)
    t = catalog(result.lang)
    click.echo(t("cli.wrote", path=path))
    for line in result.summary_lines():
        click.echo(line)
    for line in result.failure_lines():
        click.echo(t("cli.error_prefix") + line, err=True)
    for line in result.note_lines():
        click.echo(t("rollup.warning_prefix") + line, err=True)
    click.get_current_context().exit(result.exit_code)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("opsbook-data"),
    show_default=True,
    help="Folder of the embedded store (SQLite).",
)
@click.option("--db", metavar="postgresql://...", help="A PostgreSQL store instead of --data.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Conversion processes (default: the number of CPUs).",
)
@click.option(
    "--queue",
    type=click.IntRange(min=0),
    default=32,
    show_default=True,
    help="Conversions that may wait; beyond it the server answers 503 (busy).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds one conversion may take.",
)
@click.option(
    "--max-upload-mb",
    type=click.FloatRange(min=0.1),
    default=25.0,
    show_default=True,
    help="Largest request body; larger uploads are refused while they stream.",
)
@click.option("--lang", type=LANG_CHOICE, default=None, help="Language of these messages.")
@handle_errors
def serve_cmd(
    host: str,
    port: int,
    data: Path,
    db: str | None,
    workers: int | None,
    queue: int,
    timeout: float,
    max_upload_mb: float,
    lang: str | None,
) -> None:
    """Serve the team pages: a drop page for staff, the lead's view, an HTTP API (docs/api.md).

    Stores submissions in SQLite under --data (default ./opsbook-data), or in PostgreSQL with
    --db postgresql://user@host/db. The lead's token is printed once, at the first start
    (OPSBOOK_LEAD_TOKEN sets it instead).
    """
    from opsbook.serve import Started, serve

    t = catalog(normalize_lang(lang or _env_lang()))
    shown = "localhost" if host in ("127.0.0.1", "::1") else host

    def announce(started: Started) -> None:
        click.echo(t("serve.cli.store", store=started.store))
        if started.new_token:
            click.echo(t("serve.cli.new_token", token=started.new_token))
        elif started.token_from_env:
            click.echo(t("serve.cli.env_token"))
        else:
            click.echo(t("serve.cli.old_token"))
        click.echo(t("serve.cli.listening", url=f"http://{shown}:{port}/"), nl=True)

    if db is not None and not db.startswith(("postgresql://", "postgres://")):
        raise UsageProblem("serve.bad_db", db=db)
    serve(host=host, port=port, data=data, db=db, workers=workers, queue=queue,
          timeout=timeout, max_upload_mb=max_upload_mb, announce=announce)  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
