"""Many workbooks at once: find them (files, folders, .eml attachments) and render each.

`render_many` yields one `BatchResult` per input as it completes, converting in a process pool;
a broken file, or even a crashed worker, fails only its own item. Nothing larger than a result
line crosses between processes, so memory stays flat whatever the batch size.

Discovery rules (docs/rollup.md, "Inputs"):
- a file is taken as given; Office lock files (`~$name.xlsx`) are skipped everywhere;
- a folder is searched recursively for `.xlsx` / `.xlsm`, skipping hidden files and folders
  (a leading dot: editors' temporary files, `.git`, macOS `._` copies) and lock files;
- an `.eml` file contributes each `.xlsx` / `.xlsm` attachment, saved into a work folder as
  `<sender>_<attachment>` (other attachments are ignored); its summary goes beside the `.eml`.
Inputs are processed in a fixed order (as given; in a folder, its own files by name, then its
subfolders by name), so output names are deterministic: two inputs wanting the same output get
`name.docx`, `name-2.docx`, ...
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import gc
import multiprocessing
import os
import signal
import sys
import tempfile
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from email.message import EmailMessage
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Literal, TypeVar

from opsbook import provenance
from opsbook.files import safe_filename
from opsbook.mail import workbook_parts
from opsbook.screening import BlankWorkbook, is_lock_name, locked_by, workbook_of_lock
from workbook.errors import ExitCode, OpsbookError, OutputError, UnreadableFile, UnsafeFile
from workbook.i18n import catalog, normalize_lang

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
EML_SUFFIX = ".eml"
# An .eml is parsed whole in memory: refuse anything larger than a generous mailbox limit.
MAX_EML_BYTES = 64 * 1024 * 1024
# Tasks queued ahead of the workers, per worker: enough to keep them busy, few enough that a
# batch of any size holds only a handful of pending results.
QUEUE_PER_WORKER = 4

# skipped: its summary is up to date; blank: a blank template, nothing written; kept: its summary
# was edited by hand since opsbook wrote it, and is kept as it is.
Status = Literal["converted", "failed", "skipped", "blank", "kept"]
T = TypeVar("T")
R = TypeVar("R")


# ----------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class Source:
    """One workbook to process.

    path: the file to read (for an .eml attachment, the copy extracted into the work folder);
    origin: the file the user has (the workbook itself, or the .eml it came in);
    attachment: the attachment's own file name; sender_*: the .eml's From header.
    """

    path: Path
    origin: Path
    attachment: str | None = None
    sender_name: str | None = None
    sender_email: str | None = None
    sent_at: dt.datetime | None = None  # the .eml's Date header
    lock: Path | None = None  # an office suite's lock file beside it: open, maybe unsaved edits

    @property
    def label(self) -> str:
        """How messages name this input: the path, or "mail.eml › attachment.xlsx"."""
        if self.attachment is None:
            return str(self.origin)
        return f"{self.origin} › {self.attachment}"

    @property
    def output_stem(self) -> str:
        return self.path.stem


@dataclass(frozen=True)
class InputProblem:
    """An input that gives no workbook at all (missing path, empty folder, bad .eml)."""

    origin: Path
    error: OpsbookError


Found = Source | InputProblem


def _is_lock_file(name: str) -> bool:
    return is_lock_name(name)


def _is_workbook_name(name: str) -> bool:
    return name.lower().endswith(WORKBOOK_SUFFIXES) and not _is_lock_file(name)


def _walk(folder: Path) -> Iterator[Path]:
    """Workbooks under folder, sorted, not following links to folders (no cycles)."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and _is_workbook_name(name):
                yield Path(root) / name


def _unique(stem: str, suffix: str, taken: set[str], scope: str = "") -> str:
    """stem+suffix, or stem-2+suffix, stem-3+suffix ...: the first name not yet taken in scope
    (a folder), compared case-insensitively as on Windows and macOS. Records the name."""
    name, n = f"{stem}{suffix}", 1
    while f"{scope}/{name.casefold()}" in taken:
        n += 1
        name = f"{stem}-{n}{suffix}"
    taken.add(f"{scope}/{name.casefold()}")
    return name


def _sent(message: EmailMessage) -> dt.datetime | None:
    """The Date header as an aware datetime, when it can be parsed."""
    try:
        when = getattr(message["Date"], "datetime", None)
    except Exception:  # a malformed header must not stop the batch
        return None
    if not isinstance(when, dt.datetime):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)


def read_eml(path: Path) -> EmailMessage:
    """Parse an .eml file, refusing missing, unreadable or oversized ones."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise UnreadableFile("input.not_found", path=path) from exc
    except OSError as exc:
        raise UnreadableFile("input.no_permission", path=path) from exc
    if size > MAX_EML_BYTES:
        raise UnsafeFile("batch.eml_too_large", path=path, limit=MAX_EML_BYTES // (1024 * 1024))
    try:
        with path.open("rb") as fh:
            message = email.message_from_binary_file(fh, policy=email.policy.default)
    except OSError as exc:
        raise UnreadableFile("input.no_permission", path=path) from exc
    if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default guarantees it
        raise UnreadableFile("batch.eml_unreadable", path=path)
    return message


def extract_attachments(eml: Path, workdir: Path, taken: set[str]) -> list[Source]:
    """Save every workbook attached to eml into workdir as `<sender>_<name>`; raise when there is
    none. taken: names already used in workdir (updated)."""
    message = read_eml(eml)
    sent_at = _sent(message)
    found: list[Source] = []
    for part, who in workbook_parts(message):
        name, address = who.name, who.address
        sender = safe_filename(name or (address or "").split("@")[0]) or safe_filename(eml.stem)
        filename = part.get_filename()
        if not filename or not _is_workbook_name(filename.strip()):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        original = Path(filename.strip().replace("\\", "/")).name
        suffix = Path(original).suffix.lower()
        stem = safe_filename(Path(original).stem) or "workbook"
        # The sender's name once: 李明_Q3.xlsx from 李明 stays 李明_Q3, never 李明_李明_Q3.
        named = _fold(sender) in _fold(stem)
        target = workdir / _unique(stem if named else f"{sender}_{stem}", suffix, taken)
        target.write_bytes(payload)
        found.append(Source(target, eml, original, name, address, sent_at))
    if not found:
        raise UnreadableFile("batch.eml_no_workbook", path=eml)
    return found


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def discover(paths: Iterable[Path], workdir: Path) -> list[Found]:
    """Every workbook named by paths, in order, and every input that gave none."""
    paths = list(paths)
    found: list[Found] = []
    seen: set[str] = set()
    taken: set[str] = set()
    named = {os.path.normcase(os.path.realpath(p)) for p in paths}

    def first_time(path: Path) -> bool:
        key = os.path.normcase(os.path.realpath(path))
        if key in seen:
            return False
        seen.add(key)
        return True

    for path in paths:
        if path.is_dir():
            books = list(_walk(path))
            if not books:
                found.append(InputProblem(path, UnreadableFile("batch.no_workbooks", path=path)))
            found.extend(Source(p, p, lock=locked_by(p)) for p in books if first_time(p))
        elif _is_lock_file(path.name):
            # Beside its workbook, also named (a shell glob picks both up): the workbook's own
            # warning says it is open. Named alone: say what it is, not "not a workbook".
            if os.path.normcase(os.path.realpath(workbook_of_lock(path))) in named:
                continue
            lock_error = UnreadableFile(
                "team.lock_file", path=path, workbook=workbook_of_lock(path).name
            )
            found.append(InputProblem(path, lock_error))
        elif not first_time(path):
            continue
        elif path.suffix.lower() == EML_SUFFIX:
            try:
                found.extend(extract_attachments(path, workdir, taken))
            except OpsbookError as exc:
                found.append(InputProblem(path, exc))
        else:
            # Anything else goes to the renderer, whose checks say what is wrong with it.
            found.append(Source(path, path, lock=locked_by(path)))
    return found


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
        outputs.append(folder / _unique(source.output_stem, ".docx", taken, scope))
    return outputs


# ----------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class BatchResult:
    """What happened to one input: converted (with its warnings count), failed (with the
    localized one-line error and the exit code a single `render` would have given), or skipped
    (its summary exists and is newer than it: see `up_to_date`)."""

    index: int
    source: str  # the input as messages name it
    output: Path | None
    status: Status
    warnings: int = 0
    error: str | None = None
    exit_code: int = 0
    errors: int = 0  # data errors in a converted workbook (what `opsbook check` exits 1 for)
    notice: str | None = None  # a localized warning line about the input (open elsewhere)

    @property
    def ok(self) -> bool:
        return self.status == "converted"


@dataclass(frozen=True)
class BatchSummary:
    """The counts printed at the end of a batch."""

    converted: int
    failed: int
    warnings: int  # warnings in all converted summaries
    with_warnings: int  # converted summaries with at least one warning
    errors: int = 0  # data errors in all converted summaries' workbooks
    with_errors: int = 0  # converted summaries whose workbook has an error
    skipped: int = 0  # summaries already up to date
    blank: int = 0  # blank templates: nothing written
    kept: int = 0  # summaries edited by hand since opsbook wrote them: kept

    @property
    def exit_code(self) -> int:
        return int(ExitCode.OK if self.failed == 0 else ExitCode.DATA)

    def lines(self, lang: str) -> list[str]:
        """The end table: one aligned line per count."""
        t = catalog(lang)
        rows = [
            (t("batch.converted"), self.converted, ""),
            *([(t("batch.skipped"), self.skipped, t("batch.skipped_how"))] if self.skipped else []),
            *([(t("team.kept"), self.kept, t("team.kept_how"))] if self.kept else []),
            *([(t("team.blank"), self.blank, t("team.blank_how"))] if self.blank else []),
            (t("batch.failed"), self.failed, ""),
            (
                t("batch.errors"),
                self.errors,
                t("batch.errors_in", files=self.with_errors) if self.errors else "",
            ),
            (
                t("batch.warnings"),
                self.warnings,
                t("batch.warnings_in", files=self.with_warnings) if self.warnings else "",
            ),
        ]
        label_width = max(_width(label) for label, _, _ in rows)
        number_width = max(len(str(n)) for _, n, _ in rows)
        return [
            f"{_pad(label, label_width)}  {n:>{number_width}}{extra}".rstrip()
            for label, n, extra in rows
        ]


def _width(text: str) -> int:
    """Columns text takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def summarize(results: Iterable[BatchResult]) -> BatchSummary:
    """Counts for the end table; consumes results one at a time."""
    converted = failed = warnings = with_warnings = errors = with_errors = skipped = 0
    blank = kept = 0
    for r in results:
        if r.status == "skipped":
            skipped += 1
        elif r.status == "blank":
            blank += 1
        elif r.status == "kept":
            kept += 1
        elif r.ok:
            converted += 1
            warnings += r.warnings
            with_warnings += r.warnings > 0
            errors += r.errors
            with_errors += r.errors > 0
        else:
            failed += 1
    return BatchSummary(
        converted, failed, warnings, with_warnings, errors, with_errors, skipped, blank, kept
    )


# ----------------------------------------------------------------------------------------------
# Work done in the worker processes


@dataclass(frozen=True)
class RenderTask:
    """One conversion handed to a worker."""

    index: int
    source: Source
    out: Path
    lang: str | None
    missing: str
    force: bool
    reference_docx: Path | None
    message_lang: str
    charts: bool = True


def localized(exc: OpsbookError, source: Source, lang: str) -> str:
    """The error's one line, naming the input as the user knows it (not the extracted copy)."""
    params = {
        k: (source.label if (v == source.path or v == str(source.path)) else v)
        for k, v in exc.params.items()
    }
    return catalog(lang)(f"errors.{exc.key}", **params)


def unexpected(source: Source, exc: BaseException | None, lang: str) -> tuple[str, int]:
    reason = "worker crashed" if exc is None else f"{type(exc).__name__}: {exc}"
    return catalog(lang)("errors.batch.unexpected", path=source.label, reason=reason), int(
        ExitCode.DATA
    )


def render_one(task: RenderTask) -> BatchResult:
    """Render one workbook; never raises (a failure is a result)."""
    from opsbook.api import render

    try:
        out, report = render(
            task.source.path,
            task.out,
            lang=task.lang,
            missing=task.missing,
            reference_docx=task.reference_docx,
            force=task.force,
            charts=task.charts,
            origin=task.source.origin,
            refuse_blank=True,
        )
    except BlankWorkbook as exc:
        line = localized(exc, task.source, task.message_lang)
        return BatchResult(task.index, task.source.label, None, "blank", error=line,
                           notice=_lock_notice(task.source, task.message_lang))  # fmt: skip
    except OpsbookError as exc:
        return _failed(task, localized(exc, task.source, task.message_lang), int(exc.exit_code))
    except Exception as exc:  # one broken file never stops the batch
        return _failed(task, *unexpected(task.source, exc, task.message_lang))
    return BatchResult(
        task.index, task.source.label, out, "converted", len(report.warnings),
        errors=len(report.errors), notice=_lock_notice(task.source, task.message_lang),
    )  # fmt: skip


def _lock_notice(source: Source, lang: str) -> str | None:
    """The warning for a workbook open in another program (a lock file beside it)."""
    if source.lock is None:
        return None
    return catalog(lang)("team.open_elsewhere", path=source.label, lock=source.lock.name)


def _failed(task: RenderTask, error: str, code: int) -> BatchResult:
    notice = _lock_notice(task.source, task.message_lang)
    return BatchResult(task.index, task.source.label, None, "failed", error=error, exit_code=code,
                       notice=notice)  # fmt: skip


def _crashed(task: RenderTask, exc: BaseException | None) -> BatchResult:
    return _failed(task, *unexpected(task.source, exc, task.message_lang))


# ----------------------------------------------------------------------------------------------
# The pool


def default_jobs() -> int:
    return os.cpu_count() or 1


def mp_context() -> BaseContext:
    """fork on Linux (workers start in milliseconds and share the parent's imported modules);
    the platform default (spawn) elsewhere."""
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _worker_start() -> None:
    """Ctrl-C is the parent's to handle: it stops handing out work and lets the few tasks in
    flight finish, instead of every worker printing a traceback. The modules a forked worker
    inherits live as long as it does: freezing them spares the garbage collector from walking
    them again after every workbook (about 5% of a render)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()


def _then_collect(func: Callable[[T], R], item: T) -> R:
    """func(item), then a garbage collection. An openpyxl workbook is a web of reference cycles
    (cells, styles and conditional formats pointing back at their sheet): freed by the collector
    only, whose full passes grow rarer as a long batch goes on, so without this the dead
    workbooks pile up (250 MB after 60 of the sample's, measured). With the modules frozen out of
    the way (`_worker_start`), a collection costs about 3 ms a workbook."""
    try:
        return func(item)
    finally:
        gc.collect()


def run_pool(
    func: Callable[[T], R],
    items: Sequence[T],
    jobs: int,
    on_crash: Callable[[T, BaseException | None], R],
) -> Iterator[R]:
    """func(item) for every item, in completion order, on `jobs` processes (in this process when
    jobs is 1). func must not raise; if a worker dies (a crash, the OOM killer), the tasks it may
    have held are re-run one by one in a fresh process, and the one that kills it again gets
    on_crash(item, None); the others carry on."""
    if jobs <= 1 or len(items) <= 1:
        if len(items) <= 1:
            yield from (func(item) for item in items)
            return
        gc.freeze()  # what this process holds already: not walked again after every item
        try:
            for item in items:
                yield _then_collect(func, item)
        finally:
            gc.unfreeze()
        return
    pending: deque[T] = deque(items)
    suspects: deque[T] = deque()
    context = mp_context()
    window = jobs * QUEUE_PER_WORKER
    while pending or suspects:
        if suspects:
            item = suspects.popleft()
            with ProcessPoolExecutor(1, mp_context=context, initializer=_worker_start) as solo:
                try:
                    yield solo.submit(_then_collect, func, item).result()
                except BrokenProcessPool:
                    yield on_crash(item, None)
                except Exception as exc:  # e.g. a result that cannot be pickled
                    yield on_crash(item, exc)
            continue
        workers = min(jobs, len(pending))
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start) as pool:
            inflight: dict[Future[R], T] = {}
            broken = False
            while (pending or inflight) and not broken:
                while pending and len(inflight) < window:
                    item = pending.popleft()
                    try:
                        inflight[pool.submit(_then_collect, func, item)] = item
                    except BrokenProcessPool:
                        pending.appendleft(item)
                        broken = True
                        break
                if not inflight:
                    break
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for future in done:
                    item = inflight.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        suspects.append(item)
                        broken = True
                        continue
                    except Exception as exc:
                        result = on_crash(item, exc)
                    yield result
            if broken:
                suspects.extend(inflight.values())
                inflight.clear()


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
        lang: str | None,
        missing: str,
        force: bool,
        reference_docx: Path | None,
        message_lang: str | None,
        charts: bool = True,
    ) -> None:
        msg_lang = normalize_lang(message_lang or lang)
        if outdir is not None:
            prepare_outdir(outdir)
        self._workdir = tempfile.TemporaryDirectory(prefix="opsbook-batch-")
        try:
            found = discover(list(paths), Path(self._workdir.name))
        except BaseException:
            self._workdir.cleanup()
            raise
        sources = [f for f in found if isinstance(f, Source)]
        outputs = iter(plan_outputs(sources, outdir))
        self._settled: list[BatchResult] = []  # known before any work: problems, up to date
        self._tasks: list[RenderTask] = []
        for index, item in enumerate(found):
            if isinstance(item, InputProblem):
                error = item.error.message(msg_lang)
                self._settled.append(
                    BatchResult(
                        index, str(item.origin), None, "failed", 0, error, int(item.error.exit_code)
                    )
                )
                continue
            target = next(outputs)
            notice = _lock_notice(item, msg_lang)
            replace = force
            state = provenance.state(target, item.path) if not force else "missing"
            if state == "current" and not _newer(reference_docx, target):
                self._settled.append(
                    BatchResult(index, item.label, target, "skipped", notice=notice)
                )
                continue
            if state in ("current", "changed"):
                replace = True  # opsbook's own summary, untouched since: written again
            elif state == "edited":
                line = catalog(msg_lang)("team.edited", path=target, source=item.label)
                self._settled.append(
                    BatchResult(index, item.label, target, "kept", error=line, notice=notice)
                )
                continue
            elif not force and up_to_date(target, item.origin, reference_docx):
                self._settled.append(
                    BatchResult(index, item.label, target, "skipped", notice=notice)
                )
                continue
            if not replace and target.is_file():  # older than its input: the input changed since
                stale = OutputError("batch.stale_output", path=target, source=item.label)
                failed = BatchResult(
                    index,
                    item.label,
                    target,
                    "failed",
                    0,
                    stale.message(msg_lang),
                    int(stale.exit_code),
                )
                self._settled.append(failed)
                continue
            self._tasks.append(
                RenderTask(
                    index, item, target, lang, missing, replace, reference_docx, msg_lang, charts
                )
            )
        self.total = len(found)
        self.jobs = max(1, jobs if jobs is not None else default_jobs())
        self._iter = self._results()

    def _results(self) -> Iterator[BatchResult]:
        try:
            yield from self._settled
            if self._tasks and self.jobs > 1:
                # loaded once here, inherited by forked workers
                import generator.docx_writer  # noqa: F401
                import opsbook.api  # noqa: F401
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


def prepare_outdir(outdir: Path) -> None:
    """Create outdir (and its parents) if needed; refuse a file in its place."""
    if outdir.exists() and not outdir.is_dir():
        raise OutputError("batch.outdir_not_dir", path=outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError("output.not_writable", path=outdir, reason=exc.strerror or exc) from exc


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
    language of error lines (default: lang, else zh-CN). Inputs are never modified.
    """
    return BatchRun(
        paths,
        outdir=outdir,
        jobs=jobs,
        lang=lang,
        missing=missing,
        force=force,
        reference_docx=reference_docx,
        message_lang=message_lang,
        charts=charts,
    )
