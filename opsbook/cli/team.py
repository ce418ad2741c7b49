"""The commands over periods and people: next, trend and rollup."""

from __future__ import annotations

from pathlib import Path

import click

from opsbook.cli import base
from workbook.errors import UsageProblem
from workbook.i18n import catalog, normalize_lang


def next_one(path: Path, out: Path | None, period: str | None, force: bool) -> None:
    """`next FILLED`: one next-period workbook, and the line saying where it went."""
    from opsbook.nextperiod import next_workbook

    written, book = next_workbook(path, out, period=period, force=force)
    t = catalog(book.lang)
    line = t("next.wrote", path=written, source=book.source, period=book.period or "?",
             next=book.next_period)  # fmt: skip
    click.echo(line)


@base.main.command("next")
@base.paths_argument("FILLED.xlsx...")
@base.out_option("Output .xlsx (default: beside the workbook, named from store and next period).")
@base.outdir_option("Write the next workbooks into this folder (many inputs).")
@click.option("--period", help="The next period, when it cannot be worked out (e.g. 2026年Q4).")
@base.lang_option("Language of messages (the workbook keeps its own).")
@base.force_option("Overwrite outputs that exist.")
@base.handle_errors
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
    from opsbook.api import next_many, single_next

    if single_next(paths, out, outdir, period):
        next_one(paths[0], out, period, force)
        return
    msg_lang = normalize_lang(lang or base.env_lang())
    t = catalog(msg_lang)
    results = next_many(paths, outdir=outdir, force=force, message_lang=msg_lang)
    for result in results:
        if result.ok and result.book is not None:
            book = result.book
            line = t("next.wrote", path=result.output, source=result.source,
                     period=book.period or "?", next=book.next_period)  # fmt: skip
            click.echo(line)
        else:
            click.echo(t("cli.error_prefix") + (result.error or result.source), err=True)
    failed = sum(1 for r in results if not r.ok)
    click.echo(t("next.summary", ok=len(results) - failed, failed=failed))
    click.get_current_context().exit(1 if failed else 0)


@base.main.command("trend")
@base.paths_argument()
@base.out_option("TREND.xlsx or TREND.docx (the table and a chart per main KPI).", required=True)
@click.option("--team", is_flag=True, help="Several people: the team's roll-up of each period.")
@base.lang_option("Language of the output (default: the first workbook's own).")
@base.no_charts_option("TREND.docx")
@base.force_option()
@base.handle_errors
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


@base.main.command("rollup")
# readable=False: an unreadable workbook is reported like any other one left out.
@base.paths_argument()
@base.out_option(
    "TEAM.xlsx (a workbook of the same template) or TEAM.docx (the summary).", required=True
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
@base.lang_option("Language of the output (default: the workbooks' own).")
@base.no_charts_option("TEAM.docx")
@base.force_option()
@base.handle_errors
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
    from opsbook.team.outputs import check_rollup_output
    from opsbook.team.rollup import rollup

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
