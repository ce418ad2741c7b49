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
PLACEHOLDER_FORMATS = ("change", "growth", "rise", "above", "pp", "to", "size", "gap")
# Which way is good for a figure (docs/narrative.md): a movement of a "higher_better" figure up
# is an improvement, of a "lower_better" one (costs, return rate, drop-off) a deterioration;
# "neutral" figures (shares, traffic mix) only rise and fall.
POLARITIES = ("higher_better", "lower_better", "neutral")
# The precision at which figures are shown and compared: (factor, decimal places) of the value
# as a person reads it. Two values equal at this precision are "flat" (持平); a pair that
# differs here is printed with enough decimals to show it (numfmt.NumberFormatter.pair).
SHOWN_PRECISION: dict[str, tuple[int, int]] = {
    "percent": (100, 2),
    "change": (100, 2),
    "pp": (1, 1),
    "money": (1, 2),
    "count": (1, 0),
    "number": (1, 2),
    "ratio": (1, 2),
}
# Direction functions of sentence conditions, expanded to round() comparisons at that precision.
DIRECTIONS = {"up": ">", "down": "<", "flat": "="}
SENTENCE_DEFAULTS = ("figures", "template")
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
    polarity: str = "neutral"  # one of POLARITIES


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
    polarity: str = "neutral"  # one of POLARITIES

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
    # "list": its own table in the summary (problems, actions); "metrics": the person's own
    # metrics (name, previous, current, unit, note), rows of the section's KPI table.
    kind: Literal["list", "metrics"] = "list"


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
class Variant:
    """One wording of a sentence, chosen when its condition holds (no condition: always).

    missing: the wording used with `--missing mark` when a figure is missing; it must read
    well with a 【待补充】 marker in place of any figure (neutral words: 从…变为…).
    """

    text: Text | None  # None: the sentence is left out when this variant is chosen (omit)
    when: str | None = None
    node: expr.Node | None = None  # the condition, directions expanded to round() comparisons
    missing: bool = False


@dataclass(frozen=True)
class Sentence:
    """One sentence of the summary: data-driven variants and, optionally, the template's own
    wording (with its examples and diagnoses), which is used only when the person keeps it.

    A sentence with no variants is template wording only: left out unless the person keeps it.
    """

    id: str
    variants: tuple[Variant, ...]
    template: Text | None = None

    def __call__(self, lang: str) -> str:
        """The default wording: the first variant with words, else the template's."""
        text = next((v.text for v in self.variants if v.text is not None), self.template)
        assert text is not None
        return text(lang)

    def texts(self, lang: str) -> tuple[str, ...]:
        """Every wording of the sentence in one locale."""
        out = [v.text(lang) for v in self.variants if v.text is not None]
        if self.template is not None:
            out.append(self.template(lang))
        return tuple(out)

    @property
    def conditional(self) -> bool:
        return any(v.when is not None for v in self.variants)

    @property
    def name(self) -> str:
        """The defined name of the sentence's choice cell in the workbook."""
        return f"say_{self.id}"


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of the summary: sentences with `{id}` placeholders."""

    subsection: str
    lead: Text | None
    sentences: tuple[Sentence, ...]


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


# The roles a spec may give its fields ([roles] in the TOML): what the code needs by meaning.
ROLES = ("author", "department", "store", "business_scope", "period", "period_days", "core_goal",
         "report_date")  # fmt: skip


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
    # The text field naming the period ("2026年Q3"): a date typed without a year takes its year.
    period_field: str | None = None
    charts: tuple[Chart, ...] = ()
    rollup: RollupSpec = RollupSpec()
    checks: tuple[Check, ...] = ()
    targets: tuple[Target, ...] = ()
    carry_tables: tuple[str, ...] = ()  # plan tables the next period's workbook carries
    # role -> field id (ROLES): the fields code needs by meaning ("store"), not by id
    roles: dict[str, str] = field(default_factory=dict)
    _by_id: dict[str, Field | Kpi | Table] = field(repr=False, compare=False, default_factory=dict)

    def item(self, id_: str) -> Field | Kpi | Table:
        return self._by_id[id_]

    def role(self, name: str) -> str | None:
        """The id of the field playing a role (one of ROLES), or None when the spec has none."""
        if name not in ROLES:
            raise KeyError(name)
        return self.roles.get(name)

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
        if fmt in ("to", "gap") and len(parts) == 3:
            ref = parts[2]
        elif len(parts) > 2:
            raise SpecError(f"placeholder {{{m.group(1)}}} has too many parts")
        found.append(Placeholder(m.group(0), id_, fmt, ref))
    return tuple(found)


TABLE_KINDS = ("list", "metrics")
METRICS_COLUMNS = ("name", "prev", "current", "unit", "note")


def _table_kind(t: Mapping[str, Any]) -> Literal["list", "metrics"]:
    kind = t.get("kind", "list")
    if kind == "metrics":
        if tuple(c["id"] for c in t["columns"]) != METRICS_COLUMNS:
            raise SpecError(f"table {t['id']!r}: a metrics table has columns {METRICS_COLUMNS}")
        return "metrics"
    if kind != "list":
        raise SpecError(f"table {t['id']!r}: kind {kind!r} is not one of {TABLE_KINDS}")
    return "list"


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
                polarity=_polarity(f.get("polarity"), where),
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
                polarity=_polarity(k.get("polarity"), where),
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
            kind=_table_kind(t),
        )
        for t in data.get("tables", [])
    )
    counters: dict[str, int] = {}

    def next_id(subsection: str) -> str:
        counters[subsection] = counters.get(subsection, 0) + 1
        return f"{subsection}_{counters[subsection]}"

    paragraphs = tuple(
        Paragraph(
            subsection=p["subsection"],
            lead=_opt_text(p.get("lead"), f"paragraph lead in {p['subsection']}"),
            sentences=tuple(_sentence(raw, next_id(p["subsection"])) for raw in p["sentences"]),
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
        period_field=data.get("period_field"),
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
        roles={str(k): str(v) for k, v in data.get("roles", {}).items()},
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


def _polarity(raw: Any, where: str) -> str:
    value = "neutral" if raw is None else raw
    if value not in POLARITIES:
        raise SpecError(f"{where}: polarity must be one of {', '.join(POLARITIES)}, not {raw!r}")
    return str(value)


def _sentence(raw: Any, default_id: str) -> Sentence:
    """A sentence: plain {zh-CN, en} text, or a table with id, variants and template."""
    if isinstance(raw, dict) and set(raw) == set(LANGS):
        return Sentence(default_id, (Variant(_text(raw, f"sentence {default_id}")),))
    if not isinstance(raw, dict):
        raise SpecError(f"sentence {default_id}: must be a table")
    id_ = raw.get("id", default_id)
    where = f"sentence {id_!r}"
    _check_id(f"say_{id_}", where)
    unknown = set(raw) - {"id", "variants", "template"}
    if unknown:
        raise SpecError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    variants = []
    for v in raw.get("variants", ()):
        when = v.get("when")
        if when is not None and not isinstance(when, str):
            raise SpecError(f"{where}: a condition must be text")
        if v.get("omit", False):
            if any(k in v for k in LANGS) or v.get("missing", False):
                raise SpecError(f"{where}: an omit variant has no text")
            variants.append(Variant(None, when))
            continue
        text = _text({k: v[k] for k in LANGS if k in v}, f"{where} variant {when!r}")
        variants.append(Variant(text, when, None, bool(v.get("missing", False))))
    template = _opt_text(raw.get("template"), f"{where} template")
    if not variants and template is None:
        raise SpecError(f"{where}: needs variants or a template wording")
    return Sentence(id_, tuple(variants), template)


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
    seen_sentences: set[str] = set()
    for p in spec.paragraphs:
        if p.subsection not in sub_ids:
            raise SpecError(f"paragraph: unknown subsection {p.subsection!r}")
        for sentence in p.sentences:
            if sentence.id in seen_sentences:
                raise SpecError(f"sentence {sentence.id!r} is defined twice")
            seen_sentences.add(sentence.id)
            texts = [v.text for v in sentence.variants if v.text is not None]
            if sentence.template is not None:
                texts.append(sentence.template)
            for text in texts:
                for lang in LANGS:
                    for ph in placeholders(text(lang)):
                        for id_ in ph.ids:
                            if not spec.has(id_):
                                raise SpecError(f"sentence {text(lang)[:30]!r}: unknown id {id_!r}")
                        if ph.fmt is not None and ph.fmt not in PLACEHOLDER_FORMATS:
                            raise SpecError(f"sentence placeholder {ph.raw}: unknown format")
                ids_zh = sorted(p_.raw for p_ in placeholders(text("zh-CN")))
                ids_en = sorted(p_.raw for p_ in placeholders(text("en")))
                if ids_zh != ids_en:
                    raise SpecError(f"sentence {text('zh-CN')[:30]!r}: locales differ in figures")
            _validate_variants(spec, sentence)
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
    if spec.period_field is not None and not spec.has(spec.period_field):
        raise SpecError(f"period_field: unknown id {spec.period_field!r}")
    for id_ in spec.cover_summary:
        if not spec.has(id_):
            raise SpecError(f"cover_summary: unknown id {id_!r}")
    for role, id_ in spec.roles.items():
        if role not in ROLES:
            raise SpecError(f"roles: unknown role {role!r} (known: {', '.join(ROLES)})")
        if not spec.has(id_) or not isinstance(spec.item(id_), Field):
            raise SpecError(f"roles {role}: unknown field {id_!r}")
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
    if not isinstance(node, expr.BinOp):  # a condition (comparison, function) has no previous
        return None
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


def figure_kind(spec: Spec, id_: str) -> str:
    """A numeric field's type or a KPI's format."""
    item = spec.item(id_)
    if isinstance(item, Kpi):
        return item.format
    if isinstance(item, Field):
        return item.type
    return "table"


def expand_condition(spec: Spec, text: str, where: str) -> expr.Node:
    """Parse a sentence condition; up/down/flat become round() comparisons at the precision
    each figure is shown at (SHOWN_PRECISION): up(x) is x shown above 0, up(a, b) is a shown
    above b."""
    try:
        node = expr.parse(_DIRECTION_CALL.sub(r"\1__dir(", text))
    except expr.ExprError as exc:
        raise SpecError(f"{where}: {exc}") from exc

    def shown(arg: expr.Node, kind: str) -> expr.Node:
        factor, places = SHOWN_PRECISION[kind]
        scaled = arg if factor == 1 else expr.BinOp("*", arg, expr.Num(float(factor)))
        return expr.Call("round", (scaled, expr.Num(float(places))))

    def walk(n: expr.Node) -> expr.Node:
        if isinstance(n, expr.Call) and n.name.endswith("__dir"):
            name = n.name[: -len("__dir")]
            args = n.args
            if len(args) not in (1, 2) or not all(isinstance(a, expr.Ref) for a in args):
                raise SpecError(f"{where}: {name}() takes one or two figure ids")
            refs = [a for a in args if isinstance(a, expr.Ref)]
            kinds = []
            for r in refs:
                if not spec.has(r.name) or not _numeric(spec.item(r.name)):
                    raise SpecError(f"{where}: {r.name!r} is not a numeric field or KPI")
                kinds.append(figure_kind(spec, r.name))
            left = shown(refs[0], kinds[0])
            right = shown(refs[1], kinds[0]) if len(refs) == 2 else expr.Num(0.0)
            return expr.Compare(DIRECTIONS[name], left, right)
        if isinstance(n, expr.Call):
            return expr.Call(n.name, tuple(walk(a) for a in n.args))
        if isinstance(n, expr.Compare):
            return expr.Compare(n.op, walk(n.left), walk(n.right))
        if isinstance(n, expr.BinOp):
            return expr.BinOp(n.op, walk(n.left), walk(n.right))
        if isinstance(n, expr.Neg):
            return expr.Neg(walk(n.operand))
        if isinstance(n, expr.Ref) and (not spec.has(n.name) or not _numeric(spec.item(n.name))):
            raise SpecError(f"{where}: unknown figure {n.name!r}")
        return n

    return walk(node)


_DIRECTION_CALL = re.compile(r"\b(up|down|flat)\s*\(")
expr.FUNCTIONS.update({f"{d}__dir": (1, 2) for d in DIRECTIONS})

# Values the loader tries for each figure a condition reads, by kind: every direction (up,
# down, flat, flat only after rounding) and zero. A pair compared by up(a, b) meets all of its
# orders because both figures range over the same values.
_PROBES: dict[str, tuple[float, ...]] = {
    "change": (0.1, -0.1, 0.0, 0.00001),
    "pp": (2.0, -2.0, 0.0, 0.01),
    "count": (0.0, 3.0, 5.0),
    "percent": (0.3, 0.37, 0.30001, 0.0),
}
_PROBES_DEFAULT = (3.0, 3.7, 3.0001, 0.0)


def _validate_variants(spec: Spec, sentence: Sentence) -> None:
    """Conditions are valid; every direction of the figures they read picks a variant; a
    sentence with conditions has a wording for missing figures."""
    import itertools

    where = f"sentence {sentence.id!r}"
    nodes: list[expr.Node | None] = []
    for v in sentence.variants:
        node = None if v.when is None else expand_condition(spec, v.when, where)
        object.__setattr__(v, "node", node)
        nodes.append(node)
    if not sentence.conditional:
        return
    if not any(v.missing or v.when is None for v in sentence.variants):
        raise SpecError(f"{where}: no variant for a missing figure (missing = true)")
    ids = sorted({r for n in nodes if n is not None for r in expr.references(n)})
    probes = [_PROBES.get(figure_kind(spec, i), _PROBES_DEFAULT) for i in ids]
    chosen = [n for n, v in zip(nodes, sentence.variants, strict=True) if not v.missing]
    for values in itertools.islice(itertools.product(*probes), 20000):
        env = dict(zip(ids, values, strict=True))
        if not any(n is None or expr.evaluate(n, env) for n in chosen):
            shown = ", ".join(f"{k}={v:g}" for k, v in env.items())
            raise SpecError(f"{where}: no variant holds when {shown}")


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
