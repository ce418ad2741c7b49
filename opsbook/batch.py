"""Many workbooks at once: plan each input's summary (beside it or in an outdir, up to date or
not), then render the rest in the process pool (opsbook.jobs) through the single-workbook
pipeline (opsbook.pipeline). A broken file, or even a crashed worker, fails only its own item;
nothing larger than a result line crosses between processes.

Which inputs there are is opsbook.intake's job (files, folders, .eml attachments; docs/rollup.md,
"Inputs"). Outputs are named in input order: two inputs wanting the same output get
`name.docx`, `name-2.docx`, ...
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from opsbook import provenance
from opsbook.files import prepare_outdir
from opsbook.intake import InputProblem, Source, discover, problem_of, unexpected, unique_name
from opsbook.jobs import default_jobs, run_pool
from opsbook.messages import Message
from opsbook.pipeline import SummaryOptions, render_path
from opsbook.results import BatchResult, Status
from opsbook.screening import BlankWorkbook
from workbook.errors import OpsbookError, OutputError
from workbook.i18n import normalize_lang


def up_to_date(target: Path, origin: Path, reference_docx: Path | None = None) -> bool:
    """Whether a summary already exists and was written after its input (the workbook, or the
    .eml it came in) and the reference document were last changed, as `make` decides. A batch
    skips it instead of failing on an existing output, so running again over an inbox converts
    only what is new; --force rewrites it anyway. An older summary is still an error without
    --force: it may have been edited, and its workbook has changed since."""
    try:
        written = target.stat()
        if not os.path.isfile(target):
            return False
        inputs = [origin] if reference_docx is None else [origin, reference_docx]
        return all(written.st_mtime >= p.stat().st_mtime for p in inputs)
    except OSError:
        return False


def _newer(reference_docx: Path | None, target: Path) -> bool:
    """Whether the reference document changed after the summary was written."""
    if reference_docx is None:
        return False
    try:
        return reference_docx.stat().st_mtime > target.stat().st_mtime
    except OSError:
        return False


def plan_outputs(sources: Sequence[Source], outdir: Path | None) -> list[Path]:
    """The summary path of each source: beside its origin or in outdir, made unique in order."""
    taken: set[str] = set()
    outputs = []
    for source in sources:
        folder = outdir if outdir is not None else source.origin.parent
        scope = os.path.normcase(os.path.abspath(folder))
        outputs.append(folder / unique_name(source.output_stem, ".docx", taken, scope))
    return outputs


# ----------------------------------------------------------------------------------------------
# Work done in the worker processes


@dataclass(frozen=True)
class RenderOptions:
    """What every render of a batch shares: the summary's options, the results' language."""

    summary: SummaryOptions
    message_lang: str


@dataclass(frozen=True)
class RenderTask:
    """One conversion handed to a worker."""

    index: int
    source: Source
    out: Path
    force: bool
    options: RenderOptions


def lock_notice(source: Source) -> Message | None:
    """The warning for a workbook open in another program (a lock file beside it)."""
    if source.lock is None:
        return None
    return Message.of("team.open_elsewhere", path=source.label, lock=source.lock.name)


def render_one(task: RenderTask) -> BatchResult:
    """Render one workbook; never raises (a failure is a result)."""
    source, options = task.source, task.options
    try:
        out, report = render_path(source.path, task.out, options.summary, force=task.force,
                                  origin=source.origin, refuse_blank=True)  # fmt: skip
    except BlankWorkbook as exc:
        return _result(task, "blank", problem=problem_of(exc, source), exit_code=0)
    except OpsbookError as exc:
        code = int(exc.exit_code)
        return _result(task, "failed", problem=problem_of(exc, source), exit_code=code)
    except Exception as exc:  # one broken file never stops the batch
        return _result(task, "failed", problem=unexpected(source, exc))
    warnings, errors = len(report.warnings), len(report.errors)
    return _result(task, "converted", output=out, warnings=warnings, errors=errors)


def _crashed(task: RenderTask, exc: BaseException | None) -> BatchResult:
    return _result(task, "failed", problem=unexpected(task.source, exc))


def _result(
    task: RenderTask,
    status: Status,
    *,
    output: Path | None = None,
    problem: Message | None = None,
    exit_code: int | None = None,
    warnings: int = 0,
    errors: int = 0,
) -> BatchResult:
    """BatchResult.of for a task: its index, label, lock notice and message language."""
    notice = lock_notice(task.source)
    return BatchResult.of(task.index, task.source.label, status, output=output, problem=problem,
                          exit_code=exit_code, warnings=warnings, errors=errors, notice=notice,
                          lang=task.options.message_lang)  # fmt: skip


# ----------------------------------------------------------------------------------------------
# The batch


class BatchRun(Iterator[BatchResult]):
    """The results of render_many, as they complete. `total` is known from the start (for a
    progress bar); the work folder holding .eml attachments is removed when the iteration ends
    or on close()."""

    def __init__(
        self,
        paths: Iterable[Path],
        *,
        outdir: Path | None,
        jobs: int | None,
        force: bool,
        options: RenderOptions,
    ) -> None:
        if outdir is not None:
            prepare_outdir(outdir)
        self._workdir = tempfile.TemporaryDirectory(prefix="opsbook-batch-")
        try:
            found = discover(list(paths), Path(self._workdir.name))
        except BaseException:
            self._workdir.cleanup()
            raise
        self.options = options
        self._settled: list[BatchResult] = []  # known before any work: problems, up to date
        self._tasks: list[RenderTask] = []
        outputs = iter(plan_outputs([f for f in found if isinstance(f, Source)], outdir))
        for index, item in enumerate(found):
            if isinstance(item, InputProblem):
                failed = BatchResult.of(
                    index, str(item.origin), "failed", problem=item.error, lang=options.message_lang
                )
                self._settled.append(failed)
            else:
                self._plan(RenderTask(index, item, next(outputs), force, options))
        self.total = len(found)
        self.jobs = max(1, jobs if jobs is not None else default_jobs())
        self._iter = self._results()

    def _plan(self, task: RenderTask) -> None:
        """Render the task, or settle it now: its summary is up to date, edited by hand since
        opsbook wrote it (kept), or older than its input without --force (failed)."""
        target, source, reference = task.out, task.source, task.options.summary.reference_docx
        replace = task.force
        state = provenance.state(target, source.path) if not task.force else "missing"
        if state == "current" and not _newer(reference, target):
            self._settled.append(_result(task, "skipped", output=target))
            return
        if state in ("current", "changed"):
            replace = True  # opsbook's own summary, untouched since: written again
        elif state == "edited":
            edited = Message.of("team.edited", path=target, source=source.label)
            self._settled.append(_result(task, "kept", output=target, problem=edited))
            return
        elif not task.force and up_to_date(target, source.origin, reference):
            self._settled.append(_result(task, "skipped", output=target))
            return
        if not replace and target.is_file():  # older than its input: the input changed since
            stale = OutputError("batch.stale_output", path=target, source=source.label)
            lang = task.options.message_lang
            self._settled.append(
                BatchResult.of(
                    task.index, source.label, "failed", output=target, problem=stale, lang=lang
                )
            )
            return
        self._tasks.append(RenderTask(task.index, source, target, replace, task.options))

    def _results(self) -> Iterator[BatchResult]:
        try:
            yield from self._settled
            if self._tasks and self.jobs > 1:
                # loaded once here, inherited by forked workers
                import generator.docx_writer  # noqa: F401
                import workbook.reader  # noqa: F401
            yield from run_pool(render_one, self._tasks, self.jobs, _crashed)
        finally:
            self._workdir.cleanup()

    def __next__(self) -> BatchResult:
        return next(self._iter)

    def close(self) -> None:
        close = getattr(self._iter, "close", None)
        if close is not None:
            close()
        self._workdir.cleanup()

    def __enter__(self) -> BatchRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    """Render every workbook named by paths (files, folders, .eml files) to a Word summary.

    Yields one BatchResult per input as it completes (not in input order; `index` gives the
    order). Outputs go beside each input (for an attachment: beside its .eml) or into outdir,
    which is created if missing. jobs: worker processes (default: the number of CPUs; 1 runs in
    this process). lang, missing, force, reference_docx, charts: as for `render`. message_lang: the
    language of the results' `error` and `notice` (default: lang, else zh-CN). Inputs are never
    modified.
    """
    msg_lang = normalize_lang(message_lang or lang)
    summary = SummaryOptions(lang, missing, reference_docx, charts)
    options = RenderOptions(summary, msg_lang)
    return BatchRun(paths, outdir=outdir, jobs=jobs, force=force, options=options)
