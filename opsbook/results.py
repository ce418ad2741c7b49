"""What happened to each input of a batch or a roll-up (BatchResult), and the counts at the end
(BatchSummary). A result carries message keys and parameters; it is put into words where it
is shown."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from opsbook.messages import Message
from workbook.errors import ExitCode, OpsbookError
from workbook.i18n import DEFAULT_LANG

# skipped: its summary is up to date; blank: a blank template, nothing written; kept: its summary
# was edited by hand since opsbook wrote it, and is kept as it is.
Status = Literal["converted", "failed", "skipped", "blank", "kept"]


@dataclass(frozen=True)
class BatchResult:
    """What happened to one input: converted (with its warnings count), failed (with the one-line
    error and the exit code a single `render` would have given), or skipped (its summary exists
    and is newer than it), blank or kept. Build one with `BatchResult.of`.

    problem: the error line (failed) or the warning (blank, kept), as a Message; notice: a
    warning about the input (open elsewhere); lang: the language `error` and `notice` speak
    (the batch's message language); `message(lang)` says the problem in another.
    """

    index: int
    source: str  # the input as messages name it
    output: Path | None
    status: Status
    warnings: int = 0
    problem: Message | None = None
    exit_code: int = 0
    errors: int = 0  # data errors in a converted workbook (what `opsbook check` exits 1 for)
    notice_message: Message | None = None
    lang: str = DEFAULT_LANG

    @classmethod
    def of(
        cls,
        index: int,
        source: str,
        status: Status,
        *,
        output: Path | None = None,
        problem: Message | OpsbookError | None = None,
        exit_code: int | None = None,
        warnings: int = 0,
        errors: int = 0,
        notice: Message | None = None,
        lang: str = DEFAULT_LANG,
    ) -> BatchResult:
        """The one way to build a result. An OpsbookError problem gives its line and (unless
        exit_code is given) its exit code; a failure otherwise exits 1 (a data problem)."""
        if isinstance(problem, OpsbookError):
            code = int(problem.exit_code) if exit_code is None else exit_code
            problem = Message.of_error(problem)
        elif exit_code is not None:
            code = exit_code
        else:
            code = int(ExitCode.DATA) if status == "failed" else 0
        return cls(index, source, output, status, warnings, problem, code, errors, notice, lang)

    @property
    def ok(self) -> bool:
        return self.status == "converted"

    @property
    def error(self) -> str | None:
        """The problem's line in the result's language."""
        return self.problem.text(self.lang) if self.problem is not None else None

    @property
    def notice(self) -> str | None:
        """The warning about the input in the result's language."""
        return self.notice_message.text(self.lang) if self.notice_message is not None else None

    def message(self, lang: str) -> str:
        """The problem's line in lang (the input's name when there is none)."""
        return self.problem.text(lang) if self.problem is not None else self.source


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
