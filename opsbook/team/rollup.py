"""Team roll-up: many filled workbooks of one template combined into one team report.

How each field combines is data in the spec (`rollup` and `weight` on every field, the
`[rollup]` table for the person field and the per-person KPIs); docs/rollup.md explains the
rules. KPIs are never combined: they are recomputed from the combined inputs with the same
expressions as a single workbook, so a team rate is total over total, never an average of rates.

This module puts the layers together: intake (opsbook.intake, opsbook.identity), reading in the
process pool (opsbook.jobs), screening (blank workbooks, other periods, revised workbooks), the
combining rules (opsbook.team.combine) and the roster (opsbook.team.roster); the result,
opsbook.team.outputs.Rollup, writes TEAM.xlsx or TEAM.docx.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from opsbook.identity import content_key, is_rollup_workbook
from opsbook.intake import InputProblem, Source, discover, problem_of, unexpected
from opsbook.jobs import default_jobs, run_pool
from opsbook.messages import Message, MessageError
from opsbook.results import BatchResult
from opsbook.screening import team_period
from opsbook.team.combine import Combiner, consistent_kpis, merge_rows
from opsbook.team.notes import FileRef, Note, short_label
from opsbook.team.outputs import Rollup
from opsbook.team.people import Person, keep_latest, person_from_report
from opsbook.team.roster import RosterEntry, match_roster, read_roster, roster_emails
from workbook import spec as spec_mod
from workbook.errors import ExitCode, OpsbookError, UnreadableFile, UnsafeFile
from workbook.i18n import catalog, normalize_lang
from workbook.period import Period
from workbook.report import Report
from workbook.spec import Spec


class NothingCombined(MessageError, UnreadableFile):
    """No workbook could be used (exit 3): the first reason says why."""


class NothingSafeCombined(MessageError, UnsafeFile):
    """Every input was refused as unsafe (exit 4)."""


@dataclass(frozen=True)
class ReadTask:
    """One workbook handed to a worker to read for the roll-up."""

    index: int
    source: Source
    spec: Spec | None  # None: the built-in spec, loaded in the worker


@dataclass(frozen=True)
class Skipped:
    """An input left out on purpose: an earlier team roll-up, not a person's workbook."""

    index: int
    source: str


def read_person(task: ReadTask) -> Person | BatchResult | Skipped:
    """Read one workbook (in a worker); a failure is a result, never an exception."""
    from workbook.reader import read_workbook

    spec = task.spec if task.spec is not None else spec_mod.load()
    label = task.source.label
    if is_rollup_workbook(task.source.path):
        return Skipped(task.index, label)
    try:
        report = read_workbook(task.source.path, spec)
    except OpsbookError as exc:
        problem = problem_of(exc, task.source)
        return BatchResult.of(task.index, label, "failed", problem=problem,
                              exit_code=int(exc.exit_code))  # fmt: skip
    except Exception as exc:  # one broken file never stops the roll-up
        return BatchResult.of(task.index, label, "failed", problem=unexpected(task.source, exc))
    return person_from_report(spec, report, task.index, task.source)


def _crashed(task: ReadTask, exc: BaseException | None) -> BatchResult:
    problem = unexpected(task.source, exc)
    return BatchResult.of(task.index, task.source.label, "failed", problem=problem)


@dataclass
class _Gathered:
    """What reading the inputs gave: people, failures, and inputs left out on the way."""

    people: list[Person] = field(default_factory=list)
    failed: list[BatchResult] = field(default_factory=list)
    duplicates: list[Note] = field(default_factory=list)  # byte-identical inputs, counted once
    skipped: list[Skipped] = field(default_factory=list)  # earlier roll-ups
    origins: dict[int, Path] = field(default_factory=dict)  # input index -> the file read
    doc_errors: dict[int, Message] = field(default_factory=dict)  # as team.docx words them


def _gather(items: Sequence[Report | Path], spec: Spec, jobs: int | None) -> _Gathered:
    """Read every input (Reports as they are; paths through intake, in the process pool)."""
    got = _Gathered()
    index = 0
    for item in items:
        if isinstance(item, Report):
            got.people.append(person_from_report(spec, item, index))
            index += 1
    paths = [i for i in items if isinstance(i, Path)]
    with tempfile.TemporaryDirectory(prefix="opsbook-rollup-") as workdir:
        found = discover(paths, Path(workdir)) if paths else []
        # The same workbook arriving twice (saved from a mail and forwarded again) must not be
        # summed twice: byte-identical inputs count once, with a note naming both.
        first_seen: dict[bytes, str] = {}
        tasks: list[ReadTask] = []
        default = spec is spec_mod.load()
        for number, f in enumerate(found, index):
            if isinstance(f, InputProblem):
                got.failed.append(BatchResult.of(number, str(f.origin), "failed", problem=f.error))
                continue
            got.origins[number] = f.origin
            digest = content_key(f)
            if digest in first_seen:
                params = (("source", FileRef(f.label)), ("first", FileRef(first_seen[digest])))
                got.duplicates.append(Note("duplicate_input", params))
                continue
            first_seen[digest] = f.label
            tasks.append(ReadTask(number, f, None if default else spec))
        workers = max(1, jobs if jobs is not None else default_jobs())
        if tasks and workers > 1:
            import workbook.reader  # noqa: F401 - loaded once here, inherited by forked workers
        for read in run_pool(read_person, tasks, workers, _crashed):
            if isinstance(read, Person):
                got.people.append(read)
            elif isinstance(read, Skipped):
                got.skipped.append(read)
            else:
                got.failed.append(read)
    got.people.sort(key=lambda p: p.index)
    return got


def _leave_out_blank(got: _Gathered) -> list[Person]:
    """A workbook with no figure filled in (the blank template sent by mistake) would count its
    sender as reporting nothing: it is left out, as an input that could not be used, and the
    roster says who sent only a blank workbook. Returns those people."""
    blank = [p for p in got.people if not p.filled]
    for p in blank:
        problem = Message.of("errors.batch.blank_workbook", path=p.source)
        got.failed.append(BatchResult.of(p.index, p.source, "failed", problem=problem))
        known = p.author or p.sender_name
        if known:
            got.doc_errors[p.index] = _blank_line(known, p.source)
    got.people = [p for p in got.people if p.filled]
    return blank


def _leave_out_other_periods(got: _Gathered, chosen: Period | None) -> list[Person]:
    """The workbooks of another period than the team's: left out, each with a line saying so.
    Returns those people."""
    if chosen is None:
        return []
    other = [p for p in got.people if p.period is not None and p.period != chosen]
    for p in other:
        params = {"name": p.name, "period": p.period_text or "", "team_period": chosen}
        problem = Message.of("team.other_period", source=p.source, **params)
        got.failed.append(BatchResult.of(p.index, p.source, "failed", problem=problem))
        short = short_label(p.source)
        got.doc_errors[p.index] = Message.of("teamdoc.other_period", source=short, **params)
    got.people = [p for p in got.people if p not in other]
    return other


def _refuse_nothing(failed: Sequence[BatchResult]) -> None:
    """No workbook left to combine: as for one unreadable workbook, exit 3, or 4 when every
    input was refused as unsafe."""
    if not failed:
        raise OpsbookError("batch.rollup_nothing")
    unsafe = all(f.exit_code == int(ExitCode.UNSAFE) for f in failed)
    refusal: type[OpsbookError] = NothingSafeCombined if unsafe else NothingCombined
    first = failed[0].problem
    if len(failed) == 1:
        raise refusal("batch.rollup_empty_one", first=first)
    raise refusal("batch.rollup_empty", n=len(failed), first=first)


def _output_lang(lang: str | None, people: Sequence[Person]) -> str:
    """lang, else the language most workbooks are in (zh-CN on a tie)."""
    if lang is None:
        langs = Counter(p.lang for p in people)
        lang = max(langs, key=lambda k: (langs[k], k == "zh-CN"))
    return normalize_lang(lang)


def _person_notes(spec: Spec, people: Sequence[Person]) -> tuple[list[Note], list[Note]]:
    """Per person: figures left out of the totals (errors), other data errors and a workbook
    open elsewhere (notes)."""
    errors: list[Note] = []
    notes: list[Note] = []
    for p in people:
        for i in p.impossible:
            part, whole = spec.field(i.part), spec.field(i.whole)
            params = (("name", p.name), ("source", FileRef(p.source)),
                      ("part", part.label), ("part_cell", i.part_cell or "?"),
                      ("whole", whole.label), ("whole_cell", i.whole_cell or "?"))  # fmt: skip
            errors.append(Note("impossible", params, group="team.error"))
        others = p.errors - len(p.impossible)  # errors besides those just reported
        if others > 0:
            notes.append(Note("person_errors", (("name", p.name), ("source", FileRef(p.source)),
                                                ("n", others))))  # fmt: skip
        if p.lock:
            notes.append(Note("open_elsewhere", (("source", FileRef(p.source)),
                                                 ("lock", p.lock)), group="team.note"))  # fmt: skip
    return errors, notes


def rollup(
    reports_or_paths: Iterable[Report | Path],
    *,
    roster: Path | Sequence[RosterEntry] | None = None,
    lang: str | None = None,
    team: str | None = None,
    jobs: int | None = None,
    spec: Spec | None = None,
    period: str | None = None,
) -> Rollup:
    """Combine filled workbooks of one template into a team report.

    reports_or_paths: Reports already read, and/or paths (files, folders, .eml files, as for
    render_many). roster: a CSV path (see read_roster) or entries. lang: of the outputs and
    messages (default: the language most workbooks are in). team: the team's label for the
    "label" fields (default: the value all share, else "Team (N people)"). jobs: processes
    reading workbooks (default: CPUs). An earlier roll-up among the inputs is skipped.
    period: the team's period (default: the one most workbooks name; a tie raises UsageProblem);
    a workbook of another period is left out.
    """
    spec = spec if spec is not None else spec_mod.load()
    entries = read_roster(roster) if isinstance(roster, Path) else roster
    got = _gather(list(reports_or_paths), spec, jobs)
    blank = _leave_out_blank(got)
    got.people, superseded = keep_latest(got.people)
    # One period: --period, else the one most workbooks name; the others are left out.
    chosen = team_period([p.period for p in got.people], period)
    other = _leave_out_other_periods(got, chosen)
    got.failed.sort(key=lambda r: r.index)
    if not got.people:
        _refuse_nothing(got.failed)
    lang = _output_lang(lang, got.people)
    got.failed = [replace(f, lang=lang) for f in got.failed]  # their `error` in the output's
    people = got.people
    if chosen is not None:  # the canonical period in the outputs' language
        people = [_in_period(spec, p, chosen, lang) for p in people]
    result = _combined(spec, people, lang, team, [*got.duplicates, *superseded], got)
    left_out = {s.index for s in got.skipped}
    used = [origin for i, origin in got.origins.items() if i not in left_out]
    if isinstance(roster, Path):
        used.append(roster)
    result.inputs = tuple(dict.fromkeys(used))
    result.period = chosen
    result.doc_errors = got.doc_errors
    if entries is not None:
        _match_roster(result, entries, blank, other)
    return result


def _combined(
    spec: Spec,
    people: list[Person],
    lang: str,
    team: str | None,
    earlier: Sequence[Note],
    got: _Gathered,
) -> Rollup:
    """The team report of people: fields combined, KPIs over consistent subsets, lists merged,
    and every note on the way (earlier: those of reading them)."""
    combiner = Combiner(spec, people, lang, team)
    values, notes, partial = combiner.combine(), combiner.notes, combiner.partial
    kpis, kpi_covers = consistent_kpis(spec, people, values, lang)
    m = len(people)
    coverage = {id_: (n, m) for id_, n in {**partial, **combiner.means, **kpi_covers}.items()}
    notes.extend(earlier)
    tables = {t.id: merge_rows(t, people, lang, notes) for t in spec.tables}
    for s in sorted(got.skipped, key=lambda s: s.index):
        notes.append(Note("skipped_rollup", (("source", FileRef(s.source)),)))
    errors, person_notes = _person_notes(spec, people)
    notes.extend(person_notes)
    report = Report(
        template_id=spec.id,
        template_version=spec.version,
        lang=lang,
        source=catalog(lang)("rollup.source", n=len(people)),
        fields=values,
        kpis=kpis,
        tables=tables,
        coverage=coverage,
    )
    result = Rollup(spec, lang, report, people, got.failed, notes)
    result.errors = errors
    result.partial = partial
    return result


def _match_roster(
    result: Rollup, entries: Sequence[RosterEntry], blank: list[Person], other: list[Person]
) -> None:
    """Who on the roster has not submitted, is not on it, or sent only a blank workbook or one
    of another period (not "not submitted")."""
    result.roster = list(entries)
    result.missing, result.unlisted = match_roster(entries, result.people)
    result.emails = roster_emails(entries, result.people)
    for kind, sent in (("blank", blank), ("other_period", other)):
        unmatched, _ = match_roster(result.missing, sent)
        ids = {id(e) for e in result.missing} - {id(e) for e in unmatched}
        setattr(result, kind, [e for e in result.missing if id(e) in ids])
        result.missing = [e for e in result.missing if id(e) not in ids]
        if kind == "blank":  # the roster names who sent each blank workbook
            for p in sent:
                named = [e.name for e in result.blank if e.name and not match_roster([e], [p])[0]]
                if named:
                    result.doc_errors[p.index] = _blank_line(named[0], p.source)


def _blank_line(name: str, source: str) -> Message:
    """A blank workbook as team.docx names it: the person, then the file."""
    return Message.of("teamdoc.blank_workbook", name=name, source=short_label(source))


def _in_period(spec: Spec, p: Person, period: Period, lang: str) -> Person:
    """The person with the period field written canonically (2026年Q3 for "2026Q3")."""
    if spec.rollup.period is None or p.period is None:
        return p
    return replace(p, values={**p.values, spec.rollup.period: period.label(lang)})
