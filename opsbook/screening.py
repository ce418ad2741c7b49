"""What a batch or a roll-up checks about a workbook before using it: blank templates, figures
that cannot be right, and workbooks open in another program (docs/rollup.md)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from workbook.errors import OpsbookError, UnreadableFile, UsageProblem
from workbook.period import Period, parse_period
from workbook.report import FieldValue
from workbook.spec import NUMERIC_TYPES, Spec


class BlankWorkbook(OpsbookError):
    """A workbook with no figure filled in: the blank template, sent by mistake."""


def figures_filled(spec: Spec, fields: Mapping[str, FieldValue]) -> int:
    """How many numeric fields hold a number: 0 for a blank template."""
    count = 0
    for f in spec.fields:
        value = fields.get(f.id)
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if f.type in NUMERIC_TYPES and numeric and math.isfinite(float(value)):  # type: ignore[arg-type]
            count += 1
    return count


@dataclass(frozen=True)
class Impossible:
    """A figure above the whole it is part of (an error-level check of the spec)."""

    part: str
    whole: str
    part_cell: str | None
    whole_cell: str | None


def impossible_figures(
    spec: Spec, fields: Mapping[str, FieldValue], cells: Mapping[str, str]
) -> list[Impossible]:
    """Every error-level check the figures break (part above whole), in the spec's order."""
    return [
        Impossible(c.part, c.whole, cells.get(c.part), cells.get(c.whole))
        for c in spec.checks
        if c.severity == "error" and c.breached(fields)
    ]


# ----------------------------------------------------------------------------------------------
# Lock files: Excel and WPS keep `~$name.xlsx` beside a workbook while it is open (Excel drops the
# first two characters of a long name: `~$me.xlsx` for `name.xlsx`), LibreOffice
# `.~lock.name.xlsx#`. Their presence means the workbook may have edits not saved yet.


def is_lock_name(name: str) -> bool:
    """Whether a file name is an office suite's lock file."""
    return name.startswith("~$") or (name.startswith(".~lock.") and name.endswith("#"))


def locked_by(path: Path) -> Path | None:
    """The lock file beside a workbook, when one is there (the workbook is open somewhere)."""
    name = path.name
    candidates = [f"~${name}", f".~lock.{name}#"]
    if len(name) > 2:
        candidates.append(f"~${name[2:]}")
    for candidate in candidates:
        lock = path.with_name(candidate)
        try:
            if lock.is_file():
                return lock
        except OSError:
            continue
    return None


def workbook_of_lock(lock: Path) -> Path:
    """The workbook a lock file stands for (its best guess for a truncated Excel name)."""
    name = lock.name
    if name.startswith(".~lock.") and name.endswith("#"):
        return lock.with_name(name[len(".~lock.") : -1])
    return lock.with_name(name[2:])


def refuse_lock_file(path: Path) -> None:
    """A lock file named as an input gets its own message, not "not a workbook"."""
    if is_lock_name(path.name):
        raise UnreadableFile("team.lock_file", path=path, workbook=workbook_of_lock(path).name)


# ----------------------------------------------------------------------------------------------
# The team's period


def team_period(periods: Sequence[Period | None], given: str | None) -> Period | None:
    """The period a roll-up is for: `given` (--period), else the one most workbooks share; None
    when no workbook names a period opsbook recognises. A tie is an error asking for --period."""
    if given is not None:
        chosen = parse_period(given)
        if chosen is None:
            raise UsageProblem("team.bad_period", value=given)
        return chosen
    counts = Counter(p for p in periods if p is not None)
    if not counts:
        return None
    ranked = counts.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        best = ranked[0][1]
        tied = sorted(p for p, n in ranked if n == best)
        raise UsageProblem("team.period_tie", periods=", ".join(p.key for p in tied), n=best)
    return ranked[0][0]
