"""The end table of a batch on a terminal: one aligned line per count, CJK characters counted
as two columns."""

from __future__ import annotations

import unicodedata

from opsbook.results import BatchSummary
from workbook.i18n import catalog


def width(text: str) -> int:
    """Columns text takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int) -> str:
    return text + " " * (columns - width(text))


def aligned(rows: list[tuple[str, int, str]]) -> list[str]:
    """label, number, extra: labels padded to one width, numbers right-aligned."""
    label_width = max(width(label) for label, _, _ in rows)
    number_width = max(len(str(n)) for _, n, _ in rows)
    return [
        f"{pad(label, label_width)}  {n:>{number_width}}{extra}".rstrip()
        for label, n, extra in rows
    ]


def summary_lines(summary: BatchSummary, lang: str) -> list[str]:
    """The end table of a batch: converted, skipped, kept, blank, failed, errors, warnings."""
    t = catalog(lang)
    s = summary
    rows = [
        (t("batch.converted"), s.converted, ""),
        *([(t("batch.skipped"), s.skipped, t("batch.skipped_how"))] if s.skipped else []),
        *([(t("team.kept"), s.kept, t("team.kept_how"))] if s.kept else []),
        *([(t("team.blank"), s.blank, t("team.blank_how"))] if s.blank else []),
        (t("batch.failed"), s.failed, ""),
        (
            t("batch.errors"),
            s.errors,
            t("batch.errors_in", files=s.with_errors) if s.errors else "",
        ),
        (
            t("batch.warnings"),
            s.warnings,
            t("batch.warnings_in", files=s.with_warnings) if s.warnings else "",
        ),
    ]
    return aligned(rows)
