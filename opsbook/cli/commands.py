"""The commands on one workbook: new, demo, render (one, or many through opsbook.cli.batch),
check and export."""

from __future__ import annotations

from pathlib import Path

import click

from opsbook.cli import base
from workbook.errors import UsageProblem
from workbook.i18n import catalog, normalize_lang

RENDER_LISTED = 5  # problems listed after a render; `opsbook check` lists them all


@base.main.command("new")
@click.argument("out", required=False, type=click.Path(dir_okay=False, path_type=Path))
@base.lang_option("Language of the workbook.", default="zh-CN")
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
@base.force_option()
@base.handle_errors
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
        from opsbook.cli.team import next_one

        next_one(from_, out, period, force)
        return
    lang = normalize_lang(lang)
    path = new_workbook(out, lang=lang, store=store, period=period, author=author, force=force)
    click.echo(catalog(lang)("cli.wrote", path=path))


@base.main.command("demo")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@base.lang_option("Language of the workbooks and the summary.", default="zh-CN")
@base.force_option("Overwrite files already in OUTDIR.")
@base.handle_errors
def demo_cmd(outdir: Path, lang: str, force: bool) -> None:
    """Write a blank workbook and a filled sample (and its Word summary) into OUTDIR."""
    from opsbook.api import demo

    lang = normalize_lang(lang)
    for path in demo(outdir, lang=lang, force=force):
        click.echo(catalog(lang)("cli.wrote", path=path))


@base.main.command("render")
@base.paths_argument("FILLED.xlsx...")
@base.out_option("Output .docx (default: beside the workbook, same name).")
@base.outdir_option("Write the summaries into this folder (many inputs).")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Parallel workers for many inputs (default: the number of CPUs).",
)
@base.lang_option("Language of the summary (default: the workbook's own).")
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
@base.no_charts_option("the summary")
@base.force_option()
@base.handle_errors
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
    from opsbook.api import render, single_render

    if not single_render(paths, out, outdir):
        from opsbook.cli.batch import render_batch

        click.get_current_context().exit(
            render_batch(paths, outdir, jobs, lang, missing, force, reference_docx, not no_charts)
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
    warn_if_open(filled, t.lang)
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


@base.main.command("check")
@base.filled_argument()
@base.lang_option("Language of the messages (default: the workbook's own).")
@base.handle_errors
def check_cmd(filled: Path, lang: str | None) -> None:
    """List every problem of a filled workbook with its sheet!cell, then a summary line.

    Exit 0 when nothing blocks the summary, 1 when an error does (docs/reader.md).
    """
    from opsbook.api import check

    # Errors speak --lang, else OPSBOOK_LANG (handle_errors); the report speaks --lang, else
    # the workbook's own language.
    report = check(filled)
    t = catalog(normalize_lang(lang or report.lang))
    warn_if_open(filled, t.lang)
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


@base.main.command("export")
@base.filled_argument()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv"]),
    default="json",
    show_default=True,
    help="JSON for BI tools and scripts; CSV: kind,id,value,cell.",
)
@base.out_option("Write to this file (atomically) instead of standard output.")
@base.force_option()
@base.handle_errors
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


def warn_if_open(path: Path, lang: str) -> None:
    """A lock file beside the workbook: it is open somewhere, maybe with unsaved edits."""
    from opsbook.screening import locked_by

    lock = locked_by(path)
    if lock is not None:
        t = catalog(lang)
        line = t("team.open_elsewhere", path=path, lock=lock.name)
        click.echo(t("rollup.warning_prefix") + line, err=True)
