"""`render` over many inputs on a terminal: a progress bar, one line per failure and warning,
then the end table."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click

from opsbook.cli.base import env_lang
from opsbook.cli.table import summary_lines
from opsbook.results import BatchResult, BatchSummary, summarize
from workbook.i18n import Catalog, catalog, normalize_lang


@dataclass
class _Seen:
    """The results worth a line after the batch, gathered as they stream by."""

    failures: list[BatchResult] = field(default_factory=list)
    incomplete: list[BatchResult] = field(default_factory=list)  # converted, with data errors
    first: list[BatchResult] = field(default_factory=list)  # to speak of it when it is the only one
    noted: list[BatchResult] = field(default_factory=list)  # open elsewhere, blank, kept: a warning

    def tap(self, results: Iterable[BatchResult]) -> Iterator[BatchResult]:
        for result in results:
            if not self.first:
                self.first.append(result)
            if result.status == "failed":
                self.failures.append(result)
            elif result.errors:
                self.incomplete.append(result)
            if result.notice_message is not None or result.status in ("blank", "kept"):
                self.noted.append(result)
            yield result


def render_batch(
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
    from opsbook.batch import render_many

    msg_lang = normalize_lang(lang or env_lang())
    t = catalog(msg_lang)
    seen = _Seen()
    with render_many(paths, outdir=outdir, jobs=jobs, lang=lang, missing=missing, force=force,
                     reference_docx=reference_docx, message_lang=msg_lang,
                     charts=charts) as run:  # fmt: skip
        if sys.stderr.isatty():
            with click.progressbar(
                run, length=run.total, label=t("batch.progress"), file=sys.stderr
            ) as bar:
                summary = summarize(seen.tap(bar))
        else:
            summary = summarize(seen.tap(run))
    return _report(seen, summary, t)


def _report(seen: _Seen, summary: BatchSummary, t: Catalog) -> int:
    """The lines after a batch, in t's language; returns the exit code."""
    for failure in sorted(seen.failures, key=lambda r: r.index):
        click.echo(t("cli.error_prefix") + failure.message(t.lang), err=True)
    for result in sorted(seen.incomplete, key=lambda r: r.index):
        click.echo(t("batch.has_errors", source=result.source, n=result.errors), err=True)
    for result in sorted(seen.noted, key=lambda r: r.index):
        warned = result.problem if result.status in ("blank", "kept") else None
        for message in (result.notice_message, warned):
            if message is not None:
                click.echo(t("rollup.warning_prefix") + message.text(t.lang), err=True)
    counted = summary.converted + summary.failed + summary.skipped + summary.blank + summary.kept
    only = seen.first[0] if counted == 1 else None
    if only is not None and only.output is not None:  # one .eml: where its summary is
        if only.ok:
            click.echo(t("cli.wrote", path=only.output))
        elif only.status == "skipped":
            click.echo(t("batch.skipped_one", path=only.output))
    for line in summary_lines(summary, t.lang):
        click.echo(line)
    if only is not None and only.status == "failed":
        return only.exit_code or summary.exit_code  # what `render FILE` would have exited
    return summary.exit_code
