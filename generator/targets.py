"""Last period's commitments: the read-only "Targets" sheet of a next-period workbook, and the
summary's targets-vs-results section.

The workbook side is an xlsx_writer Addon: cover lines saying where the commitments came from,
and a sheet with each target (carried, read-only), this period's actual as a live formula over
the workbook's names, attainment and met / missed, then the carried plan tables with an outcome
column to fill. The summary side reads `report.carried` and compares in Python with the same
rules (workbook.carried.assess), so the sheet and the summary agree.
"""

from __future__ import annotations

from collections import ChainMap
from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell

from generator.figures import role_value
from generator.narrative import Block, Heading, Para, TableBlock
from generator.numfmt import NumberFormatter, formatter
from generator.typeset import typeset
from workbook import expr
from workbook.carried import (
    NAME_PERIOD,
    NAME_SOURCE,
    OUTCOME,
    Assessment,
    assess,
    commitment_name,
    table_name,
    target_name,
)
from workbook.i18n import Catalog, catalog
from workbook.report import Carried, Report
from workbook.spec import Field, Spec, Table, Target

# Carried commitments: a cool blue-grey, unlike the yellow inputs and green KPIs.
COLOR_CARRIED = "#DDEBF7"
COLOR_CARRIED_FONT = "#1F3864"
COLOR_CARRIED_BORDER = "#8EA9DB"
COLOR_MET = ("#C6EFCE", "#006100")
COLOR_MISSED = ("#FFC7CE", "#9C0006")
SHEET_TAB = "#1F3864"
WIDTHS = (30.0, 16.0, 18.0, 18.0, 12.0, 14.0)


def numbers_of(spec: Spec, report: Report) -> dict[str, float | None]:
    """Every numeric field and KPI of a report, as expressions read them."""
    env: dict[str, float | None] = {}
    for f in spec.fields:
        v = report.fields.get(f.id)
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        env[f.id] = float(v) if ok else None  # type: ignore[arg-type]
    return dict(ChainMap({k: v for k, v in report.kpis.items()}, env))


def carry(spec: Spec, report: Report, source: str) -> Carried:
    """What a filled workbook commits its next period to: targets, commitments, plan tables."""
    env = numbers_of(spec, report)
    targets: dict[str, float] = {}
    commitments: dict[str, float] = {}
    for t in spec.targets:
        value = expr.evaluate(t.target_node, env)
        if value is None:
            continue
        targets[t.id] = value
        for c in t.commitment:
            n = env.get(c)
            if n is not None:
                commitments[c] = n
    tables = {
        table_id: tuple(dict(row) for row in report.tables.get(table_id, []))
        for table_id in spec.carry_tables
        if report.tables.get(table_id)
    }
    period = role_value(spec, report.fields, "period")
    return Carried(
        source=source,
        period=str(period) if period is not None else "",
        targets=targets,
        commitments=commitments,
        tables=tables,
    )


def actual_of(target: Target, env: dict[str, float | None]) -> float | None:
    return None if target.actual_node is None else expr.evaluate(target.actual_node, env)


# ----------------------------------------------------------------------------------------------
# The workbook


class CarriedAddon:
    """xlsx_writer Addon: the cover lines and the Targets sheet of a next-period workbook."""

    def __init__(self, spec: Spec, carried: Carried) -> None:
        self.spec = spec
        self.carried = carried

    def carried_fmt(self, w: Any, kind: str) -> Any:
        from generator.xlsx_writer import NUMBER_FORMATS

        return w.fmt(
            bg_color=COLOR_CARRIED,
            font_color=COLOR_CARRIED_FONT,
            border=1,
            border_color=COLOR_CARRIED_BORDER,
            num_format=NUMBER_FORMATS[kind],
            valign="top",
            text_wrap=kind == "text",
        )

    def cover(self, w: Any, ws: Any, row: int) -> int:
        t = catalog(w.lang)
        cover_sheet = self.spec.sections[0].sheet(w.lang)
        row += 1
        ws.write_string(row, 0, t("targets.cover_title"), w.sub_fmt)
        row += 1
        for key, name, value in (
            ("targets.cover_source", NAME_SOURCE, self.carried.source),
            ("targets.cover_period", NAME_PERIOD, self.carried.period),
        ):
            ws.write_string(row, 0, t(key), w.label_fmt)
            ws.write_string(row, 1, value, self.carried_fmt(w, "text"))
            w.layout.cells[name] = (cover_sheet, row, 1)
            row += 1
        ws.merge_range(row, 0, row, 4, t("targets.cover_note"), w.fmt(text_wrap=True, valign="top"))
        ws.set_row(row, 30)
        return row + 1

    def sheets(self, w: Any) -> None:
        t = catalog(w.lang)
        name = t("targets.sheet")
        widths = list(WIDTHS)
        for table_id in self.spec.carry_tables:
            table = self.spec.item(table_id)
            assert isinstance(table, Table)
            for i, column in enumerate(table.columns):
                if i < len(widths):
                    widths[i] = max(widths[i], float(column.width))
                else:
                    widths.append(float(column.width))
        ws = w.new_sheet(name, SHEET_TAB, widths)
        ws.set_row(0, 28)
        ws.merge_range(0, 0, 0, 5, t("targets.title"), w.title_fmt)
        ws.write_string(1, 0, t("targets.hint"), w.hint_fmt)
        for col, text in enumerate(t.list("targets.header")):
            ws.write_string(2, col, text, w.header_fmt)
        ws.freeze_panes(3, 1)
        row = 3
        env: dict[str, float | None] = {**self.numbers(w)}
        for target in self.spec.targets:
            value = self.carried.targets.get(target.id)
            if value is None:
                continue
            self.target_row(w, ws, row, target, value, env)
            row += 1
        for table_id in self.spec.carry_tables:
            rows = self.carried.tables.get(table_id, ())
            if rows:
                row = self.plan_table(w, ws, row + 1, table_id, rows)

    @staticmethod
    def numbers(w: Any) -> dict[str, float | None]:
        env: dict[str, float | None] = {}
        for f in w.spec.fields:
            v = w.values.get(f.id)
            ok = isinstance(v, int | float) and not isinstance(v, bool)
            env[f.id] = float(v) if ok else None
        env.update(w.kpi_values)
        return env

    def target_row(
        self, w: Any, ws: Any, row: int, target: Target, value: float, env: dict[str, float | None]
    ) -> None:
        t = catalog(w.lang)
        sheet = t("targets.sheet")
        ws.write_string(row, 0, target.label(w.lang), w.label_fmt)
        first = target.commitment[0]
        field = self.spec.item(first)
        assert isinstance(field, Field)
        written = self.carried.commitments.get(first)
        if written is None:
            ws.write_blank(row, 1, None, self.carried_fmt(w, field.type))
        else:
            ws.write_number(row, 1, written, self.carried_fmt(w, field.type))
        w.layout.cells[commitment_name(first)] = (sheet, row, 1)
        ws.write_number(row, 2, value, self.carried_fmt(w, target.format))
        w.layout.cells[target_name(target.id)] = (sheet, row, 2)
        if target.actual_node is None:
            ws.write_string(row, 3, t("targets.no_measure"), w.hint_fmt)
            ws.write_blank(row, 4, None, w.kpi_fmt("percent"))
            ws.write_blank(row, 5, None, w.kpi_fmt("text"))
            return
        self.result_cells(w, ws, row, target, value, env)

    def result_cells(
        self, w: Any, ws: Any, row: int, target: Target, value: float, env: dict[str, float | None]
    ) -> None:
        """The measured result, the attainment and met or missed: formulas with cached values."""
        t = catalog(w.lang)
        assert target.actual_node is not None  # target_row wrote "no measure" otherwise
        actual = actual_of(target, env)
        result = assess(target.id, value, actual, target.polarity)
        ws.write_formula(
            row,
            3,
            expr.excel_formula(target.actual_node),
            w.kpi_fmt(target.format),
            "" if actual is None else actual,
        )
        c = xl_rowcol_to_cell(row, 2)
        d = xl_rowcol_to_cell(row, 3)
        both = f"AND(ISNUMBER({c}),ISNUMBER({d}))"
        if target.polarity == "lower_better":
            ratio = f'=IF({both},IF(AND({c}>0,{d}>0),{c}/{d},""),"")'
            test = f"{d}<={c}"
        else:
            ratio = f'=IF({both},IF(AND({c}>0,{d}>=0),{d}/{c},""),"")'
            test = f"{d}>={c}"
        attainment = result.attainment
        ws.write_formula(
            row, 4, ratio, w.kpi_fmt("percent"), "" if attainment is None else attainment
        )
        met, missed = t("targets.met"), t("targets.missed")
        if target.polarity == "neutral":
            ws.write_blank(row, 5, None, w.kpi_fmt("text"))
            return
        shown = "" if result.met is None else (met if result.met else missed)
        ws.write_formula(
            row, 5, f'=IF({both},IF({test},"{met}","{missed}"),"")', w.kpi_fmt("text"), shown
        )
        for text, (fill, font) in ((met, COLOR_MET), (missed, COLOR_MISSED)):
            ws.conditional_format(
                row,
                5,
                row,
                5,
                {
                    "type": "cell",
                    "criteria": "==",
                    "value": f'"{text}"',
                    "format": w.fmt(bg_color=fill, font_color=font),
                },
            )

    def plan_table(
        self, w: Any, ws: Any, row: int, table_id: str, rows: tuple[dict[str, Any], ...]
    ) -> int:
        t = catalog(w.lang)
        sheet = t("targets.sheet")
        table = self.spec.item(table_id)
        assert isinstance(table, Table)
        ws.write_string(row, 0, f"{t('targets.plan_title')}: {table.label(w.lang)}", w.sub_fmt)
        row += 1
        ws.write_string(row, 0, t("targets.plan_hint"), w.hint_fmt)
        row += 1
        for col, column in enumerate(table.columns):
            ws.write_string(row, col, column.label(w.lang), w.header_fmt)
        outcome_col = len(table.columns)
        ws.write_string(row, outcome_col, t("targets.outcome"), w.header_fmt)
        ws.set_column(outcome_col, outcome_col, 30)
        row += 1
        first = row
        for data in rows:
            for col, column in enumerate(table.columns):
                value = data.get(column.id)
                cell_fmt = self.carried_fmt(w, column.type)
                if value is None or value == "":
                    ws.write_blank(row, col, None, cell_fmt)
                elif column.type == "date" and hasattr(value, "year"):
                    import datetime as dt

                    ws.write_datetime(
                        row, col, dt.datetime(value.year, value.month, value.day), cell_fmt
                    )
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    ws.write_number(row, col, value, cell_fmt)
                else:
                    ws.write_string(row, col, str(value), cell_fmt)
            w.write_input(ws, row, outcome_col, "text", data.get(OUTCOME))
            w.validate(
                ws,
                row,
                outcome_col,
                "text",
                t("targets.outcome"),
                t("targets.outcome_prompt"),
                None,
                500,
            )
            ws.set_row(row, 30)
            row += 1
        w.layout.ranges[table_name(table_id)] = (sheet, first, 0, row - 1, outcome_col)
        return row


# ----------------------------------------------------------------------------------------------
# The summary


Results = list[tuple[Target, "Assessment | None"]]


def assessments(spec: Spec, report: Report) -> Results:
    """Each carried target with its assessment (None: nothing measures it here)."""
    carried = report.carried
    if carried is None:
        return []
    env = numbers_of(spec, report)
    out: list[tuple[Target, Assessment | None]] = []
    for target in spec.targets:
        value = carried.targets.get(target.id)
        if value is None:
            continue
        if target.actual_node is None:
            out.append((target, None))
            continue
        out.append((target, assess(target.id, value, actual_of(target, env), target.polarity)))
    return out


def summary_blocks(spec: Spec, report: Report, lang: str) -> list[Block]:
    """目标达成情况 / Targets vs results: sentences, table, carried plans with their outcomes."""
    carried = report.carried
    if carried is None:
        return []
    t = catalog(lang)
    fmt = formatter(lang)
    results = assessments(spec, report)
    return [
        Heading(1, t("targets.docx_heading")),
        _targets_para(carried, results, t, fmt, lang),
        *_targets_table(carried, results, t, fmt, lang),
        *_plan_blocks(spec, carried, t, fmt, lang),
    ]


def _targets_para(
    carried: Carried, results: Results, t: Catalog, fmt: NumberFormatter, lang: str
) -> Para:
    """How many targets were met, which were missed, which cannot be measured yet."""
    sentences = [
        t(
            "targets.intro",
            period=typeset(carried.period, lang) if carried.period else "",
            source=carried.source,
        )
    ]
    measured = [(tg, a) for tg, a in results if a is not None and a.met is not None]
    pending = [tg for tg, a in results if a is None or a.met is None]
    met = [tg for tg, a in measured if a.met]
    missed = [(tg, a) for tg, a in measured if not a.met]
    if measured:
        sentences.append(t("targets.count", n=len(measured), met=len(met), missed=len(missed)))
        if not missed:
            sentences.append(t("targets.all_met"))
        elif not met:
            sentences.append(t("targets.none_met"))
        if missed:
            items = t("targets.item_sep").join(
                t(
                    "targets.missed_item",
                    label=typeset(tg.label(lang), lang),
                    target=fmt.value(a.target, tg.format),
                    actual=fmt.value(a.actual, tg.format) if a.actual is not None else "",
                )
                for tg, a in missed
            )
            sentences.append(t("targets.missed_list", items=items))
    if pending:
        labels = t("targets.label_sep").join(typeset(tg.label(lang), lang) for tg in pending)
        sentences.append(t("targets.pending", n=len(pending), items=labels))
    return Para(typeset(t("docx.sentence_join").join(sentences), lang))


def _targets_table(
    carried: Carried, results: Results, t: Catalog, fmt: NumberFormatter, lang: str
) -> list[Block]:
    """Each target: the figure aimed at, the result, attainment and met or missed."""
    dash = t("targets.docx_pending")
    rows: list[tuple[str, ...]] = []
    for tg, a in results:
        label = typeset(tg.label(lang), lang)
        aimed = fmt.value(carried.targets[tg.id], tg.format, table=True)
        if a is None:
            rows.append((label, aimed, t("targets.no_measure"), dash, dash))
            continue
        rows.append(
            (
                label,
                aimed,
                dash if a.actual is None else fmt.value(a.actual, tg.format, table=True),
                dash if a.attainment is None else fmt.value(a.attainment, "percent", table=True),
                dash if a.met is None else t("targets.met" if a.met else "targets.missed"),
            )
        )
    if not rows:
        return []
    return [
        TableBlock(
            caption=t("targets.docx_caption"),
            header=tuple(t.list("targets.docx_header")),
            rows=tuple(rows),
            widths=(0.30, 0.19, 0.19, 0.16, 0.16),
            centered=(False, True, True, True, True),
        )
    ]


def _plan_blocks(
    spec: Spec, carried: Carried, t: Catalog, fmt: NumberFormatter, lang: str
) -> list[Block]:
    """Each carried plan table with the outcome the person noted beside each row."""
    dash = t("targets.docx_pending")
    out: list[Block] = []
    for table_id, plan in carried.tables.items():
        table = spec.item(table_id)
        assert isinstance(table, Table)
        header = (*(typeset(c.label(lang), lang) for c in table.columns), t("targets.outcome"))
        body = []
        for data in plan:
            cells = []
            for column in table.columns:
                value = data.get(column.id)
                if value is None:
                    cells.append(dash)
                elif hasattr(value, "year") and not isinstance(value, str):
                    cells.append(fmt.short_date(value))  # type: ignore[arg-type]
                else:
                    cells.append(typeset(str(value), lang))
            outcome = data.get(OUTCOME)
            cells.append(dash if outcome is None else typeset(str(outcome), lang))
            body.append(tuple(cells))
        done = sum(1 for data in plan if data.get(OUTCOME) is not None)
        out.append(Para(typeset(t("targets.plan_count", n=len(plan), done=done), lang)))
        units = [max(c.width, 18) if c.type == "date" else c.width for c in table.columns] + [30]
        total = sum(units)
        out.append(
            TableBlock(
                caption=t("targets.docx_plan_caption"),
                header=header,
                rows=tuple(body),
                widths=tuple(u / total for u in units),
                centered=(*(c.type != "text" for c in table.columns), False),
            )
        )
    return out
