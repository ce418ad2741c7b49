"""The team's Word appendix: how the team summary was made, per-person KPIs (a table, and a
chart per `[rollup] charts` id), who is missing, and the roll-up's notes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from opsbook.team.people import Person
from opsbook.team.roster import RosterEntry
from opsbook.team.text import same_precision
from workbook.i18n import catalog
from workbook.period import Period
from workbook.report import Report
from workbook.spec import Spec

if TYPE_CHECKING:
    from generator.narrative import Block


class Rollup(Protocol):
    """What the appendix reads of a roll-up (opsbook.team.outputs.Rollup)."""

    spec: Spec
    lang: str
    report: Report
    people: list[Person]
    roster: list[RosterEntry] | None
    missing: list[RosterEntry]
    blank: list[RosterEntry]
    other_period: list[RosterEntry]
    period: Period | None

    def messages(self, *, document: bool = False) -> list[str]: ...


def appendix(team: Rollup, *, charts: bool = True) -> list[Block]:
    """Blocks after the summary: how it was made, per-person KPIs (a table, and a chart
    per `[rollup] charts` id), who is missing, notes."""
    from generator.narrative import Heading, Para, outline, typeset, usable_text

    t = catalog(team.lang)

    def ts(text: str) -> str:
        return typeset(text, team.lang)

    summary = outline(team.spec, team.report, lang=team.lang, charts=charts)
    blocks: list[Block] = [
        Heading(1, ts(t("rollup.docx_heading"))),
        Para(ts(t("rollup.docx_intro", n=len(team.people)))),
        Heading(2, ts(t("rollup.docx_people"))),
        people_table(team, summary),
    ]
    if charts:
        blocks.extend(people_charts(team, summary))
    blocks.extend(roster_blocks(team))
    messages = team.messages(document=True)
    if messages:
        blocks.append(Heading(2, ts(t("rollup.notes_title"))))
        blocks.extend(Para(ts(usable_text(m) or "-"), role="list") for m in messages)
    return blocks


def people_table(team: Rollup, summary: Sequence[Block]) -> Block:
    """The per-person KPIs, numbered after the summary's own tables."""
    from generator.narrative import Figures, TableBlock, typeset, usable_text

    t = catalog(team.lang)
    ids = team.spec.rollup.kpis
    rows = []
    for p in team.people:
        figures = Figures(team.spec, person_report(team, p), team.lang)
        shown = [figures.text(id_, table=True) or t("numfmt.not_applicable") for id_ in ids]
        rows.append((typeset(usable_text(p.name) or "-", team.lang), *shown))
    # One precision per column: 6.0万元 under 4.5万元, not 6万元.
    columns = [same_precision(list(col)) for col in zip(*rows, strict=True)] if rows else []
    rows = [tuple(row) for row in zip(*columns, strict=True)]
    share = 0.84 / max(len(ids), 1)
    tables = sum(isinstance(b, TableBlock) for b in summary)
    return TableBlock(
        caption=t("docx.table_caption", n=tables + 1, title=t("rollup.docx_people")),
        header=(
            t("rollup.col_name"),
            *(typeset(team.spec.item(i).label(team.lang), team.lang) for i in ids),
        ),
        rows=tuple(rows),
        widths=(0.16, *(share for _ in ids)),
        centered=(False, *(True for _ in ids)),
    )


def roster_blocks(team: Rollup) -> list[Block]:
    """Who has not submitted, sent a blank workbook or another period's; nothing without a
    roster."""
    from generator.narrative import Heading, Para, typeset, usable_text

    if team.roster is None:
        return []
    t = catalog(team.lang)

    def ts(text: str) -> str:
        return typeset(text, team.lang)

    blocks: list[Block] = [Heading(2, ts(t("rollup.docx_missing")))]
    sep = t("rollup.list_sep")
    if team.missing:
        names = sep.join(usable_text(e.shown) or "-" for e in team.missing)
        line = t("rollup.missing_line", n=len(team.missing), names=names)
        blocks.append(Para(ts(line), role="list"))
    if team.blank:
        names = sep.join(usable_text(e.shown) or "-" for e in team.blank)
        blocks.append(Para(ts(t("team.blank_line", n=len(team.blank), names=names)), role="list"))
    if team.other_period and team.period is not None:
        names = sep.join(usable_text(e.shown) or "-" for e in team.other_period)
        line = t("team.other_line", n=len(team.other_period), names=names,
                 period=team.period.label(team.lang))  # fmt: skip
        blocks.append(Para(ts(line), role="list"))
    if not team.missing and not team.blank and not team.other_period:
        blocks.append(Para(ts(t("rollup.all_submitted", n=len(team.roster)))))
    return blocks


def person_report(team: Rollup, p: Person) -> Report:
    """One person's figures as a report (no tables), to format or chart them."""
    return Report(team.spec.id, team.spec.version, team.lang, p.source,
                  fields=dict(p.values), kpis=dict(p.kpis))  # fmt: skip


def people_charts(team: Rollup, summary: Sequence[Block]) -> list[Block]:
    """A bar chart per `[rollup] charts` id, a bar per person, numbered after the
    summary's own charts. A team too large for a readable bar per person on a page gets a
    line saying so instead (the per-person table has everyone)."""
    from generator.chartdata import MAX_PEOPLE_CHARTED, ChartBlock, people_chart
    from generator.narrative import Figures, Para, typeset, usable_number, usable_text

    t = catalog(team.lang)
    if len(team.people) > MAX_PEOPLE_CHARTED and team.spec.rollup.charts:
        line = t("charts.too_many_people", n=len(team.people), max=MAX_PEOPLE_CHARTED)
        return [Para(typeset(line, team.lang), role="note")]
    figures = Figures(team.spec, team.report, team.lang)
    names = [typeset(usable_text(p.name) or "-", team.lang) for p in team.people]
    n = sum(isinstance(b, ChartBlock) for b in summary)
    out: list[Block] = []
    for id_ in team.spec.rollup.charts:
        values = [usable_number(person_report(team, p).value(id_)) for p in team.people]
        chart = people_chart(figures, id_, names, values)
        if chart is not None:
            n += 1
            caption = t("charts.caption", n=n, title=chart.title)
            out.append(dataclasses.replace(chart, caption=caption))
    return out
