"""The template spec: a plain, immutable model of the TOML template, read and checked once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from workbook import expr
from workbook.packagedata import load_toml, package_file, parse_toml

LANGS = ("zh-CN", "en")
DEFAULT_TEMPLATE = "ecommerce-ops-summary"

FieldType = Literal["text", "count", "money", "number", "percent", "date"]
KpiFormat = Literal["percent", "money", "count", "number", "ratio", "change", "pp"]
FIELD_TYPES: tuple[str, ...] = ("text", "count", "money", "number", "percent", "date")
KPI_FORMATS: tuple[str, ...] = ("percent", "money", "count", "number", "ratio", "change", "pp")
SECTION_KINDS = ("cover", "numbered", "conclusion")
SUBSECTION_STYLES = ("heading", "list", "plain")
PLACEHOLDER_FORMATS = ("change", "growth", "rise", "above", "pp", "to")
# How a team roll-up combines one field over many workbooks (docs/rollup.md), by field type.
ROLLUP_RULES: dict[str, tuple[str, ...]] = {
    "count": ("sum", "same", "mean", "none"),
    "money": ("sum", "same", "mean", "none"),
    "number": ("sum", "same", "mean", "none"),
    "percent": ("same", "mean", "none"),
    "text": ("same", "label", "join", "unique", "none"),
    "date": ("same", "none"),
}

# Defined names: letters, digits and underscores, starting with a letter, and never shaped
# like an A1 cell reference (uv1) or an R1C1 one (r, c, r2c3), which Excel would refuse.
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_CELL_LIKE = re.compile(r"^([a-z]{1,3}\d+|r\d*c?\d*|c\d*)$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NUMERIC = ("count", "money", "number", "percent")


class SpecError(ValueError):
    """The template spec is not valid; the message names the item."""


@dataclass(frozen=True)
class Text:
    """A user-visible string in every supported locale."""

    zh_cn: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.zh_cn if lang == "zh-CN" else self.en


@dataclass(frozen=True)
class Section:
    """One numbered section of the template (or the conclusion): one sheet of the workbook."""

    id: str
    kind: str
    number: int | None
    title: Text
    sheet: Text
    tab_color: str


@dataclass(frozen=True)
class Subsection:
    """A titled block of a section: a heading in the summary, a band on the sheet."""

    id: str
    section: str
    style: str
    title: Text | None


@dataclass(frozen=True)
class Field:
    """One input cell: its type, unit, valid range, prompt and example."""

    id: str
    subsection: str
    type: FieldType
    label: Text
    prompt: Text
    unit: str | None = None
    required: bool = False
    note: bool = False
    min: float | None = None
    max: float | None = None
    rollup: str = "none"  # one of ROLLUP_RULES[type]; default "sum" for count and money
    weight: tuple[str, ...] = ()  # "mean" only: numeric ids whose per-person product weighs
    # A previous-period figure names the current field it was in its own period ("uv" on
    # uv_prev): the next period's workbook copies this period's current value into it.
    current: str | None = None


@dataclass(frozen=True)
class RollupSpec:
    """Spec-level roll-up settings: the field naming the person, the per-person KPIs, and the
    field naming the period (workbooks of another period are left out of a roll-up)."""

    person: str | None = None
    kpis: tuple[str, ...] = ()
    charts: tuple[str, ...] = ()  # the team summary's per-person charts, one per id
    period: str | None = None


@dataclass(frozen=True)
class Kpi:
    """A computed figure: an expression over field and KPI ids, a formula in the workbook."""

    id: str
    subsection: str
    expression: str
    node: expr.Node
    format: KpiFormat
    label: Text
    unit: str | None = None

    @property
    def refs(self) -> tuple[str, ...]:
        return expr.references(self.node)

    @property
    def formula(self) -> str:
        return expr.excel_formula(self.node)


@dataclass(frozen=True)
class Column:
    """One column of an input table (problems, action plan)."""

    id: str
    type: FieldType
    label: Text
    width: int


@dataclass(frozen=True)
class Table:
    """A list the user fills row by row, such as the problems found or the action plan."""

    id: str
    subsection: str
    rows: int
    label: Text
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Placeholder:
    """One `{id}` / `{id:fmt}` / `{id:to:ref}` in a narrative sentence."""

    raw: str
    id: str
    fmt: str | None
    ref: str | None

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id,) if self.ref is None else (self.id, self.ref)


@dataclass(frozen=True)
class Paragraph:
    """One narrative sentence of the summary, with `{id}` placeholders."""

    subsection: str
    lead: Text | None
    sentences: tuple[Text, ...]


@dataclass(frozen=True)
class Metric:
    """One row of a section's KPI table: previous, current, change and target."""

    section: str
    label: Text
    prev: str | None
    current: str
    change: str | None
    target: str | None
    # What `prev` is: the previous period (its fields name their current field), the same
    # period last year, or an expected value; only "previous" is carried to the next period.
    compare: str = "previous"

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i for i in (self.prev, self.current, self.change, self.target) if i)


@dataclass(frozen=True)
class ChartPoint:
    """One bar of a 'points' chart: an id and its label."""

    id: str
    label: Text


@dataclass(frozen=True)
class Chart:
    """A native chart on the dashboard: "rates" (previous vs current of percentage metrics) or
    "points" (one column per id)."""

    kind: str
    title: Text
    points: tuple[ChartPoint, ...] = ()
    metrics: tuple[str, ...] = ()  # "rates": the metrics to show, by their current id
    # In the Word summary too: after this section's KPI table, or this subsection's text.
    after: str | None = None


@dataclass(frozen=True)
class Check:
    """A figure that is part of another and so can never exceed it (unsold SKUs of the SKUs on
    sale, repeat buyers of the buyers). error: it cannot be right; warning: it rarely is."""

    part: str
    whole: str
    why: Text  # the reason, as the message gives it: "unsold SKUs are among those on sale"
    severity: Literal["error", "warning"] = "error"

    def breached(self, values: Mapping[str, object]) -> bool:
        """Both figures are numbers and the part is larger. On the values as read: a number
        typed as text counts here, where the workbook's formula (`excel`) sees numbers stored
        as numbers only."""
        part, whole = values.get(self.part), values.get(self.whole)
        if isinstance(part, bool) or isinstance(whole, bool):
            return False
        if not isinstance(part, int | float) or not isinstance(whole, int | float):
            return False
        return part > whole

    @property
    def excel(self) -> str:
        """The same test as an Excel formula over the fields' defined names (TRUE: breached)."""
        return f"AND(ISNUMBER({self.part}),ISNUMBER({self.whole}),{self.part}>{self.whole})"


POLARITIES = ("higher_better", "lower_better", "neutral")
METRIC_COMPARES = ("previous", "last_year", "expected")


@dataclass(frozen=True)
class Target:
    """A commitment of section 六 (or a plan of 五) compared, a period later, with what happened.

    commitment: the field(s) the person filled (shown as written); target: an expression over
    the workbook that made the commitment (the value to reach); actual: an expression over the
    next period's workbook (None: nothing in the workbook measures it); polarity: whether a
    higher or a lower actual meets the target.
    """

    id: str
    label: Text
    commitment: tuple[str, ...]
    target: str
    target_node: expr.Node
    actual: str | None
    actual_node: expr.Node | None
    format: str
    polarity: str = "higher_better"


@dataclass(frozen=True)
class Spec:
    """The whole template: sections, fields, KPIs, tables, narrative, charts, roll-up."""

    id: str
    version: int
    title: Text
    units: dict[str, Text]
    sections: tuple[Section, ...]
    subsections: tuple[Subsection, ...]
    fields: tuple[Field, ...]
    kpis: tuple[Kpi, ...]
    tables: tuple[Table, ...]
    paragraphs: tuple[Paragraph, ...]
    metrics: tuple[Metric, ...]
    blanks: tuple[str, ...]
    cover_summary: tuple[str, ...] = ()
    charts: tuple[Chart, ...] = ()
    rollup: RollupSpec = RollupSpec()
    checks: tuple[Check, ...] = ()
    targets: tuple[Target, ...] = ()
    carry_tables: tuple[str, ...] = ()  # plan tables the next period's workbook carries
    _by_id: dict[str, Field | Kpi | Table] = field(repr=False, compare=False, default_factory=dict)

    def item(self, id_: str) -> Field | Kpi | Table:
        return self._by_id[id_]

    def field(self, id_: str) -> Field:
        item = self._by_id[id_]
        if not isinstance(item, Field):
            raise KeyError(id_)
        return item

    def kpi(self, id_: str) -> Kpi:
        item = self._by_id[id_]
        if not isinstance(item, Kpi):
            raise KeyError(id_)
        return item

    def has(self, id_: str) -> bool:
        return id_ in self._by_id

    def section(self, id_: str) -> Section:
        return next(s for s in self.sections if s.id == id_)

    def subsections_of(self, section_id: str) -> tuple[Subsection, ...]:
        return tuple(s for s in self.subsections if s.section == section_id)

    def fields_of(self, subsection_id: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.subsection == subsection_id)

    def kpis_of(self, subsection_id: str) -> tuple[Kpi, ...]:
        return tuple(k for k in self.kpis if k.subsection == subsection_id)

    def tables_of(self, subsection_id: str) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if t.subsection == subsection_id)

    def paragraphs_of(self, subsection_id: str) -> tuple[Paragraph, ...]:
        return tuple(p for p in self.paragraphs if p.subsection == subsection_id)

    def section_of(self, id_: str) -> Section:
        sub = self._by_id[id_].subsection
        return self.section(next(s.section for s in self.subsections if s.id == sub))

    def unit_text(self, unit: str | None, lang: str) -> str:
        return "" if unit is None else self.units[unit](lang)

    @property
    def kpi_order(self) -> tuple[Kpi, ...]:
        """KPIs in an order where each comes after the KPIs it reads."""
        return _topological(self.kpis)


def placeholders(sentence: str) -> tuple[Placeholder, ...]:
    """The placeholders of a narrative sentence, in order."""
    found = []
    for m in _PLACEHOLDER.finditer(sentence):
        parts = m.group(1).split(":")
        id_, fmt, ref = parts[0], parts[1] if len(parts) > 1 else None, None
        if fmt == "to" and len(parts) == 3:
            ref = parts[2]
        elif len(parts) > 2:
            raise SpecError(f"placeholder {{{m.group(1)}}} has too many parts")
        found.append(Placeholder(m.group(0), id_, fmt, ref))
    return tuple(found)


def _topological(kpis: tuple[Kpi, ...]) -> tuple[Kpi, ...]:
    by_id = {k.id: k for k in kpis}
    done: dict[str, Kpi] = {}
    visiting: set[str] = set()

    def visit(k: Kpi) -> None:
        if k.id in done:
            return
        if k.id in visiting:
            raise SpecError(f"KPI {k.id!r} depends on itself")
        visiting.add(k.id)
        for r in k.refs:
            if r in by_id:
                visit(by_id[r])
        visiting.discard(k.id)
        done[k.id] = k

    for k in kpis:
        visit(k)
    return tuple(done.values())


# ----------------------------------------------------------------------------------------------
# Loading


def _text(raw: Any, where: str) -> Text:
    if not isinstance(raw, dict) or set(raw) != set(LANGS):
        raise SpecError(f"{where}: needs exactly the locales {', '.join(LANGS)}")
    for lang in LANGS:
        if not isinstance(raw[lang], str) or not raw[lang].strip():
            raise SpecError(f"{where}: {lang} text is empty")
    return Text(raw["zh-CN"], raw["en"])


def _opt_text(raw: Any, where: str) -> Text | None:
    return None if raw is None else _text(raw, where)


def _check_id(id_: Any, where: str) -> str:
    if not isinstance(id_, str) or not _ID.match(id_) or _CELL_LIKE.match(id_):
        raise SpecError(
            f"{where}: {id_!r} cannot be a defined name (lower-case letters, digits, _)"
        )
    return id_


def _num(raw: Any, where: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise SpecError(f"{where}: must be a number")
    return float(raw)


def _ids(raw: Any, where: str) -> tuple[str, ...]:
    """One id or a list of ids, as a tuple."""
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise SpecError(f"{where}: must be an id or a list of ids")
    return tuple(items)


_DEFAULT_RANGE: dict[str, tuple[float, float]] = {
    "count": (0, 1e12),
    "money": (0, 1e13),
    "number": (0, 1e12),
    "percent": (0, 1),
}


def from_dict(data: dict[str, Any]) -> Spec:
    """Build and check a Spec from parsed TOML."""
    units = {k: _text(v, f"unit {k}") for k, v in data.get("units", {}).items()}
    sections = tuple(
        Section(
            id=s["id"],
            kind=s["kind"],
            number=s.get("number"),
            title=_text(s["title"], f"section {s['id']} title"),
            sheet=_text(s["sheet"], f"section {s['id']} sheet"),
            tab_color=s.get("tab_color", "#808080"),
        )
        for s in data["sections"]
    )
    subsections = tuple(
        Subsection(
            id=s["id"],
            section=s["section"],
            style=s.get("style", "heading"),
            title=_opt_text(s.get("title"), f"subsection {s['id']} title"),
        )
        for s in data["subsections"]
    )
    fields_: list[Field] = []
    for f in data.get("fields", []):
        where = f"field {f.get('id')!r}"
        ftype = f["type"]
        if ftype not in FIELD_TYPES:
            raise SpecError(f"{where}: unknown type {ftype!r}")
        lo, hi = _DEFAULT_RANGE.get(ftype, (None, None))
        fields_.append(
            Field(
                id=_check_id(f["id"], where),
                subsection=f["subsection"],
                type=ftype,
                label=_text(f["label"], f"{where} label"),
                prompt=_text(f["prompt"], f"{where} prompt"),
                unit=f.get("unit"),
                required=bool(f.get("required", False)),
                note=bool(f.get("note", False)),
                min=_num(f.get("min", lo), f"{where} min"),
                max=_num(f.get("max", hi), f"{where} max"),
                rollup=str(f.get("rollup", "sum" if ftype in ("count", "money") else "none")),
                weight=_ids(f.get("weight", ()), f"{where} weight"),
                current=f.get("current"),
            )
        )
    kpis: list[Kpi] = []
    for k in data.get("kpis", []):
        where = f"KPI {k.get('id')!r}"
        if k["format"] not in KPI_FORMATS:
            raise SpecError(f"{where}: unknown format {k['format']!r}")
        try:
            node = expr.parse(k["expr"])
        except expr.ExprError as exc:
            raise SpecError(f"{where}: {exc}") from exc
        kpis.append(
            Kpi(
                id=_check_id(k["id"], where),
                subsection=k["subsection"],
                expression=k["expr"],
                node=node,
                format=k["format"],
                label=_text(k["label"], f"{where} label"),
                unit=k.get("unit"),
            )
        )
    tables = tuple(
        Table(
            id=_check_id(t["id"], f"table {t['id']!r}"),
            subsection=t["subsection"],
            rows=int(t["rows"]),
            label=_text(t["label"], f"table {t['id']} label"),
            columns=tuple(
                Column(
                    id=c["id"],
                    type=c["type"],
                    label=_text(c["label"], f"table {t['id']} column {c['id']}"),
                    width=int(c.get("width", 16)),
                )
                for c in t["columns"]
            ),
        )
        for t in data.get("tables", [])
    )
    paragraphs = tuple(
        Paragraph(
            subsection=p["subsection"],
            lead=_opt_text(p.get("lead"), f"paragraph lead in {p['subsection']}"),
            sentences=tuple(_text(s, f"sentence in {p['subsection']}") for s in p["sentences"]),
        )
        for p in data.get("paragraphs", [])
    )
    metrics = tuple(
        Metric(
            section=m["section"],
            label=_text(m["label"], "metric label"),
            prev=m.get("prev"),
            current=m["current"],
            change=m.get("change"),
            target=m.get("target"),
            compare=str(m.get("compare", "previous")),
        )
        for m in data.get("metrics", [])
    )
    charts = tuple(
        Chart(
            kind=c["kind"],
            title=_text(c["title"], "chart title"),
            points=tuple(
                ChartPoint(p["id"], _text(p["label"], f"chart point {p['id']}"))
                for p in c.get("points", ())
            ),
            metrics=tuple(c.get("metrics", ())),
            after=c.get("after"),
        )
        for c in data.get("charts", [])
    )
    checks = tuple(
        Check(
            part=c["part"],
            whole=c["whole"],
            why=_text(c["why"], f"check {c['part']} <= {c['whole']}"),
            severity=c.get("severity", "error"),
        )
        for c in data.get("checks", [])
    )
    targets = tuple(_target(t) for t in data.get("targets", []))
    by_id: dict[str, Field | Kpi | Table] = {}
    items: list[Field | Kpi | Table] = [*fields_, *kpis, *tables]
    for item in items:
        if item.id in by_id:
            raise SpecError(f"id {item.id!r} is defined twice")
        by_id[item.id] = item
    spec = Spec(
        id=data["id"],
        version=int(data["version"]),
        title=_text(data["title"], "title"),
        units=units,
        sections=sections,
        subsections=subsections,
        fields=tuple(fields_),
        kpis=tuple(kpis),
        tables=tables,
        paragraphs=paragraphs,
        metrics=metrics,
        blanks=tuple(data.get("blanks", ())),
        cover_summary=tuple(data.get("cover_summary", ())),
        charts=charts,
        rollup=RollupSpec(
            person=data.get("rollup", {}).get("person"),
            kpis=_ids(data.get("rollup", {}).get("kpis", ()), "rollup kpis"),
            charts=_ids(data.get("rollup", {}).get("charts", ()), "rollup charts"),
            period=data.get("rollup", {}).get("period"),
        ),
        checks=checks,
        targets=targets,
        carry_tables=_ids(data.get("carry_tables", ()), "carry_tables"),
        _by_id=by_id,
    )
    _validate(spec)
    return spec


def _target(t: dict[str, Any]) -> Target:
    where = f"target {t.get('id')!r}"

    def parsed(text: str) -> expr.Node:
        try:
            return expr.parse(text)
        except expr.ExprError as exc:
            raise SpecError(f"{where}: {exc}") from exc

    actual = t.get("actual")
    return Target(
        id=_check_id(t["id"], where),
        label=_text(t["label"], f"{where} label"),
        commitment=_ids(t["commitment"], f"{where} commitment"),
        target=t["target"],
        target_node=parsed(t["target"]),
        actual=actual,
        actual_node=None if actual is None else parsed(actual),
        format=str(t["format"]),
        polarity=str(t.get("polarity", "higher_better")),
    )


def _numeric(item: Field | Kpi | Table) -> bool:
    """A KPI, or a field holding a number: what expressions and weights may read."""
    return isinstance(item, Kpi) or (isinstance(item, Field) and item.type in _NUMERIC)


def _validate(spec: Spec) -> None:
    section_ids = {s.id for s in spec.sections}
    sub_ids = {s.id for s in spec.subsections}
    for sec in spec.sections:
        if sec.kind not in SECTION_KINDS:
            raise SpecError(f"section {sec.id!r}: unknown kind {sec.kind!r}")
        for lang in LANGS:
            name = sec.sheet(lang)
            if len(name) > 31 or re.search(r"[:\\/?*\[\]']", name):
                raise SpecError(f"section {sec.id!r}: {name!r} cannot be a sheet name")
    for sub in spec.subsections:
        if sub.section not in section_ids:
            raise SpecError(f"subsection {sub.id!r}: unknown section {sub.section!r}")
        if sub.style not in SUBSECTION_STYLES:
            raise SpecError(f"subsection {sub.id!r}: unknown style {sub.style!r}")
    for item in spec._by_id.values():
        if item.subsection not in sub_ids:
            raise SpecError(f"{item.id!r}: unknown subsection {item.subsection!r}")
    for f in spec.fields:
        if f.unit is not None and f.unit not in spec.units:
            raise SpecError(f"field {f.id!r}: unknown unit {f.unit!r}")
        for lang in LANGS:
            if len(f.prompt(lang)) > 255:
                raise SpecError(f"field {f.id!r}: the {lang} prompt is over Excel's 255 characters")
    for k in spec.kpis:
        if k.unit is not None and k.unit not in spec.units:
            raise SpecError(f"KPI {k.id!r}: unknown unit {k.unit!r}")
        for r in k.refs:
            target = spec._by_id.get(r)
            if target is None:
                raise SpecError(f"KPI {k.id!r}: unknown id {r!r} in {k.expression!r}")
            if not _numeric(target):
                raise SpecError(f"KPI {k.id!r}: {r!r} is not a number")
    spec.kpi_order  # noqa: B018 - raises SpecError on a cycle
    for p in spec.paragraphs:
        if p.subsection not in sub_ids:
            raise SpecError(f"paragraph: unknown subsection {p.subsection!r}")
        for sentence in p.sentences:
            for lang in LANGS:
                for ph in placeholders(sentence(lang)):
                    for id_ in ph.ids:
                        if not spec.has(id_):
                            raise SpecError(f"sentence {sentence(lang)[:30]!r}: unknown id {id_!r}")
                    if ph.fmt is not None and ph.fmt not in PLACEHOLDER_FORMATS:
                        raise SpecError(f"sentence placeholder {ph.raw}: unknown format")
            ids_zh = sorted(p_.raw for p_ in placeholders(sentence("zh-CN")))
            ids_en = sorted(p_.raw for p_ in placeholders(sentence("en")))
            if ids_zh != ids_en:
                raise SpecError(f"sentence {sentence('zh-CN')[:30]!r}: locales differ in figures")
    for m in spec.metrics:
        if m.section not in section_ids:
            raise SpecError(f"metric {m.label.en!r}: unknown section {m.section!r}")
        for id_ in m.ids:
            if not spec.has(id_):
                raise SpecError(f"metric {m.label.en!r}: unknown id {id_!r}")
    places = section_ids | {s.id for s in spec.subsections}
    for chart in spec.charts:
        if chart.kind not in ("rates", "points"):
            raise SpecError(f"chart {chart.title.en!r}: unknown kind {chart.kind!r}")
        if chart.after is not None and chart.after not in places:
            raise SpecError(f"chart {chart.title.en!r}: after {chart.after!r} is no section")
        for point in chart.points:
            if not spec.has(point.id):
                raise SpecError(f"chart {chart.title.en!r}: unknown id {point.id!r}")
        metric_currents = {m.current for m in spec.metrics if m.prev}
        for current in chart.metrics:
            if current not in metric_currents:
                raise SpecError(
                    f"chart {chart.title.en!r}: no metric with a previous value "
                    f"has current {current!r}"
                )
    for id_ in spec.cover_summary:
        if not spec.has(id_):
            raise SpecError(f"cover_summary: unknown id {id_!r}")
    _validate_rollup(spec)
    for c in spec.checks:
        where = f"check {c.part} <= {c.whole}"
        if c.severity not in ("error", "warning"):
            raise SpecError(f"{where}: severity must be error or warning, not {c.severity!r}")
        for id_ in (c.part, c.whole):
            figure = spec._by_id.get(id_)
            if not isinstance(figure, Field) or figure.type not in _NUMERIC:
                raise SpecError(f"{where}: {id_!r} is not a numeric field")
        if spec.field(c.part).type != spec.field(c.whole).type:
            raise SpecError(f"{where}: a part and its whole must be figures of the same type")
    for b in spec.blanks:
        if not spec.has(b):
            raise SpecError(f"blank {b!r} is not a field or KPI")
    _validate_periods(spec)
    _validate_targets(spec)


def previous_links(spec: Spec) -> dict[str, str]:
    """Previous-period field id -> the current field whose value it takes a period later."""
    return {f.id: f.current for f in spec.fields if f.current is not None}


def _previous_of(spec: Spec, node: expr.Node, links: Mapping[str, str]) -> expr.Node | None:
    """A current expression with every field replaced by its previous-period field (None when a
    field has none), KPIs followed to their own expressions."""
    by_current = {cur: prev for prev, cur in links.items()}
    if isinstance(node, expr.Num):
        return node
    if isinstance(node, expr.Ref):
        item = spec._by_id.get(node.name)
        if isinstance(item, Kpi):
            return _previous_of(spec, item.node, links)
        return expr.Ref(by_current[node.name]) if node.name in by_current else None
    if isinstance(node, expr.Neg):
        inner = _previous_of(spec, node.operand, links)
        return None if inner is None else expr.Neg(inner)
    left = _previous_of(spec, node.left, links)
    right = _previous_of(spec, node.right, links)
    return None if left is None or right is None else expr.BinOp(node.op, left, right)


def _expanded(spec: Spec, node: expr.Node) -> expr.Node:
    """An expression with its KPIs replaced by their own expressions, down to fields."""
    if isinstance(node, expr.Ref):
        item = spec._by_id.get(node.name)
        return _expanded(spec, item.node) if isinstance(item, Kpi) else node
    if isinstance(node, expr.Neg):
        return expr.Neg(_expanded(spec, node.operand))
    if isinstance(node, expr.BinOp):
        return expr.BinOp(node.op, _expanded(spec, node.left), _expanded(spec, node.right))
    return node


def _validate_periods(spec: Spec) -> None:
    """Each previous-period field names a current field of its type; each previous-period
    comparison of the KPI tables is linked, field by field, to its current figure."""
    links = previous_links(spec)
    for prev, current in links.items():
        f, cur = spec.field(prev), spec._by_id.get(current)
        if not isinstance(cur, Field) or cur.type != f.type or cur.current is not None:
            raise SpecError(
                f"field {prev!r}: current {current!r} must be a current field of type {f.type}"
            )
    if len(set(links.values())) != len(links):
        raise SpecError("two previous-period fields name the same current field")
    for m in spec.metrics:
        where = f"metric {m.label.en!r}"
        if m.compare not in METRIC_COMPARES:
            raise SpecError(f"{where}: compare must be one of {', '.join(METRIC_COMPARES)}")
        if m.prev is None or m.compare != "previous":
            continue
        prev_item, cur_item = spec._by_id[m.prev], spec._by_id[m.current]
        if isinstance(prev_item, Field):
            if links.get(m.prev) != m.current:
                raise SpecError(
                    f"{where}: previous-period field {m.prev!r} needs current = {m.current!r}"
                )
            continue
        if not isinstance(prev_item, Kpi) or not isinstance(cur_item, Kpi):
            raise SpecError(f"{where}: {m.prev!r} and {m.current!r} must both be KPIs or fields")
        mapped = _previous_of(spec, _expanded(spec, cur_item.node), links)
        if mapped is None or mapped != _expanded(spec, prev_item.node):
            raise SpecError(
                f"{where}: {m.prev!r} is not {m.current!r} computed from previous-period "
                "fields that name their current field"
            )


def _validate_targets(spec: Spec) -> None:
    for id_ in spec.carry_tables:
        if not isinstance(spec._by_id.get(id_), Table):
            raise SpecError(f"carry_tables: {id_!r} is not a table")
    ids = set()
    for t in spec.targets:
        where = f"target {t.id!r}"
        if t.id in ids:
            raise SpecError(f"{where}: defined twice")
        ids.add(t.id)
        if t.polarity not in POLARITIES:
            raise SpecError(f"{where}: polarity must be one of {', '.join(POLARITIES)}")
        if t.format not in KPI_FORMATS:
            raise SpecError(f"{where}: unknown format {t.format!r}")
        for c in t.commitment:
            item = spec._by_id.get(c)
            if not isinstance(item, Field) or item.type not in _NUMERIC:
                raise SpecError(f"{where}: commitment {c!r} is not a numeric field")
        nodes = [("target", t.target_node)]
        if t.actual_node is not None:
            nodes.append(("actual", t.actual_node))
        for what, node in nodes:
            for r in expr.references(node):
                item = spec._by_id.get(r)
                if item is None or not _numeric(item):
                    raise SpecError(f"{where}: {what} reads {r!r}, not a figure of the spec")


def _validate_rollup(spec: Spec) -> None:
    for f in spec.fields:
        if f.rollup not in ROLLUP_RULES[f.type]:
            raise SpecError(
                f"field {f.id!r}: rollup {f.rollup!r} does not suit a {f.type} field "
                f"({', '.join(ROLLUP_RULES[f.type])})"
            )
        if f.weight and f.rollup != "mean":
            raise SpecError(f'field {f.id!r}: a weight needs rollup = "mean"')
        for w in f.weight:
            target = spec._by_id.get(w)
            if target is None:
                raise SpecError(f"field {f.id!r}: unknown weight id {w!r}")
            if not _numeric(target):
                raise SpecError(f"field {f.id!r}: weight {w!r} is not a number")
    person = spec.rollup.person
    if person is not None and (not spec.has(person) or not isinstance(spec.item(person), Field)):
        raise SpecError(f"rollup person: unknown field {person!r}")
    for id_ in spec.rollup.kpis:
        if not spec.has(id_) or isinstance(spec.item(id_), Table):
            raise SpecError(f"rollup kpis: unknown id {id_!r}")
    for id_ in spec.rollup.charts:
        if not spec.has(id_) or not _numeric(spec.item(id_)):
            raise SpecError(f"rollup charts: {id_!r} is not a numeric field or KPI")
    period = spec.rollup.period
    if period is not None and (
        not spec.has(period)
        or not isinstance(item := spec.item(period), Field)
        or item.type != "text"
    ):
        raise SpecError(f"rollup period: unknown text field {period!r}")


def load_path(path: Path) -> Spec:
    return from_dict(parse_toml(path.read_bytes()))


@cache
def load(template: str = DEFAULT_TEMPLATE) -> Spec:
    """The built-in template spec, parsed once per process."""
    return from_dict(load_toml(package_file("workbook", "templates", f"{template}.toml")))
